"""Your answers to the coding exercises of chapter 03 (exercises.md, Exercises 5 to 8).

Copy this file, fill in the functions with numpy, and grade your copy with the engine:

    cp derivations/03_directional_derivatives/starter.py my_answers.py
    python -m verify --exercises 03 my_answers.py

Each function follows the calling convention of its kind (verify/registry.py): a jvp
receives the primal's arguments and a tangent v and returns J·v shaped like f's output;
a derivative returns f′(x) shaped like x; an hvp receives x and a vector v and returns
H·v shaped like x. A function that still raises NotImplementedError is "not attempted".
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (you will need it)


def logistic_loss_jvp(w, X, y, tangent):
    """Exercise 5. Return D_v L(w) = ∇L(w)·v, a scalar, for the logistic-regression loss
    L(w) = (1/n) Σᵢ [softplus(xᵢ·w) − yᵢ xᵢ·w], with w (d,), X (n, d), y (n,) of 0s and
    1s and v = tangent (d,), not necessarily of length 1. Do it in O(nd): do not form a
    d×d matrix.
    """
    raise NotImplementedError


def softmax_jvp(x, tangent):
    """Exercise 6. Return J·v for s = softmax(x) over the last axis, where x and the tangent
    v have shape (batch, K) and every row is its own softmax. Shape of the answer: (batch, K).
    Do not form the K×K Jacobian.
    """
    raise NotImplementedError


def level_curve_slope(x, c):
    """Exercise 7. The level curve x² + xy + 3y² = c (c > 0) has the upper branch
    y(x) = (−x + √(12c − 11x²))/6. Return the slope y′(x) of the curve at each entry of the
    array x, computed from the gradient ∇f = (f_x, f_y) of f(x, y) = x² + xy + 3y² at the
    point (x, y(x)) of the curve (not by differentiating the square root).
    """
    raise NotImplementedError


def rosenbrock_hvp(x, vector):
    """Exercise 8. Return H·v, shaped like x, where H is the Hessian of the Rosenbrock function
    f(x) = Σᵢ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)² (i = 0 … n − 2) at x (n,), and v = vector (n,).
    Do it in O(n): do not form the n×n Hessian.
    """
    raise NotImplementedError
