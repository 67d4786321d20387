"""Chapter 02 coding exercises: your answers go here.

Copy this file, fill in each function with numpy, and let the verify engine grade it:

    cp derivations/02_multivariable_derivatives/starter.py my_answers.py
    python -m verify --exercises 02 my_answers.py

Each function is checked against JAX and PyTorch autodiff (forward and reverse) and
finite differences at random inputs with distinct sizes. The exercises are stated in
exercises.md (Exercises 6 to 10); a stub that still raises NotImplementedError is
reported as "not attempted".

Layout: a gradient is shaped like its argument; a Jacobian is (outputs, inputs), so
J[i, j] = ∂f_i/∂x_j; a Hessian is (n, n).
"""

import numpy as np


def least_squares_gradient(x, A, b):
    """Exercise 6: ∇f for f(x) = ‖Ax − b‖² (a sum of squares, no mean).

    A has shape (m, n), x shape (n,), b shape (m,); return an array shaped like x.
    """
    raise NotImplementedError


def softmax_jacobian(x):
    """Exercise 7: the Jacobian of s = softmax(x), s_i = exp(x_i) / Σ_j exp(x_j).

    x has shape (n,); return J shaped (n, n) with J[i, k] = ∂s_i/∂x_k.
    """
    raise NotImplementedError


def smooth_max_hessian(x):
    """Exercise 8: the Hessian of f(x) = τ ln Σ_i exp(x_i/τ) with τ = 0.5.

    x has shape (n,); return H shaped (n, n).
    """
    raise NotImplementedError


def polar_jacobian(q):
    """Exercise 9: the Jacobian of (r, θ) ↦ (r cos θ, r sin θ) at q = (r, θ).

    Return J shaped (2, 2): rows are the outputs (x, y), columns the inputs (r, θ).
    """
    raise NotImplementedError


def logistic_loss_gradient(w, X, y):
    """Exercise 10: ∇_w L for L(w) = (1/n) Σ_i [softplus(z_i) − y_i z_i], z = Xw.

    X has shape (n, d), y shape (n,) with entries 0 or 1, w shape (d,); return an array shaped like w.
    softplus(z) = ln(1 + exp(z)) and σ(z) = 1/(1 + exp(−z)).
    """
    raise NotImplementedError
