"""The one tolerance table, keyed by (oracle, dtype), and the one error metric.

Autodiff against the hand-coded derivative in float64 is tight: observed errors are
around 1e-15, so 1e-10 still rejects a derivative that is off by a relative 1e-8.
Finite differences (Richardson-extrapolated central differences, scipy.differentiate)
reach about 1e-12 on smooth entries; 1e-7 leaves room for curvature and conditioning.
Second-order differences (a Hessian from nested differences) lose a few more digits.
The complex step has no subtractive cancellation and is exact to rounding.
In float32 everything is compared at about the square root of float32's epsilon.
An entry overrides a value only with a written reason (Identity.tolerance_reason).
"""

from __future__ import annotations

import numpy as np

ORACLES = ("autodiff", "finite_difference", "finite_difference_2", "complex_step")

TOLERANCES: dict[tuple[str, str], float] = {
    ("autodiff", "float64"): 1e-10,
    ("autodiff", "float32"): 1e-4,
    ("finite_difference", "float64"): 1e-7,
    ("finite_difference", "float32"): 1e-4,
    ("finite_difference_2", "float64"): 1e-5,
    ("finite_difference_2", "float32"): 1e-3,
    ("complex_step", "float64"): 1e-12,
    ("complex_step", "float32"): 1e-4,
}


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


def relative_error_parts(got, ref) -> float:
    """The metric over matching tuples (one part per wrt argument): the worst part."""
    if isinstance(ref, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(ref):
            n = len(got) if isinstance(got, (tuple, list)) else 1
            raise ComparisonError(f"{n} result(s) where {len(ref)} (one per wrt argument) are expected")
        return max(relative_error(g, r) for g, r in zip(got, ref))
    if isinstance(got, (tuple, list)):
        raise ComparisonError(f"a tuple of {len(got)} results where one array is expected")
    return relative_error(got, ref)
