"""The coding exercises of chapter 04 (matrix calculus and backpropagation).

Each exercise is graded by the engine like a registry identity: the primal is written
against the array API, the sampler draws non-square shapes (3, 5, 7), non-symmetric
matrices and values away from 0, and every Mistake is a wrong answer students really
write, with a hint. The statements are in derivations/04_matrix_calculus/exercises.md,
the reference answers in derivations/04_matrix_calculus/solutions.py.
"""

from __future__ import annotations

import numpy as np

from implementations import layers
from implementations import matrix_calculus as mc

from ..samplers import away_from_zero, nonsymmetric, normal, onehot, well_conditioned
from . import Exercise, Mistake

CHAPTER = "04_matrix_calculus"
M, N, P = 3, 5, 7  # distinct sizes: a transposed answer has the wrong shape
BATCH, N_IN, N_HIDDEN, N_CLASSES = 6, 3, 5, 4  # the MLP of exercise 9, all distinct


def matmul(X, W):
    """Y = XW, X shaped (B, n), W shaped (n, m)."""
    return X @ W


def _negative_determinant(rng):
    """A well-conditioned non-symmetric X with det X < 0 (a row's sign flipped if needed)."""
    X = well_conditioned(rng, N)
    if np.linalg.det(X) > 0:
        X[0] = -X[0]
    return (X,)


def _mlp_sample(rng):
    params = layers.mlp_init(rng, N_IN, N_HIDDEN, N_CLASSES)
    X = normal(rng, (BATCH, N_IN), 1.5)
    return (*params, X, onehot(rng, BATCH, N_CLASSES))


def _mlp_backward(W1, b1, W2, b2, X, Y, *, tanh_prime="H", batch_mean=True):
    """A plain backward pass with a switch for each planted mistake."""
    A = X @ W1.T + b1
    H = np.tanh(A)
    Z = H @ W2.T + b2
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dZ = (P - Y) / X.shape[0] if batch_mean else P - Y
    dH = dZ @ W2
    dA = {"H": dH * (1 - H * H), "none": dH, "A": dH * (1 - A * A)}[tanh_prime]
    return dA.T @ X, dA.sum(axis=0), dZ.T @ H, dZ.sum(axis=0)


EXERCISES = [
    Exercise(
        chapter=CHAPTER, number=2, function_name="quadratic_form_gradient",
        title="∇ₓ(xᵀAx) for a non-symmetric A",
        function=mc.quadratic_form, kind="gradient",
        sample=lambda rng: (away_from_zero(rng, N), nonsymmetric(rng, N, N)),
        holomorphic=True,
        mistakes=(
            Mistake("2Ax: the symmetric shortcut", "The sampled A is not symmetric. x occurs twice in xᵀAx: differentiate each occurrence, holding the other fixed.",
                    lambda x, A: 2 * (A @ x)),
            Mistake("Ax: the right x treated as a constant", "x occurs twice in xᵀAx; you differentiated only the left-hand one.",
                    lambda x, A: A @ x),
        ),
    ),
    Exercise(
        chapter=CHAPTER, number=4, function_name="log_abs_det_gradient",
        title="∇_X ln|det X| (here det X < 0)",
        function=mc.log_abs_determinant, kind="gradient",
        sample=_negative_determinant,
        mistakes=(
            Mistake("X⁻¹ without the transpose", "Right shape, entries in the wrong places: write the differential d ln|det X| = tr(X⁻¹ dX) entry by entry and see which entry of X⁻¹ multiplies dX[i, j].",
                    lambda X: np.linalg.inv(X)),
            Mistake("det(X) X⁻ᵀ: the gradient of det X, not of its logarithm", "Apply the chain rule through the logarithm: d ln|u| = du / u.",
                    lambda X: np.linalg.det(X) * np.linalg.inv(X).T),
            Mistake("−X⁻ᵀ because det X < 0", "d ln|u|/du = 1/u holds for negative u too: the two minus signs of ln(−u) cancel.",
                    lambda X: np.sign(np.linalg.det(X)) * np.linalg.inv(X).T),
        ),
    ),
    Exercise(
        chapter=CHAPTER, number=5, function_name="matmul_vjp",
        title="The VJP of Y = XW",
        function=matmul, kind="vjp", wrt=(0, 1),
        sample=lambda rng: (normal(rng, (M, N)), nonsymmetric(rng, N, P)),
        mistakes=(
            Mistake("dW = dYᵀX: shaped like Wᵀ", "dW must have the shape of W (n × m). Which product of X (B × n) and dY (B × m) has that shape?",
                    lambda X, W, dY: (dY @ W.T, dY.T @ X)),
            Mistake("(dW, dX): the results in the wrong order", "Return one result per wrt argument, in the order of the arguments (X first, then W).",
                    lambda X, W, dY: (X.T @ dY, dY @ W.T)),
        ),
    ),
    Exercise(
        chapter=CHAPTER, number=7, function_name="linear_layer_vjp",
        title="The VJP of a linear layer Y = XWᵀ + b",
        function=layers.linear, kind="vjp", wrt=(0, 1, 2),
        sample=lambda rng: (normal(rng, (M, N)), nonsymmetric(rng, P, N), away_from_zero(rng, P)),
        mistakes=(
            Mistake("dW = XᵀdY: the column-vector formula, transposed", "dW must have the shape of W (d_out × d_in): which product of dY (B × d_out) and X (B × d_in) has it?",
                    lambda X, W, b, dY: (dY @ W, X.T @ dY, dY.sum(axis=0))),
            Mistake("db = the mean of dY over the batch", "b is added to every one of the B rows of Y: each row contributes to db with weight 1.",
                    lambda X, W, b, dY: (dY @ W, dY.T @ X, dY.mean(axis=0))),
            Mistake("db summed over the wrong axis", "db must have the shape of b (d_out): which axis of dY is the batch?",
                    lambda X, W, b, dY: (dY @ W, dY.T @ X, dY.sum(axis=1))),
        ),
    ),
    Exercise(
        chapter=CHAPTER, number=9, function_name="mlp_loss_gradients",
        title="The backward pass of a 2-layer tanh MLP",
        function=layers.mlp_loss, kind="gradient", wrt=(0, 1, 2, 3),
        sample=_mlp_sample,
        mistakes=(
            Mistake("tanh′ forgotten: dA = dH", "Between H and A sits an entrywise function: its derivative multiplies the cotangent entry by entry.",
                    lambda W1, b1, W2, b2, X, Y: _mlp_backward(W1, b1, W2, b2, X, Y, tanh_prime="none")),
            Mistake("tanh′(A) written as 1 − A²", "tanh′(a) = 1 − tanh²(a): the square of which array, A or H?",
                    lambda W1, b1, W2, b2, X, Y: _mlp_backward(W1, b1, W2, b2, X, Y, tanh_prime="A")),
            Mistake("dZ = softmax(Z) − Y without the 1/B", "The loss is a mean over the batch, not a sum.",
                    lambda W1, b1, W2, b2, X, Y: _mlp_backward(W1, b1, W2, b2, X, Y, batch_mean=False)),
        ),
    ),
]
