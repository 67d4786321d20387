"""What a failed comparison looks like: where the hand-coded derivative is wrong, and why.

``locate`` says WHERE: the result block (one per ``wrt`` argument), the argument's index
and name, the worst entry's index into that block, the hand-coded and reference values
there, and the fraction of entries whose difference exceeds the tolerance scaled like
the metric (``tol · max|ref|`` of the block, see verify/tolerances.py).

``diagnose`` says WHY, when the difference has a recognisable shape. Each hypothesis is a
correction applied to the reference (or to the hand-coded array); a hypothesis is stated
only when the residual after it is at rounding level: at most ``RESIDUAL_RTOL · max|ref|`` (1e-9 in float64)
and at most ``EXPLAINED · max|got − ref|`` (the correction explains all but a thousandth
of the error). Otherwise the answer is "no recognisable pattern". The classes:

- sign       got ≈ −ref
- factor     got ≈ c·ref for a constant c (named as a fraction when it is one: 2, 1/2, 3/5),
             or got ≈ c·aᵏ·ref entrywise for an argument a shaped like the block, k = ±1, ±2
             (an exponent not lowered, an inner derivative dropped)
- axis       got ≈ c·ref with c = n, 1/n or n/m for sizes n, m ≥ 3 of the arguments' axes:
             a mean where a sum is needed (or the reverse), a division by the wrong size;
             or, for a result of the wrong shape, got is an argument (or the cotangent)
             summed over one axis where the reference sums it over another
- transpose  got ≈ refᵀ (a square 2-D block, or a non-square one of the transposed shape)
- symmetric  sym(got) ≈ ref, got + gotᵀ ≈ ref, or got ≈ sym(ref), with sym(M) = (M + Mᵀ)/2;
             or got − ref ≈ c·(A − Aᵀ)x, c·Aᵀx or c·Ax for arguments A (square, not
             symmetric) and x: A where its symmetric part or A + Aᵀ belongs
- shift      got ≈ ref rolled by one position along an axis (an off-by-one index)
- entry      the difference is confined to one entry, one index along one axis (a row, a
             column), one band of a square block, or one triangle
- term       the difference is diagonal, or rank 1 (an outer product): a missing term
             of a product rule has this shape
- order      a tuple result (several wrt) whose blocks are right but in the wrong order
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .tolerances import metric_scale, wrong_entries

RESIDUAL_RTOL = {"float64": 1e-9, "float32": 1e-5}
"""The residual a correction may leave, relative to max|ref|: about 1e7 roundings in float64,
100 in float32 (whose rounding is 6e-8)."""
EXPLAINED = 1e-3
CLASSES = ("sign", "factor", "axis", "transpose", "symmetric", "shift", "entry", "term", "order")
PROJECTED = "projected: no entrywise diagnosis"


@dataclass(frozen=True)
class Location:
    """Where a block is wrong. ``block`` is the index into a tuple result, None for one array."""

    block: int | None
    argument: int | None  # the wrt argument the block belongs to (None: a jvp's output)
    argument_name: str
    index: tuple[int, ...]
    got: float
    expected: float
    wrong_fraction: float
    error: float  # the metric on this block

    def describe(self) -> str:
        if self.argument is None:
            what = "output"
        else:
            what = f"argument {self.argument}" + (f" ({self.argument_name})" if self.argument_name else "")
            if self.argument_name and not self.argument_name.isidentifier():  # a leaf of a structure: its path
                what = self.argument_name
        if self.block is not None:
            what = f"result {self.block} (wrt {what})"
        index = ", ".join(str(i) for i in self.index)
        return (f"{what} at [{index}]: got {self.got:.6g}, expected {self.expected:.6g}; "
                f"{100.0 * self.wrong_fraction:.3g}% of entries wrong")


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # one of CLASSES
    text: str


# --------------------------------------------------------------------------------------
# Where
# --------------------------------------------------------------------------------------


def _float(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _scale(ref: np.ndarray) -> float:
    return metric_scale(ref)


def locate_block(got, ref, tol: float, *, block=None, argument=None, argument_name: str = "") -> Location:
    """The worst entry of one block and the fraction of entries above ``tol · max|ref|``."""
    got, ref = _float(got), _float(ref)
    diff = np.abs(got - ref)
    scale = _scale(ref)
    flat = int(np.argmax(diff))
    index = tuple(int(i) for i in np.unravel_index(flat, ref.shape)) if ref.shape else ()
    return Location(block, argument, argument_name, index, float(got.reshape(-1)[flat]), float(ref.reshape(-1)[flat]),
                    float(np.mean(wrong_entries(got, ref, tol))), float(np.max(diff) / scale))


def locate(got, ref, tol: float, wrt: tuple[int, ...], names=(), *, per_argument: bool = True) -> Location:
    """The worst block of a result (one block per wrt argument when ``ref`` is a tuple).

    ``per_argument=False`` (a jvp) says the result is the function's output, not an
    argument's block."""

    def name(i):
        return names[i] if i is not None and i < len(names) else ""

    if isinstance(ref, tuple):
        blocks = [locate_block(g, r, tol, block=k, argument=i, argument_name=name(i)) for k, (g, r, i) in enumerate(zip(got, ref, wrt))]
        return max(blocks, key=lambda b: b.error)
    argument = wrt[0] if per_argument else None
    return locate_block(got, ref, tol, argument=argument, argument_name=name(argument))


# --------------------------------------------------------------------------------------
# Why
# --------------------------------------------------------------------------------------


class _Test:
    """The residual test shared by every hypothesis."""

    def __init__(self, got: np.ndarray, ref: np.ndarray, error: float | None = None, dtype: str = "float64"):
        self.got, self.ref = got, ref
        self.rtol = RESIDUAL_RTOL.get(dtype, RESIDUAL_RTOL["float32"])
        self.scale = _scale(ref)
        if error is None:
            error = float(np.max(np.abs(got - ref))) if ref.size else 0.0
        self.error = error
        self.bound = min(self.rtol * self.scale, EXPLAINED * self.error)

    def explains(self, residual) -> bool:
        residual = np.asarray(residual)
        return bool(residual.size) and float(np.max(np.abs(residual))) <= self.bound


def _simple(c: float, rtol: float = RESIDUAL_RTOL["float64"]) -> Fraction | None:
    """c as a fraction with a small denominator when it is one (to the residual test's
    precision), else None; 1 never counts (a factor 1 + 1e-9 is not 1)."""
    f = Fraction(c).limit_denominator(1000)
    if f not in (0, 1) and abs(float(f) - c) <= rtol * abs(c) and abs(f.numerator) <= 10000:
        return f
    return None


def _fraction(c: float) -> str:
    """c written as a short fraction when it is one, as 1 ± δ near 1, else in 6 digits."""
    f = Fraction(c).limit_denominator(1000)
    if f != 0 and abs(float(f) - c) <= 1e-12 * abs(c) and abs(f.numerator) <= 10000:
        return str(f)
    if abs(c - 1) < 1e-3:
        return f"(1 {'+' if c > 1 else '−'} {abs(c - 1):.3g})"
    return f"{c:.6g}"


def _axis_sizes(shapes) -> dict[int, str]:
    """{size: 'axis a of argument i (name)'} for every axis of size ≥ 3 of the arguments.

    Sizes 1 and 2 are left out: a factor 2 is named as a factor, never as a size."""
    sizes: dict[int, str] = {}
    for i, (shape, name) in enumerate(shapes):
        for a, n in enumerate(shape):
            if n >= 3 and n not in sizes:
                sizes[n] = f"axis {a} of argument {i}" + (f" ({name})" if name else "")
    return sizes


def _factor(test: _Test, shapes) -> Diagnosis | None:
    got, ref = test.got, test.ref
    rr = float(np.vdot(ref, ref))
    if rr == 0.0:
        return None
    c = float(np.vdot(got, ref)) / rr
    if not np.isfinite(c) or c == 0.0 or not test.explains(got - c * ref):
        return None
    if abs(c + 1) <= test.rtol:
        return Diagnosis("sign", "sign flip: got = −expected")
    sizes = _axis_sizes(shapes)
    f = _simple(c, test.rtol)
    if f is not None and f > 0:
        p, q = f.numerator, f.denominator
        if q == 1 and p in sizes:
            return Diagnosis("axis", f"got = {p} × expected: {p} is the size of {sizes[p]}: a sum where a mean over it is needed (its 1/{p} dropped)?")
        if p == 1 and q in sizes:
            return Diagnosis("axis", f"got = 1/{q} × expected: {q} is the size of {sizes[q]}: a mean over it where a sum is needed?")
        if p in sizes and q in sizes:
            return Diagnosis("axis", f"got = {p}/{q} × expected: divided by {q} ({sizes[q]}) where {p} ({sizes[p]}) is needed?")
    sign = " (and the sign flipped)" if c < 0 else ""
    return Diagnosis("factor", f"a constant factor: got = {_fraction(c)} × expected{sign}")


def _transpose(test: _Test) -> Diagnosis | None:
    got, ref = test.got, test.ref
    if ref.ndim == 2 and ref.shape[0] == ref.shape[1] and test.explains(got - ref.T):
        return Diagnosis("transpose", "transposed: got = expectedᵀ (a dropped transpose, or the other layout)")
    return None


def _symmetric(test: _Test) -> Diagnosis | None:
    got, ref = test.got, test.ref
    if ref.ndim != 2 or ref.shape[0] != ref.shape[1] or ref.shape[0] < 2:
        return None
    if test.explains(got + got.T - ref):
        return Diagnosis("symmetric", "got + gotᵀ = expected: only one half of a symmetric sum (A where A + Aᵀ is needed)")
    if test.explains((got + got.T) / 2 - ref):
        return Diagnosis("symmetric", "the symmetric part of got equals expected: got is not symmetric where it must be (A where ½(A + Aᵀ) is needed)")
    if test.explains(got - (ref + ref.T) / 2):
        return Diagnosis("symmetric", "got = the symmetric part of expected, ½(A + Aᵀ) where A is needed")
    if test.explains(got - (ref + ref.T)):
        return Diagnosis("symmetric", "got = expected + expectedᵀ: A + Aᵀ where A is needed")
    return None


def _fit(test: _Test, candidate: np.ndarray, target: np.ndarray) -> float | None:
    """c with target ≈ c·candidate to rounding, or None."""
    cc = float(np.vdot(candidate, candidate))
    if cc == 0.0 or not np.all(np.isfinite(candidate)):
        return None
    c = float(np.vdot(target, candidate)) / cc
    if c == 0.0 or not test.explains(target - c * candidate):
        return None
    return c


def _argument_factor(test: _Test, args) -> Diagnosis | None:
    """got ≈ c·a^k·ref elementwise, for an argument a shaped like the block, k = ±1, ±2:
    an extra or missing chain factor (an exponent not lowered, the inner derivative dropped)."""
    got, ref = test.got, test.ref
    for i, (a, name) in enumerate(args):
        if np.shape(a) != ref.shape or ref.size < 2 or np.allclose(a, a.reshape(-1)[0]):
            continue
        with np.errstate(all="ignore"):
            for k in (1, -1, 2, -2):
                power = a.astype(np.float64) ** k
                c = _fit(test, power * ref, got)
                if c is not None:
                    who = f"argument {i}" + (f" ({name})" if name else "")
                    term = (name or "a") + ("" if k == 1 else f"^{k}")
                    factor = {"1": "", "-1": "−"}.get(_fraction(c), _fraction(c) + "·")
                    return Diagnosis("factor", f"an elementwise factor: got = {factor}{term} × expected, with {name or 'a'} = {who} (an exponent not lowered, or a chain factor missing or extra)")
    return None


def _symmetric_product(test: _Test, args) -> Diagnosis | None:
    """For a square, non-symmetric argument A and an argument x: the reference is a multiple
    of (A + Aᵀ)x and got is wrong by a multiple of (A − Aᵀ)x, Aᵀx or Ax (A where A + Aᵀ belongs)."""
    got, ref = test.got, test.ref
    diff = got - ref
    for i, (A, name_a) in enumerate(args):
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 2 or np.allclose(A, A.T):
            continue
        for j, (x, name_x) in enumerate(args):
            if j == i or x.ndim < 1 or x.shape[0] != A.shape[0] or (A @ x).shape != ref.shape:
                continue
            a, x_ = name_a or f"argument {i}", name_x or f"argument {j}"
            for candidate, what in (((A - A.T) @ x, f"({a} − {a}ᵀ){x_}"), (A.T @ x, f"{a}ᵀ{x_}"), (A @ x, f"{a}{x_}")):
                c = _fit(test, candidate, diff)
                if c is not None:
                    factor = {"1": "", "-1": "−"}.get(_fraction(c), _fraction(c) + "·")
                    return Diagnosis("symmetric", f"got − expected = {factor}{what}: {a} used where its symmetric part "
                                                  f"(or {a} + {a}ᵀ) belongs (right only for a symmetric {a})")
    return None


def _shift(test: _Test) -> Diagnosis | None:
    got, ref = test.got, test.ref
    for axis, n in enumerate(ref.shape):
        if n < 3:
            continue
        for k in (1, -1):
            rolled = np.roll(ref, k, axis=axis)
            if test.explains(got - rolled) and not test.explains(ref - rolled):
                where = "one position later" if k == 1 else "one position earlier"
                return Diagnosis("shift", f"shifted: got = expected moved {where} along axis {axis} (an off-by-one index)")
    return None


def _region(wrong: np.ndarray) -> tuple[str, np.ndarray] | None:
    """The smallest named region holding every True of ``wrong`` (a strict subset of the
    block): one index along one axis (a row, a column), one band of a square 2-D block
    off its diagonal, or one strict triangle; None when there is none. Linear in the size."""
    shape = wrong.shape
    for axis, n in enumerate(shape):
        if n < 2 or wrong.size // n < 2:
            continue
        hit = np.flatnonzero(np.any(wrong, axis=tuple(a for a in range(len(shape)) if a != axis)))
        if len(hit) == 1:
            i = int(hit[0])
            mask = np.zeros(shape, dtype=bool)
            mask[(slice(None),) * axis + (i,)] = True
            label = {0: "row", 1: "column"}[axis] if len(shape) == 2 else ""
            return (f"{label} {i}" if label else f"index {i} along axis {axis}"), mask
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] >= 3:
        n = shape[0]
        rows, cols = np.nonzero(wrong)
        offsets = np.unique(cols - rows)
        if len(offsets) == 1 and offsets[0] != 0:
            k = int(offsets[0])
            return f"the band {'above' if k > 0 else 'below'} the diagonal at offset {k:+d}", np.eye(n, k=k, dtype=bool)
        if np.all(rows > cols):
            return "the strict lower triangle", np.tril(np.ones((n, n), dtype=bool), -1)
        if np.all(rows < cols):
            return "the strict upper triangle", np.triu(np.ones((n, n), dtype=bool), 1)
    return None


def _confined(test: _Test) -> Diagnosis | None:
    got, ref = test.got, test.ref
    diff = got - ref
    if ref.size < 3:
        return None
    wrong = np.abs(diff) > test.bound
    count = int(np.sum(wrong))
    if count == 0:
        return None
    if count == 1:
        index = tuple(int(i) for i in np.argwhere(wrong)[0])
        g, r = float(got[index]), float(ref[index])
        sign = "; there got = −expected (a sign error)" if abs(g + r) <= test.bound else ""
        return Diagnosis("entry", f"the difference is confined to the entry [{', '.join(map(str, index))}]{sign}")
    if ref.size < 4:
        return None
    found = _region(wrong)
    if found is None:
        return None
    description, mask = found
    sign = "; there got = −expected (a sign error)" if test.explains(np.where(mask, got + ref, 0.0)) else ""
    return Diagnosis("entry", f"the difference is confined to {description}{sign}")


def _matrix(a: np.ndarray, out_ndim: int | None) -> np.ndarray | None:
    """A block as a matrix: a Jacobian block as (outputs × inputs), a 2-D block as is."""
    if out_ndim is not None and 0 < out_ndim < a.ndim:
        rows = int(np.prod(a.shape[:out_ndim]))
        return a.reshape(rows, -1)
    if a.ndim == 2:
        return a
    return None


def _term(test: _Test, out_ndim: int | None) -> Diagnosis | None:
    diff = test.got - test.ref
    m = _matrix(diff, out_ndim)
    if m is None or min(m.shape) < 2:
        return None
    r = _matrix(test.ref, out_ndim)  # a diagonal reference (an elementwise map) makes every difference diagonal
    ref_diagonal = r.shape[0] == r.shape[1] and float(np.max(np.abs(r - np.diag(np.diag(r))))) <= test.rtol * test.scale
    if m.shape[0] == m.shape[1] and not ref_diagonal and test.explains(m - np.diag(np.diag(m))):
        return Diagnosis("term", "the difference is diagonal: a missing (or extra) elementwise term, e.g. one term of a product rule")
    i, j = np.unravel_index(int(np.argmax(np.abs(m))), m.shape)  # rank 1: m = m[:, j] m[i, :] / m[i, j]
    if m[i, j] != 0 and test.explains(m - np.outer(m[:, j], m[i, :]) / m[i, j]):
        return Diagnosis("term", "the difference is a rank-1 array (an outer product u vᵀ): a missing (or extra) term, e.g. one term of a product rule")
    return None


def _wrong_reduction(got: np.ndarray, ref: np.ndarray, args, dtype: str) -> Diagnosis | None:
    """A result of the wrong shape that is a sum (or mean) of an argument over one axis
    where the reference is the same reduction over another axis."""
    for i, (a, name) in enumerate(args):
        if a.ndim < 2:
            continue
        a = a.astype(np.float64)
        fits = {}
        for axis in range(a.ndim):
            total = a.sum(axis=axis)
            for target, key in ((got, "got"), (ref, "ref")):
                if total.shape == target.shape and key not in fits:
                    c = _fit(_Test(target, target, error=_scale(target), dtype=dtype), total, target)
                    if c is not None:
                        fits[key] = (axis, c)
        if "got" in fits and "ref" in fits and fits["got"][0] != fits["ref"][0]:
            who = f"the {name}" if name in ("cotangent", "vector") else f"argument {i}" + (f" ({name})" if name else "")
            return Diagnosis("axis", f"reduced over the wrong axis: got is a sum of {who} over axis {fits['got'][0]} "
                                     f"(shape {got.shape}), the answer a sum over axis {fits['ref'][0]} (shape {ref.shape})")
    return None


def diagnose_block(got, ref, *, args=(), out_ndim: int | None = None, dtype: str = "float64") -> Diagnosis | None:
    """The recognisable shape of got − ref for one block, or None.

    ``args``: (array, name) of each argument of the primal, to name a factor that is an
    axis size and to test the argument-shaped hypotheses; ``out_ndim``: the number of
    output axes when the block is a Jacobian (out + in axes); ``dtype``: the row of
    RESIDUAL_RTOL (the precision the derivative was computed in)."""
    got, ref = _float(got), _float(ref)
    args = [(np.asarray(a), name) if np.issubdtype(np.asarray(a).dtype, np.number) else (np.zeros(()), name) for a, name in args]
    shapes = [(a.shape, name) for a, name in args]
    if got.shape != ref.shape:
        if ref.ndim == 2 and got.shape == ref.T.shape:
            test = _Test(got, ref.T, error=_scale(ref), dtype=dtype)  # no error to explain: rounding decides
            if test.explains(got - ref.T):
                return Diagnosis("transpose", f"transposed: got has shape {got.shape} and equals expectedᵀ (a dropped transpose, or the other layout)")
        return _wrong_reduction(got, ref, args, dtype)
    test = _Test(got, ref, dtype=dtype)
    if test.error == 0.0 or not np.all(np.isfinite(got)) or not np.all(np.isfinite(ref)):
        return None
    for hypothesis in (lambda: _factor(test, shapes), lambda: _transpose(test), lambda: _symmetric(test),
                       lambda: _symmetric_product(test, args), lambda: _argument_factor(test, args),
                       lambda: _shift(test), lambda: _confined(test), lambda: _term(test, out_ndim)):
        found = hypothesis()
        if found is not None:
            return found
    return None


def _order(got, ref: tuple, dtype: str) -> Diagnosis | None:
    """The right blocks in the wrong order: got[k] equals ref[order[k]] for a permutation."""
    if not isinstance(got, (tuple, list)) or len(got) != len(ref) or len(ref) < 2:
        return None
    got, ref = [_float(g) for g in got], [_float(r) for r in ref]
    order = []
    for g in got:
        match = [j for j, r in enumerate(ref) if r.shape == g.shape and j not in order
                 and _Test(g, r, error=_scale(r), dtype=dtype).explains(g - r)]
        if not match:
            return None
        order.append(match[0])
    if order == list(range(len(ref))):
        return None
    pairs = ", ".join(f"result {k} is the one for result {j}" for k, j in enumerate(order) if k != j)
    return Diagnosis("order", f"the results are in the wrong order: {pairs}")


def diagnose(got, ref, tol: float, wrt: tuple[int, ...] = (0,), names=(), args=(), out_ndim=None, dtype: str = "float64") -> Diagnosis | None:
    """The diagnosis of a whole result: per block when ``ref`` is a tuple.

    Only blocks whose metric exceeds ``tol`` are diagnosed; every one of them must have a
    diagnosis, else there is none. The text names the block when the result has several."""
    if not isinstance(ref, tuple):
        return diagnose_block(got, ref, args=args, out_ndim=out_ndim if np.ndim(ref) else None, dtype=dtype)
    order = _order(got, ref, dtype)
    if order is not None:
        return order
    found = []
    for k, (g, r, i) in enumerate(zip(got, ref, wrt)):
        g, r = _float(g), _float(r)
        if g.shape == r.shape and float(np.max(np.abs(g - r), initial=0.0)) <= tol * _scale(r):
            continue
        d = diagnose_block(g, r, args=args, out_ndim=out_ndim, dtype=dtype)
        if d is None:
            return None
        name = names[i] if i < len(names) else ""
        found.append((k, name if name and not name.isidentifier() else f"argument {i}" + (f" ({name})" if name else ""), d))
    if not found:
        return None
    kinds = {d.kind for _, _, d in found}
    texts = {d.text for _, _, d in found}
    if len(found) == 1 or len(texts) == 1:
        which = ", ".join(f"result {k} (wrt {arg})" for k, arg, _ in found)
        return Diagnosis(found[0][2].kind, f"{which}: {found[0][2].text}")
    kind = found[0][2].kind if len(kinds) == 1 else "+".join(sorted(kinds))
    return Diagnosis(kind, "; ".join(f"result {k} (wrt {arg}): {d.text}" for k, arg, d in found))


# --------------------------------------------------------------------------------------
# Where a user's function raised
# --------------------------------------------------------------------------------------

_SKIP = tuple(
    os.path.realpath(p)
    for p in {os.path.dirname(os.path.abspath(__file__)), sysconfig.get_paths().get("stdlib", ""),
              sysconfig.get_paths().get("purelib", ""), sysconfig.get_paths().get("platlib", "")}
    if p
)


def where_raised(exc: BaseException) -> str:
    """``file:line`` of the last traceback frame outside this package, the standard library
    and installed packages (the user's own code), or '' when there is none."""
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = os.path.realpath(frame.filename)
        if frame.filename.startswith("<") or any(path == p or path.startswith(p + os.sep) for p in _SKIP):
            continue
        try:
            rel = os.path.relpath(path)
        except ValueError:
            rel = path
        found = f"{path if rel.startswith('..') else rel}:{frame.lineno}"
    return found

