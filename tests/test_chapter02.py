"""Chapter 02: partials against one-hot JVPs, primals on every namespace, planted bugs.

Each claim of the chapter that is not a formula (Schwarz symmetry, gradient descent on a
quadratic) is shown to fail on a planted counterexample, so its check can fail.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import verify.backends  # noqa: F401  (enables JAX float64 before any JAX array exists)
import jax
import jax.numpy as jnp
import torch
import torch.func

from implementations import multivariable as mv
from verify.engine import entry_rng, run_claim, run_entry
from verify.identities import BY_NAME, multivariable as chapter
from verify.registry import Identity

IDENTITIES = [e for e in chapter.ENTRIES if isinstance(e, Identity)]


def _failed_checks(claim_name, implementation, seed=0):
    results = run_claim(BY_NAME[claim_name], np.random.default_rng(seed), implementation=implementation)
    assert results and all(r.reason != "" or r.passed for r in results)
    return {r.check.removeprefix("claim:") for r in results if not r.passed}


# --------------------------------------------------------------------------------------
# Partial derivatives: each one is the JVP with the one-hot tangent e_i
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("i", range(3))
@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_each_partial_is_the_jvp_along_a_one_hot_tangent(i, framework):
    rng = np.random.default_rng(i)
    for _ in range(5):
        x = rng.uniform(-1.2, 1.2, size=3)
        one_hot = np.eye(3)[i]
        if framework == "jax":
            _, reference = jax.jvp(mv.three_variable, (jnp.asarray(x),), (jnp.asarray(one_hot),))
        else:
            _, reference = torch.func.jvp(mv.three_variable, (torch.from_numpy(x),), (torch.from_numpy(one_hot),))
        hand = mv.THREE_VARIABLE_PARTIALS[i](x)
        assert abs(hand - float(reference)) <= 1e-12 * max(1.0, abs(float(reference)))


def test_a_partial_holds_the_other_variables_fixed():
    """∂f/∂x₁ is the ordinary derivative of the 1-D slice t ↦ f(x₀, t, x₂)."""
    x = np.array([0.7, -1.1, 0.4])
    h = 1e-5
    up, down = x.copy(), x.copy()
    up[1] += h
    down[1] -= h
    slice_derivative = (mv.three_variable(up) - mv.three_variable(down)) / (2 * h)
    assert abs(slice_derivative - mv.three_variable_partial_1(x)) < 1e-8


# --------------------------------------------------------------------------------------
# Primals are written once: numpy, jax.numpy and torch agree
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", IDENTITIES, ids=lambda e: e.name)
def test_primal_runs_on_numpy_jax_and_torch(entry):
    args = entry.sample(entry_rng(0, entry.name, 0))
    expected = np.asarray(entry.function(*args))
    on_jax = np.asarray(entry.function(*[jnp.asarray(a) for a in args]))
    on_torch = entry.function(*[torch.from_numpy(np.array(a)) for a in args]).numpy()
    np.testing.assert_allclose(on_jax, expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(on_torch, expected, rtol=1e-13, atol=1e-13)


# --------------------------------------------------------------------------------------
# Relations between the hand-coded operators
# --------------------------------------------------------------------------------------


def test_hvp_matches_the_formed_hessian_and_hessians_are_symmetric():
    rng = np.random.default_rng(3)
    x, v = rng.uniform(-1.5, 1.5, 6), rng.standard_normal(6)
    np.testing.assert_allclose(mv.rosenbrock_hvp(x, v), mv.rosenbrock_hessian(x) @ v, rtol=1e-13)
    w, X, y = chapter.logistic_regression_sample(rng)
    u = rng.standard_normal(w.size)
    np.testing.assert_allclose(mv.logistic_loss_hvp(w, X, y, u), mv.logistic_loss_hessian(w, X, y) @ u, rtol=1e-13)
    for H in (mv.rosenbrock_hessian(x), mv.logsumexp_hessian(x), mv.logistic_loss_hessian(w, X, y)):
        assert np.max(np.abs(H - H.T)) <= 1e-14 * np.max(np.abs(H))


def test_softmax_jacobian_rows_sum_to_zero_and_lse_hessian_is_psd():
    """softmax sums to 1, so each column of its Jacobian sums to 0; LSE is convex."""
    x = np.random.default_rng(4).standard_normal(6) * 2
    assert np.max(np.abs(mv.softmax_jacobian(x).sum(axis=0))) < 1e-15
    assert np.min(np.linalg.eigvalsh(mv.logsumexp_hessian(x))) > -1e-15


def test_spherical_jacobian_determinant_is_r_squared_sin_theta():
    q = np.array([1.7, 0.9, -2.1])
    assert abs(np.linalg.det(mv.spherical_to_cartesian_jacobian(q)) - q[0] ** 2 * np.sin(q[1])) < 1e-13
    assert abs(np.linalg.det(mv.polar_to_cartesian_jacobian(q[:2])) - q[0]) < 1e-13


PLANTED_DERIVATIVES = {
    "quadratic_hessian": lambda x, A, b: A,  # right only for symmetric A: the non-symmetric sample catches it
    "quadratic_gradient": lambda x, A, b: A @ x - b,
    "softmax_jacobian": lambda x: np.diag(mv.softmax_jacobian(x).diagonal()),  # forgot −s sᵀ off the diagonal
    "spherical_jacobian": lambda q: mv.spherical_to_cartesian_jacobian(q).T,
    "affine_map_jacobian": lambda x, A, b: A.T,  # numerator layout violated: wrong shape
    "two_layer_tanh_network_jacobian": lambda x, W1, b1, W2, b2: W2 @ W1,  # forgot tanh'
    "logistic_loss_hessian": lambda w, X, y: X.T @ (mv.sigmoid(X @ w)[:, None] * X) / X.shape[0],  # p instead of p(1−p)
    "rosenbrock_hvp": lambda x, v: mv.rosenbrock_hessian(x).T @ v * (1 + 1e-8),
    "smooth_max_gradient": lambda x: mv.softmax(x),  # forgot the temperature
    "squared_error_loss_gradient": lambda w, X, y: X.T @ (X @ w - y) / X.shape[0],  # missing factor 2
}


@pytest.mark.parametrize("name", PLANTED_DERIVATIVES)
def test_planted_wrong_derivative_fails_every_autodiff_check(name):
    result = run_entry(dataclasses.replace(BY_NAME[name], derivative=PLANTED_DERIVATIVES[name]))
    autodiff = [c for c in result.checks if c.oracle == "autodiff"]
    assert autodiff and not any(c.passed for c in autodiff)


# --------------------------------------------------------------------------------------
# Claims and their planted counterexamples
# --------------------------------------------------------------------------------------


def test_chapter_claims_hold_over_many_draws():
    for name in ("hessian_symmetry", "gradient_descent_quadratic"):
        result = run_entry(BY_NAME[name], seed=7, trials=8)
        assert result.passed, result.message()


def test_planted_order_dependent_mixed_partials_break_symmetry():
    """A one-sided difference of step 1e-2 depends on the order of differentiation."""

    def forward_mixed(partials, x, step=1e-2):
        x = np.asarray(x, dtype=float)
        return np.array([[(p(x + step * e) - p(x)) / step for e in np.eye(x.size)] for p in partials])

    assert "mixed partials of x0^2 x1 + x1 sin x2 + exp(x0 x2) commute" in _failed_checks("hessian_symmetry", forward_mixed)


def test_a_wrong_partial_shows_up_as_asymmetric_mixed_partials():
    wrong = (mv.three_variable_partial_0, lambda x: x[0] ** 2, mv.three_variable_partial_2)  # dropped sin x2 from ∂f/∂x1
    x = np.array([0.5, -0.8, 1.1])
    assert chapter.relative_asymmetry(mv.mixed_partials(wrong, x)) > 0.1
    assert chapter.relative_asymmetry(mv.mixed_partials(mv.THREE_VARIABLE_PARTIALS, x)) < 1e-8


def test_schwarz_needs_continuous_second_derivatives():
    """f = xy(x² − y²)/(x² + y²) is not C² at 0: there ∂²f/∂y∂x = −1 but ∂²f/∂x∂y = +1."""

    def partial_x(p):
        x, y = p
        r2 = x * x + y * y
        return 0.0 if r2 == 0 else y * (x**4 + 4 * x * x * y * y - y**4) / r2**2

    def partial_y(p):
        x, y = p
        r2 = x * x + y * y
        return 0.0 if r2 == 0 else x * (x**4 - 4 * x * x * y * y - y**4) / r2**2

    mixed = mv.mixed_partials((partial_x, partial_y), np.zeros(2))
    assert mixed[0, 1] == pytest.approx(-1.0) and mixed[1, 0] == pytest.approx(1.0)


def test_planted_gradient_ascent_fails_the_decrease_check():
    ascent = lambda gradient, x0, eta, k: mv.gradient_descent(lambda x: -gradient(x), x0, eta, k)
    assert "eta = 0.9 * 2/lambda_max decreases f at every step" in _failed_checks("gradient_descent_quadratic", ascent)


def test_planted_half_step_fails_divergence_and_contraction():
    half = lambda gradient, x0, eta, k: mv.gradient_descent(gradient, x0, eta / 2, k)
    failed = _failed_checks("gradient_descent_quadratic", half)
    assert "eta = 1.1 * 2/lambda_max diverges" in failed
    assert "error along eigenvector i contracts by (1 - eta lambda_i)" in failed


def test_step_size_threshold_is_two_over_lambda_max():
    """Just below 2/λmax the top mode shrinks, just above it grows: the boundary is sharp."""
    A, lam, q, b = chapter.spd_quadratic(np.random.default_rng(5))
    x_star = np.linalg.solve(A, b)
    x0 = x_star + q[:, -1]
    grad = lambda x: mv.quadratic_gradient(x, A, b)
    below = mv.gradient_descent(grad, x0, 0.99 * 2 / lam[-1], 200)[-1]
    above = mv.gradient_descent(grad, x0, 1.01 * 2 / lam[-1], 200)[-1]
    assert np.linalg.norm(below - x_star) < 0.5 < 2.0 < np.linalg.norm(above - x_star)


# --------------------------------------------------------------------------------------
# Differentiability, the chain rule, second-order Taylor, convexity: planted counterexamples
# --------------------------------------------------------------------------------------


def test_new_claims_hold_over_many_draws():
    for name in ("differentiability", "taylor_second_order", "convexity"):
        result = run_entry(BY_NAME[name], seed=11, trials=6)
        assert result.passed, result.message()


def test_planted_remainder_that_vanishes_for_the_counterexample_is_rejected():
    """A remainder that claims xy/(x²+y²) is differentiable at 0 (it reports 0 there)."""

    def claims_differentiable(f, gradient, x, h):
        if f is mv.xy_over_r2:
            return 0.0
        return mv.linearization_remainder(f, gradient, x, h)

    assert _failed_checks("differentiability", claims_differentiable) == {"xy/(x^2+y^2) at 0: remainder/||h|| does not vanish"}


def test_planted_remainder_without_the_gradient_term_is_rejected():
    """|f(x+h) − f(x)|/‖h‖ (the linear term forgotten) tends to |∇f·u|, not to 0."""
    forgot_gradient = lambda f, gradient, x, h: float(abs(f(x + h) - f(x)) / np.linalg.norm(h))
    assert "continuous partials: remainder/||h|| -> 0" in _failed_checks("differentiability", forgot_gradient)


def test_counterexample_partials_exist_but_f_is_discontinuous():
    assert mv.xy_over_r2(np.array([1e-100, 0.0])) == 0.0 == mv.xy_over_r2(np.array([0.0, -1e-100]))
    assert mv.xy_over_r2(np.array([1e-100, 1e-100])) == 0.5
    assert mv.xy_over_r2(np.array([1e-100, -1e-100])) == -0.5


PLANTED_CHAIN_RULES = {
    # J_g J_f: (5, 3) @ (2, 5) does not even multiply
    "product in the wrong order": lambda x: mv.chain_inner_jacobian(x) @ mv.chain_outer_jacobian(mv.chain_inner(x)),
    # the transposes multiply, but give a (3, 2) matrix: denominator layout
    "transposed product": lambda x: mv.chain_inner_jacobian(x).T @ mv.chain_outer_jacobian(mv.chain_inner(x)).T,
    # J_f at the layer's input instead of its output (x has 3 entries, f takes 5: x is repeated)
    "J_f evaluated at x": lambda x: mv.chain_outer_jacobian(np.resize(x, 5)) @ mv.chain_inner_jacobian(x),
}


@pytest.mark.parametrize("plant", PLANTED_CHAIN_RULES)
def test_planted_wrong_chain_rule_fails_every_check(plant):
    result = run_entry(dataclasses.replace(BY_NAME["multivariable_chain_rule"], derivative=PLANTED_CHAIN_RULES[plant]))
    assert result.checks and not any(c.passed for c in result.checks)


def test_chain_rule_shapes_are_distinct():
    x = np.array([0.4, -1.1, 0.8])
    assert mv.chain_inner_jacobian(x).shape == (5, 3)
    assert mv.chain_outer_jacobian(mv.chain_inner(x)).shape == (2, 5)
    assert mv.chain_composite_jacobian(x).shape == (2, 3)


def test_planted_taylor_model_with_full_hessian_is_rejected():
    """f + ∇f·h + hᵀHh (the ½ dropped) has an O(‖h‖²) error: the order-3 check fails."""

    def without_half(f, gradient, hessian, x):
        value, slope, curvature = f(x), gradient(x), hessian(x)
        return lambda h: value + slope @ h + h @ curvature @ h

    failed = _failed_checks("taylor_second_order", without_half)
    assert "Rosenbrock (n = 5): error of the second-order model is O(||h||^3)" in failed
    assert "log-sum-exp (n = 6): error of the second-order model is O(||h||^3)" in failed


def test_planted_first_order_model_is_rejected():
    first_order = lambda f, gradient, hessian, x: mv.taylor_second_order(f, gradient, lambda z: 0 * hessian(z), x)
    assert "Rosenbrock (n = 5): error of the second-order model is O(||h||^3)" in _failed_checks("taylor_second_order", first_order)


def test_planted_non_convex_function_fails_both_convexity_checks():
    """LSE(x) − 0.3‖x‖²: the Hessian diag(s) − ssᵀ − 0.6 I has H·1 = −0.6·1."""
    f = lambda x: mv.logsumexp(x) - 0.3 * x @ x
    hessian = lambda x: mv.logsumexp_hessian(x) - 0.6 * np.eye(x.size)
    rng = np.random.default_rng(0)
    checks = chapter.convexity_checks("non-convex", f, hessian, lambda r: r.standard_normal(6) * 2, mv.midpoint_convexity_gap, rng)
    assert checks and not any(c.holds for c in checks)


def test_planted_wrong_midpoint_gap_is_rejected():
    """The gap with its sign flipped is positive for every strictly convex pair."""
    flipped = lambda f, x, y: -mv.midpoint_convexity_gap(f, x, y)
    failed = _failed_checks("convexity", flipped)
    assert {"log-sum-exp: f((x+y)/2) <= (f(x) + f(y))/2", "logistic loss: f((x+y)/2) <= (f(x) + f(y))/2"} <= failed
