"""The one tolerance table, keyed by (oracle, dtype), and the one error metric.

Autodiff against the hand-coded derivative in float64 is tight: observed errors are
around 1e-15, so 1e-10 still rejects a derivative that is off by a relative 1e-8.
Finite differences (scipy.differentiate: an order-8 central stencil, step halved each iteration)
reach about 1e-12 on smooth entries; 1e-7 leaves room for curvature and conditioning.
Second-order differences lose a few more digits (their rounding is divided by h², not h).
The complex step has no subtractive cancellation and is exact to rounding.
In float32 everything is compared at about the square root of float32's epsilon.
An entry overrides a value only with a written reason (Identity.tolerance_reason).

The metric
----------
A check passes when

    max|got − ref| ≤ tol · S,    S = max(max|ref|, floor),

computed per result block (one per wrt argument; the worst block is reported) and reported
as the ratio max|got − ref| / S. Without a floor, S = max|ref| and the metric is the plain
relative error. The floor is there because the rounding error of any implementation of a
derivative, the references included, is about ε times the size of the terms it sums, not
ε times the result: where the terms cancel (a gradient that is zero at an optimum, the
Jacobian of a saturated softmax, 1 − tanh² past |x| ≈ 7, LayerNorm of inputs near 1e6),
max|ref| is itself rounding noise, and the plain metric raises false alarms.

The rounding floor. Let T be the size of the terms a derivative sums at this input
(estimated below). Every implementation rounds with an absolute error of a few ε·T;
the floor allows ``ROUNDING_BUDGET`` = 256 of them, whatever the oracle:

    floor = T · min(256 ε / tol, 1),  so that  tol · floor = min(256 ε T, tol · T).

With ε = 2.2e-16 and tol = 1e-10 (autodiff, float64), the floor is 5.7e-4 · T; it changes
the verdict only where max|ref| < 5.7e-4 · T, that is where the result is three to four
orders of magnitude smaller than the terms that make it. In float32 (tol 1e-4) it is
0.3 · T. In float16 and bfloat16, 256 ε exceeds the table's value, and the cap makes the
floor T itself: the table's tolerance applied to the size of the terms. (ε is that of the
dtype the derivatives are computed in.) Why 256 and not a few: the estimates of T below
are order-of-magnitude ones; the largest shortfall measured is that of 1 − tanh²(x) by
autodiff, whose terms have size 1 while T₂ = 1/|x|: JAX's gap reaches 7ε at |x| up to
20, 140 ε·T₂ (tests/test_scale.py, derivations/01_single_variable_derivatives/tanh.md).

The size of the terms, T (``change_term_sizes``, ``value_term_sizes``), is the larger of
two cheap estimates, per block:

1. The change of a reference under a rounding-like perturbation of its inputs. Each
   floating-point argument (and the tangent, cotangent or vector) is multiplied entrywise
   by 1 ± η·s, s random signs, η = √ε (1.5e-8 in float64), and the reference is evaluated
   at both points: T₁ = max over entries of min(|r₊ − r|, |r − r₋|) / η. To first order this
   is |J_g (x ⊙ s)|, J_g the Jacobian of the derivative g itself: the error the derivative
   would have if every input were rounded once (relative ε), divided by ε. It sees the
   cancellations that amplify input rounding: at a least-squares optimum, 2Xᵀ(Xw − y) sums
   terms of size |X|²|w| (T₁ = 12 for the optimum of tests/test_scale.py, whose gradient is
   8e-15); LayerNorm of rows 1e6 + N(0, 1) subtracts the mean of values of size 1e6 and
   has T₁ ≈ 6e6 against results of size 7. The smaller of the two one-sided changes is
   used so that a kink crossed on one side (max-pooling with near-ties) cannot inflate
   it; a relative perturbation never crosses the kink of ReLU or |x| at 0.
2. The size the values of f give a derivative: T₂ = max|f| / rms(x) for a derivative,
   gradient or Jacobian (over rms(x)² for a Hessian; times the tangent's or vector's rms
   for a jvp or hvp; max|u ⊙ f| in place of max|f| for a vjp). It sees cancellations
   inside the computation that input rounding does not excite: autodiff's 1 − tanh²(x) and
   s − s² subtract numbers of size tanh² ≈ 1 and s ≈ 1, where T₁ ≈ 2|x|(1 − tanh²) is as
   small as the result. Cosine similarity of parallel vectors a, 2.5a has T₂ = 1/rms(a).

The estimate costs two extra evaluations of one reference (an autodiff one when the check
runs any) and is computed only for a check the plain metric fails, once per input.

What the floor can hide. A wrong derivative passes only if its error is below 256 ε T in
float64 (tol · T in float16/bfloat16). Relative to the result, that is 256 ε T / max|ref|:
5.7e-14 where T ≈ max|ref| (every well-conditioned case: the floor does not decide there,
and a relative 1e-8 error fails as before), and larger exactly where the references are
uncertain by a like amount. From T₂: a function whose value is much larger than its
derivative times its input (a relative condition number κ = |x f'|/|f| below 5.7e-4, e.g.
f = c + g(x) with a large constant c, or cos x near 0) is judged only to a relative
256 ε/κ, the accuracy finite differences of f have there (at κ = 1e-6: 5.7e-8). From T₁:
for the LayerNorm above, errors below 256 · 2.2e-16 · 6e6 ≈ 3.4e-7 (absolute, 4.6e-8
relative to its results of size 7) pass, against the 9e-10 by which correct
implementations (torch's and the hand-coded one) already differ there; a relative 1e-6
error fails (tests/test_scale.py).

Where the floor, not max|ref|, decides the scale, the check's message and the report's
notes say so, with max|ref|, the size of the terms and the scale used; the error shown
is max|got − ref| / S with the S actually used.

The saturated regions the samplers used to avoid for this reason (1 − s ≳ 1e-5 for
softmax, |x| ≤ 4 for tanh) are now inside the checks' domains; each entry's derivation
states its domain.
"""

from __future__ import annotations

import numpy as np

ORACLES = ("autodiff", "finite_difference", "finite_difference_2", "complex_step", "central_difference", "central_difference_2", "nondeterminism")

TOLERANCES: dict[tuple[str, str], float] = {
    ("autodiff", "float64"): 1e-10,
    ("autodiff", "float32"): 1e-4,
    ("finite_difference", "float64"): 1e-7,
    ("finite_difference", "float32"): 1e-4,
    ("finite_difference_2", "float64"): 1e-5,
    ("finite_difference_2", "float32"): 1e-3,
    # the benchmarks' plain central differences (one step h = ε^(1/3), resp. ε^(1/4) for
    # second order, no extrapolation) check each timed method before it is timed
    ("central_difference", "float64"): 1e-6,
    ("central_difference_2", "float64"): 1e-4,
    ("complex_step", "float64"): 1e-12,
    ("complex_step", "float32"): 1e-4,
    # float16 and bfloat16 (ε = 9.8e-4 and 7.8e-3): the hand-coded derivative and autodiff
    # run in that dtype, each rounding at every step, so they agree to a few ε; finite
    # differences are evaluated in float64 (a step cannot be resolved in 11 or 8 bits) and
    # differ from the low-precision derivative by the same few ε
    ("autodiff", "float16"): 1e-2,
    ("finite_difference", "float16"): 1e-2,
    ("finite_difference_2", "float16"): 5e-2,
    ("complex_step", "float16"): 1e-2,
    ("autodiff", "bfloat16"): 5e-2,
    ("finite_difference", "bfloat16"): 5e-2,
    ("finite_difference_2", "bfloat16"): 1e-1,
    ("complex_step", "bfloat16"): 5e-2,
    # two calls of the derivative on copies of the same input must agree bit for bit:
    # numpy and its BLAS are deterministic for a fixed thread count
    ("nondeterminism", "float64"): 0.0,
    ("nondeterminism", "float32"): 0.0,
    ("nondeterminism", "float16"): 0.0,
    ("nondeterminism", "bfloat16"): 0.0,
}


ORACLE_ESTIMATE_FACTOR = 10.0
"""A finite-difference check passes when its error is within the table's value OR within
this factor times the oracle's own error estimate (scipy.differentiate's change between
its last two iterates). The estimate matters only where differences cannot resolve the
table's value: a derivative that is 0 everywhere, or f ≈ 1 whose derivative is ~1e-6.
The autodiff checks never widen."""


def tolerance(oracle: str, dtype: str, overrides: dict | None = None) -> float:
    """The tolerance for an oracle at a dtype, after an entry's written override."""
    if overrides and oracle in overrides:
        value = overrides[oracle]
        return value.get(dtype, TOLERANCES[(oracle, dtype)]) if isinstance(value, dict) else value
    return TOLERANCES[(oracle, dtype)]


from .results import ComparisonError  # noqa: E402,F401  (defined with the results)


ROUNDING_BUDGET = 256.0
"""Roundings of the size of the terms allowed to any implementation of a derivative (the
module docstring: the rounding floor)."""

EPSILON = {"float64": float(np.finfo(np.float64).eps), "float32": float(np.finfo(np.float32).eps),
           "float16": float(np.finfo(np.float16).eps), "bfloat16": 2.0**-7}
"""Machine epsilon of each dtype with a row in the table."""

TINY = np.finfo(np.float64).tiny


def _blocks(value) -> list:
    return list(value) if isinstance(value, tuple) else [value]


def floor_of(floor, k: int) -> float:
    """Block k's floor: from a tuple of floors (one per block), one floor for all, or None (0)."""
    if floor is None:
        return 0.0
    if isinstance(floor, (tuple, list)):
        return float(floor[k]) if k < len(floor) else 0.0
    return float(floor)


def _comparable(got, ref) -> tuple[np.ndarray, np.ndarray]:
    got = np.asarray(got)
    ref = np.asarray(ref)
    if got.shape != ref.shape:
        raise ComparisonError(f"shape {got.shape} where the reference has shape {ref.shape}")
    if np.iscomplexobj(got) and not np.iscomplexobj(ref):
        raise ComparisonError("complex result where the reference is real")
    got = got.astype(np.float64) if not np.iscomplexobj(got) else got.astype(np.complex128)
    ref = ref.astype(np.float64) if not np.iscomplexobj(ref) else ref.astype(np.complex128)
    if not np.all(np.isfinite(got)):
        raise ComparisonError("hand-coded result contains NaN or Inf")
    if not np.all(np.isfinite(ref)):
        raise ComparisonError("reference contains NaN or Inf")
    return got, ref


def metric_scale(ref, floor: float = 0.0) -> float:
    """The metric's denominator S = max(max|ref|, floor, tiny)."""
    ref = np.asarray(ref)
    top = float(np.max(np.abs(ref))) if ref.size else 0.0
    return max(top, float(floor or 0.0), TINY)


def relative_error(got, ref, floor: float = 0.0) -> float:
    """max|got − ref| / max(max|ref|, floor, tiny), computed in float64.

    ``floor`` is the rounding floor of ``rounding_floor`` (0: the plain relative error).
    Raises ComparisonError for a shape mismatch or a non-finite value, which the engine
    reports as a FAIL with that reason.
    """
    got, ref = _comparable(got, ref)
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - ref)) / metric_scale(ref, floor))


def wrong_entries(got, ref, tol: float, floor: float = 0.0) -> np.ndarray:
    """The entrywise reading of the metric: True where |got − ref| > tol · S, S =
    max(max|ref|, floor, tiny), so that the metric exceeds tol exactly when at least one
    entry is wrong."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    return np.abs(got - ref) > tol * metric_scale(ref, floor)


def relative_error_parts(got, ref, floor=None) -> float:
    """The metric over matching tuples (one part per wrt argument): the worst part.
    ``floor``: one value per part (a tuple), one for all, or None."""
    if isinstance(ref, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(ref):
            n = len(got) if isinstance(got, (tuple, list)) else 1
            raise ComparisonError(f"{n} result(s) where {len(ref)} (one per wrt argument) are expected")
        errors = []
        for k, (g, r) in enumerate(zip(got, ref)):
            try:
                errors.append(relative_error(g, r, floor_of(floor, k)))
            except ComparisonError as exc:  # name the block: which of the results is off
                raise ComparisonError(f"result {k}: {exc}") from None
        return max(errors)
    if isinstance(got, (tuple, list)):
        raise ComparisonError(f"a tuple of {len(got)} results where one array is expected")
    return relative_error(got, ref, floor_of(floor, 0))


# --------------------------------------------------------------------------------------
# The rounding floor: the size of the terms a derivative sums (module docstring)
# --------------------------------------------------------------------------------------


def epsilon(dtype: str) -> float:
    return EPSILON.get(str(dtype), EPSILON["float64"])


def perturbation_size(dtype: str) -> float:
    """η = √ε: the relative perturbation of the inputs for the change estimate T₁."""
    return float(np.sqrt(epsilon(dtype)))


def rounding_floor(term_size: float, tol: float, dtype: str) -> float:
    """floor = T · min(ROUNDING_BUDGET · ε / tol, 1): tol · floor = min(256 ε T, tol · T)."""
    if not tol or tol <= 0 or not np.isfinite(term_size) or term_size <= 0:
        return 0.0
    return float(term_size) * min(ROUNDING_BUDGET * epsilon(dtype) / tol, 1.0)


def rounding_floors(term_sizes, tol: float, dtype: str):
    """``rounding_floor`` per block (a tuple for a tuple of term sizes)."""
    if isinstance(term_sizes, tuple):
        return tuple(rounding_floor(t, tol, dtype) for t in term_sizes)
    return rounding_floor(term_sizes, tol, dtype)


def perturbed(values, signs: np.random.Generator, eta: float, direction: float):
    """``values`` (arrays, through tuples and lists) multiplied entrywise by 1 + direction·η·s,
    s random signs; non-floating values as they are."""
    if isinstance(values, (tuple, list)):
        return type(values)(perturbed(v, signs, eta, direction) for v in values)
    if values is None:
        return None
    a = np.asarray(values)
    if not np.issubdtype(a.dtype, np.floating):
        return values
    s = signs.choice([-1.0, 1.0], size=a.shape)
    return (a * (1.0 + direction * eta * s)).astype(a.dtype)


def change_term_sizes(ref, plus, minus, eta: float):
    """T₁ per block: max over entries of min(|r₊ − r|, |r − r₋|) / η (0 where a block's
    shape or finiteness does not allow it)."""
    sizes = []
    for r, p, m in zip(_blocks(ref), _blocks(plus), _blocks(minus)):
        try:
            r, p, m = (np.asarray(v, dtype=np.float64) for v in (r, p, m))
            if not (r.shape == p.shape == m.shape) or r.size == 0:
                sizes.append(0.0)
                continue
            change = np.minimum(np.abs(p - r), np.abs(r - m)) / eta
            sizes.append(float(np.max(change)) if np.all(np.isfinite(change)) else 0.0)
        except (TypeError, ValueError):
            sizes.append(0.0)
    return tuple(sizes) if isinstance(ref, tuple) else sizes[0]


def _rms(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    return float(np.sqrt(np.mean(a * a))) if a.size else 0.0


def value_term_sizes(kind: str, args: tuple, wrt: tuple, out, probe, blocks: int | None):
    """T₂ per block: the size the values of f give a derivative, max|f| / rms(x) (over
    rms(x)² for a Hessian or HVP), times rms(tangent) for a jvp (the largest over its
    arguments), times rms(vector) for an hvp; for a vjp, max|u ⊙ f| in place of max|f|.
    0 for an argument that is all zeros (|f|/|x| means nothing there)."""
    out = np.asarray(out, dtype=np.float64)
    if out.size == 0:
        return tuple(0.0 for _ in range(blocks)) if blocks else 0.0
    top = float(np.max(np.abs(out)))
    if kind == "vjp" and probe is not None and np.shape(probe) == out.shape:
        top = float(np.max(np.abs(out * np.asarray(probe, dtype=np.float64))))

    def per(x, power=1):
        r = _rms(x)
        return top / r**power if r > 0 else 0.0

    if kind == "jvp":
        tangents = probe if isinstance(probe, (tuple, list)) else (probe,)
        return max((per(args[i]) * _rms(t) for i, t in zip(wrt, tangents)), default=0.0)
    if kind in ("hessian", "hvp"):
        size = per(args[wrt[0]], 2)
        return size * _rms(probe) if kind == "hvp" and probe is not None else size
    sizes = tuple(per(args[i]) for i in wrt)
    return sizes if blocks else sizes[0]


def combine_term_sizes(a, b):
    """The larger of two estimates, per block (both tuples, or both single values)."""
    if isinstance(a, tuple):
        return tuple(max(float(x), float(y)) for x, y in zip(a, b))
    return max(float(a), float(b))


FLOOR_NOTE = "the reference is near zero or ill-conditioned at this input"


def floor_note(ref, floors, term_sizes) -> str:
    """'' when max|ref| decides every block's scale; else the sentence the report shows."""
    parts = []
    for k, r in enumerate(_blocks(ref)):
        floor = floor_of(floors, k)
        top = float(np.max(np.abs(np.asarray(r, dtype=np.float64)))) if np.size(r) else 0.0
        if floor > top:
            size = floor_of(term_sizes, k)
            which = f"result {k}: " if isinstance(ref, tuple) else ""
            parts.append(f"{which}max|ref| = {top:.2g} against terms of size {size:.2g}, errors measured against the rounding scale {floor:.2g}")
    if not parts:
        return ""
    return f"{FLOOR_NOTE}: " + "; ".join(parts)
