"""Reference answers to the coding exercises of chapter 03 (exercises.md, Exercises 5 to 8).

numpy only. Each function has the signature of its stub in starter.py; the step-by-step
derivations are in solutions.md. Grade this file like your own answers:
``python -m verify --exercises 03 derivations/03_directional_derivatives/solutions.py``.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    """σ(z) = 1/(1 + e⁻ᶻ), from e^(−|z|) so that no exponential overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def logistic_loss_jvp(w, X, y, tangent):
    """D_v L(w) = ∇L(w)·v = (σ(Xw) − y)·(Xv)/n, without forming ∇L: O(nd).

    Solution 5 in solutions.md; derivation: derivations/03_directional_derivatives/directional_derivative.md
    """
    return (_sigmoid(X @ w) - y) @ (X @ tangent) / X.shape[0]


def softmax_jvp(x, tangent):
    """J v = s ⊙ (v − Σⱼ sⱼvⱼ) for s = softmax(x) over the last axis (each row of a batch).

    Solution 6 in solutions.md; derivation: derivations/02_multivariable_derivatives/softmax_jacobian.md
    """
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    s = e / np.sum(e, axis=-1, keepdims=True)
    return s * (tangent - np.sum(s * tangent, axis=-1, keepdims=True))


def level_curve_slope(x, c):
    """y′(x) = −f_x/f_y at (x, y(x)) on the level curve x² + xy + 3y² = c (upper branch).

    The tangent of a level curve is ∇f turned by 90°, (f_y, −f_x): its slope is −f_x/f_y.
    Solution 7 in solutions.md; derivation: derivations/03_directional_derivatives/level_curves.md
    """
    y = (-x + np.sqrt(12 * c - 11 * x**2)) / 6  # the point of the curve above x
    f_x, f_y = 2 * x + y, x + 6 * y
    return -f_x / f_y


def rosenbrock_hvp(x, vector):
    """(Hv)ᵢ = Hᵢ,ᵢ₋₁vᵢ₋₁ + Hᵢᵢvᵢ + Hᵢ,ᵢ₊₁vᵢ₊₁ for the tridiagonal Rosenbrock Hessian, in O(n):
    the directional derivative D_v ∇f of the gradient along v.

    Solution 8 in solutions.md; derivation: derivations/02_multivariable_derivatives/rosenbrock.md
    """
    head, tail = x[:-1], x[1:]
    diagonal = np.zeros_like(x)
    diagonal[:-1] += 1200 * head**2 - 400 * tail + 2  # from 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²
    diagonal[1:] += 200  # from 100(xᵢ − xᵢ₋₁²)²
    off = -400 * head  # H[i, i+1] = H[i+1, i] = −400 xᵢ
    product = diagonal * vector
    product[:-1] += off * vector[1:]
    product[1:] += off * vector[:-1]
    return product
