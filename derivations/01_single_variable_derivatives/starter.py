"""Coding exercises of chapter 01: fill in each function, then let the engine grade it.

    cp derivations/01_single_variable_derivatives/starter.py my_answers.py
    # edit my_answers.py
    python -m verify --exercises 01 my_answers.py

The grader compares your function with JAX, PyTorch and finite differences at sampled
inputs. A stub that still raises NotImplementedError is reported as "not attempted".
Use numpy only; every input is a float64 numpy array. The exercises are in exercises.md.
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (you will need it)


def x_to_the_x_derivative(x):
    """Exercise 4: return d/dx xˣ, elementwise, for an array x of positive entries.

    Shape: like x. Hint: write xˣ as a power of e first.
    """
    raise NotImplementedError


def gelu_tanh_derivative(x):
    """Exercise 6: return d/dx GELU(x) for the tanh approximation, elementwise,

        GELU(x) = 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).

    Shape: like x.
    """
    raise NotImplementedError


def binary_cross_entropy_gradient(logits, targets):
    """Exercise 8: return the gradient with respect to ``logits`` of the mean binary
    cross-entropy with logits,

        L(z) = mean over every entry of [softplus(z) − y z]   (softplus(z) = ln(1 + eᶻ)).

    ``logits`` and ``targets`` have the same shape (any shape, e.g. (3, 5)); targets lie in
    [0, 1]. Shape of the result: like logits. It must stay finite for logits of ±1000.
    """
    raise NotImplementedError


def logsumexp_temperature_gradient(x, tau):
    """Exercise 9: return the gradient with respect to x of

        L(x) = ln Σᵢ exp(xᵢ / τ)

    for a vector x of shape (K,) and a temperature τ > 0 (a float). Shape: like x. It must
    stay finite for entries of x / τ of size 1000.
    """
    raise NotImplementedError


def gaussian_nll_sigma_derivative(sigma, y, mu):
    """Exercise 10: return the derivative with respect to σ of the Gaussian negative
    log-likelihood of one observation y with mean μ and standard deviation σ,

        ℓ(σ) = ln σ + (y − μ)² / (2σ²) + ½ ln(2π),

    elementwise: sigma, y and mu are arrays of the same shape, sigma > 0. Shape: like sigma.
    """
    raise NotImplementedError
