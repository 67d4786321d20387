"""Chapter 04: matrix calculus, hand-coded.

Primals are written once against the array API (``xp = array_namespace(...)``) so that
numpy, ``jax.numpy`` and ``torch`` run the same definition and JAX and PyTorch can
differentiate it. Derivatives are hand-coded in numpy only.

Layout: numerator layout throughout. A Jacobian of f: Rⁿ → Rᵐ is shaped (m, n); the
gradient of a scalar with respect to a vector or a matrix is shaped like that vector or
matrix (so ∂(aᵀXb)/∂X = abᵀ is shaped like X). ``python -m verify 04_matrix_calculus``
checks everything here.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace

DOCS = "derivations/04_matrix_calculus"

# --------------------------------------------------------------------------------------
# Scalar by vector
# --------------------------------------------------------------------------------------


def linear_form(x, a):
    """aᵀx, x and a shaped (n,)."""
    xp = array_namespace(x, a)
    return xp.sum(a * x)


def linear_form_gradient(x, a):
    """∂(aᵀx)/∂x = a.

    Derivation: derivations/04_matrix_calculus/scalar_by_vector.md
    """
    return np.array(a, copy=True)


def squared_norm(x):
    """xᵀx = ‖x‖²."""
    xp = array_namespace(x)
    return xp.sum(x * x)


def squared_norm_gradient(x):
    """∂(xᵀx)/∂x = 2x.

    Derivation: derivations/04_matrix_calculus/scalar_by_vector.md
    """
    return 2 * x


def squared_distance(x, y):
    """‖x − y‖² = (x − y)ᵀ(x − y)."""
    xp = array_namespace(x, y)
    d = x - y
    return xp.sum(d * d)


def squared_distance_gradient(x, y):
    """∂‖x − y‖²/∂x = 2(x − y).

    Derivation: derivations/04_matrix_calculus/scalar_by_vector.md
    """
    return 2 * (x - y)


# --------------------------------------------------------------------------------------
# Vector by vector (Jacobians, numerator layout: out.shape + in.shape)
# --------------------------------------------------------------------------------------


def matrix_vector_product(x, A):
    """Ax, A shaped (m, n), x shaped (n,)."""
    return A @ x


def matrix_vector_product_jacobian(x, A):
    """∂(Ax)/∂x = A, shaped (m, n) in numerator layout (Aᵀ in denominator layout).

    Derivation: derivations/04_matrix_calculus/vector_by_vector.md
    """
    return np.array(A, copy=True)


def hadamard_product(x, A, B):
    """f(x) ⊙ g(x) with f(x) = Ax and g(x) = tanh(Bx); A, B shaped (m, n)."""
    xp = array_namespace(x, A, B)
    return (A @ x) * xp.tanh(B @ x)


def hadamard_product_jacobian(x, A, B):
    """∂(f ⊙ g)/∂x = diag(g) J_f + diag(f) J_g = diag(g) A + diag(f ⊙ (1 − g²)) B.

    Scaling the rows of a Jacobian by a vector v is diag(v) J, written v[:, None] * J.
    Derivation: derivations/04_matrix_calculus/vector_by_vector.md
    """
    f = A @ x
    g = np.tanh(B @ x)
    return g[:, None] * A + (f * (1 - g * g))[:, None] * B


# --------------------------------------------------------------------------------------
# The quadratic form
# --------------------------------------------------------------------------------------


def quadratic_form(x, A):
    """xᵀAx, A shaped (n, n), not necessarily symmetric."""
    return x @ (A @ x)


def quadratic_form_gradient(x, A):
    """∂(xᵀAx)/∂x = (A + Aᵀ)x, computed as Ax + Aᵀx without forming A + Aᵀ.

    Two matrix-vector products and no n × n temporary; the second is accumulated in place
    (x @ A is Aᵀx for a 1-D x).
    Derivation: derivations/04_matrix_calculus/quadratic_form.md
    """
    gradient = A @ x
    gradient += x @ A
    return gradient


def quadratic_form_hessian(x, A):
    """∂²(xᵀAx)/∂x∂xᵀ = A + Aᵀ, whatever x.

    Derivation: derivations/04_matrix_calculus/quadratic_form.md
    """
    return A + A.T


def symmetric_quadratic_form_gradient(x, S):
    """∂(xᵀSx)/∂x = 2Sx when S = Sᵀ (wrong for a non-symmetric matrix).

    Derivation: derivations/04_matrix_calculus/quadratic_form.md
    """
    return 2 * (S @ x)


# --------------------------------------------------------------------------------------
# Scalar by matrix (the gradient is shaped like X)
# --------------------------------------------------------------------------------------


def bilinear_form(X, a, b):
    """aᵀXb, X shaped (m, n), a shaped (m,), b shaped (n,)."""
    return a @ (X @ b)


def bilinear_form_gradient(X, a, b):
    """∂(aᵀXb)/∂X = abᵀ, shaped (m, n) like X.

    Derivation: derivations/04_matrix_calculus/scalar_by_matrix.md
    """
    return np.outer(a, b)


def trace_product(X, A):
    """tr(AX), A shaped (n, m), X shaped (m, n)."""
    xp = array_namespace(X, A)
    return xp.linalg.trace(A @ X)


def trace_product_gradient(X, A):
    """∂tr(AX)/∂X = Aᵀ, shaped (m, n) like X.

    Derivation: derivations/04_matrix_calculus/scalar_by_matrix.md
    """
    return np.array(A.T, copy=True)


def trace_quadratic(X, A):
    """tr(XᵀAX), X shaped (m, n), A shaped (m, m) not necessarily symmetric."""
    xp = array_namespace(X, A)
    return xp.linalg.trace(X.T @ (A @ X))


def trace_quadratic_gradient(X, A):
    """∂tr(XᵀAX)/∂X = (A + Aᵀ)X, computed as AX + AᵀX.

    Derivation: derivations/04_matrix_calculus/scalar_by_matrix.md
    """
    return A @ X + A.T @ X


def frobenius_norm_squared(X):
    """‖X‖_F² = Σᵢⱼ Xᵢⱼ² = tr(XᵀX)."""
    xp = array_namespace(X)
    return xp.sum(X * X)


def frobenius_norm_squared_gradient(X):
    """∂‖X‖_F²/∂X = 2X.

    Derivation: derivations/04_matrix_calculus/scalar_by_matrix.md
    """
    return 2 * X


def log_abs_determinant(X):
    """ln|det X|, X square and invertible, through slogdet (no overflow of det)."""
    xp = array_namespace(X)
    return xp.linalg.slogdet(X)[1]


def log_abs_determinant_gradient(X):
    """∂ ln|det X|/∂X = X⁻ᵀ (the inverse transposed, not the inverse).

    Derivation: derivations/04_matrix_calculus/log_determinant.md
    """
    return np.linalg.inv(X).T


def inverse_bilinear_form(X, y, z):
    """yᵀX⁻¹z, computed with a solve rather than an explicit inverse."""
    xp = array_namespace(X, y, z)
    return y @ xp.linalg.solve(X, z)


def inverse_bilinear_form_gradient(X, y, z):
    """∂(yᵀX⁻¹z)/∂X = −X⁻ᵀ y zᵀ X⁻ᵀ = −(X⁻ᵀy)(X⁻¹z)ᵀ, from two solves.

    Derivation: derivations/04_matrix_calculus/inverse_bilinear_form.md
    """
    left = np.linalg.solve(X.T, y)  # X⁻ᵀ y
    right = np.linalg.solve(X, z)  # X⁻¹ z, so rightᵀ = zᵀ X⁻ᵀ
    return -np.outer(left, right)


# --------------------------------------------------------------------------------------
# The chain rule for matrices
# --------------------------------------------------------------------------------------


def tanh_square_of_product(X, W):
    """L(Y) = Σᵢⱼ tanh(Yᵢⱼ)² with Y = XW; X shaped (b, n), W shaped (n, m)."""
    xp = array_namespace(X, W)
    T = xp.tanh(X @ W)
    return xp.sum(T * T)


def tanh_square_of_product_gradients(X, W):
    """(∂L/∂X, ∂L/∂W) = (G Wᵀ, Xᵀ G) with G = ∂L/∂Y = 2 tanh(Y) ⊙ (1 − tanh²(Y)).

    Derivation: derivations/04_matrix_calculus/matrix_chain_rule.md
    """
    T = np.tanh(X @ W)
    G = 2 * T * (1 - T * T)  # ∂L/∂Y, shaped like Y = XW: (b, m)
    return G @ W.T, X.T @ G


# --------------------------------------------------------------------------------------
# The differential (trace) method
# --------------------------------------------------------------------------------------


def trace_differential(gradient, perturbation):
    """df = tr(Gᵀ dX) = Σᵢⱼ Gᵢⱼ dXᵢⱼ: the first-order change of f when X moves by dX, G = ∇_X f.

    The Frobenius inner product ⟨G, dX⟩ (g·dx for vectors). Writing df in this form and
    reading off G is the differential method; tr(G dX), without the transpose, would pair
    Gᵢⱼ with dXⱼᵢ.
    Derivation: derivations/04_matrix_calculus/differential_method.md
    """
    G = np.asarray(gradient, dtype=np.float64)
    dX = np.asarray(perturbation, dtype=np.float64)
    if G.shape != dX.shape:
        raise ValueError(f"the gradient, shaped {G.shape}, must have the shape of the perturbation, {dX.shape}")
    return float(np.vdot(G, dX))
