"""The mutation suite: realistic wrong derivatives planted into registry entries.

Each mutant carries a label, the class of what its mistake does to the derivative array
(DIAGNOSIS_CLASSES); the report's diagnosis table counts how many mutants the engine's
diagnosis (verify/diagnose.py) names rightly, not at all, or wrongly.

Each mutant replaces one entry's hand-coded derivative with a mistake people make (a
dropped transpose, Ax instead of (A + Aᵀ)x, a sign flip, a missing factor 2, a sum over
the wrong axis, σ instead of σ(1 − σ), a missing product-rule term, an off-by-one index,
X⁻¹ instead of X⁻ᵀ, a relative error of 1e-6 or 1e-9). The engine must reject every one.
Wrong derivatives are written in terms of the correct ones and numpy.

    python -m verify.mutants                 # run every mutant, print the table
    python -m verify.mutants --report PATH   # also write it as markdown
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np

from implementations import layers
from implementations import directional as dd
from implementations import matrix_calculus as mc
from implementations import multivariable as mv
from implementations import single_variable as sv

from .engine import run_entry
from .results import EntryResult

CHECK_ORDER = ("jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "torch.tape", "fd", "cstep")


@dataclass(frozen=True)
class Mutant:
    entry: str  # the registry entry's name
    mistake: str  # the family of the mistake (for the report)
    description: str  # what exactly is wrong
    derivative: Callable  # the wrong hand-coded derivative, same signature as the entry's
    label: str = "other"  # the shape of the mistake in the array (DIAGNOSIS_CLASSES)


DIAGNOSIS_CLASSES = ("sign", "factor", "axis", "transpose", "symmetric", "shift", "entry", "term", "output", "power", "variable", "other")
"""A mutant's label says what its mistake does to the derivative ARRAY, which is what
verify/diagnose.py can see: ``sign`` the whole result negated or one term's sign flipped;
``factor`` a constant, an argument's power or a polynomial in an argument as factor (1/p,
2, x, 1/(2x), 1 + x², 1 + 1e-9); ``axis`` a mean where a sum is needed, a division by the
wrong axis's size, or a sum over the wrong axis; ``transpose``; ``symmetric`` A where
(A + Aᵀ) or its symmetric part belongs; ``shift`` an off-by-one roll or index (entries or
a polynomial's coefficients one position off); ``entry`` the error confined to an entry,
row, column, band or a few scattered entries; ``term`` a missing product-rule term;
``output`` a factor that is a function of the output y = f(x) missing or extra (σ for
σ(1 − σ), 1 − t for 1 − t²); ``power`` got a power of the answer (sec x for sec²x,
softmax(x) ∝ softmax(x/τ)^τ); ``variable`` the derivative with respect to another argument;
``other`` anything else (a wrong rule, a wrong point)."""


def relative(derivative, size):
    """The correct derivative times (1 + size): an error no larger than rounding noise of
    a careless implementation, e.g. a constant typed with too few digits."""

    def scaled(*args):
        result = derivative(*args)
        if isinstance(result, tuple):
            return tuple(r * (1 + size) for r in result)
        return result * (1 + size)

    return scaled


# --------------------------------------------------------------------------------------
# Helpers that rebuild a derivative with one step wrong
# --------------------------------------------------------------------------------------


def _polynomial_derivative_exponent_off_by_one(x):
    return sum(k * c * x**k for k, c in enumerate(sv.POLYNOMIAL_COEFFICIENTS) if k > 0)


def _polynomial_derivative_coefficient_off_by_one(x):
    c = sv.POLYNOMIAL_COEFFICIENTS
    return sum(k * c[k - 1] * x ** (k - 1) for k in range(1, len(c)))


def _rosenbrock_gradient_bands_swapped(x):
    head, tail = x[:-1], x[1:]
    residual = tail - head**2
    gradient = np.zeros_like(x)
    gradient[1:] += -400 * head * residual - 2 * (1 - head)  # should land on i, lands on i + 1
    gradient[:-1] += 200 * residual
    return gradient


def _rosenbrock_hvp_off_by_one(x, vector):
    diagonal, off = mv._rosenbrock_hessian_bands(x)
    product = diagonal * vector
    product[:-1] += off * vector[:-1]  # should be vector[1:]
    product[1:] += off * vector[:-1]
    return product


def _rosenbrock_hessian_upper_band_only(x):
    diagonal, off = mv._rosenbrock_hessian_bands(x)
    return np.diag(diagonal) + np.diag(off, 1)


def _quadratic_features_jacobian_assigned(x):
    pairs = [(i, j) for i in range(x.shape[0]) for j in range(i, x.shape[0])]
    jacobian = np.zeros((len(pairs), x.shape[0]))
    for row, (i, j) in enumerate(pairs):
        jacobian[row, i] = x[j]
        jacobian[row, j] = x[i]  # '=' where '+=' is needed: ∂xᵢ²/∂xᵢ = 2xᵢ, not xᵢ
    return jacobian


def _spherical_jacobian_sign(q):
    J = mv.spherical_to_cartesian_jacobian(q)
    J[0, 2] = -J[0, 2]  # ∂(r sθ cφ)/∂φ written as +r sθ sφ
    return J


def _mlp_gradients(W1, b1, W2, b2, X, Y, *, batch_mean=True, tanh_derivative=True, bias_axis=0):
    """mlp_loss_gradients with one switch flipped."""
    H = np.tanh(layers.linear(X, W1, b1))
    Z = layers.linear(H, W2, b2)
    dZ = (sv.softmax(Z) - Y) / (X.shape[0] if batch_mean else 1)
    dH, dW2, db2 = dZ @ W2, dZ.T @ H, np.sum(dZ, axis=bias_axis)
    dA = dH * (1 - H * H) if tanh_derivative else dH
    return dA.T @ X, np.sum(dA, axis=bias_axis), dW2, db2


def _tanh_square_gradients(X, W, *, G_of_T):
    T = np.tanh(X @ W)
    G = G_of_T(T)
    return G @ W.T, X.T @ G


# --------------------------------------------------------------------------------------
# The catalogue, chapter by chapter
# --------------------------------------------------------------------------------------

M = Mutant
SINGLE_VARIABLE = [
    M("power_rule", "missing factor", "p x^(p-1) without the factor p", lambda x: x ** (sv.POWER - 1), "factor"),
    M("power_rule", "off-by-one index", "p x^p: the exponent not lowered by one", lambda x: sv.POWER * x**sv.POWER, "factor"),
    M("polynomial", "off-by-one index", "k c_k x^k: the exponent not lowered", _polynomial_derivative_exponent_off_by_one, "factor"),
    M("polynomial", "off-by-one index", "k c_(k-1) x^(k-1): coefficients shifted by one", _polynomial_derivative_coefficient_off_by_one, "shift"),
    M("exponential", "relative 1e-6", "e^x (1 + 1e-6)", relative(sv.exp_derivative, 1e-6), "factor"),
    M("exponential", "relative 1e-9", "e^x (1 + 1e-9)", relative(sv.exp_derivative, 1e-9), "factor"),
    M("logarithm", "sign flip", "-1/x", lambda x: -1.0 / x, "sign"),
    M("logarithm", "wrong rule", "-1/x², the derivative of 1/x", lambda x: -1.0 / x**2, "factor"),
    M("sine", "sign flip", "-cos x", lambda x: -np.cos(x), "sign"),
    M("cosine", "sign flip", "sin x: the minus forgotten", np.sin, "sign"),
    M("tangent", "missing factor", "1/cos x: the square forgotten", lambda x: 1.0 / np.cos(x), "power"),
    M("tangent", "relative 1e-9", "sec²x (1 + 1e-9)", relative(sv.tan_derivative, 1e-9), "factor"),
    M("chain_rule", "missing chain factor", "exp(sin x²) cos x²: the inner 2x dropped", lambda x: np.exp(np.sin(x * x)) * np.cos(x * x), "factor"),
    M("chain_rule", "missing factor 2", "exp(sin x²) cos(x²) x", lambda x: np.exp(np.sin(x * x)) * np.cos(x * x) * x, "factor"),
    M("chain_rule", "wrong point", "exp(sin x²) cos(x) 2x: cos at x, not at x²", lambda x: np.exp(np.sin(x * x)) * np.cos(x) * 2 * x, "other"),
    M("product_rule", "missing product-rule term", "3x² sin x: the u v' term dropped", lambda x: 3 * x**2 * np.sin(x), "term"),
    M("product_rule", "sign flip", "3x² sin x − x³ cos x", lambda x: 3 * x**2 * np.sin(x) - x**3 * np.cos(x), "sign"),
    M("quotient_rule", "sign flip", "(u'v + uv')/v²", lambda x: (np.cos(x) * (1 + x * x) + np.sin(x) * 2 * x) / (1 + x * x) ** 2, "sign"),
    M("quotient_rule", "missing factor", "(u'v − uv')/v: the square of v forgotten", lambda x: (np.cos(x) * (1 + x * x) - np.sin(x) * 2 * x) / (1 + x * x), "factor"),
    M("sigmoid", "σ instead of σ(1 − σ)", "σ(x)", sv.sigmoid, "output"),
    M("sigmoid", "relative 1e-6", "σ(x)σ(−x)(1 + 1e-6)", relative(sv.sigmoid_derivative, 1e-6), "factor"),
    M("softplus", "wrong rule", "σ(x)(1 − σ(x)): the second derivative", sv.sigmoid_derivative, "other"),
    M("softplus", "sign flip", "σ(−x) = 1 − σ(x)", lambda x: sv.sigmoid(-x), "other"),
    M("logsumexp", "missing normalization", "exp(x): softmax without dividing by the sum", np.exp, "factor"),
    M("logsumexp", "off-by-one index", "softmax rolled by one position", lambda x: np.roll(sv.softmax(x), 1), "shift"),
    M("logsumexp", "relative 1e-9", "softmax(x)(1 + 1e-9)", relative(sv.logsumexp_gradient, 1e-9), "factor"),
    M("softmax_cross_entropy", "missing factor", "softmax(z) − y: the 1/B of the batch mean dropped", lambda z, y: sv.softmax(z) - y, "axis"),
    M("softmax_cross_entropy", "wrong batch axis", "softmax over the batch axis 0 instead of the classes", lambda z, y: (sv.softmax(z.T).T - y) / z.shape[0], "axis"),
    M("softmax_cross_entropy", "sign flip", "(y − softmax(z))/B", lambda z, y: (y - sv.softmax(z)) / z.shape[0], "sign"),
    M("binary_cross_entropy", "wrong batch axis", "(σ(z) − y)/rows: divided by the batch size, not by N", lambda z, y: (sv.sigmoid(z) - y) / z.shape[0], "axis"),
    M("binary_cross_entropy", "sign flip", "(y − σ(z))/N", lambda z, y: (y - sv.sigmoid(z)) / z.size, "sign"),
]

MATRIX_CALCULUS = [
    M("linear_form", "wrong variable", "x: differentiated as if a were the variable", lambda x, a: np.array(x, copy=True), "variable"),
    M("squared_norm", "missing factor 2", "x", lambda x: np.array(x, copy=True), "factor"),
    M("squared_distance", "sign flip", "2(y − x)", lambda x, y: 2 * (y - x), "sign"),
    M("squared_distance", "missing factor 2", "x − y", lambda x, y: x - y, "factor"),
    M("matrix_vector_jacobian", "dropped transpose", "Aᵀ: the denominator layout", lambda x, A: np.array(A.T, copy=True), "transpose"),
    M("hadamard_product_jacobian", "missing product-rule term", "diag(g) A: the diag(f) J_g term dropped", lambda x, A, B: np.tanh(B @ x)[:, None] * A, "term"),
    M("hadamard_product_jacobian", "σ instead of σ(1 − σ)", "tanh'(u) taken as tanh(u)", lambda x, A, B: np.tanh(B @ x)[:, None] * A + ((A @ x) * np.tanh(B @ x))[:, None] * B, "other"),
    M("quadratic_form", "Ax instead of (A + Aᵀ)x", "Ax", lambda x, A: A @ x, "symmetric"),
    M("quadratic_form", "symmetric formula", "2Ax: right only for a symmetric A", lambda x, A: 2 * (A @ x), "symmetric"),
    M("quadratic_form", "dropped transpose", "Ax + Ax: the transpose of the second term dropped", lambda x, A: A @ x + A @ x, "symmetric"),
    M("quadratic_form", "relative 1e-9", "(A + Aᵀ)x (1 + 1e-9)", relative(mc.quadratic_form_gradient, 1e-9), "factor"),
    M("quadratic_form_hessian", "dropped transpose", "A: the Aᵀ half dropped", lambda x, A: np.array(A, copy=True), "symmetric"),
    M("quadratic_form_hessian", "symmetric formula", "2A", lambda x, A: 2 * A, "symmetric"),
    M("quadratic_form_symmetric", "missing factor 2", "Sx", lambda x, S: S @ x, "factor"),
    M("bilinear_form", "dropped transpose", "b aᵀ instead of a bᵀ", lambda X, a, b: np.outer(b, a), "transpose"),
    M("bilinear_form", "relative 1e-6", "a bᵀ (1 + 1e-6)", relative(mc.bilinear_form_gradient, 1e-6), "factor"),
    M("trace_product", "dropped transpose", "A instead of Aᵀ", lambda X, A: np.array(A, copy=True), "transpose"),
    M("trace_quadratic", "Ax instead of (A + Aᵀ)x", "AX", lambda X, A: A @ X, "symmetric"),
    M("trace_quadratic", "dropped transpose", "2AX", lambda X, A: 2 * (A @ X), "symmetric"),
    M("frobenius_norm_squared", "missing factor 2", "X", lambda X: np.array(X, copy=True), "factor"),
    M("log_determinant", "X⁻¹ instead of X⁻ᵀ", "inv(X)", lambda X: np.linalg.inv(X), "transpose"),
    M("log_determinant", "sign flip", "−X⁻ᵀ", lambda X: -np.linalg.inv(X).T, "sign"),
    M("log_determinant", "relative 1e-9", "X⁻ᵀ (1 + 1e-9)", relative(mc.log_abs_determinant_gradient, 1e-9), "factor"),
    M("inverse_bilinear_form", "X⁻¹ instead of X⁻ᵀ", "−(X⁻¹y)(X⁻ᵀz)ᵀ: inverses and transposes swapped", lambda X, y, z: -np.outer(np.linalg.solve(X, y), np.linalg.solve(X.T, z)), "transpose"),
    M("inverse_bilinear_form", "sign flip", "+X⁻ᵀ y zᵀ X⁻ᵀ: the minus of d(X⁻¹) forgotten", lambda X, y, z: -mc.inverse_bilinear_form_gradient(X, y, z), "sign"),
    M("matrix_chain_rule", "σ instead of σ(1 − σ)", "tanh'(u) taken as 1 − tanh(u)", lambda X, W: _tanh_square_gradients(X, W, G_of_T=lambda T: 2 * T * (1 - T)), "other"),
    M("matrix_chain_rule", "missing factor 2", "G = tanh(Y)(1 − tanh²Y)", lambda X, W: _tanh_square_gradients(X, W, G_of_T=lambda T: T * (1 - T * T)), "factor"),
    M("matrix_chain_rule", "relative 1e-6", "(G Wᵀ, Xᵀ G)(1 + 1e-6)", relative(mc.tanh_square_of_product_gradients, 1e-6), "factor"),
    M("linear_layer_vjp", "wrong batch axis", "db = Σ over the output axis, not the batch", lambda X, W, b, dY: (dY @ W, dY.T @ X, np.sum(dY, axis=1)), "axis"),
    M("linear_layer_vjp", "dropped transpose", "dW = Xᵀ dY instead of dYᵀ X", lambda X, W, b, dY: (dY @ W, X.T @ dY, np.sum(dY, axis=0)), "transpose"),
    M("linear_layer_vjp", "relative 1e-9", "dX (1 + 1e-9)", lambda X, W, b, dY: ((dY @ W) * (1 + 1e-9), dY.T @ X, np.sum(dY, axis=0)), "factor"),
    M("mlp_gradients", "missing factor", "dZ = softmax(Z) − Y: the 1/B of the batch mean dropped", lambda *a: _mlp_gradients(*a, batch_mean=False), "axis"),
    M("mlp_gradients", "σ instead of σ(1 − σ)", "the tanh derivative dropped: dA = dH", lambda *a: _mlp_gradients(*a, tanh_derivative=False), "other"),
    M("mlp_gradients", "wrong batch axis", "biases summed over the feature axis", lambda *a: _mlp_gradients(*a, bias_axis=1), "axis"),
    M("mlp_gradients", "relative 1e-9", "all four gradients (1 + 1e-9)", relative(layers.mlp_loss_gradients, 1e-9), "factor"),
]

MULTIVARIABLE = [
    M("partial_derivatives", "missing chain factor", "∂f/∂x₀ with exp(x₀x₂) for x₂ exp(x₀x₂)", lambda x: np.array([2 * x[0] * x[1] + np.exp(x[0] * x[2]), mv.three_variable_partial_1(x), mv.three_variable_partial_2(x)]), "entry"),
    M("partial_derivatives", "off-by-one index", "the partials stacked one position off", lambda x: np.roll(mv.three_variable_gradient(x), 1), "shift"),
    M("rosenbrock_gradient", "off-by-one index", "the two terms of ∂f/∂xᵢ added at i + 1 and i − 1", _rosenbrock_gradient_bands_swapped, "other"),
    M("rosenbrock_gradient", "sign flip", "+2(1 − xᵢ) for −2(1 − xᵢ)", lambda x: mv.rosenbrock_gradient(x) + np.append(4 * (1 - x[:-1]), 0.0), "sign"),
    M("squared_error_loss_gradient", "missing factor 2", "Xᵀ(Xw − y)/n", lambda w, X, y: X.T @ (X @ w - y) / X.shape[0], "factor"),
    M("squared_error_loss_gradient", "wrong batch axis", "divided by the feature count d, not the sample count n", lambda w, X, y: 2.0 / X.shape[1] * (X.T @ (X @ w - y)), "axis"),
    M("smooth_max_gradient", "missing chain factor", "softmax(x): the temperature forgotten", lambda x: sv.softmax(x), "power"),
    M("logistic_loss_gradient", "sign flip", "Xᵀ(y − σ(Xw))/n", lambda w, X, y: -mv.logistic_loss_gradient(w, X, y), "sign"),
    M("logistic_loss_gradient", "wrong batch axis", "divided by d, not n", lambda w, X, y: X.T @ (sv.sigmoid(X @ w) - y) / X.shape[1], "axis"),
    M("quadratic_gradient", "Ax instead of (A + Aᵀ)x", "Ax − b", lambda x, A, b: A @ x - b, "symmetric"),
    M("silu_jacobian", "missing product-rule term", "diag(σ(x)): the x σ'(x) term dropped", lambda x: np.diag(sv.sigmoid(x).reshape(-1)).reshape(x.shape + x.shape), "term"),
    M("silu_jacobian", "σ instead of σ(1 − σ)", "diag(σ + x σ)", lambda x: np.diag((sv.sigmoid(x) + x * sv.sigmoid(x)).reshape(-1)).reshape(x.shape + x.shape), "other"),
    M("affine_map_jacobian", "dropped transpose", "Aᵀ: the denominator layout", lambda x, A, b: np.array(A.T, copy=True), "transpose"),
    M("softmax_jacobian", "missing product-rule term", "diag(s): the −s sᵀ term dropped", lambda x: np.diag(sv.softmax(x)), "term"),
    M("softmax_jacobian", "sign flip", "s sᵀ − diag(s)", lambda x: -mv.softmax_jacobian(x), "sign"),
    M("spherical_jacobian", "sign flip", "+r sinθ sinφ for ∂x/∂φ", _spherical_jacobian_sign, "entry"),
    M("polar_jacobian", "dropped transpose", "Jᵀ", lambda q: mv.polar_to_cartesian_jacobian(q).T, "transpose"),
    M("quadratic_features_jacobian", "missing factor 2", "∂xᵢ²/∂xᵢ = xᵢ ('=' for '+=')", _quadratic_features_jacobian_assigned, "entry"),
    M("tanh_layer_jacobian", "σ instead of σ(1 − σ)", "diag(1 − tanh(Wx)) W", lambda x, W: (1 - np.tanh(W @ x))[:, None] * W, "output"),
    M("two_layer_tanh_network_jacobian", "missing chain factor", "W₂W₁: the tanh derivative dropped", lambda x, W1, b1, W2, b2: W2 @ W1, "other"),
    M("two_layer_tanh_network_jacobian", "relative 1e-9", "W₂ diag(1 − h²) W₁ (1 + 1e-9)", relative(mv.two_layer_tanh_network_jacobian, 1e-9), "factor"),
    M("rosenbrock_hessian", "dropped transpose", "the lower band dropped: H not symmetric", _rosenbrock_hessian_upper_band_only, "entry"),
    M("rosenbrock_hvp", "off-by-one index", "Hᵢ,ᵢ₊₁ multiplies vᵢ instead of vᵢ₊₁", _rosenbrock_hvp_off_by_one, "other"),
    M("logsumexp_hessian", "missing product-rule term", "diag(s): the −s sᵀ term dropped", lambda x: np.diag(sv.softmax(x)), "term"),
    M("logistic_loss_hessian", "σ instead of σ(1 − σ)", "Xᵀ diag(σ) X / n", lambda w, X, y: X.T @ (sv.sigmoid(X @ w)[:, None] * X) / X.shape[0], "other"),
    M("logistic_loss_hessian", "missing factor", "Xᵀ diag(p(1 − p)) X: the 1/n dropped", lambda w, X, y: mv.logistic_loss_hessian(w, X, y) * X.shape[0], "axis"),
    M("logistic_loss_hvp", "relative 1e-6", "H v (1 + 1e-6)", relative(mv.logistic_loss_hvp, 1e-6), "factor"),
    M("quadratic_hessian", "dropped transpose", "A instead of ½(A + Aᵀ)", lambda x, A, b: np.array(A, copy=True), "symmetric"),
]

DIRECTIONAL = [
    M("rosenbrock_directional_derivative", "missing factor", "∇f·v/‖v‖: the tangent normalized", lambda x, v: dd.rosenbrock_directional_derivative(x, v) / np.linalg.norm(v), "factor"),
    M("rosenbrock_directional_derivative", "relative 1e-9", "∇f·v (1 + 1e-9)", relative(dd.rosenbrock_directional_derivative, 1e-9), "factor"),
    M("logistic_loss_directional_derivative", "missing factor", "(σ(Xw) − y)·(Xv): the 1/n dropped", lambda w, X, y, v: np.vdot(sv.sigmoid(X @ w) - y, X @ v), "axis"),
    M("logistic_loss_directional_derivative", "sign flip", "(y − σ(Xw))·(Xv)/n", lambda w, X, y, v: -dd.logistic_loss_directional_derivative(w, X, y, v), "sign"),
]

MUTANTS: list[Mutant] = [*SINGLE_VARIABLE, *MULTIVARIABLE, *DIRECTIONAL, *MATRIX_CALCULUS]


# --------------------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------------------


def run_mutant(mutant: Mutant, seed: int = 0) -> EntryResult:
    """The engine's verdict on the entry with its derivative replaced by the mutant."""
    from .identities import BY_NAME

    return run_entry(dataclasses.replace(BY_NAME[mutant.entry], derivative=mutant.derivative), seed=seed)


def caught_by(result: EntryResult) -> list[str]:
    """The checks that rejected the mutant, in report order."""
    failed = {c.check for c in result.failures}
    return [c for c in CHECK_ORDER if c in failed]


def entry_diagnosis(result: EntryResult) -> tuple[str, str]:
    """(class, text) of a mutant's diagnosis: the first failed dense check, in report order,
    that has one; ('', '') when none has."""
    by_id = {c.check: c for c in result.failures}
    for check in CHECK_ORDER:
        c = by_id.get(check)
        if c is not None and c.diagnosis_class:
            return c.diagnosis_class, c.diagnosis
    return "", ""


def wrong_diagnoses(mutant: Mutant, result: EntryResult) -> list[str]:
    """The failed checks whose diagnosis names a class other than the mutant's label."""
    return [c.check for c in result.failures if c.diagnosis_class and c.diagnosis_class != mutant.label]


def diagnosis_table(rows: list[tuple[Mutant, EntryResult]]) -> tuple[str, dict]:
    """Per label: how many mutants got the right diagnosis, none, a wrong one."""
    counts = {label: [0, 0, 0] for label in DIAGNOSIS_CLASSES}
    for m, r in rows:
        found, _ = entry_diagnosis(r)
        wrong = wrong_diagnoses(m, r)
        column = 2 if wrong else (0 if found == m.label else 1)
        counts[m.label][column] += 1
    right, none, wrong = (sum(c[k] for c in counts.values()) for k in range(3))
    total = max(right + none + wrong, 1)
    named = total - sum(counts["other"])
    lines = [
        "## Diagnosis",
        "",
        f"{right} of {right + none + wrong} mutants get the right diagnosis ({100.0 * right / total:.0f}%), {none} none, {wrong} a wrong one;",
        f"of the {named} whose mistake has a named shape (every class but `other`), {right} ({100.0 * right / max(named, 1):.0f}%).",
        "A mutant's diagnosis is that of its first failed check (in the order of the table above) that has one;",
        "a diagnosis is wrong when ANY failed check names a class other than the mutant's label.",
        "Labels say what the mistake does to the derivative array (verify/mutants.py, DIAGNOSIS_CLASSES).",
        "",
        "| class | mutants | right | none | wrong |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label in DIAGNOSIS_CLASSES:
        r_, n_, w_ = counts[label]
        if r_ + n_ + w_:
            lines.append(f"| {label} | {r_ + n_ + w_} | {r_} | {n_} | {w_} |")
    lines.append(f"| all | {right + none + wrong} | {right} | {none} | {wrong} |")
    return "\n".join(lines) + "\n", {"right": right, "none": none, "wrong": wrong, "by_class": counts}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_report(rows: list[tuple[Mutant, EntryResult]]) -> str:
    """One row per mutant: entry, mistake, caught or not, the checks that caught it, and
    the checks that let it through."""
    caught = sum(not r.passed for _, r in rows)
    lines = [
        "# Mutation report",
        "",
        f"{caught} of {len(rows)} planted wrong derivatives rejected "
        f"({100.0 * caught / max(len(rows), 1):.0f}%). Generated by `python -m verify.mutants --report PATH` (seed 0).",
        "A check 'passes' a mutant when the mutant's error is below that check's tolerance: a relative",
        "1e-9 passes finite differences (tolerance 1e-7) and is caught by the autodiff checks (1e-10).",
        "",
        "| # | identity | mistake | planted derivative | caught | caught by | passed by | class | diagnosis |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for k, (m, r) in enumerate(rows, 1):
        by = caught_by(r)
        passed = [c.check for c in r.checks if c.passed]
        found, text = entry_diagnosis(r)
        verdict = "-" if not found else (text if found == m.label else f"**WRONG ({found})**: {text}")
        lines.append(
            f"| {k} | `{m.entry}` | {_cell(m.mistake)} | {_cell(m.description)} | {'yes' if not r.passed else '**NO**'} "
            f"| {' '.join(by) or '-'} | {' '.join(passed) or '-'} | {m.label} | {_cell(verdict)} |"
        )
    table, _ = diagnosis_table(rows)
    return "\n".join(lines) + "\n\n" + table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify.mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", metavar="PATH", help="write the markdown report to PATH")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = [(m, run_mutant(m, args.seed)) for m in MUTANTS]
    text = markdown_report(rows)
    print(text)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            fh.write(text)
    missed = [m for m, r in rows if r.passed]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
