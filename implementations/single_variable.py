"""Chapter 01: single-variable derivatives, hand-coded.

Primals are written once against the array API (``xp = array_namespace(x)``) so that
numpy, ``jax.numpy`` and ``torch`` run the same definition and JAX and PyTorch can
differentiate it. Derivatives are hand-coded in numpy only. Every function that is
elementwise takes an array of any shape and applies the scalar rule to each entry.

Each derivative's docstring names the derivation that proves it; ``python -m verify
01_single_variable_derivatives`` checks them all.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from array_api_compat import array_namespace

# --------------------------------------------------------------------------------------
# The limit definition and the tangent line
# --------------------------------------------------------------------------------------


def forward_difference(f: Callable, x, h):
    """(f(x + h) - f(x)) / h: the difference quotient of the limit definition, error O(h).

    Derivation: derivations/01_single_variable_derivatives/limit_definition.md
    """
    return (f(x + h) - f(x)) / h


def central_difference(f: Callable, x, h):
    """(f(x + h) - f(x - h)) / (2h): the symmetric quotient, error O(h²).

    Derivation: derivations/01_single_variable_derivatives/limit_definition.md
    """
    return (f(x + h) - f(x - h)) / (2 * h)


def difference_quotient_errors(f: Callable, derivative: Callable, x: float, steps):
    """Relative errors |q(h) - f'(x)| / |f'(x)| of both quotients for each step h.

    Returns ``(forward_errors, central_errors)`` as numpy arrays aligned with ``steps``.
    Derivation: derivations/01_single_variable_derivatives/limit_definition.md
    """
    exact = derivative(x)
    steps = np.asarray(steps, dtype=np.float64)
    forward = np.array([abs(forward_difference(f, x, h) - exact) for h in steps]) / abs(exact)
    central = np.array([abs(central_difference(f, x, h) - exact) for h in steps]) / abs(exact)
    return forward, central


def convergence_order(steps, errors) -> float:
    """Slope of log(error) against log(h): the empirical order p in error ≈ C hᵖ.

    Derivation: derivations/01_single_variable_derivatives/limit_definition.md
    """
    slope, _ = np.polyfit(np.log(steps), np.log(errors), 1)
    return float(slope)


def tangent_line(f: Callable, derivative: Callable, a: float) -> Callable:
    """T(x) = f(a) + f'(a)(x - a): the line that touches f at a with slope f'(a).

    Derivation: derivations/01_single_variable_derivatives/tangent_line.md
    """
    fa, slope = f(a), derivative(a)
    return lambda x: fa + slope * (x - a)


# --------------------------------------------------------------------------------------
# Common derivatives (elementwise)
# --------------------------------------------------------------------------------------

POWER = 3.5  # a non-integer exponent, so the rule is tested beyond polynomials


def power(x):
    """x^p for p = POWER, x > 0."""
    xp = array_namespace(x)
    return xp.pow(x, POWER)


def power_derivative(x):
    """d/dx x^p = p x^(p-1).

    Derivation: derivations/01_single_variable_derivatives/power_rule.md
    """
    return POWER * x ** (POWER - 1)


POLYNOMIAL_COEFFICIENTS = (0.5, -2.0, 3.0, 0.25, -1.5)  # c_0 + c_1 x + ... + c_4 x^4


def polynomial(x):
    """p(x) = sum_k c_k x^k with c = POLYNOMIAL_COEFFICIENTS, evaluated by Horner's rule."""
    result = POLYNOMIAL_COEFFICIENTS[-1] + 0 * x
    for c in reversed(POLYNOMIAL_COEFFICIENTS[:-1]):
        result = result * x + c
    return result


def polynomial_derivative(x):
    """p'(x) = sum_k k c_k x^(k-1), term by term (linearity + power rule).

    Derivation: derivations/01_single_variable_derivatives/polynomial.md
    """
    return sum(k * c * x ** (k - 1) for k, c in enumerate(POLYNOMIAL_COEFFICIENTS) if k > 0)


def exp(x):
    """eˣ."""
    return array_namespace(x).exp(x)


def exp_derivative(x):
    """d/dx eˣ = eˣ.

    Derivation: derivations/01_single_variable_derivatives/exponential.md
    """
    return np.exp(x)


def log(x):
    """ln x, x > 0."""
    return array_namespace(x).log(x)


def log_derivative(x):
    """d/dx ln x = 1/x.

    Derivation: derivations/01_single_variable_derivatives/logarithm.md
    """
    return 1.0 / x


def sin(x):
    """sin x."""
    return array_namespace(x).sin(x)


def sin_derivative(x):
    """d/dx sin x = cos x.

    Derivation: derivations/01_single_variable_derivatives/trigonometric.md
    """
    return np.cos(x)


def cos(x):
    """cos x."""
    return array_namespace(x).cos(x)


def cos_derivative(x):
    """d/dx cos x = -sin x.

    Derivation: derivations/01_single_variable_derivatives/trigonometric.md
    """
    return -np.sin(x)


def tan(x):
    """tan x, away from the poles π/2 + kπ."""
    return array_namespace(x).tan(x)


def tan_derivative(x):
    """d/dx tan x = 1/cos²x = 1 + tan²x.

    Derivation: derivations/01_single_variable_derivatives/trigonometric.md
    """
    return 1.0 / np.cos(x) ** 2


# --------------------------------------------------------------------------------------
# Chain, product and quotient rules
# --------------------------------------------------------------------------------------


def chain_rule(outer_derivative: Callable, inner: Callable, inner_derivative: Callable) -> Callable:
    """(f ∘ g)'(x) = f'(g(x)) · g'(x), as a combinator.

    Derivation: derivations/01_single_variable_derivatives/chain_rule.md
    """
    return lambda x: outer_derivative(inner(x)) * inner_derivative(x)


def exp_sin_square(x):
    """h(x) = exp(sin(x²)): three nested functions."""
    xp = array_namespace(x)
    return xp.exp(xp.sin(x * x))


def exp_sin_square_derivative(x):
    """h'(x) = exp(sin(x²)) · cos(x²) · 2x, by the chain rule applied twice.

    Derivation: derivations/01_single_variable_derivatives/chain_rule.md
    """
    sin_square_derivative = chain_rule(np.cos, lambda t: t * t, lambda t: 2 * t)  # cos(x²)·2x
    return chain_rule(np.exp, lambda t: np.sin(t * t), sin_square_derivative)(x)


def product(x):
    """u(x)·v(x) with u = x³ and v = sin x."""
    xp = array_namespace(x)
    return x**3 * xp.sin(x)


def product_derivative(x):
    """(uv)' = u'v + uv' = 3x² sin x + x³ cos x.

    Derivation: derivations/01_single_variable_derivatives/product_rule.md
    """
    return 3 * x**2 * np.sin(x) + x**3 * np.cos(x)


def quotient(x):
    """u(x)/v(x) with u = sin x and v = 1 + x²."""
    xp = array_namespace(x)
    return xp.sin(x) / (1 + x * x)


def quotient_derivative(x):
    """(u/v)' = (u'v - uv')/v² = (cos x (1 + x²) - 2x sin x) / (1 + x²)².

    Derivation: derivations/01_single_variable_derivatives/quotient_rule.md
    """
    v = 1 + x * x
    return (np.cos(x) * v - np.sin(x) * 2 * x) / v**2


# --------------------------------------------------------------------------------------
# log and exp in machine learning (numerically stable at logits of ±1000)
# --------------------------------------------------------------------------------------


def _negative_magnitude(x):
    """-|x| written as where(x ≥ 0, -x, x): equal to -abs(x), but autodiff of this form
    takes the x ≥ 0 branch at exactly 0 instead of abs's subgradient (JAX says 1,
    torch 0), so the stable primals below differentiate correctly at 0 too."""
    xp = array_namespace(x)
    return xp.where(x >= 0, -x, x)


def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ), computed from e^(-|x|) so that no exponential overflows."""
    xp = array_namespace(x)
    e = xp.exp(_negative_magnitude(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_derivative(x):
    """σ'(x) = σ(x)(1 - σ(x)), computed as σ(x)σ(-x) since 1 - σ(x) = σ(-x).

    The two forms are equal in exact arithmetic; for x ≫ 1, 1 - σ(x) cancels (at x = 30
    it keeps 3 digits) while σ(-x) is computed directly from e^(-|x|) at full precision.
    Derivation: derivations/01_single_variable_derivatives/sigmoid.md
    """
    return sigmoid(x) * sigmoid(-x)


def softplus(x):
    """softplus(x) = ln(1 + eˣ) = max(x, 0) + ln(1 + e^(-|x|)), stable for any x."""
    xp = array_namespace(x)
    return xp.where(x >= 0, x, xp.zeros_like(x)) + xp.log1p(xp.exp(_negative_magnitude(x)))


def softplus_derivative(x):
    """softplus'(x) = σ(x).

    Derivation: derivations/01_single_variable_derivatives/softplus.md
    """
    return sigmoid(x)


def tanh(x):
    """tanh x = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ), elementwise (the library's tanh, which does not overflow)."""
    xp = array_namespace(x)
    return xp.tanh(x)


def tanh_derivative(x):
    """tanh'(x) = 1 − tanh²(x) = 1/cosh²(x).

    Computed as 1/cosh²(x), not 1 − tanh²(x): for |x| ≫ 1, tanh x rounds to ±1 and
    1 − tanh² cancels (at x = 10 it keeps 8 digits), while 1/cosh² keeps full relative
    precision until cosh overflows (|x| > 710, where the derivative is below 1e-300 anyway).
    Derivation: derivations/01_single_variable_derivatives/tanh.md
    """
    with np.errstate(over="ignore"):
        return 1.0 / np.cosh(x) ** 2


def logsumexp(x):
    """LSE(x) = ln Σᵢ exp(xᵢ) over the last axis, shifted by the max so nothing overflows."""
    xp = array_namespace(x)
    m = xp.max(x, axis=-1, keepdims=True)
    return xp.squeeze(m, axis=-1) + xp.log(xp.sum(xp.exp(x - m), axis=-1))


def softmax(x):
    """softmax(x)ᵢ = exp(xᵢ - LSE(x)) over the last axis."""
    xp = array_namespace(x)
    return xp.exp(x - xp.expand_dims(logsumexp(x), axis=-1))


def softmax_numpy(x):
    """softmax over the last axis, numpy arrays only, for hand-coded derivatives: the same
    max-shifted formula as ``softmax``, without the array-API dispatch that costs more than
    the arithmetic at small sizes."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    e /= np.sum(e, axis=-1, keepdims=True)
    return e


def logsumexp_gradient(x):
    """∇ LSE(x) = softmax(x).

    Derivation: derivations/01_single_variable_derivatives/logsumexp.md
    """
    return softmax(x)


def softmax_cross_entropy(logits, onehot):
    """Mean over the batch of -Σₖ yₖ ln softmax(z)ₖ = LSE(z) - z·y, logits shaped (B, K)."""
    xp = array_namespace(logits, onehot)
    per_example = logsumexp(logits) - xp.sum(logits * onehot, axis=-1)
    return xp.mean(per_example)


def softmax_cross_entropy_gradient(logits, onehot):
    """∂ℓ/∂z = (softmax(z) - y) / B for the batch-mean loss.

    Derivation: derivations/01_single_variable_derivatives/softmax_cross_entropy.md
    """
    return (softmax(logits) - onehot) / logits.shape[0]


def binary_cross_entropy_with_logits(logits, targets):
    """Mean of -[y ln σ(z) + (1-y) ln(1-σ(z))] = softplus(z) - y z, stable for any z."""
    xp = array_namespace(logits, targets)
    return xp.mean(softplus(logits) - targets * logits)


def binary_cross_entropy_with_logits_gradient(logits, targets):
    """∂ℓ/∂z = (σ(z) - y) / N for the mean loss.

    Derivation: derivations/01_single_variable_derivatives/binary_cross_entropy.md
    """
    return (sigmoid(logits) - targets) / logits.size
