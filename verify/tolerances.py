"""The one tolerance table, keyed by (oracle, dtype), and the one error metric.

Autodiff against the hand-coded derivative in float64 is tight: observed errors are
around 1e-15, so 1e-10 still rejects a derivative that is off by a relative 1e-8.
Finite differences (scipy.differentiate: an order-8 central stencil, step halved each iteration)
reach about 1e-12 on smooth entries; 1e-7 leaves room for curvature and conditioning.
Second-order differences (a Hessian from nested differences) lose a few more digits.
The complex step has no subtractive cancellation and is exact to rounding.
In float32 everything is compared at about the square root of float32's epsilon.
An entry overrides a value only with a written reason (Identity.tolerance_reason).

Where a derivative is itself computed by cancellation, every implementation loses digits,
the references included: at a saturated softmax or tanh, s(1 − s) and 1 − tanh² carry a
relative rounding error of about ε/(1 − s). Past 1 − s ≈ 1e-5 that exceeds 1e-10, and a
correct hand-coded derivative (even one more accurate than autodiff, as softmax_jacobian
is) can disagree with autodiff by more than the table allows. Samplers and the property
tests' domains stay inside the region where the references are accurate to 1e-11; each
entry's derivation states its domain.
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


class ComparisonError(ValueError):
    """The hand-coded result cannot be compared with the reference (shape, NaN, ...)."""


def relative_error(got, ref) -> float:
    """max|got - ref| / max(max|ref|, tiny), computed in float64.

    Raises ComparisonError for a shape mismatch or a non-finite value, which the engine
    reports as a FAIL with that reason.
    """
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
    if got.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(ref))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(got - ref)) / scale)


def metric_scale(ref) -> float:
    """The metric's denominator: max(max|ref|, tiny)."""
    ref = np.asarray(ref, dtype=np.float64)
    return max(float(np.max(np.abs(ref))) if ref.size else 0.0, np.finfo(np.float64).tiny)


def wrong_entries(got, ref, tol: float) -> np.ndarray:
    """The entrywise reading of the metric: True where |got − ref| > tol · max(max|ref|, tiny),
    so that the metric exceeds tol exactly when at least one entry is wrong."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    return np.abs(got - ref) > tol * metric_scale(ref)


def relative_error_parts(got, ref) -> float:
    """The metric over matching tuples (one part per wrt argument): the worst part."""
    if isinstance(ref, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(ref):
            n = len(got) if isinstance(got, (tuple, list)) else 1
            raise ComparisonError(f"{n} result(s) where {len(ref)} (one per wrt argument) are expected")
        errors = []
        for k, (g, r) in enumerate(zip(got, ref)):
            try:
                errors.append(relative_error(g, r))
            except ComparisonError as exc:  # name the block: which of the results is off
                raise ComparisonError(f"result {k}: {exc}") from None
        return max(errors)
    if isinstance(got, (tuple, list)):
        raise ComparisonError(f"a tuple of {len(got)} results where one array is expected")
    return relative_error(got, ref)
