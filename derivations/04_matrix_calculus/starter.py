"""Chapter 04 coding exercises: write each function in numpy, then grade your answers.

    cp derivations/04_matrix_calculus/starter.py my_answers.py
    # ... edit my_answers.py ...
    python -m verify --exercises 04 my_answers.py

The statements are in derivations/04_matrix_calculus/exercises.md. Every gradient is
shaped like its variable. A stub that still raises NotImplementedError is reported as
"not attempted".
"""

import numpy as np  # noqa: F401  (your answers will need it)


def quadratic_form_gradient(x, A):
    """Exercise 2: return ∇ₓ(xᵀAx), shaped like x (n,), for a square A that is NOT symmetric."""
    raise NotImplementedError


def log_abs_det_gradient(X):
    """Exercise 4: return ∇_X ln|det X|, shaped like X (n, n); X is invertible and may have det X < 0."""
    raise NotImplementedError


def matmul_vjp(X, W, dY):
    """Exercise 5: Y = XW with X (B, n), W (n, m). Given dY = ∂L/∂Y (B, m), return (dX, dW)."""
    raise NotImplementedError


def linear_layer_vjp(X, W, b, dY):
    """Exercise 7: Y = XWᵀ + b with X (B, d_in), W (d_out, d_in), b (d_out,).
    Given dY = ∂L/∂Y (B, d_out), return (dX, dW, db)."""
    raise NotImplementedError


def mlp_loss_gradients(W1, b1, W2, b2, X, Y):
    """Exercise 9: ℓ = mean over the batch of the softmax cross-entropy of
    Z = tanh(XW1ᵀ + b1) W2ᵀ + b2 against one-hot Y. Return (dW1, db1, dW2, db2)."""
    raise NotImplementedError
