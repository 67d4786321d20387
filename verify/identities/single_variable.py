"""Chapter 01: single variable derivatives: rates of change."""

from __future__ import annotations

import numpy as np

from implementations import single_variable as sv

from ..registry import Claim, ClaimCheck, Identity
from ..samplers import away_from_zero, normal, onehot, positive

CHAPTER = "01_single_variable_derivatives"
DOCS = f"derivations/{CHAPTER}"
N = 7  # vector length for elementwise rules: each entry is an independent scalar check


# --------------------------------------------------------------------------------------
# Claims: the limit definition and the tangent line
# --------------------------------------------------------------------------------------


def _limit_definition_claim(central_difference, rng):
    """Forward quotients converge as O(h), central as O(h²), until rounding wins."""
    x = float(rng.uniform(0.5, 1.5))
    f, df = np.exp, np.exp
    exact = df(x)

    def errors(quotient, steps):
        return np.array([abs(quotient(f, x, h) - exact) / abs(exact) for h in steps])

    truncation_steps = np.logspace(-1, -4, 7)
    forward_order = sv.convergence_order(truncation_steps, errors(sv.forward_difference, truncation_steps))
    central_order = sv.convergence_order(truncation_steps[:5], errors(central_difference, truncation_steps[:5]))
    all_steps = np.logspace(-1, -14, 27)
    central_all = errors(central_difference, all_steps)
    best = float(np.min(central_all))
    return [
        ClaimCheck("forward quotient is O(h)", abs(forward_order - 1.0), 0.1, f"fitted order {forward_order:.3f} over h in [1e-4, 1e-1]"),
        ClaimCheck("central quotient is O(h^2)", abs(central_order - 2.0), 0.1, f"fitted order {central_order:.3f} over h in [1e-3, 1e-1]"),
        ClaimCheck("central beats forward at h=1e-3", float(errors(central_difference, [1e-3])[0] / errors(sv.forward_difference, [1e-3])[0]), 0.05, "ratio of relative errors"),
        ClaimCheck("rounding wins at h=1e-14", best / float(central_all[-1]), 1e-2, f"best error {best:.1e}; at h=1e-14 {central_all[-1]:.1e}"),
    ]


def _tangent_line_claim(tangent_line, rng):
    """T(a) = f(a), slope f'(a), and |f(a+h) - T(a+h)| = O(h²): the line touches."""
    a = float(rng.uniform(0.5, 2.5))  # sin'' = -sin is nonzero there, so the gap is exactly O(h²)
    line = tangent_line(np.sin, np.cos, a)
    steps = np.logspace(-1, -3, 5)
    gaps = np.array([abs(np.sin(a + h) - line(a + h)) for h in steps])
    order = sv.convergence_order(steps, gaps)
    slope = line(a + 1.0) - line(a)
    return [
        ClaimCheck("touches: |T(a) - f(a)|", abs(line(a) - np.sin(a)), 1e-14, f"a = {a:.4f}"),
        ClaimCheck("slope is f'(a)", abs(slope - np.cos(a)) / abs(np.cos(a)), 1e-12, "relative error of T(a+1) - T(a) against cos a"),
        ClaimCheck("gap |f - T| is O(h^2)", abs(order - 2.0), 0.1, f"fitted order {order:.3f} over h in [1e-3, 1e-1]"),
    ]


def _elementwise(name, statement, doc, function, derivative, sampler, holomorphic=True, **kw):
    return Identity(
        name=name,
        chapter=CHAPTER,
        statement=statement,
        derivation=f"{DOCS}/{doc}.md",
        function=function,
        derivative=derivative,
        kind="derivative",
        sample=lambda rng: (sampler(rng),),
        holomorphic=holomorphic,
        **kw,
    )


ENTRIES = [
    Claim(
        name="limit_definition",
        chapter=CHAPTER,
        statement="f'(x) = lim_{h→0} (f(x+h) − f(x))/h; forward error O(h), central O(h²), until rounding",
        derivation=f"{DOCS}/limit_definition.md",
        implementation=sv.central_difference,
        verify=_limit_definition_claim,
    ),
    Claim(
        name="tangent_line",
        chapter=CHAPTER,
        statement="T(x) = f(a) + f'(a)(x − a) touches f at a: f(a+h) − T(a+h) = O(h²)",
        derivation=f"{DOCS}/tangent_line.md",
        implementation=sv.tangent_line,
        verify=_tangent_line_claim,
    ),
    _elementwise("power_rule", "d/dx xᵖ = p xᵖ⁻¹ (p = 3.5, x > 0)", "power_rule", sv.power, sv.power_derivative, lambda rng: positive(rng, N)),
    _elementwise("polynomial", "d/dx Σ cₖxᵏ = Σ k cₖ xᵏ⁻¹", "polynomial", sv.polynomial, sv.polynomial_derivative, lambda rng: away_from_zero(rng, N, 0.2, 2.0)),
    _elementwise("exponential", "d/dx eˣ = eˣ", "exponential", sv.exp, sv.exp_derivative, lambda rng: away_from_zero(rng, N, 0.2, 3.0)),
    _elementwise("logarithm", "d/dx ln x = 1/x (x > 0)", "logarithm", sv.log, sv.log_derivative, lambda rng: positive(rng, N, 0.5, 5.0)),
    _elementwise("sine", "d/dx sin x = cos x", "trigonometric", sv.sin, sv.sin_derivative, lambda rng: away_from_zero(rng, N, 0.2, 3.0)),
    _elementwise("cosine", "d/dx cos x = −sin x", "trigonometric", sv.cos, sv.cos_derivative, lambda rng: away_from_zero(rng, N, 0.2, 3.0)),
    _elementwise("tangent", "d/dx tan x = 1/cos²x (|x| < π/2)", "trigonometric", sv.tan, sv.tan_derivative, lambda rng: away_from_zero(rng, N, 0.1, 1.2)),
    _elementwise("chain_rule", "d/dx exp(sin(x²)) = exp(sin(x²)) · cos(x²) · 2x", "chain_rule", sv.exp_sin_square, sv.exp_sin_square_derivative, lambda rng: away_from_zero(rng, N, 0.2, 2.0)),
    _elementwise("product_rule", "d/dx x³ sin x = 3x² sin x + x³ cos x", "product_rule", sv.product, sv.product_derivative, lambda rng: away_from_zero(rng, N, 0.2, 3.0)),
    _elementwise("quotient_rule", "d/dx sin x/(1+x²) = (cos x (1+x²) − 2x sin x)/(1+x²)²", "quotient_rule", sv.quotient, sv.quotient_derivative, lambda rng: away_from_zero(rng, N, 0.2, 3.0)),
    _elementwise("sigmoid", "σ'(x) = σ(x)(1 − σ(x))", "sigmoid", sv.sigmoid, sv.sigmoid_derivative, lambda rng: away_from_zero(rng, N, 0.2, 20.0), holomorphic=False),
    _elementwise("softplus", "d/dx ln(1 + eˣ) = σ(x)", "softplus", sv.softplus, sv.softplus_derivative, lambda rng: away_from_zero(rng, N, 0.2, 6.0), holomorphic=False),
    _elementwise("tanh", "d/dx tanh x = 1 − tanh² x", "tanh", sv.tanh, sv.tanh_derivative, lambda rng: away_from_zero(rng, N, 0.2, 20.0)),
    Identity(
        name="logsumexp",
        chapter=CHAPTER,
        statement="∇ₓ ln Σᵢ exp(xᵢ) = softmax(x)",
        derivation=f"{DOCS}/logsumexp.md",
        function=sv.logsumexp,
        derivative=sv.logsumexp_gradient,
        kind="gradient",
        sample=lambda rng: (normal(rng, N, 2.0),),
    ),
    Identity(
        name="softmax_cross_entropy",
        chapter=CHAPTER,
        statement="∂/∂z mean_b(LSE(z_b) − z_b·y_b) = (softmax(z) − y)/B",
        derivation=f"{DOCS}/softmax_cross_entropy.md",
        function=sv.softmax_cross_entropy,
        derivative=sv.softmax_cross_entropy_gradient,
        kind="gradient",
        sample=lambda rng: (normal(rng, (4, 5), 6.0), onehot(rng, 4, 5)),
    ),
    Identity(
        name="binary_cross_entropy",
        chapter=CHAPTER,
        statement="∂/∂z mean(softplus(z) − y z) = (σ(z) − y)/N",
        derivation=f"{DOCS}/binary_cross_entropy.md",
        function=sv.binary_cross_entropy_with_logits,
        derivative=sv.binary_cross_entropy_with_logits_gradient,
        kind="gradient",
        sample=lambda rng: (away_from_zero(rng, (3, 4), 0.2, 20.0), rng.uniform(0.0, 1.0, size=(3, 4)).round(1)),
    ),
]
