"""Chapter 01's coding exercises: single variable derivatives and log/exp in ML.

Each exercise names the stub of derivations/01_single_variable_derivatives/starter.py that
a student fills in, the primal (written against the array API, so JAX and PyTorch can
differentiate it), a sampler that exposes the usual bugs, and the mistakes students make,
each with its wrong answer and a hint. The reference answers are in solutions.py beside
the starter; tests/test_exercises.py shows that they pass and every mistake fails.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace

from implementations import single_variable as sv

from ..samplers import away_from_zero, normal, positive
from . import Exercise, Mistake

CHAPTER = "01_single_variable_derivatives"
GELU_C = float(np.sqrt(2 / np.pi))
GELU_A = 0.044715
_sigmoid = sv.sigmoid  # the stable σ; the planted answers receive numpy arrays
_softmax = sv.softmax_numpy


# --------------------------------------------------------------------------------------
# Exercise 4: xˣ
# --------------------------------------------------------------------------------------


def x_to_the_x(x):
    """xˣ = exp(x ln x), x > 0."""
    xp = array_namespace(x)
    return xp.exp(x * xp.log(x))


def _x_to_the_x_sample(rng):
    # positive (the domain), above 1/e where the derivative changes sign, and 7 entries: a slip
    # that happens to agree at one point (x·x^(x−1) equals the answer at x = 1) still shows
    return (rng.uniform(0.5, 3.0, size=7),)


# --------------------------------------------------------------------------------------
# Exercise 6: GELU, tanh approximation
# --------------------------------------------------------------------------------------


def gelu_tanh(x):
    """GELU(x) ≈ ½x(1 + tanh(c(x + a x³))), c = √(2/π), a = 0.044715."""
    xp = array_namespace(x)
    return 0.5 * x * (1 + xp.tanh(GELU_C * (x + GELU_A * x**3)))


def _gelu_parts(x):
    u = GELU_C * (x + GELU_A * x**3)
    return np.tanh(u), GELU_C * (1 + 3 * GELU_A * x**2)


def _gelu_no_inner(x):
    t, _ = _gelu_parts(x)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C


def _gelu_no_product_rule(x):
    t, du = _gelu_parts(x)
    return 0.5 * x * (1 - t * t) * du


def _gelu_tanh_prime_sign(x):
    t, du = _gelu_parts(x)
    return 0.5 * (1 + t) + 0.5 * x * (1 + t * t) * du


# --------------------------------------------------------------------------------------
# Exercise 8: binary cross-entropy with logits, mean over every entry
# --------------------------------------------------------------------------------------


def _bce_sample(rng):
    logits = away_from_zero(rng, (3, 5), 0.2, 5.0)
    targets = rng.uniform(0.1, 0.9, size=(3, 5)).round(2)  # soft labels, away from 0 and 1
    return logits, targets


def _bce_wrt_probability(logits, targets):
    p = _sigmoid(logits)
    return (p - targets) / (p * (1 - p)) / logits.size


# --------------------------------------------------------------------------------------
# Exercise 9: log-sum-exp at temperature τ
# --------------------------------------------------------------------------------------


def logsumexp_temperature(x, tau):
    """ln Σᵢ exp(xᵢ/τ) over the last axis."""
    return sv.logsumexp(x / tau)


def _lse_sample(rng):
    tau = float(rng.choice([rng.uniform(0.3, 0.6), rng.uniform(2.0, 4.0)]))  # never near 1
    return normal(rng, 7, 2.0), np.float64(tau)


# --------------------------------------------------------------------------------------
# Exercise 10: the Gaussian negative log-likelihood as a function of σ
# --------------------------------------------------------------------------------------


def gaussian_nll(sigma, y, mu):
    """ln σ + (y − μ)²/(2σ²) + ½ ln 2π, elementwise."""
    xp = array_namespace(sigma, y, mu)
    return xp.log(sigma) + (y - mu) ** 2 / (2 * sigma**2) + 0.5 * float(np.log(2 * np.pi))


def _nll_sample(rng):
    sigma = positive(rng, (3, 5), 0.5, 3.0)
    mu = normal(rng, (3, 5))
    return sigma, mu + away_from_zero(rng, (3, 5), 0.3, 3.0), mu


EXERCISES = [
    Exercise(
        chapter=CHAPTER,
        number=4,
        function_name="x_to_the_x_derivative",
        title="d/dx xˣ = xˣ (ln x + 1)",
        function=x_to_the_x,
        kind="derivative",
        sample=_x_to_the_x_sample,
        holomorphic=True,
        mistakes=(
            Mistake(
                "the power rule x · x^(x−1): treated the exponent as a constant",
                "The power rule d/dx xⁿ = n xⁿ⁻¹ holds only when n does not depend on x. Here both the "
                "base and the exponent change with x; rewrite xˣ with e and ln before differentiating.",
                lambda x: x * x ** (x - 1),
            ),
            Mistake(
                "the exponential rule xˣ ln x: treated the base as a constant",
                "d/dx aˣ = aˣ ln a needs a constant base a. Write xˣ = e^(x ln x): what is the derivative "
                "of the exponent x ln x? It is a product.",
                lambda x: x**x * np.log(x),
            ),
        ),
    ),
    Exercise(
        chapter=CHAPTER,
        number=6,
        function_name="gelu_tanh_derivative",
        title="the derivative of GELU (tanh approximation)",
        function=gelu_tanh,
        kind="derivative",
        sample=lambda rng: (away_from_zero(rng, (3, 5), 0.2, 4.0),),
        holomorphic=True,
        mistakes=(
            Mistake(
                "forgot the derivative of the inner polynomial c(x + 0.044715x³)",
                "tanh is applied to u(x) = c(x + 0.044715 x³), not to x: the chain rule multiplies tanh'(u) "
                "by u'(x). Is your factor c all of u'(x)?",
                _gelu_no_inner,
            ),
            Mistake(
                "only the x · d/dx(tanh …) term: the product rule lost ½(1 + tanh u)",
                "GELU is a product, ½x times (1 + tanh u). The product rule has two terms: one differentiates "
                "the first factor, one the second.",
                _gelu_no_product_rule,
            ),
            Mistake(
                "tanh' = 1 + tanh² (sign)",
                "Check your tanh' at a large argument: tanh flattens out there, so its slope must tend to 0. "
                "Derive it from the quotient rule (Exercise 3).",
                _gelu_tanh_prime_sign,
            ),
        ),
    ),
    Exercise(
        chapter=CHAPTER,
        number=8,
        function_name="binary_cross_entropy_gradient",
        title="the gradient of the mean binary cross-entropy with logits",
        function=sv.binary_cross_entropy_with_logits,
        kind="gradient",
        sample=_bce_sample,
        wrt=0,
        mistakes=(
            Mistake(
                "forgot the 1/n of the mean",
                "The loss is a mean over every entry, not a sum: each entry enters it with weight 1/N. "
                "Does your gradient shrink when the batch grows?",
                lambda logits, targets: _sigmoid(logits) - targets,
            ),
            Mistake(
                "divided by the number of rows, not the number of entries",
                "The mean runs over every entry of the (3, 5) array, so N counts all of them, not only the "
                "first axis.",
                lambda logits, targets: (_sigmoid(logits) - targets) / logits.shape[0],
            ),
            Mistake(
                "sign flipped: (y − σ(z)) / n",
                "The gradient points uphill. Where the prediction σ(z) is already above the target y, raising "
                "z raises the loss: which sign must the gradient have there?",
                lambda logits, targets: (targets - _sigmoid(logits)) / logits.size,
            ),
            Mistake(
                "the gradient with respect to the probability p = σ(z), not the logit z",
                "You differentiated with respect to p = σ(z). The chain rule still owes the factor dp/dz = "
                "σ(z)(1 − σ(z)), and it simplifies the result a lot.",
                _bce_wrt_probability,
            ),
        ),
    ),
    Exercise(
        chapter=CHAPTER,
        number=9,
        function_name="logsumexp_temperature_gradient",
        title="the gradient of log-sum-exp at temperature τ",
        function=logsumexp_temperature,
        kind="gradient",
        sample=_lse_sample,
        wrt=0,
        mistakes=(
            Mistake(
                "forgot the 1/τ of the chain rule",
                "The exponentials see x/τ, not x. By the chain rule the derivative of xᵢ/τ with respect to "
                "xᵢ is a factor that your answer is missing.",
                lambda x, tau: _softmax(x / tau),
            ),
            Mistake(
                "ignored the temperature: softmax(x)",
                "Change τ and see whether your answer changes: it must, since L depends on x/τ.",
                lambda x, tau: _softmax(x),
            ),
            Mistake(
                "multiplied by τ instead of dividing",
                "d/dxᵢ (xᵢ/τ) = 1/τ. Compare with the smooth max τ ln Σ exp(xᵢ/τ), whose τ in front would "
                "cancel that factor; this L has no τ in front.",
                lambda x, tau: tau * _softmax(x / tau),
            ),
        ),
    ),
    Exercise(
        chapter=CHAPTER,
        number=10,
        function_name="gaussian_nll_sigma_derivative",
        title="the derivative of the Gaussian negative log-likelihood with respect to σ",
        function=gaussian_nll,
        kind="derivative",
        sample=_nll_sample,
        wrt=0,
        holomorphic=True,
        mistakes=(
            Mistake(
                "kept the 1/2: (y − μ)²/(2σ³)",
                "Differentiate σ⁻² with the power rule: the exponent −2 comes down as a factor, and it meets "
                "the ½ in front.",
                lambda sigma, y, mu: 1 / sigma - (y - mu) ** 2 / (2 * sigma**3),
            ),
            Mistake(
                "forgot the ln σ term",
                "The normalizing term ln σ depends on σ too: it is what stops σ from growing without bound.",
                lambda sigma, y, mu: -((y - mu) ** 2) / sigma**3,
            ),
            Mistake(
                "sign of the second term: + (y − μ)²/σ³",
                "σ⁻² decreases as σ grows, so its derivative is negative.",
                lambda sigma, y, mu: 1 / sigma + (y - mu) ** 2 / sigma**3,
            ),
        ),
    ),
]
