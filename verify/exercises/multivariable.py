"""Chapter 02's coding exercises: gradients, Jacobians and a Hessian of functions of many variables.

The statements are in derivations/02_multivariable_derivatives/exercises.md, the stubs in
starter.py, the reference answers in solutions.py. Each primal is written once against the
array API; each sampler uses distinct sizes (3, 5, 7, 9) and values that separate the right
answer from the planted mistakes.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace

from implementations import multivariable as mv
from implementations import single_variable as sv

from ..identities.multivariable import logistic_regression_sample
from ..samplers import away_from_zero, nonsymmetric, normal
from . import Exercise, Mistake

CHAPTER = "02_multivariable_derivatives"
SMOOTH_MAX_TAU = 0.5  # not 1, so that a forgotten 1/τ shows


# --------------------------------------------------------------------------------------
# Primals (array API)
# --------------------------------------------------------------------------------------


def least_squares(x, A, b):
    """f(x) = ‖Ax − b‖², A shaped (m, n), x (n,), b (m,): a sum, not a mean."""
    xp = array_namespace(x, A, b)
    residual = A @ x - b
    return xp.sum(residual * residual)


def smooth_max(x):
    """τ ln Σᵢ exp(xᵢ/τ) with τ = SMOOTH_MAX_TAU = 0.5."""
    return SMOOTH_MAX_TAU * sv.logsumexp(x / SMOOTH_MAX_TAU)


# --------------------------------------------------------------------------------------
# Samplers
# --------------------------------------------------------------------------------------


def _least_squares_sample(rng):
    return away_from_zero(rng, 5, 0.3, 1.5), nonsymmetric(rng, 7, 5), normal(rng, 7, 2.0)


def _polar_sample(rng):
    """r in [1.5, 3] (never 1, so a forgotten r shows); θ away from the axes, in any quadrant."""
    theta = rng.uniform(0.3, np.pi / 2 - 0.3) + rng.integers(0, 4) * np.pi / 2 - np.pi
    return (np.array([rng.uniform(1.5, 3.0), theta]),)


# --------------------------------------------------------------------------------------
# Planted wrong answers (the mistakes students make)
# --------------------------------------------------------------------------------------


def _softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _smooth_max_parts(x):
    s = _softmax(np.asarray(x) / SMOOTH_MAX_TAU)
    return s, np.diag(s) - np.outer(s, s)


EXERCISES = [
    Exercise(
        chapter=CHAPTER, number=6, function_name="least_squares_gradient",
        title="The gradient of f(x) = ‖Ax − b‖²", function=least_squares, kind="gradient",
        sample=_least_squares_sample, wrt=0,
        mistakes=(
            Mistake("Aᵀ(Ax − b): the factor 2 is missing",
                    "Differentiate one term r_i² of the sum: what does the chain rule give before the inner derivative?",
                    lambda x, A, b: A.T @ (A @ x - b)),
            Mistake("2Aᵀ(b − Ax): the sign of the residual is flipped",
                    "Check the sign of ∂r_i/∂x_k for r = Ax − b, and which way the gradient should point when Ax > b.",
                    lambda x, A, b: 2 * A.T @ (b - A @ x)),
            Mistake("(2/m)Aᵀ(Ax − b): divided by the number of rows",
                    "f is a sum of squares, not a mean: is there a 1/m anywhere in f?",
                    lambda x, A, b: 2 * A.T @ (A @ x - b) / A.shape[0]),
        ),
    ),
    Exercise(
        chapter=CHAPTER, number=7, function_name="softmax_jacobian",
        title="The Jacobian of softmax", function=sv.softmax, kind="jacobian",
        sample=lambda rng: (normal(rng, 7, 1.5),), wrt=0,
        mistakes=(
            Mistake("diag(s): only the diagonal",
                    "Every s_i has the same denominator Σ_j exp(x_j): does s_i change when x_k moves, for k ≠ i?",
                    lambda x: np.diag(_softmax(x))),
            Mistake("diag(s) + s sᵀ: the sign of the outer product",
                    "Each column of the Jacobian must sum to 0, because Σ_i s_i = 1 for every x.",
                    lambda x: np.diag(_softmax(x)) + np.outer(_softmax(x), _softmax(x))),
            Mistake("diag(e) − e eᵀ with e = exp(x): softmax not normalised",
                    "Which vector appears in the formula: exp(x), or exp(x) divided by its sum?",
                    lambda x: np.diag(np.exp(x)) - np.outer(np.exp(x), np.exp(x))),
        ),
    ),
    Exercise(
        chapter=CHAPTER, number=8, function_name="smooth_max_hessian",
        title="The Hessian of the smooth maximum τ·LSE(x/τ), τ = 0.5", function=smooth_max, kind="hessian",
        sample=lambda rng: (normal(rng, 5, 0.8),), wrt=0,
        mistakes=(
            Mistake("diag(s) − s sᵀ: the 1/τ of the chain rule is missing",
                    "The gradient is softmax(x/τ); differentiating it again brings out the inner derivative of x/τ once more.",
                    lambda x: _smooth_max_parts(x)[1]),
            Mistake("τ (diag(s) − s sᵀ): multiplied by τ instead of divided",
                    "Count the factors: τ outside, and one 1/τ per differentiation of x/τ. How many differentiations?",
                    lambda x: SMOOTH_MAX_TAU * _smooth_max_parts(x)[1]),
            Mistake("diag(s)/τ: the − s sᵀ term is missing",
                    "f(x + c·1) = f(x) + c for every c, so the Hessian times the all-ones vector must be 0.",
                    lambda x: np.diag(_smooth_max_parts(x)[0]) / SMOOTH_MAX_TAU),
        ),
    ),
    Exercise(
        chapter=CHAPTER, number=9, function_name="polar_jacobian",
        title="The Jacobian of the polar map (r, θ) ↦ (r cos θ, r sin θ)", function=mv.polar_to_cartesian,
        kind="jacobian", sample=_polar_sample, wrt=0,
        mistakes=(
            Mistake("Jᵀ: transposed (denominator layout)",
                    "In numerator layout row i holds the partials of output i; column j is the derivative along input j.",
                    lambda q: np.array([[np.cos(q[1]), np.sin(q[1])], [-q[0] * np.sin(q[1]), q[0] * np.cos(q[1])]])),
            Mistake("rows swapped: (y, x) instead of (x, y)",
                    "Which output comes first: r cos θ or r sin θ?",
                    lambda q: np.array([[np.sin(q[1]), q[0] * np.cos(q[1])], [np.cos(q[1]), -q[0] * np.sin(q[1])]])),
            Mistake("the θ column without its factor r",
                    "∂(r cos θ)/∂θ: r is held fixed, but it is still there.",
                    lambda q: np.array([[np.cos(q[1]), -np.sin(q[1])], [np.sin(q[1]), np.cos(q[1])]])),
        ),
    ),
    Exercise(
        chapter=CHAPTER, number=10, function_name="logistic_loss_gradient",
        title="The gradient of the logistic-regression loss", function=mv.logistic_loss, kind="gradient",
        sample=logistic_regression_sample, wrt=0,
        mistakes=(
            Mistake("Xᵀ(σ(Xw) − y): a sum instead of the mean",
                    "The loss averages over the n examples: what happens to the 1/n when you differentiate?",
                    lambda w, X, y: X.T @ (mv.sigmoid(X @ w) - y)),
            Mistake("Xᵀ(y − σ(Xw))/n: the sign is flipped",
                    "softplus′ = σ and (y z)′ = y: which one carries the minus sign?",
                    lambda w, X, y: X.T @ (y - mv.sigmoid(X @ w)) / X.shape[0]),
            Mistake("Xᵀ(Xw − y)/n: σ forgotten (the squared-error gradient, halved)",
                    "The derivative of softplus(z) is not z.",
                    lambda w, X, y: X.T @ (X @ w - y) / X.shape[0]),
        ),
    ),
]
