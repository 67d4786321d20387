"""Chapter 02 coding exercises: the reference answers (numpy only).

Each function has the name and signature of its stub in starter.py; the derivations are
in solutions.md. ``python -m verify --exercises 02 derivations/02_multivariable_derivatives/solutions.py``
grades this file like a student's.
"""

import numpy as np


def least_squares_gradient(x, A, b):
    """∇‖Ax − b‖² = 2Aᵀ(Ax − b).

    Derivation: derivations/02_multivariable_derivatives/solutions.md (Solution 6), and
    derivations/02_multivariable_derivatives/squared_error_loss.md for the mean version.
    """
    return 2.0 * A.T @ (A @ x - b)


def softmax_jacobian(x):
    """∂softmax(x)/∂x = diag(s) − s sᵀ.

    Derivation: derivations/02_multivariable_derivatives/solutions.md (Solution 7), and
    derivations/02_multivariable_derivatives/softmax_jacobian.md.
    """
    e = np.exp(x - np.max(x))  # shifting by max x leaves s unchanged and cannot overflow
    s = e / np.sum(e)
    return np.diag(s) - np.outer(s, s)


TAU = 0.5


def smooth_max_hessian(x):
    """∇² τ LSE(x/τ) = (diag(s) − s sᵀ)/τ with s = softmax(x/τ).

    Derivation: derivations/02_multivariable_derivatives/solutions.md (Solution 8), and
    derivations/02_multivariable_derivatives/logsumexp.md.
    """
    z = x / TAU
    e = np.exp(z - np.max(z))
    s = e / np.sum(e)
    return (np.diag(s) - np.outer(s, s)) / TAU


def polar_jacobian(q):
    """∂(r cos θ, r sin θ)/∂(r, θ) = [[cos θ, −r sin θ], [sin θ, r cos θ]].

    Derivation: derivations/02_multivariable_derivatives/solutions.md (Solution 9), and
    derivations/02_multivariable_derivatives/coordinate_change.md.
    """
    r, theta = q
    return np.array([[np.cos(theta), -r * np.sin(theta)],
                     [np.sin(theta), r * np.cos(theta)]])


def logistic_loss_gradient(w, X, y):
    """∇_w mean(softplus(Xw) − y ⊙ Xw) = Xᵀ(σ(Xw) − y)/n.

    Derivation: derivations/02_multivariable_derivatives/solutions.md (Solution 10), and
    derivations/02_multivariable_derivatives/logistic_regression.md.
    """
    z = X @ w
    e = np.exp(-np.abs(z))  # in (0, 1]: σ(z) below never overflows
    p = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return X.T @ (p - y) / X.shape[0]
