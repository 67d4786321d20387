"""Chapter 03's coding exercises: directional derivatives as JVPs, a level curve's tangent,
and the Hessian-vector product as the directional derivative of the gradient.

Exercises 5 to 8 of derivations/03_directional_derivatives/exercises.md; the reference
answers are in derivations/03_directional_derivatives/solutions.py. Every planted mistake
below is one students make, and tests/test_exercises.py checks that the engine rejects it.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace

from implementations.multivariable import logistic_loss, rosenbrock
from implementations.multivariable import logistic_loss_gradient as _logistic_gradient
from implementations.single_variable import sigmoid as _sigmoid
from implementations.single_variable import softmax
from implementations.single_variable import softmax_numpy as _softmax

from . import Exercise, Mistake
from ..samplers import away_from_zero, normal

CHAPTER = "03_directional_derivatives"


# --------------------------------------------------------------------------------------
# Exercise 5: the directional derivative of the logistic loss, as a JVP
# --------------------------------------------------------------------------------------


def _logistic_sample(rng):
    """w (5,), X (9, 5) Gaussian (of full column rank almost surely), y of 0s and 1s: no square shape."""
    X = normal(rng, (9, 5), 1.0)
    y = (rng.uniform(size=9) < 0.5).astype(np.float64)
    return normal(rng, 5, 0.7), X, y


LOGISTIC_MISTAKES = (
    Mistake("‖∇L‖ (the steepest rate) instead of ∇L·v",
            "Your answer does not change when the tangent changes direction. ‖∇L‖ is the rate along one "
            "particular direction; the JVP asks for the rate along the tangent you were given.",
            lambda w, X, y, tangent: np.linalg.norm(_logistic_gradient(w, X, y))),
    Mistake("the tangent normalised to length 1",
            "An unnormalised tangent is fine: D_v L is linear in v, so D_{2v} L = 2 D_v L, and autodiff's "
            "jvp does not rescale v. Compare your answer for v and for 2v.",
            lambda w, X, y, tangent: _logistic_gradient(w, X, y) @ tangent / np.linalg.norm(tangent)),
    Mistake("the 1/n of the mean dropped",
            "The loss is a mean over the n rows of X, not a sum: check the factor in front.",
            lambda w, X, y, tangent: (_sigmoid(X @ w) - y) @ (X @ tangent)),
    Mistake("y − σ(Xw) instead of σ(Xw) − y",
            "Check the sign of the derivative of softplus(z) − yz with respect to z.",
            lambda w, X, y, tangent: (y - _sigmoid(X @ w)) @ (X @ tangent) / X.shape[0]),
)


# --------------------------------------------------------------------------------------
# Exercise 6: the JVP of softmax
# --------------------------------------------------------------------------------------


SOFTMAX_MISTAKES = (
    Mistake("s ⊙ v: the −s sᵀ term of the Jacobian dropped",
            "Every output s_i depends on every input x_j through the normalising sum, not only on x_i: "
            "a cross term is missing.",
            lambda x, tangent: _softmax(x) * tangent),
    Mistake("s ⊙ (1 − s) ⊙ v: softmax differentiated like an elementwise sigmoid",
            "s(1 − s) is the diagonal of the Jacobian; the off-diagonal entries −s_i s_j are missing.",
            lambda x, tangent: _softmax(x) * (1 - _softmax(x)) * tangent),
    Mistake("v − s·v without the outer s",
            "Differentiate exp(x_i)/Σ exp(x_j) with the quotient rule: every term keeps a factor s_i.",
            lambda x, tangent: tangent - np.sum(_softmax(x) * tangent, axis=-1, keepdims=True)),
    Mistake("the sum s·v taken over the batch axis",
            "Each row of the batch is its own softmax: the sum that couples the outputs runs over the "
            "classes of one row (the last axis), not over the rows.",
            lambda x, tangent: _softmax(x) * (tangent - np.sum(_softmax(x) * tangent, axis=0, keepdims=True))),
)


# --------------------------------------------------------------------------------------
# Exercise 7: the slope of a level curve from the gradient
# --------------------------------------------------------------------------------------


def quadratic_level_curve(x, c):
    """The upper branch y(x) of the level curve x² + xy + 3y² = c, elementwise in x:
    y = (−x + √(12c − 11x²))/6, defined for 11x² < 12c."""
    xp = array_namespace(x, c)
    return (-x + xp.sqrt(12 * c - 11 * x**2)) / 6


def _on_curve_gradient(x, c):
    y = (-x + np.sqrt(12 * c - 11 * x**2)) / 6
    return 2 * x + y, x + 6 * y  # ∂f/∂x, ∂f/∂y of f = x² + xy + 3y² at (x, y(x))


def _level_curve_sample(rng):
    """c in [2, 4]; seven x inside 80 % of the branch's domain |x| < √(12c/11), away from 0."""
    c = rng.uniform(2.0, 4.0)
    return away_from_zero(rng, 7, 0.1, 0.8 * np.sqrt(12 * c / 11)), np.asarray(c)


LEVEL_CURVE_MISTAKES = (
    Mistake("+f_x/f_y: the sign lost",
            "Differentiate f(x, y(x)) = c with the chain rule and solve for y′: look at the sign.",
            lambda x, c: _on_curve_gradient(x, c)[0] / _on_curve_gradient(x, c)[1]),
    Mistake("f_y/f_x: the slope of ∇f, the normal, not the tangent",
            "∇f = (f_x, f_y) is perpendicular to the level curve; the tangent direction is ∇f turned by 90°.",
            lambda x, c: _on_curve_gradient(x, c)[1] / _on_curve_gradient(x, c)[0]),
    Mistake("∇f evaluated at (x, 0) instead of on the curve",
            "The gradient must be taken at the point (x, y(x)) of the level curve, not on the x axis.",
            lambda x, c: -(2 * x) / x),
)


# --------------------------------------------------------------------------------------
# Exercise 8: the Hessian-vector product of Rosenbrock, the directional derivative of ∇f
# --------------------------------------------------------------------------------------


def _rosenbrock_hvp_parts(x, vector):
    head, tail = x[:-1], x[1:]
    diagonal = np.zeros_like(x)
    diagonal[:-1] += 1200 * head**2 - 400 * tail + 2
    diagonal[1:] += 200
    off = -400 * head  # H[i, i+1] = H[i+1, i]
    return diagonal, off


def _hvp_diagonal_only(x, vector):
    diagonal, _ = _rosenbrock_hvp_parts(x, vector)
    return diagonal * vector


def _hvp_one_cross_term(x, vector):
    diagonal, off = _rosenbrock_hvp_parts(x, vector)
    product = diagonal * vector
    product[:-1] += off * vector[1:]  # H[i, i+1] v[i+1] kept, H[i+1, i] v[i] dropped
    return product


def _hvp_diagonal_without_tail(x, vector):
    diagonal, off = _rosenbrock_hvp_parts(x, vector)
    diagonal[:-1] += 400 * x[1:]  # ∂²/∂xᵢ² of 100(xᵢ₊₁ − xᵢ²)² without its −400 xᵢ₊₁
    product = diagonal * vector
    product[:-1] += off * vector[1:]
    product[1:] += off * vector[:-1]
    return product


ROSENBROCK_MISTAKES = (
    Mistake("the cross terms dropped: only Hᵢᵢvᵢ",
            "xᵢ and xᵢ₊₁ meet in the same term 100(xᵢ₊₁ − xᵢ²)²: moving xᵢ₊₁ changes ∂f/∂xᵢ, so (Hv)ᵢ "
            "also has terms in vᵢ₋₁ and vᵢ₊₁.",
            _hvp_diagonal_only),
    Mistake("one cross term dropped: H[i, i+1]vᵢ₊₁ kept, H[i+1, i]vᵢ lost",
            "The Hessian is symmetric (Schwarz): the coupling of xᵢ and xᵢ₊₁ acts in both rows i and i + 1.",
            _hvp_one_cross_term),
    Mistake("the −400 xᵢ₊₁ of Hᵢᵢ dropped",
            "Differentiate −400 xᵢ(xᵢ₊₁ − xᵢ²) by xᵢ with the product rule: both factors depend on xᵢ.",
            _hvp_diagonal_without_tail),
)


def _rosenbrock_sample(rng):
    """x of length 7, entries in ±[0.2, 1.8]: away from 0 and from the minimum (1, …, 1)."""
    return (away_from_zero(rng, 7, 0.2, 1.8),)


EXERCISES = [
    Exercise(CHAPTER, 5, "logistic_loss_jvp", "D_v L(w) = ∇L(w)·v for the logistic loss, as a JVP",
             logistic_loss, "jvp", _logistic_sample, wrt=0, mistakes=LOGISTIC_MISTAKES),
    Exercise(CHAPTER, 6, "softmax_jvp", "The JVP of softmax over the last axis: J v = s ⊙ (v − s·v)",
             softmax, "jvp", lambda rng: (normal(rng, (3, 7), 1.5),), wrt=0, mistakes=SOFTMAX_MISTAKES),
    Exercise(CHAPTER, 7, "level_curve_slope", "The slope y′(x) = −f_x/f_y of the level curve x² + xy + 3y² = c",
             quadratic_level_curve, "derivative", _level_curve_sample, wrt=0, mistakes=LEVEL_CURVE_MISTAKES),
    Exercise(CHAPTER, 8, "rosenbrock_hvp", "The Rosenbrock Hessian-vector product Hv = D_v ∇f, in O(n)",
             rosenbrock, "hvp", _rosenbrock_sample, wrt=0, mistakes=ROSENBROCK_MISTAKES),
]
