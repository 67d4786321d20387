"""Chapter 02: derivatives of functions of many variables, hand-coded.

Primals are written once against the array API (``xp = array_namespace(x, ...)``) so that
numpy, ``jax.numpy`` and ``torch`` run the same definition; derivatives are numpy only.
Layout: a gradient is shaped like its argument; a Jacobian is ``out.shape + in.shape``
(numerator layout, ``J[i, j] = ∂f_i/∂x_j``); a Hessian is ``x.shape + x.shape``.

``python -m verify 02_multivariable_derivatives`` checks every derivative here.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from array_api_compat import array_namespace

from implementations.single_variable import logsumexp, sigmoid, softmax, softmax_numpy, softplus

DOCS = "derivations/02_multivariable_derivatives"

# --------------------------------------------------------------------------------------
# Partial derivatives: f(x, y, z) = x²y + y sin z + exp(xz), one function per partial
# --------------------------------------------------------------------------------------


def three_variable(x):
    """f(x₀, x₁, x₂) = x₀²x₁ + x₁ sin x₂ + exp(x₀x₂), x shaped (3,)."""
    xp = array_namespace(x)
    return x[0] ** 2 * x[1] + x[1] * xp.sin(x[2]) + xp.exp(x[0] * x[2])


def three_variable_partial_0(x):
    """∂f/∂x₀ = 2x₀x₁ + x₂ exp(x₀x₂), holding x₁ and x₂ fixed.

    Derivation: derivations/02_multivariable_derivatives/partial_derivatives.md
    """
    return 2 * x[0] * x[1] + x[2] * np.exp(x[0] * x[2])


def three_variable_partial_1(x):
    """∂f/∂x₁ = x₀² + sin x₂, holding x₀ and x₂ fixed.

    Derivation: derivations/02_multivariable_derivatives/partial_derivatives.md
    """
    return x[0] ** 2 + np.sin(x[2])


def three_variable_partial_2(x):
    """∂f/∂x₂ = x₁ cos x₂ + x₀ exp(x₀x₂), holding x₀ and x₁ fixed.

    Derivation: derivations/02_multivariable_derivatives/partial_derivatives.md
    """
    return x[1] * np.cos(x[2]) + x[0] * np.exp(x[0] * x[2])


THREE_VARIABLE_PARTIALS = (three_variable_partial_0, three_variable_partial_1, three_variable_partial_2)


def three_variable_gradient(x):
    """∇f = (∂f/∂x₀, ∂f/∂x₁, ∂f/∂x₂): the partials stacked into one vector.

    Derivation: derivations/02_multivariable_derivatives/partial_derivatives.md
    """
    return np.array([partial(x) for partial in THREE_VARIABLE_PARTIALS])


def mixed_partials(partials: Sequence[Callable], x, step: float = 1e-4):
    """M[i, j] = ∂/∂x_j (∂f/∂x_i): each hand-coded partial differentiated by central differences.

    Schwarz's theorem says M = Mᵀ for a C² function.
    Derivation: derivations/02_multivariable_derivatives/hessian_symmetry.md
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    mixed = np.empty((len(partials), n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = step
        for i, partial in enumerate(partials):
            mixed[i, j] = (partial(x + e) - partial(x - e)) / (2 * step)
    return mixed


# --------------------------------------------------------------------------------------
# Gradients of ML-relevant scalar functions
# --------------------------------------------------------------------------------------


def rosenbrock(x):
    """f(x) = Σᵢ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)², i = 0..n−2, x 1-D with n ≥ 2."""
    xp = array_namespace(x)
    head, tail = x[:-1], x[1:]
    return xp.sum(100 * (tail - head**2) ** 2 + (1 - head) ** 2)


def rosenbrock_gradient(x):
    """∂f/∂xᵢ = −400xᵢ(xᵢ₊₁ − xᵢ²) − 2(1 − xᵢ) [i < n−1] + 200(xᵢ − xᵢ₋₁²) [i > 0].

    Derivation: derivations/02_multivariable_derivatives/rosenbrock.md
    """
    x = np.asarray(x)
    head, tail = x[:-1], x[1:]
    residual = tail - head**2
    gradient = np.zeros_like(x)
    gradient[:-1] += -400 * head * residual - 2 * (1 - head)
    gradient[1:] += 200 * residual
    return gradient


def _rosenbrock_hessian_bands(x):
    """The diagonal and the first off-diagonal of the (tridiagonal) Rosenbrock Hessian."""
    x = np.asarray(x)
    head, tail = x[:-1], x[1:]
    diagonal = np.zeros_like(x)
    diagonal[:-1] += 1200 * head**2 - 400 * tail + 2
    diagonal[1:] += 200
    return diagonal, -400 * head


def rosenbrock_hessian(x):
    """H is tridiagonal: Hᵢᵢ = (1200xᵢ² − 400xᵢ₊₁ + 2)[i < n−1] + 200[i > 0], Hᵢ,ᵢ₊₁ = −400xᵢ.

    Derivation: derivations/02_multivariable_derivatives/rosenbrock.md
    """
    diagonal, off = _rosenbrock_hessian_bands(x)
    return np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1)


def rosenbrock_hvp(x, vector):
    """(Hv)ᵢ = Hᵢᵢvᵢ + Hᵢ,ᵢ₋₁vᵢ₋₁ + Hᵢ,ᵢ₊₁vᵢ₊₁ in O(n), H never formed.

    Derivation: derivations/02_multivariable_derivatives/rosenbrock.md
    """
    diagonal, off = _rosenbrock_hessian_bands(x)
    product = diagonal * vector
    product[:-1] += off * vector[1:]
    product[1:] += off * vector[:-1]
    return product


def squared_error_loss(w, X, y):
    """L(w) = (1/n)‖Xw − y‖², the mean squared error of a linear model, X shaped (n, d)."""
    xp = array_namespace(w, X, y)
    return xp.mean((X @ w - y) ** 2)


def squared_error_loss_gradient(w, X, y):
    """∇_w L = (2/n) Xᵀ(Xw − y).

    Derivation: derivations/02_multivariable_derivatives/squared_error_loss.md
    """
    return 2.0 / X.shape[0] * (X.T @ (X @ w - y))


TEMPERATURE = 0.7  # not 1, so that a forgotten 1/τ or τ shows


def smooth_max(x):
    """τ·LSE(x/τ) = τ ln Σᵢ exp(xᵢ/τ): a smooth maximum, → max x as τ → 0."""
    return TEMPERATURE * logsumexp(x / TEMPERATURE)


def smooth_max_gradient(x):
    """∇ τ LSE(x/τ) = softmax(x/τ): the τ and the 1/τ of the chain rule cancel.

    Derivation: derivations/02_multivariable_derivatives/logsumexp.md
    """
    return softmax(np.asarray(x) / TEMPERATURE)


# --------------------------------------------------------------------------------------
# Jacobians of vector functions (numerator layout: out.shape + in.shape)
# --------------------------------------------------------------------------------------


def silu(x):
    """SiLU (swish) x·σ(x), elementwise on an array of any shape."""
    return x * sigmoid(x)


def silu_jacobian(x):
    """J = diag(σ(x) + x σ(x)(1 − σ(x))), shaped x.shape + x.shape.

    Derivation: derivations/02_multivariable_derivatives/elementwise_jacobian.md
    """
    x = np.asarray(x)
    s = sigmoid(x)
    derivative = s + x * s * sigmoid(-x)  # 1 − σ(x) = σ(−x), without cancellation
    return np.diag(derivative.reshape(-1)).reshape(x.shape + x.shape)


def affine_map(x, A, b):
    """f(x) = Ax + b, A shaped (m, n), x (n,), b (m,)."""
    return A @ x + b


def affine_map_jacobian(x, A, b):
    """∂(Ax + b)/∂x = A, shaped (m, n).

    Derivation: derivations/02_multivariable_derivatives/affine_map.md
    """
    return np.array(A, copy=True)


def softmax_jacobian(x):
    """∂softmax(x)/∂x = diag(s) − s sᵀ, x 1-D.

    Derivation: derivations/02_multivariable_derivatives/softmax_jacobian.md
    """
    return softmax_covariance(softmax_numpy(np.asarray(x)))


def softmax_covariance(s):
    """diag(s) − s sᵀ for a probability vector s, in one pass over the n × n result.

    The diagonal s_i − s_i² is computed as s_i · Σ_{j≠i} s_j: when one s_k is close to 1,
    1 − s_k cancels catastrophically (at s_k = 1 − 2e-6 it keeps 10 digits) while the sum
    of the others is exact to rounding. Only one entry can exceed ½, so only it needs the
    sum of the others; for the rest 1 − s_i loses at most one bit.
    Derivation: derivations/02_multivariable_derivatives/softmax_jacobian.md
    """
    s = np.asarray(s)
    one_minus = 1.0 - s
    k = int(np.argmax(s))
    one_minus[k] = np.sum(s[:k]) + np.sum(s[k + 1 :])
    jacobian = np.outer(s, -s)
    jacobian.flat[:: s.size + 1] = s * one_minus
    return jacobian


def spherical_to_cartesian(q):
    """(r, θ, φ) ↦ (r sinθ cosφ, r sinθ sinφ, r cosθ); θ from the z axis, φ the azimuth."""
    xp = array_namespace(q)
    r, theta, phi = q[0], q[1], q[2]
    return xp.stack([r * xp.sin(theta) * xp.cos(phi), r * xp.sin(theta) * xp.sin(phi), r * xp.cos(theta)])


def spherical_to_cartesian_jacobian(q):
    """J = [[sθcφ, r cθcφ, −r sθsφ], [sθsφ, r cθsφ, r sθcφ], [cθ, −r sθ, 0]]; det J = r² sinθ.

    Derivation: derivations/02_multivariable_derivatives/coordinate_change.md
    """
    r, theta, phi = q
    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)
    return np.array([
        [st * cp, r * ct * cp, -r * st * sp],
        [st * sp, r * ct * sp, r * st * cp],
        [ct, -r * st, 0.0],
    ])


def polar_to_cartesian(q):
    """(r, θ) ↦ (r cosθ, r sinθ)."""
    xp = array_namespace(q)
    return xp.stack([q[0] * xp.cos(q[1]), q[0] * xp.sin(q[1])])


def polar_to_cartesian_jacobian(q):
    """J = [[cosθ, −r sinθ], [sinθ, r cosθ]]; det J = r.

    Derivation: derivations/02_multivariable_derivatives/coordinate_change.md
    """
    r, theta = q
    return np.array([[np.cos(theta), -r * np.sin(theta)], [np.sin(theta), r * np.cos(theta)]])


def _upper_pairs(n: int):
    return [(i, j) for i in range(n) for j in range(i, n)]


def quadratic_features(x):
    """x ∈ ℝⁿ ↦ (xᵢxⱼ)_{i ≤ j} ∈ ℝ^{n(n+1)/2}: the degree-2 monomials, in row-major order."""
    xp = array_namespace(x)
    return xp.stack([x[i] * x[j] for i, j in _upper_pairs(x.shape[0])])


def quadratic_features_jacobian(x):
    """∂(xᵢxⱼ)/∂x_k = δᵢₖ xⱼ + δⱼₖ xᵢ, shaped (n(n+1)/2, n).

    Derivation: derivations/02_multivariable_derivatives/quadratic_features.md
    """
    n = x.shape[0]
    pairs = _upper_pairs(n)
    jacobian = np.zeros((len(pairs), n))
    for row, (i, j) in enumerate(pairs):
        jacobian[row, i] += x[j]
        jacobian[row, j] += x[i]
    return jacobian


def tanh_layer(x, W):
    """h = tanh(Wx), W shaped (m, n), x (n,)."""
    xp = array_namespace(x, W)
    return xp.tanh(W @ x)


def tanh_layer_jacobian(x, W):
    """∂tanh(Wx)/∂x = diag(1 − tanh²(Wx)) W, shaped (m, n).

    Derivation: derivations/02_multivariable_derivatives/tanh_network.md
    """
    h = np.tanh(W @ x)
    return (1 - h**2)[:, None] * W


def two_layer_tanh_network(x, W1, b1, W2, b2):
    """y = W₂ tanh(W₁x + b₁) + b₂, W₁ (m, n), W₂ (k, m), x (n,)."""
    xp = array_namespace(x, W1, b1, W2, b2)
    return W2 @ xp.tanh(W1 @ x + b1) + b2


def two_layer_tanh_network_jacobian(x, W1, b1, W2, b2):
    """∂y/∂x = W₂ diag(1 − tanh²(W₁x + b₁)) W₁, shaped (k, n).

    Derivation: derivations/02_multivariable_derivatives/tanh_network.md
    """
    h = np.tanh(W1 @ x + b1)
    return W2 @ ((1 - h**2)[:, None] * W1)


# --------------------------------------------------------------------------------------
# Hessians and Hessian-vector products
# --------------------------------------------------------------------------------------


def logsumexp_hessian(x):
    """∇² LSE(x) = diag(s) − s sᵀ with s = softmax(x), x 1-D.

    Derivation: derivations/02_multivariable_derivatives/logsumexp.md
    """
    return softmax_covariance(softmax_numpy(np.asarray(x)))


def logistic_loss(w, X, y):
    """L(w) = (1/n) Σ softplus(xᵢ·w) − yᵢ xᵢ·w: mean binary cross-entropy of p = σ(Xw)."""
    xp = array_namespace(w, X, y)
    z = X @ w
    return xp.mean(softplus(z) - y * z)


def logistic_loss_gradient(w, X, y):
    """∇L = Xᵀ(σ(Xw) − y)/n.

    Derivation: derivations/02_multivariable_derivatives/logistic_regression.md
    """
    return X.T @ (sigmoid(X @ w) - y) / X.shape[0]


def logistic_loss_hessian(w, X, y):
    """∇²L = Xᵀ diag(p(1 − p)) X / n with p = σ(Xw).

    Derivation: derivations/02_multivariable_derivatives/logistic_regression.md
    """
    z = X @ w
    weights = sigmoid(z) * sigmoid(-z)  # p(1 − p), with 1 − p = σ(−z) computed directly
    return X.T @ (weights[:, None] * X) / X.shape[0]


def logistic_loss_hvp(w, X, y, vector):
    """∇²L v = Xᵀ(p(1 − p) ⊙ Xv)/n: two matrix-vector products, H never formed.

    Derivation: derivations/02_multivariable_derivatives/logistic_regression.md
    """
    z = X @ w
    return X.T @ (sigmoid(z) * sigmoid(-z) * (X @ vector)) / X.shape[0]


def quadratic(x, A, b):
    """f(x) = ½xᵀAx − bᵀx for any square A (symmetric or not)."""
    return 0.5 * (x @ (A @ x)) - b @ x


def quadratic_gradient(x, A, b):
    """∇f = ½(A + Aᵀ)x − b (= Ax − b when A is symmetric).

    Derivation: derivations/02_multivariable_derivatives/quadratic.md
    """
    return 0.5 * (A @ x + A.T @ x) - b


def quadratic_hessian(x, A, b):
    """∇²f = ½(A + Aᵀ), constant in x (= A when A is symmetric).

    Derivation: derivations/02_multivariable_derivatives/quadratic.md
    """
    return 0.5 * (A + A.T)


# --------------------------------------------------------------------------------------
# Gradient descent
# --------------------------------------------------------------------------------------


def gradient_descent(gradient: Callable, x0, step_size: float, num_steps: int):
    """Iterates x_{k+1} = x_k − η ∇f(x_k), returned stacked: shape (num_steps + 1,) + x0.shape.

    Derivation: derivations/02_multivariable_derivatives/gradient_descent.md
    """
    iterates = [np.asarray(x0, dtype=np.float64)]
    for _ in range(num_steps):
        iterates.append(iterates[-1] - step_size * gradient(iterates[-1]))
    return np.stack(iterates)


# --------------------------------------------------------------------------------------
# Differentiability in several variables: partials are not enough
# --------------------------------------------------------------------------------------


def xy_over_r2(p):
    """f(x, y) = xy/(x² + y²), f(0, 0) = 0: both partials exist at 0, f is not continuous there."""
    x, y = float(p[0]), float(p[1])
    r2 = x * x + y * y
    return 0.0 if r2 == 0.0 else x * y / r2


def linearization_remainder(f: Callable, gradient: Callable, x, h) -> float:
    """|f(x + h) − f(x) − ∇f(x)·h| / ‖h‖: f is differentiable at x iff this → 0 as h → 0.

    Derivation: derivations/02_multivariable_derivatives/differentiability.md
    """
    x, h = np.asarray(x, dtype=np.float64), np.asarray(h, dtype=np.float64)
    return float(abs(f(x + h) - f(x) - np.dot(gradient(x), h)) / np.linalg.norm(h))


# --------------------------------------------------------------------------------------
# The multivariable chain rule: g: ℝ³ → ℝ⁵, f: ℝ⁵ → ℝ², J_{f∘g}(x) = J_f(g(x)) J_g(x)
# --------------------------------------------------------------------------------------


def chain_inner(x):
    """g(x) = (x₀x₁, sin x₂, x₀ + x₁², exp(x₀x₂/2), x₁x₂²): ℝ³ → ℝ⁵."""
    xp = array_namespace(x)
    return xp.stack([x[0] * x[1], xp.sin(x[2]), x[0] + x[1] ** 2, xp.exp(0.5 * x[0] * x[2]), x[1] * x[2] ** 2])


def chain_inner_jacobian(x):
    """J_g(x), shaped (5, 3): row i is the gradient of gᵢ.

    Derivation: derivations/02_multivariable_derivatives/multivariable_chain_rule.md
    """
    x0, x1, x2 = x
    e = np.exp(0.5 * x0 * x2)
    return np.array([
        [x1, x0, 0.0],
        [0.0, 0.0, np.cos(x2)],
        [1.0, 2 * x1, 0.0],
        [0.5 * x2 * e, 0.0, 0.5 * x0 * e],
        [0.0, x2**2, 2 * x1 * x2],
    ])


def chain_outer(u):
    """f(u) = (u₀u₁ + sin u₂, u₃²u₄ + u₀u₂): ℝ⁵ → ℝ²."""
    xp = array_namespace(u)
    return xp.stack([u[0] * u[1] + xp.sin(u[2]), u[3] ** 2 * u[4] + u[0] * u[2]])


def chain_outer_jacobian(u):
    """J_f(u), shaped (2, 5).

    Derivation: derivations/02_multivariable_derivatives/multivariable_chain_rule.md
    """
    u0, u1, u2, u3, u4 = u
    return np.array([
        [u1, u0, np.cos(u2), 0.0, 0.0],
        [u2, 0.0, u0, 2 * u3 * u4, u3**2],
    ])


def chain_composite(x):
    """(f ∘ g)(x): ℝ³ → ℝ², the composition whose Jacobian the chain rule gives."""
    return chain_outer(chain_inner(x))


def chain_composite_jacobian(x):
    """J_{f∘g}(x) = J_f(g(x)) J_g(x): (2, 5) @ (5, 3) = (2, 3), outer factor on the left.

    Derivation: derivations/02_multivariable_derivatives/multivariable_chain_rule.md
    """
    x = np.asarray(x)
    return chain_outer_jacobian(chain_inner(x)) @ chain_inner_jacobian(x)


# --------------------------------------------------------------------------------------
# Second-order Taylor expansion and convexity
# --------------------------------------------------------------------------------------


def taylor_second_order(f: Callable, gradient: Callable, hessian: Callable, x) -> Callable:
    """The model h ↦ f(x) + ∇f(x)·h + ½ hᵀ∇²f(x) h; its error is o(‖h‖²) for C² f.

    Derivation: derivations/02_multivariable_derivatives/taylor_second_order.md
    """
    x = np.asarray(x, dtype=np.float64)
    value, slope, curvature = f(x), gradient(x), hessian(x)
    return lambda h: value + slope @ h + 0.5 * h @ (curvature @ h)


def midpoint_convexity_gap(f: Callable, x, y) -> float:
    """f((x + y)/2) − (f(x) + f(y))/2: at most 0 for every pair when f is convex (Jensen).

    Derivation: derivations/02_multivariable_derivatives/convexity.md
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(f(0.5 * (x + y)) - 0.5 * (f(x) + f(y)))
