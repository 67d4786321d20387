"""Build a method's callable, run it once, and check it against the hand-coded derivative.

A benchmark of a wrong answer is worthless: ``checked_call`` raises before anything is
timed when a method's result differs from the hand-coded derivative in shape or value.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.methods import as_numpy_leaves, build

# The one tolerance table (verify/tolerances.py): autodiff at its float64 value; the
# benchmarks' plain central differences (one step, no extrapolation) at their own rows.
from verify.tolerances import ComparisonError, TOLERANCES
from verify.tolerances import relative_error as _relative_error


class WrongDerivative(AssertionError):
    """A method's result is not the hand-coded derivative."""


def relative_error(got, ref) -> float:
    """The suite's metric; a shape mismatch (a layout error) is wrong outright."""
    try:
        return _relative_error(got, ref)
    except ComparisonError as exc:
        raise WrongDerivative(str(exc)) from None


def tolerance_for(case, method: str) -> float:
    if method == "fd_central":
        return TOLERANCES[("central_difference_2" if case.kind == "hessian" else "central_difference", "float64")]
    return TOLERANCES[("autodiff", "float64")]


def checked_call(case, method: str, size: int, device: str = "cpu"):
    """(call, seconds of the first call, relative error); raises WrongDerivative."""
    wrt, fixed, direction = case.inputs(size)
    if method.endswith("_function"):
        reference = as_numpy_leaves(case.primal(*wrt, *fixed))
    else:
        reference = as_numpy_leaves(case.hand(*wrt, *fixed, *direction))
    start = time.perf_counter()
    call = build(method, case, wrt, fixed, direction, device)
    result = call()
    first_call_s = time.perf_counter() - start
    got = as_numpy_leaves(result)
    if len(got) != len(reference):
        raise WrongDerivative(f"{method}: {len(got)} arrays where the reference has {len(reference)}")
    error = max(relative_error(g, r) for g, r in zip(got, reference))
    if not error <= tolerance_for(case, method):
        raise WrongDerivative(f"{case.name}: {method} is wrong at size {size}: relative error {error:.3g}")
    return call, first_call_s, error
