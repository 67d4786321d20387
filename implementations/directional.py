"""Chapter 03: directional derivatives, steepest ascent, level sets and line search.

Derivatives are numpy only; the scalar functions differentiated here are the array-API
primals of chapter 02 (Rosenbrock, the logistic-regression loss).
``python -m verify 03_directional_derivatives`` checks every identity and claim here.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from implementations.multivariable import rosenbrock_gradient
from implementations.single_variable import sigmoid

# --------------------------------------------------------------------------------------
# The directional derivative: definition and D_v f = ∇f · v
# --------------------------------------------------------------------------------------


def directional_difference_quotient(f: Callable, x, v, h: float):
    """(f(x + hv) − f(x)) / h: the quotient whose limit as h → 0 defines D_v f.

    Derivation: derivations/03_directional_derivatives/directional_derivative.md
    """
    x, v = np.asarray(x, dtype=np.float64), np.asarray(v, dtype=np.float64)
    return (f(x + h * v) - f(x)) / h


def directional_derivative(gradient: Callable, x, v):
    """D_v f(x) = ∇f(x) · v for differentiable f.

    Derivation: derivations/03_directional_derivatives/directional_derivative.md
    """
    return float(np.vdot(gradient(x), v))


def rosenbrock_directional_derivative(x, tangent):
    """D_v f = ∇f · v for the Rosenbrock function.

    Derivation: derivations/03_directional_derivatives/directional_derivative.md
    """
    return np.vdot(rosenbrock_gradient(x), tangent)


def logistic_loss_directional_derivative(w, X, y, tangent):
    """D_v L(w) = ∇L(w) · v = (σ(Xw) − y)·(Xv)/n, without forming ∇L.

    Derivation: derivations/03_directional_derivatives/directional_derivative.md
    """
    return np.vdot(sigmoid(X @ w) - y, X @ tangent) / X.shape[0]


# --------------------------------------------------------------------------------------
# Steepest ascent and level sets
# --------------------------------------------------------------------------------------


def steepest_ascent_direction(gradient_at_x):
    """u* = ∇f/‖∇f‖: the unit direction with the largest D_u f, which is then ‖∇f‖.

    Derivation: derivations/03_directional_derivatives/steepest_ascent.md
    """
    g = np.asarray(gradient_at_x, dtype=np.float64)
    norm = np.linalg.norm(g)
    if norm == 0:
        raise ValueError("∇f = 0: every direction has D_u f = 0, there is no steepest one")
    return g / norm


def level_set_tangent_basis(gradient_at_x):
    """Rows: an orthonormal basis of the null space of ∇fᵀ, the tangent space of the level set.

    In 2-D the single row is ±(∂f/∂y, −∂f/∂x)/‖∇f‖, the tangent of the implicit-function
    theorem. Shape (n − 1, n).
    Derivation: derivations/03_directional_derivatives/level_curves.md
    """
    g = np.asarray(gradient_at_x, dtype=np.float64).reshape(1, -1)
    if not np.any(g):
        raise ValueError("∇f = 0: the level set need not be a smooth hypersurface here")
    _, _, vt = np.linalg.svd(g, full_matrices=True)
    # A 1 × n matrix has one singular value, ‖g‖, and vt[0] = ±g/‖g‖; rows 2…n of Vᵀ
    # complete it to an orthonormal basis of Rⁿ, so they span the null space of gᵀ.
    return vt[1:]


# --------------------------------------------------------------------------------------
# Optimization: descent directions, the Armijo condition, backtracking
# --------------------------------------------------------------------------------------


def is_descent_direction(gradient_at_x, direction) -> bool:
    """d is a descent direction when D_d f = ∇f · d < 0.

    Derivation: derivations/03_directional_derivatives/line_search.md
    """
    return bool(np.vdot(gradient_at_x, direction) < 0)


def armijo_condition(f_new: float, f_x: float, step: float, slope: float, c: float = 1e-4) -> bool:
    """Sufficient decrease: f(x + t d) ≤ f(x) + c t D_d f, with slope = D_d f < 0.

    Derivation: derivations/03_directional_derivatives/line_search.md
    """
    return bool(f_new <= f_x + c * step * slope)


class LineSearchResult(NamedTuple):
    step: float  # the accepted t; if none was accepted, the last t tried
    evaluations: int  # how many trial steps were tried (f evaluations after f(x))
    satisfied: bool  # whether the returned step satisfies the Armijo condition


def backtracking_line_search(f: Callable, gradient: Callable, x, direction, initial_step: float = 1.0,
                             shrink: float = 0.5, c: float = 1e-4, max_evaluations: int = 60) -> LineSearchResult:
    """t = t₀ρᵏ for the first k with f(x + t d) ≤ f(x) + c t ∇f·d (Armijo), d a descent direction.

    If none of the ``max_evaluations`` trial steps satisfies Armijo, returns the last step
    tried (t₀ρ^(max_evaluations − 1), which failed) with ``satisfied=False``.
    Derivation: derivations/03_directional_derivatives/line_search.md
    """
    x, direction = np.asarray(x, dtype=np.float64), np.asarray(direction, dtype=np.float64)
    slope = float(np.vdot(gradient(x), direction))
    if not slope < 0:
        raise ValueError(f"D_d f = {slope:.3g} >= 0: d is not a descent direction")
    f_x = f(x)
    step = initial_step
    for evaluation in range(1, max_evaluations + 1):
        if evaluation > 1:
            step *= shrink
        if armijo_condition(f(x + step * direction), f_x, step, slope, c):
            return LineSearchResult(step, evaluation, True)
    return LineSearchResult(step, max_evaluations, False)
