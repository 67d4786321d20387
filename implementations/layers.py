"""Chapter 04: backpropagation through linear layers and a 2-layer MLP, hand-coded.

Layout of ``torch.nn.Linear``: a batch of inputs X shaped (batch, in), weights W shaped
(out, in), bias b shaped (out,), and Y = XWᵀ + b shaped (batch, out). Primals are written
once against the array API; the backward passes are numpy only.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace

from implementations.single_variable import softmax_cross_entropy, softmax_numpy

# --------------------------------------------------------------------------------------
# The linear layer
# --------------------------------------------------------------------------------------


def linear(X, W, b):
    """Y = XWᵀ + b: (batch, in) → (batch, out), as torch.nn.functional.linear."""
    return X @ W.T + b


def linear_vjp(X, W, b, dY):
    """Pull the cotangent dY = ∂L/∂Y back: dX = dY W, dW = dYᵀ X, db = Σ_batch dY.

    Derivation: derivations/04_matrix_calculus/linear_layer.md
    """
    return dY @ W, dY.T @ X, np.sum(dY, axis=0)


# --------------------------------------------------------------------------------------
# A 2-layer MLP: linear → tanh → linear → softmax cross-entropy (mean over the batch)
# --------------------------------------------------------------------------------------


def mlp_init(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int):
    """(W1, b1, W2, b2): weights scaled by 1/√fan_in, small non-zero biases, float64."""
    W1 = rng.standard_normal((n_hidden, n_in)) / np.sqrt(n_in)
    b1 = 0.1 * rng.standard_normal(n_hidden)
    W2 = rng.standard_normal((n_out, n_hidden)) / np.sqrt(n_hidden)
    b2 = 0.1 * rng.standard_normal(n_out)
    return W1, b1, W2, b2


def mlp_logits(W1, b1, W2, b2, X):
    """Z = tanh(XW1ᵀ + b1) W2ᵀ + b2, shaped (batch, classes)."""
    xp = array_namespace(W1, b1, W2, b2, X)
    return linear(xp.tanh(linear(X, W1, b1)), W2, b2)


def mlp_loss(W1, b1, W2, b2, X, Y):
    """Mean over the batch of the softmax cross-entropy of the MLP's logits; Y one-hot."""
    return softmax_cross_entropy(mlp_logits(W1, b1, W2, b2, X), Y)


def mlp_loss_gradients(W1, b1, W2, b2, X, Y):
    """(dW1, db1, dW2, db2) by backpropagation: dZ = (softmax(Z) − Y)/B, then the layers'
    VJPs, with dA = dH ⊙ (1 − H²) through the tanh.

    Written in place where an array is not needed again: each (batch, hidden) temporary
    is a fresh allocation, and at width 1024 those cost more than the arithmetic.
    Derivation: derivations/04_matrix_calculus/mlp.md
    """
    H = X @ W1.T  # A = XW1ᵀ + b1, then H = tanh(A) in the same buffer: (batch, hidden)
    H += b1
    np.tanh(H, out=H)
    dZ = softmax_numpy(H @ W2.T + b2)  # ∂ℓ/∂Z of the batch-mean loss: (softmax(Z) − Y)/B
    dZ -= Y
    dZ /= X.shape[0]
    dW2, db2 = dZ.T @ H, np.sum(dZ, axis=0)  # the second layer's VJP
    dA = dZ @ W2  # dH = dZ W2 ...
    np.multiply(H, H, out=H)  # ... then dA = dH ⊙ (1 − H²) = dH − dH ⊙ H², in place
    H *= dA
    dA -= H
    # the first layer's VJP without dX = dA W1: X is data, its gradient is never needed
    return dA.T @ X, np.sum(dA, axis=0), dW2, db2


def mlp_loss_gradients_plain(W1, b1, W2, b2, X, Y):
    """The same (dW1, db1, dW2, db2) as ``mlp_loss_gradients``, written as the derivation's
    four steps read, one named array per quantity and the linear layers' own VJPs; the
    tuned version above computes the same products in place. Read this one first.

    Derivation: derivations/04_matrix_calculus/mlp.md
    """
    A = linear(X, W1, b1)  # forward: A = XW1ᵀ + b1, H = tanh(A), Z = HW2ᵀ + b2
    H = np.tanh(A)
    Z = linear(H, W2, b2)
    dZ = (softmax_numpy(Z) - Y) / X.shape[0]  # Step 1: ∂ℓ/∂Z of the batch-mean loss
    dH, dW2, db2 = linear_vjp(H, W2, b2, dZ)  # Step 2: the second layer's VJP
    dA = dH * (1 - H**2)  # Step 3: through the tanh, entrywise
    _, dW1, db1 = linear_vjp(X, W1, b1, dA)  # Step 4: the first layer's VJP (dX is not needed)
    return dW1, db1, dW2, db2


def mlp_train(params, X, Y, learning_rate: float, steps: int):
    """Plain gradient descent θ ← θ − η ∇ℓ(θ) for ``steps`` steps.

    Returns (final parameters, losses) where losses[k] is the loss before step k.
    Derivation: derivations/04_matrix_calculus/mlp.md
    """
    params = tuple(np.array(p, dtype=np.float64, copy=True) for p in params)
    losses = []
    for _ in range(steps):
        losses.append(float(mlp_loss(*params, X, Y)))
        grads = mlp_loss_gradients(*params, X, Y)
        params = tuple(p - learning_rate * g for p, g in zip(params, grads))
    return params, np.array(losses)


def gaussian_blobs(rng: np.random.Generator, batch: int, n_in: int, classes: int):
    """A small synthetic classification set: (X shaped (batch, n_in), one-hot Y).

    Each class is a Gaussian blob around its own random centre, so the MLP can learn it.
    """
    labels = rng.integers(0, classes, size=batch)
    centres = 2.0 * rng.standard_normal((classes, n_in))
    X = centres[labels] + 0.5 * rng.standard_normal((batch, n_in))
    return X, np.eye(classes)[labels]


def mlp_loss_hvp(W1, b1, W2, b2, X, Y, V1, c1, V2, c2):
    """∇²ℓ·v for the MLP loss: the directional derivative of the backward pass along
    v = (V1, c1, V2, c2), one forward and one backward sweep (Pearlmutter's R-operator).

    Every intermediate u of mlp_loss_gradients gets its tangent Ṙu = d/dε u(θ + εv) at
    ε = 0, by the product and chain rules applied line by line; the tangents of the
    parameter gradients are the four blocks of ∇²ℓ·v. Cost: about twice the gradient.
    Derivation: derivations/04_matrix_calculus/mlp.md
    """
    B = X.shape[0]
    # forward sweep and its tangent; (batch, hidden) arrays are updated in place
    H = X @ W1.T  # A = XW1ᵀ + b1, then H = tanh(A)
    H += b1
    np.tanh(H, out=H)
    G = H * H  # tanh'(A) = 1 − H²
    np.subtract(1.0, G, out=G)
    R_H = X @ V1.T  # Ṙ A = X V1ᵀ + c1 (A is linear in W1, b1) ...
    R_H += c1
    R_H *= G  # ... and Ṙ H = (1 − H²) ⊙ Ṙ A
    Z = H @ W2.T + b2
    R_Z = R_H @ W2.T + H @ V2.T + c2  # product rule on H W2ᵀ
    P = softmax_numpy(Z)
    R_P = P * (R_Z - np.sum(P * R_Z, axis=1, keepdims=True))  # softmax's JVP, row by row
    # backward sweep and its tangent
    dZ = (P - Y) / B
    R_dZ = R_P / B
    R_dW2 = R_dZ.T @ H + dZ.T @ R_H  # dW2 = dZᵀ H
    R_db2 = np.sum(R_dZ, axis=0)
    dH = dZ @ W2
    R_dA = R_dZ @ W2  # Ṙ dH = Ṙ dZ W2 + dZ V2 (dH = dZ W2) ...
    R_dA += dZ @ V2
    R_dA *= G  # ... then dA = dH ⊙ (1 − H²) gives Ṙ dA = Ṙ dH ⊙ (1 − H²) − 2 dH ⊙ H ⊙ Ṙ H
    dH *= H
    dH *= R_H
    dH *= 2.0
    R_dA -= dH
    R_dW1 = R_dA.T @ X  # dW1 = dAᵀ X
    R_db1 = np.sum(R_dA, axis=0)
    return R_dW1, R_db1, R_dW2, R_db2
