"""Reference answers to the coding exercises of chapter 01 (numpy only).

The functions have the names and signatures of the stubs in ``starter.py``; the derivations
are in ``solutions.md``. Grade them like a student's answers:

    python -m verify --exercises 01 derivations/01_single_variable_derivatives/solutions.py
"""

from __future__ import annotations

import numpy as np

GELU_C = np.sqrt(2 / np.pi)  # the tanh approximation of GELU: 0.5 x (1 + tanh(c (x + a x³)))
GELU_A = 0.044715


def _sigmoid(z):
    """σ(z) from e^(-|z|), which never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _softmax(z):
    """softmax over the last axis, shifted by the max so that no exponential overflows."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def x_to_the_x_derivative(x):
    """d/dx xˣ = xˣ (ln x + 1) for x > 0, from xˣ = e^(x ln x) and the chain rule.

    Solution 4 in solutions.md; derivations: exponential.md, logarithm.md, chain_rule.md, product_rule.md.
    """
    return x**x * (np.log(x) + 1)


def gelu_tanh_derivative(x):
    """d/dx ½x(1 + tanh u), u = c(x + a x³): ½(1 + tanh u) + ½x (1 − tanh²u) c (1 + 3a x²).

    Solution 6 in solutions.md; derivations: product_rule.md, chain_rule.md, tanh.md.
    """
    u = GELU_C * (x + GELU_A * x**3)
    t = np.tanh(u)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * x**2)


def binary_cross_entropy_gradient(logits, targets):
    """∇_z mean(softplus(z) − y z) = (σ(z) − y) / N, N = the number of entries of z.

    Solution 8 in solutions.md; derivation: binary_cross_entropy.md.
    """
    return (_sigmoid(logits) - targets) / logits.size


def logsumexp_temperature_gradient(x, tau):
    """∇ₓ ln Σᵢ exp(xᵢ/τ) = softmax(x/τ) / τ.

    Solution 9 in solutions.md; derivations: logsumexp.md, chain_rule.md.
    """
    return _softmax(x / tau) / tau


def gaussian_nll_sigma_derivative(sigma, y, mu):
    """d/dσ [ln σ + (y − μ)²/(2σ²)] = 1/σ − (y − μ)²/σ³, elementwise in σ > 0.

    Solution 10 in solutions.md; derivations: logarithm.md, power_rule.md.
    """
    return 1 / sigma - (y - mu) ** 2 / sigma**3
