"""What a failed comparison looks like: where the hand-coded derivative is wrong, and why.

``locate`` says WHERE: the result block (one per ``wrt`` argument), the argument's index
and name, the worst entry's index into that block, the hand-coded and reference values
there, and the fraction of entries whose difference exceeds the tolerance scaled like
the metric (``tol · max(max|ref|, floor)`` of the block, see verify/tolerances.py).

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

Then the hypotheses of a wrong rule, each a named candidate built from got and expected,
the arguments and the output y = f(x) (the primal's value at the point; never from the
function's name), in this order:

- variable   got is a multiple of one argument where expected is a multiple of another:
             the derivative taken with respect to the wrong argument
- output     got/expected = g(y) entrywise (broadcast along a Jacobian's input axes) for g
             one of 1 − y, 1 + y, y, 1 − y² or its reciprocal: a derivative written through
             the output with a factor of it missing or extra (σ for σ(1 − σ), 1 − t for 1 − t²)
- power      got = C·expected^p for a simple fraction p ≠ 0, 1 (got² = expected: a square
             forgotten; p = τ: a softmax whose temperature τ is forgotten)
- term       for an elementwise f, got = c·y/x with x an argument: only the term c·x^(c−1)·g
             of the product rule of y = x^c·g (the term x^c·g′ missing); for a 2-D block,
             got − expected = diag(d)·B (or B·diag(d)) for an argument B while got is
             diag(e)·A alone: the product-rule term carrying B is missing
- sign       the same two candidates with got + expected in place of got: the other term's
             sign is flipped
- factor     got = P(x)·expected or expected = P(x)·got entrywise, P a polynomial of degree 2
             in an argument x shaped like the block, with simple coefficients (1 + x²: a
             power of a denominator forgotten)
- shift      the output is a polynomial in x (fitted, to rounding) and got is its derivative
             with every coefficient taken one position off (c_(k−1) or c_(k+1) for c_k)
- entry      the difference is confined to a few scattered entries (no more than the block's
             longest axis, a third of the block at most) where got = c·expected, c simple
- axis       got = α·P − β·Y for an argument Y and P normalised along one axis, while the
             answer's sums follow the same law along another: a softmax over the wrong axis
- transpose  for a square, non-symmetric argument X: X·got = Xᵀ·expected, got·X = expected·Xᵀ
             or X·got·X = Xᵀ·expected·Xᵀ: X⁻¹ where X⁻ᵀ belongs on that side

A result of the wrong shape that is no transpose and no argument reduced over the wrong
axis is tried as the other marginal sum (axis): it differs from the answer along one axis,
both sizes are sizes of the arguments' axes, and the sums along that axis agree.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .tolerances import floor_of, metric_scale, wrong_entries

RESIDUAL_RTOL = {"float64": 1e-9, "float32": 1e-5}
"""The residual a correction may leave, relative to max|ref|: about 1e7 roundings in float64,
100 in float32 (whose rounding is 6e-8)."""
EXPLAINED = 1e-3
CLASSES = ("sign", "factor", "axis", "transpose", "symmetric", "shift", "entry", "term", "order", "output", "power", "variable")
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


def locate_block(got, ref, tol: float, *, block=None, argument=None, argument_name: str = "", floor: float = 0.0) -> Location:
    """The worst entry of one block and the fraction of entries above ``tol · max(max|ref|, floor)``."""
    got, ref = _float(got), _float(ref)
    diff = np.abs(got - ref)
    scale = metric_scale(ref, floor)
    flat = int(np.argmax(diff))
    index = tuple(int(i) for i in np.unravel_index(flat, ref.shape)) if ref.shape else ()
    return Location(block, argument, argument_name, index, float(got.reshape(-1)[flat]), float(ref.reshape(-1)[flat]),
                    float(np.mean(wrong_entries(got, ref, tol, floor))), float(np.max(diff) / scale))


def locate(got, ref, tol: float, wrt: tuple[int, ...], names=(), *, per_argument: bool = True, floor=None) -> Location:
    """The worst block of a result (one block per wrt argument when ``ref`` is a tuple).

    ``per_argument=False`` (a jvp) says the result is the function's output, not an
    argument's block. ``floor``: the metric's rounding floor, per block (a tuple) or one."""

    def name(i):
        return names[i] if i is not None and i < len(names) else ""

    if isinstance(ref, tuple):
        blocks = [locate_block(g, r, tol, block=k, argument=i, argument_name=name(i), floor=floor_of(floor, k))
                  for k, (g, r, i) in enumerate(zip(got, ref, wrt))]
        return max(blocks, key=lambda b: b.error)
    argument = wrt[0] if per_argument else None
    return locate_block(got, ref, tol, argument=argument, argument_name=name(argument), floor=floor_of(floor, 0))


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


# --------------------------------------------------------------------------------------
# Named candidates: built from the arguments and the output y = f(x)
# --------------------------------------------------------------------------------------


def _who(i: int, name: str) -> str:
    return f"argument {i}" + (f" ({name})" if name else "")


def _times(c: float) -> str:
    """'' for 1, '−' for −1, else 'c·'."""
    return {"1": "", "-1": "−"}.get(_fraction(c), _fraction(c) + "·")


def _power_text(name: str, k: Fraction) -> str:
    """x^k written out: '' for k = 0, x for k = 1, x^(1/2) for a fraction."""
    if k == 0:
        return ""
    if k == 1:
        return name
    return f"{name}^{k}" if k.denominator == 1 and k > 0 else f"{name}^({k})"


def _varies(a: np.ndarray) -> bool:
    """More than one distinct value (a constant array is no candidate: it is a constant factor)."""
    return a.size >= 2 and bool(np.all(np.isfinite(a))) and float(np.ptp(a)) > 1e-12 * max(float(np.max(np.abs(a))), 1e-300)


def _output_array(output) -> np.ndarray | None:
    """The primal's output as a float64 array, or None: a structured output, or one numpy
    cannot read (a tensor that requires grad), gives no candidate."""
    if output is None or isinstance(output, (tuple, list, dict)):
        return None
    try:
        return np.asarray(output, dtype=np.float64)
    except Exception:
        return None


def _output_like(output, shape, out_ndim) -> np.ndarray | None:
    """The output y broadcast to a block's shape: y itself when the block is shaped like
    it (an f'(x) compared entrywise, a vjp of an elementwise map), or along the input axes
    of a Jacobian block (out + in axes); None otherwise or when y does not vary."""
    y = _output_array(output)
    if y is None:
        return None
    if not _varies(y):
        return None
    if y.shape == shape:
        return y
    if out_ndim and tuple(shape[:out_ndim]) == y.shape:
        return np.broadcast_to(y.reshape(y.shape + (1,) * (len(shape) - out_ndim)), shape)
    return None


def _elementwise(test: _Test, output, out_ndim) -> tuple[_Test, np.ndarray] | None:
    """(test on got and expected as arrays shaped like y, y) when the block is the
    derivative of an elementwise map: shaped like the output, or a Jacobian block whose
    got and expected are both diagonal (out shape = in shape)."""
    y = _output_array(output)
    if y is None:
        return None
    if y.size < 3 or not _varies(y):
        return None
    got, ref = test.got, test.ref
    if got.shape == y.shape:
        return test, y
    if out_ndim and got.shape == y.shape + y.shape:
        n = y.size
        G, R = got.reshape(n, n), ref.reshape(n, n)
        off = ~np.eye(n, dtype=bool)
        if float(np.max(np.abs(G[off]))) <= test.bound and float(np.max(np.abs(R[off]))) <= test.rtol * test.scale:
            diagonal = _Test(np.diag(G).reshape(y.shape), np.diag(R).reshape(y.shape))
            diagonal.rtol, diagonal.bound = test.rtol, test.bound
            return diagonal, y
    return None


def _product_term(test: _Test, args, output, out_ndim) -> Diagnosis | None:
    """For an elementwise f with output y and an argument x shaped like it: the product
    rule of y = x^c·g(x) is y′ = c·(y/x) + x^c·g′. got = c·y/x keeps only the first term;
    got + expected = 2c·y/x flips the sign of the second. The answer itself must not be a
    multiple of y/x (then y is a pure power and a wrong c is a constant factor)."""
    found = _elementwise(test, output, out_ndim)
    if found is None:
        return None
    t, y = found
    for i, (x, name) in enumerate(args):
        x = x.astype(np.float64)
        if x.shape != y.shape or np.any(x == 0) or not _varies(x):
            continue
        candidate = y / x
        if _fit(t, candidate, t.ref) is not None:
            continue
        x_ = name or "x"
        for target, doubled in ((t.got, False), (t.got + t.ref, True)):
            c = _fit(t, candidate, target)
            f = _simple(c / 2 if doubled else c, t.rtol) if c is not None else None
            if f is None and c is not None and abs((c / 2 if doubled else c) - 1) <= t.rtol:
                f = Fraction(1)
            if f is None:
                continue
            kept = "·".join(part for part in (_fraction(float(f)) if f != 1 else "", _power_text(x_, f - 1), "g") if part)
            other = f"{_power_text(x_, f)}·g′"
            rule = f"for y = {_power_text(x_, f)}·g({x_}), y′ = {kept} + {other}"
            if not doubled:
                return Diagnosis("term", f"got = {_times(float(f))}y/{x_} with y = f({x_}), the output, and {x_} = {_who(i, name)}: "
                                         f"{rule}, and got is only the term {kept}: the term {other} of the product rule is missing")
            return Diagnosis("sign", f"got + expected = {_times(float(2 * f))}y/{x_} with y = f({x_}), the output, and {x_} = {_who(i, name)}: "
                                     f"{rule}, and got = {kept} − {other}: the sign of the term {other} is flipped")
    return None


def _scaled(M: np.ndarray, target: np.ndarray, test: _Test, axis: int) -> bool:
    """target ≈ diag(d)·M (axis 0: each row of M scaled) or M·diag(d) (axis 1), d ≠ 0."""
    den = np.sum(M * M, axis=1 - axis)
    if np.any(den == 0):
        return False
    d = np.sum(target * M, axis=1 - axis) / den
    fitted = d[:, None] * M if axis == 0 else M * d[None, :]
    return bool(np.any(d != 0)) and test.explains(target - fitted)


def _scaled_term(test: _Test, args) -> Diagnosis | None:
    """A 2-D block and two arguments A, B shaped like it: got − expected = diag(d)·B while
    got = diag(e)·A alone (the term of a product rule that carries B is missing), or
    got + expected = diag(e)·A (that term's sign is flipped); likewise with B·diag(d).
    The answer itself must not be a scaled B (then only the scale is wrong)."""
    got, ref = test.got, test.ref
    if ref.ndim != 2 or min(ref.shape) < 2:
        return None
    candidates = [(i, a.astype(np.float64), name) for i, (a, name) in enumerate(args) if a.shape == ref.shape and _varies(a)]
    if len(candidates) < 2:
        return None
    diff = got - ref
    for axis in (0, 1):
        if ref.shape[1 - axis] < 3:  # a row (column) of two entries leaves too little to fit
            continue
        for j, B, name_b in candidates:
            if not _scaled(B, diff, test, axis) or _scaled(B, ref, test, axis):
                continue
            b = name_b or f"argument {j}"
            term = f"diag(d)·{b}" if axis == 0 else f"{b}·diag(d)"
            for i, A_, name_a in candidates:
                if i == j:
                    continue
                a = name_a or f"argument {i}"
                alone = f"diag(e)·{a}" if axis == 0 else f"{a}·diag(e)"
                if _scaled(A_, got, test, axis) and not _scaled(A_, ref, test, axis):
                    return Diagnosis("term", f"got − expected = {term}, a multiple of {_who(j, name_b)} {'row' if axis == 0 else 'column'} by "
                                             f"{'row' if axis == 0 else 'column'}, and got = {alone} alone: the product-rule term that carries "
                                             f"{b} is missing (∂(f ⊙ g) = diag(g)·J_f + diag(f)·J_g)")
                if _scaled(A_, got + ref, test, axis):
                    return Diagnosis("sign", f"got − expected = {term} and got + expected = {alone}: of the two product-rule terms, "
                                             f"the one that carries {b} ({_who(j, name_b)}) has its sign flipped")
    return None


_OUTPUT_FACTORS = (
    ("(1 − y)", lambda y: 1 - y, "σ where σ′ = σ(1 − σ) belongs"),
    ("(1 + y)", lambda y: 1 + y, "1 − t where 1 − t² = (1 − t)(1 + t) belongs"),
    ("y", lambda y: y, "1 − σ where σ(1 − σ) belongs"),
    ("(1 − y²)", lambda y: 1 - y * y, "the factor tanh′ = 1 − tanh² dropped"),
)


def _output_factor(test: _Test, output, out_ndim) -> Diagnosis | None:
    """got = c·expected/g(y) or c·expected·g(y) entrywise, y = f(x) the output, g one of
    _OUTPUT_FACTORS: a derivative written through the output with a factor of it missing
    (σ for σ(1 − σ)) or extra."""
    got, ref = test.got, test.ref
    y = _output_like(output, ref.shape, out_ndim)
    if y is None:
        return None
    with np.errstate(all="ignore"):
        for name, g_of, example in _OUTPUT_FACTORS:
            g = g_of(y)
            if np.any(g == 0) or not _varies(g):
                continue
            for missing in (True, False):
                c = _fit(test, ref / g if missing else ref * g, got)
                if c is None or (abs(c - 1) > test.rtol and _simple(c, test.rtol) is None):
                    continue
                scale = "" if abs(c - 1) <= test.rtol else f" × {_fraction(c)}"
                if missing:
                    itself = f"got = {_times(c)}y, the function's value, and " if test.explains(got - c * y) else "got = "
                    return Diagnosis("output", f"{itself}expected/{name}{scale} with y = f(x), the output: a derivative written through the output "
                                               f"with the factor {name} missing (e.g. {example})")
                return Diagnosis("output", f"got = expected·{name}{scale} with y = f(x), the output: a factor {name} of the output too many")
    return None


def _power(test: _Test) -> Diagnosis | None:
    """got = C·expected^p entrywise for a simple fraction p ≠ 0, 1 (got² = C²·expected when
    got's signs are free, p = 1/2): p is read off a log-log fit and the residual decides."""
    got, ref = test.got, test.ref
    if ref.size < 3 or np.any(ref == 0) or np.any(got == 0):
        return None
    with np.errstate(all="ignore"):
        lr, lg = np.log(np.abs(ref)).ravel(), np.log(np.abs(got)).ravel()
        if float(np.ptp(lr)) < 1e-3:  # too little spread to tell a power from a factor
            return None
        centred = lr - lr.mean()
        p = float(np.dot(centred, lg - lg.mean()) / np.dot(centred, centred))
        if not np.isfinite(p):
            return None
        f = Fraction(p).limit_denominator(12)
        if f in (0, 1) or abs(float(f) - p) > 1e-6:
            return None
        base = np.abs(ref) ** float(f)
        one_sign = bool(np.all(ref > 0) or np.all(ref < 0))
        signed = ref ** int(f) if f.denominator == 1 else np.sign(ref) * base  # an integer power keeps its own sign
        c = _fit(test, signed, got)
        free = False
        if c is None and f == Fraction(1, 2) and one_sign:  # √ with either sign: got² ∝ expected
            c, free = _fit(test, base, np.abs(got)), True
    if c is None:
        return None
    if f == Fraction(1, 2):
        c2 = c * c * (1 if np.all(ref > 0) else -1)
        either = ", either sign" if free else ""
        return Diagnosis("power", f"got² = {_times(c2)}expected (got = {_times(c)}√expected{either}): a square forgotten (e.g. sec x where sec²x belongs)")
    if f == 2:
        return Diagnosis("power", f"got = {_times(c)}expected²: a square too many")
    if f.denominator == 1:
        return Diagnosis("power", f"got = {_times(c)}expected^({f}) entrywise: a power of the answer (a wrong exponent)")
    return Diagnosis("power", f"got = {_times(c)}expected^({f}) entrywise: a power of the answer (a wrong exponent, or a wrong scale "
                              f"inside an exponential: softmax(x) ∝ softmax(x/τ)^τ, a temperature τ forgotten)")


def _wrong_variable(test: _Test, args) -> Diagnosis | None:
    """got is a multiple of argument i where the answer is a multiple of argument j ≠ i
    (and got is not a multiple of argument j): differentiated with respect to the wrong one."""
    got, ref = test.got, test.ref
    candidates = [(i, a.astype(np.float64), name) for i, (a, name) in enumerate(args) if a.shape == ref.shape and _varies(a)]
    for j, b, name_b in candidates:
        cr = _fit(test, b, ref)
        if cr is None:
            continue
        for i, a, name_a in candidates:
            if i == j or _fit(test, b, a) is not None:
                continue
            cg = _fit(test, a, got)
            if cg is not None:
                x_, a_ = name_a or f"argument {i}", name_b or f"argument {j}"
                return Diagnosis("variable", f"got = {_times(cg)}{x_} ({_who(i, name_a)}) where the answer is {_times(cr)}{a_} ({_who(j, name_b)}): "
                                             f"differentiated with respect to the wrong argument (∂(aᵀx)/∂a = x, ∂(aᵀx)/∂x = a)?")
    return None


def _snap(coefficients: np.ndarray, rtol: float) -> list[Fraction] | None:
    """Coefficients as simple fractions (0 below rtol of the largest), or None."""
    top = float(np.max(np.abs(coefficients)))
    if top == 0 or not np.isfinite(top):
        return None
    out = []
    for c in coefficients:
        c = float(c)
        if abs(c) <= rtol * top:
            out.append(Fraction(0))
            continue
        f = Fraction(c).limit_denominator(100)
        if abs(float(f) - c) > 1e3 * rtol * top or abs(f.numerator) > 1000:
            return None
        out.append(f)
    return out


def _polynomial_text(coefficients, name: str) -> str:
    terms = []
    for k, c in enumerate(coefficients):
        if c == 0:
            continue
        power = {0: "", 1: name, 2: name + "²", 3: name + "³"}.get(k, f"{name}^{k}")
        magnitude = abs(c)
        text = power if (magnitude == 1 and k) else (str(magnitude) + ("·" + power if k else ""))
        terms.append(("−" if c < 0 else "+", text))
    sign, first = terms[0]
    return "(" + ("−" if sign == "−" else "") + first + "".join(f" {s} {t}" for s, t in terms[1:]) + ")"


def _polynomial_factor(test: _Test, args) -> Diagnosis | None:
    """got = P(x)·expected or expected = P(x)·got entrywise, for an argument x shaped like
    the block and P of degree 2 with simple coefficients, not a monomial (a constant or a
    power of x is the plain factor): a factor such as 1 + x² missing or extra."""
    got, ref = test.got, test.ref
    if ref.size < 6:
        return None
    for i, (x, name) in enumerate(args):
        if x.shape != ref.shape or len(np.unique(x)) < 4:  # three coefficients and one entry to spare
            continue
        x = x.astype(np.float64).ravel()
        for extra in (True, False):
            base, target = (ref, got) if extra else (got, ref)
            base = base.ravel()
            V = np.stack([base, x * base, x * x * base], axis=1)
            coefficients = np.linalg.lstsq(V, target.ravel(), rcond=None)[0]
            snapped = _snap(coefficients, test.rtol)
            if snapped is None or sum(c != 0 for c in snapped) < 2:
                continue
            P = sum(float(c) * x**k for k, c in enumerate(snapped)).reshape(ref.shape)
            if not test.explains(got - P * ref if extra else ref - P * got):
                continue
            text = _polynomial_text(snapped, name or "x")
            where = f"with {name or 'x'} = {_who(i, name)}"
            if extra:
                return Diagnosis("factor", f"an elementwise factor: got = {text} × expected, {where}: a factor {text} too many "
                                           f"(e.g. one power of a denominator missing: /v where /v² belongs)")
            return Diagnosis("factor", f"an elementwise factor: got = expected / {text}, {where}: a factor {text} missing")
    return None


MAX_POLYNOMIAL_DEGREE = 12
"""The highest degree _polynomial_shift fits. A Vandermonde matrix of higher degree is too
ill-conditioned in float64 for its fit to mean anything, and trying every degree up to
the block's size cost a failing check of a ReLU on 200 inputs 400 least-squares fits
(0.6 s per check; the fits are O(n·d²) each)."""


def _polynomial_shift(test: _Test, args, output) -> Diagnosis | None:
    """The output y is a polynomial Σ c_k x^k in an argument x shaped like it (fitted to
    rounding, degree 2 or more), the answer is its derivative Σ k c_k x^(k−1), and got is
    Σ k c_(k∓1) x^(k−1): every coefficient taken one position off."""
    got, ref = test.got, test.ref
    y = _output_like(output, ref.shape, None)
    if y is None or ref.size < 5:
        return None
    for i, (x, name) in enumerate(args):
        if x.shape != ref.shape:
            continue
        x = x.astype(np.float64).ravel()
        if len(np.unique(x)) < x.size:
            continue
        for degree in range(2, min(x.size - 1, MAX_POLYNOMIAL_DEGREE + 1)):
            V = np.vander(x, degree + 1, increasing=True)
            c = np.linalg.lstsq(V, y.ravel(), rcond=None)[0]
            if float(np.max(np.abs(V @ c - y.ravel()))) <= test.rtol * float(np.max(np.abs(y))):
                break
        else:
            continue
        k = np.arange(1, degree + 1)
        powers = np.vander(x, degree, increasing=True)  # x^(k−1)
        derivative = powers @ (k * c[1:])
        if not test.explains(ref.ravel() - derivative):
            continue
        padded = np.concatenate([[0.0], c, [0.0]])  # padded[k + 1] = c_k
        for step, off in ((-1, "c_(k−1)"), (1, "c_(k+1)")):
            shifted = powers @ (k * padded[k + 1 + step])
            if test.explains(got.ravel() - shifted):
                x_ = name or "x"
                return Diagnosis("shift", f"coefficients shifted: y = f({x_}) is a polynomial of degree {degree} in {x_} ({_who(i, name)}), "
                                          f"y = Σ c_k·{x_}^k, and got = Σ k·{off}·{x_}^(k−1) where Σ k·c_k·{x_}^(k−1) is needed (an off-by-one index)")
    return None


def _scattered(test: _Test) -> Diagnosis | None:
    """The difference is confined to a few scattered entries (at most as many as the
    block's longest axis, a third of the block at most), and there got = c·expected for
    one simple c: the same slip at each (a '=' where '+=' adds a repeated index's part)."""
    got, ref = test.got, test.ref
    wrong = np.abs(got - ref) > test.bound
    count = int(np.sum(wrong))
    if count < 2 or count > max(ref.shape) or 3 * count > ref.size:
        return None
    rr = float(np.vdot(ref[wrong], ref[wrong]))
    if rr == 0.0:
        return None
    c = float(np.vdot(got[wrong], ref[wrong])) / rr
    f = _simple(c, test.rtol) if abs(c + 1) > test.rtol else Fraction(-1)
    if f is None or not test.explains(np.where(wrong, got - c * ref, got - ref)):
        return None
    entries = [f"[{', '.join(map(str, map(int, ix)))}]" for ix in np.argwhere(wrong)]
    shown = ", ".join(entries[:6]) + (", …" if len(entries) > 6 else "")
    hint = " (a part added once where a repeated index adds it twice: '=' where '+=' is needed?)" if f == Fraction(1, 2) else ""
    return Diagnosis("entry", f"the difference is confined to {count} of {ref.size} entries ({shown}), and there got = {_fraction(c)} × expected{hint}")


def _normalised_axis(test: _Test, args) -> Diagnosis | None:
    """got = α·P − β·Y for an argument Y shaped like the block and P normalised along axis
    i (got's sums along i equal α − β·(Y's sums), fitted), where the answer's sums along
    another axis j follow the same law: a softmax (or a normalisation) over the wrong axis,
    as in (softmax(z) − y)/B taken over the batch axis."""
    got, ref = test.got, test.ref
    if ref.ndim < 2:
        return None

    def follows(a: np.ndarray, Y: np.ndarray, axis: int, alpha: float, beta: float) -> bool:
        residual = a.sum(axis=axis) - (alpha - beta * Y.sum(axis=axis))
        return float(np.max(np.abs(residual))) <= test.rtol * test.scale * a.shape[axis]

    for k, (Y, name) in enumerate(args):
        if Y.shape != ref.shape or not _varies(Y):
            continue
        Y = Y.astype(np.float64)
        for i in range(ref.ndim):
            sums = Y.sum(axis=i).ravel()
            if sums.size < 3 or not _varies(sums):  # α and β need two distinct sums and one to spare
                continue
            design = np.stack([np.ones_like(sums), -sums], axis=1)
            alpha, beta = np.linalg.lstsq(design, got.sum(axis=i).ravel(), rcond=None)[0]
            if alpha == 0 or not follows(got, Y, i, alpha, beta):
                continue
            for j in range(ref.ndim):
                if j != i and follows(ref, Y, j, alpha, beta) and not follows(got, Y, j, alpha, beta) and not follows(ref, Y, i, alpha, beta):
                    y_ = name or f"argument {k}"
                    plus = f" + {_times(beta)}{y_}" if beta > 0 else f" − {_times(-beta)}{y_}" if beta < 0 else ""
                    return Diagnosis("axis", f"normalised over the wrong axis: got{plus} sums to {_fraction(alpha)} along axis {i}, "
                                             f"where the answer{plus} does along axis {j} ({y_}: argument {k}): a softmax or a normalisation "
                                             f"over axis {i} where axis {j} is meant")
    return None


def _inverse_transposed(test: _Test, args) -> Diagnosis | None:
    """For a square, non-symmetric argument X: X·got = Xᵀ·expected, got·X = expected·Xᵀ or
    X·got·X = Xᵀ·expected·Xᵀ (to rounding of the products): got is the answer with X⁻¹
    where X⁻ᵀ belongs (or the reverse) on that side, as in −X⁻ᵀ y zᵀ X⁻ᵀ written with X⁻¹."""
    got, ref = test.got, test.ref
    if ref.ndim != 2:
        return None
    for i, (X, name) in enumerate(args):
        if X.ndim != 2 or X.shape[0] != X.shape[1] or X.shape[0] < 2 or np.allclose(X, X.T):
            continue
        X = X.astype(np.float64)
        n = X.shape[0]
        size = float(np.sum(X * X)) * max(float(np.max(np.abs(got))), test.scale)  # the products' rounding scale
        x_ = name or f"argument {i}"
        sides = []
        if ref.shape[0] == n:
            sides.append((X @ got, X.T @ ref, X @ ref, f"{x_}·got = {x_}ᵀ·expected", "on the left", 1))
        if ref.shape[1] == n:
            sides.append((got @ X, ref @ X.T, ref @ X, f"got·{x_} = expected·{x_}ᵀ", "on the right", 1))
        if ref.shape == (n, n):
            sides.append((X @ got @ X, X.T @ ref @ X.T, X @ ref @ X, f"{x_}·got·{x_} = {x_}ᵀ·expected·{x_}ᵀ", "on both sides", n))
        for left, right, as_if_right, relation, where, products in sides:
            # the relation holds to rounding and explains all but a thousandth of got's departure from the answer
            bound = min(test.rtol * size * products, EXPLAINED * float(np.max(np.abs(left - as_if_right))))
            if float(np.max(np.abs(left - right))) <= bound:
                return Diagnosis("transpose", f"{relation}: {x_}⁻¹ where {x_}⁻ᵀ belongs (or the reverse) {where} "
                                              f"({x_} = {_who(i, name)}): an inverse that lost its transpose")
    return None


def _marginal(got: np.ndarray, ref: np.ndarray, args, dtype: str) -> Diagnosis | None:
    """A result of the wrong shape that differs from the answer along one axis, both
    sizes being sizes of the arguments' axes, with the same sums along that axis: the two
    marginal sums of one array (Σ over rows and Σ over columns have the same total)."""
    if got.ndim != ref.ndim or got.ndim == 0 or not np.all(np.isfinite(got)):
        return None
    axes = [a for a in range(ref.ndim) if got.shape[a] != ref.shape[a]]
    if len(axes) != 1:
        return None
    a = axes[0]
    sizes = _axis_sizes([(x.shape, name) for x, name in args])
    n_got, n_ref = got.shape[a], ref.shape[a]
    if n_got not in sizes or n_ref not in sizes:
        return None
    rtol = RESIDUAL_RTOL.get(dtype, RESIDUAL_RTOL["float32"])
    bound = rtol * max(float(np.sum(np.abs(got))), float(np.sum(np.abs(ref))), np.finfo(np.float64).tiny)
    if float(np.max(np.abs(got.sum(axis=a) - ref.sum(axis=a)))) > bound:
        return None
    total = "the same total" if ref.ndim == 1 else f"the same sums over axis {a}"
    return Diagnosis("axis", f"summed over the wrong axis: got has shape {got.shape} where {ref.shape} is expected, with {total}: "
                             f"the other marginal sum of one array ({n_got} is the size of {sizes[n_got]}, {n_ref} of {sizes[n_ref]})")


def diagnose_block(got, ref, *, args=(), out_ndim: int | None = None, dtype: str = "float64", output=None) -> Diagnosis | None:
    """The recognisable shape of got − ref for one block, or None.

    ``args``: (array, name) of each argument of the primal, to name a factor that is an
    axis size and to test the argument-shaped hypotheses; ``out_ndim``: the number of
    output axes when the block is a Jacobian (out + in axes); ``dtype``: the row of
    RESIDUAL_RTOL (the precision the derivative was computed in); ``output``: the primal's
    output y = f(x), for the hypotheses built from it (None: they are skipped)."""
    got, ref = _float(got), _float(ref)
    args = [(np.asarray(a), name) if np.issubdtype(np.asarray(a).dtype, np.number) else (np.zeros(()), name) for a, name in args]
    shapes = [(a.shape, name) for a, name in args]
    if got.shape != ref.shape:
        if ref.ndim == 2 and got.shape == ref.T.shape:
            test = _Test(got, ref.T, error=_scale(ref), dtype=dtype)  # no error to explain: rounding decides
            if test.explains(got - ref.T):
                return Diagnosis("transpose", f"transposed: got has shape {got.shape} and equals expectedᵀ (a dropped transpose, or the other layout)")
        return _wrong_reduction(got, ref, args, dtype) or _marginal(got, ref, args, dtype)
    test = _Test(got, ref, dtype=dtype)
    if test.error == 0.0 or not np.all(np.isfinite(got)) or not np.all(np.isfinite(ref)):
        return None
    for hypothesis in (lambda: _factor(test, shapes), lambda: _transpose(test), lambda: _symmetric(test),
                       lambda: _symmetric_product(test, args), lambda: _argument_factor(test, args),
                       lambda: _shift(test), lambda: _confined(test), lambda: _term(test, out_ndim),
                       lambda: _wrong_variable(test, args), lambda: _output_factor(test, output, out_ndim), lambda: _power(test),
                       lambda: _product_term(test, args, output, out_ndim), lambda: _scaled_term(test, args),
                       lambda: _polynomial_factor(test, args), lambda: _polynomial_shift(test, args, output), lambda: _scattered(test),
                       lambda: _normalised_axis(test, args), lambda: _inverse_transposed(test, args)):
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


def diagnose(got, ref, tol: float, wrt: tuple[int, ...] = (0,), names=(), args=(), out_ndim=None, dtype: str = "float64", output=None,
             floor=None) -> Diagnosis | None:
    """The diagnosis of a whole result: per block when ``ref`` is a tuple.

    Only blocks whose metric exceeds ``tol`` are diagnosed; every one of them must have a
    diagnosis, else there is none. The text names the block when the result has several."""
    if not isinstance(ref, tuple):
        return diagnose_block(got, ref, args=args, out_ndim=out_ndim if np.ndim(ref) else None, dtype=dtype, output=output)
    order = _order(got, ref, dtype)
    if order is not None:
        return order
    found = []
    for k, (g, r, i) in enumerate(zip(got, ref, wrt)):
        g, r = _float(g), _float(r)
        if g.shape == r.shape and float(np.max(np.abs(g - r), initial=0.0)) <= tol * metric_scale(r, floor_of(floor, k)):
            continue
        d = diagnose_block(g, r, args=args, out_ndim=out_ndim, dtype=dtype, output=output)
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

