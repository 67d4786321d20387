"""Reference answers to the coding exercises of chapter 04 (numpy only).

Each function has the name and signature of its stub in starter.py; the derivations are
in solutions.md. Grade these (they pass) or your own copy of starter.py with

    python -m verify --exercises 04 derivations/04_matrix_calculus/solutions.py
"""

import numpy as np


def quadratic_form_gradient(x, A):
    """Exercise 2: ∇ₓ(xᵀAx) = (A + Aᵀ)x, computed as Ax + Aᵀx.

    Derivation: solutions.md, Solution 2; derivations/04_matrix_calculus/quadratic_form.md
    """
    return A @ x + A.T @ x


def log_abs_det_gradient(X):
    """Exercise 4: ∇_X ln|det X| = X⁻ᵀ, for either sign of det X.

    Derivation: solutions.md, Solution 4; derivations/04_matrix_calculus/log_determinant.md
    """
    return np.linalg.inv(X).T


def matmul_vjp(X, W, dY):
    """Exercise 5: for Y = XW, (dX, dW) = (dY Wᵀ, Xᵀ dY).

    Derivation: solutions.md, Solution 5; derivations/04_matrix_calculus/matrix_chain_rule.md
    """
    return dY @ W.T, X.T @ dY


def linear_layer_vjp(X, W, b, dY):
    """Exercise 7: for Y = XWᵀ + b, (dX, dW, db) = (dY W, dYᵀ X, Σ_batch dY).

    Derivation: solutions.md, Solution 7; derivations/04_matrix_calculus/linear_layer.md
    """
    return dY @ W, dY.T @ X, dY.sum(axis=0)


def mlp_loss_gradients(W1, b1, W2, b2, X, Y):
    """Exercise 9: (dW1, db1, dW2, db2) of the batch-mean softmax cross-entropy of
    tanh(XW1ᵀ + b1) W2ᵀ + b2, by backpropagation.

    Derivation: solutions.md, Solution 9; derivations/04_matrix_calculus/mlp.md
    """
    B = X.shape[0]
    # forward, keeping what the backward pass needs
    A = X @ W1.T + b1
    H = np.tanh(A)
    Z = H @ W2.T + b2
    P = np.exp(Z - Z.max(axis=1, keepdims=True))  # softmax, shifted so exp cannot overflow
    P /= P.sum(axis=1, keepdims=True)
    # backward
    dZ = (P - Y) / B  # the loss is a mean over the batch
    dW2 = dZ.T @ H
    db2 = dZ.sum(axis=0)
    dH = dZ @ W2
    dA = dH * (1 - H * H)  # tanh′(A) = 1 − tanh²(A) = 1 − H²
    dW1 = dA.T @ X
    db1 = dA.sum(axis=0)
    return dW1, db1, dW2, db2
