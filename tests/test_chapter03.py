"""Chapter 03: D_v f = ∇f·v against JVPs, and a planted counterexample for every claim.

Each claim that is not a formula (the limit definition, steepest ascent, perpendicularity
to level sets, descent directions, line-search termination and decrease) is shown to
fail on a wrong implementation, so its check can fail.
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

from implementations import directional as dd
from implementations import multivariable as mv
from verify.engine import run_claim, run_entry
from verify.identities import BY_NAME


def _failed_checks(claim_name, implementation, seed=0):
    results = run_claim(BY_NAME[claim_name], np.random.default_rng(seed), implementation=implementation)
    return {r.check.removeprefix("claim:") for r in results if not r.passed}


# --------------------------------------------------------------------------------------
# D_v f = ∇f·v, against JAX, torch and a 1-D finite difference along v
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_directional_derivative_is_the_jvp_in_jax_and_torch_and_the_slope_of_the_slice(seed):
    rng = np.random.default_rng(seed)
    x, v = rng.uniform(-1.2, 1.2, 3), rng.standard_normal(3)
    hand = dd.directional_derivative(mv.three_variable_gradient, x, v)
    _, on_jax = jax.jvp(mv.three_variable, (jnp.asarray(x),), (jnp.asarray(v),))
    _, on_torch = torch.func.jvp(mv.three_variable, (torch.from_numpy(x),), (torch.from_numpy(v),))
    h = 1e-5
    slice_slope = (mv.three_variable(x + h * v) - mv.three_variable(x - h * v)) / (2 * h)  # d/dt f(x + tv) at 0
    scale = np.linalg.norm(mv.three_variable_gradient(x)) * np.linalg.norm(v)
    assert abs(hand - float(on_jax)) <= 1e-13 * scale
    assert abs(hand - float(on_torch)) <= 1e-13 * scale
    assert abs(hand - slice_slope) <= 1e-8 * scale


def test_directional_derivative_is_linear_in_v():
    rng = np.random.default_rng(1)
    x, u, v = rng.uniform(-1.5, 1.5, (3, 6))
    lhs = dd.rosenbrock_directional_derivative(x, 2.0 * u - 3.0 * v)
    rhs = 2.0 * dd.rosenbrock_directional_derivative(x, u) - 3.0 * dd.rosenbrock_directional_derivative(x, v)
    assert abs(lhs - rhs) <= 1e-12 * abs(lhs)


def test_planted_unit_normalized_tangent_is_rejected():
    """D_v f scales with ‖v‖: normalizing the tangent is a bug the JVP checks catch."""
    wrong = lambda x, v: dd.rosenbrock_directional_derivative(x, v / np.linalg.norm(v))
    result = run_entry(dataclasses.replace(BY_NAME["rosenbrock_directional_derivative"], derivative=wrong))
    assert not any(c.passed for c in result.checks)


# --------------------------------------------------------------------------------------
# Claims hold over many draws, and each fails on a planted counterexample
# --------------------------------------------------------------------------------------

CLAIMS = ("directional_derivative_limit", "steepest_ascent", "level_set_perpendicular", "descent_direction", "backtracking_line_search")


@pytest.mark.parametrize("name", CLAIMS)
def test_claim_holds_over_many_draws(name):
    result = run_entry(BY_NAME[name], seed=11, trials=6)
    assert result.passed, result.message()


def test_planted_quotient_along_the_normalized_direction_misses_the_limit():
    wrong = lambda f, x, v, h: dd.directional_difference_quotient(f, x, v / np.linalg.norm(v), h)
    assert "the quotient tends to grad f . v" in _failed_checks("directional_derivative_limit", wrong)


def test_planted_best_coordinate_direction_is_not_steepest():
    """The best axis direction is a unit vector, but D_u f < ‖∇f‖ there."""

    def best_axis(g):
        e = np.zeros_like(g)
        i = int(np.argmax(np.abs(g)))
        e[i] = np.sign(g[i])
        return e

    failed = _failed_checks("steepest_ascent", best_axis)
    assert "equality at u: D_u f = ||grad f||" in failed
    assert "u is a unit vector" not in failed


def test_planted_unnormalized_gradient_is_not_a_unit_direction():
    assert "u is a unit vector" in _failed_checks("steepest_ascent", lambda g: np.asarray(g, dtype=float))


def test_steepest_ascent_bound_is_cauchy_schwarz_not_an_artifact_of_sampling():
    """Every sampled D_v f lies below ‖∇f‖, and the top sample approaches it."""
    rng = np.random.default_rng(2)
    g = mv.rosenbrock_gradient(rng.uniform(-1.5, 1.5, 3))
    v = rng.standard_normal((20000, 3))
    slopes = (v / np.linalg.norm(v, axis=1, keepdims=True)) @ g
    assert np.max(slopes) <= np.linalg.norm(g) * (1 + 1e-12)
    assert np.max(slopes) >= 0.99 * np.linalg.norm(g)


def _rotate_tangent(degrees):
    def wrong(g):
        basis = dd.level_set_tangent_basis(g)
        n = np.asarray(g) / np.linalg.norm(g)
        a = np.deg2rad(degrees)
        return np.cos(a) * basis + np.sin(a) * n  # tilted towards the gradient
    return wrong


def test_planted_tilted_tangent_is_not_perpendicular():
    failed = _failed_checks("level_set_perpendicular", _rotate_tangent(10))
    assert "n-D: every tangent is perpendicular to grad f" in failed
    assert "2-D: the level curve leaves the tangent at O(s^2)" in failed
    assert "n-D: f changes only at second order along each tangent" in failed


def test_planted_gradient_as_tangent_fails():
    failed = _failed_checks("level_set_perpendicular", lambda g: (np.asarray(g) / np.linalg.norm(g))[None, :])
    assert "2-D: tangent parallel to (f_y, -f_x) of the implicit function theorem" in failed
    assert "n-D: the basis is orthonormal with n - 1 rows" in failed


def test_two_dimensional_tangent_is_the_implicit_function_tangent():
    g = np.array([3.0, -4.0])
    (tangent,) = dd.level_set_tangent_basis(g)
    assert abs(tangent @ g) < 1e-15
    assert np.allclose(np.abs(tangent), np.abs(np.array([g[1], -g[0]]) / 5.0))


def test_zero_gradient_has_no_steepest_direction_nor_tangent_space():
    with pytest.raises(ValueError):
        dd.steepest_ascent_direction(np.zeros(3))
    with pytest.raises(ValueError):
        dd.level_set_tangent_basis(np.zeros(3))


def test_planted_flipped_descent_test_fails():
    failed = _failed_checks("descent_direction", lambda g, d: bool(np.vdot(g, d) > 0))
    assert failed == {"directions judged descent decrease f", "directions judged not descent do not decrease f"}


def test_planted_always_descent_fails():
    assert "directions judged descent decrease f" in _failed_checks("descent_direction", lambda g, d: True)


def test_planted_line_search_without_armijo_fails():
    """Taking the initial step unchecked overshoots on Rosenbrock: f goes up."""
    no_check = lambda f, gradient, x, d, t0=1.0, rho=0.5, c=1e-4: dd.LineSearchResult(t0, 1, True)
    failed = _failed_checks("backtracking_line_search", no_check)
    assert "accepted steps satisfy Armijo f(x+td) <= f(x) + c t D_d f (so f decreases)" in failed


def test_planted_growing_step_never_terminates():
    """Multiplying by 1/ρ instead of ρ never meets Armijo: the termination bound fails."""
    growing = lambda f, gradient, x, d, t0=1.0, rho=0.5, c=1e-4: dd.backtracking_line_search(f, gradient, x, d, t0, 1 / rho, c)
    assert "terminates within 1 + ceil(log_(1/rho)(t0 / t_bar)) trials" in _failed_checks("backtracking_line_search", growing)


def test_planted_overeager_shrink_takes_needlessly_short_steps():
    timid = lambda f, gradient, x, d, t0=1.0, rho=0.5, c=1e-4: dd.backtracking_line_search(f, gradient, x, d, t0, rho**4, c)
    assert "the accepted step is not needlessly short: t >= min(t0, rho t_bar)" in _failed_checks("backtracking_line_search", timid)


def test_line_search_rejects_an_ascent_direction_and_decreases_f_along_descent():
    x = np.array([-1.2, 1.0, 0.5, 0.3])
    g = mv.rosenbrock_gradient(x)
    with pytest.raises(ValueError):
        dd.backtracking_line_search(mv.rosenbrock, mv.rosenbrock_gradient, x, g)
    result = dd.backtracking_line_search(mv.rosenbrock, mv.rosenbrock_gradient, x, -g)
    assert result.satisfied and result.evaluations > 1
    assert mv.rosenbrock(x - result.step * g) < mv.rosenbrock(x)
    assert dd.armijo_condition(mv.rosenbrock(x - result.step * g), mv.rosenbrock(x), result.step, float(-g @ g))


def test_line_search_that_gives_up_returns_the_last_step_it_tried():
    """With Armijo unreachable (a gradient that lies about the slope), the returned step is
    the last one f was evaluated at, flagged unsatisfied, not one more untried shrink."""
    tried = []

    def f(z):
        tried.append(float(z[0] - 1.0))  # the trial step t, since x = 1 and d = 1
        return float(z @ z)

    x, d = np.array([1.0]), np.array([1.0])
    result = dd.backtracking_line_search(f, lambda z: -z, x, d, initial_step=1.0, shrink=0.5, max_evaluations=3)
    trial_steps = tried[1:]  # tried[0] is f(x) itself
    assert trial_steps == [1.0, 0.5, 0.25]
    assert result == dd.LineSearchResult(0.25, 3, False)
    assert result.step == trial_steps[-1]


def test_directional_derivatives_without_differentiability_are_not_grad_dot_v():
    """f = x²y/(x² + y²), f(0) = 0: every D_v f(0) exists and is v₁²v₂/‖v‖², not linear in v,
    while both partials are 0, so ∇f(0)·v = 0 (directional_derivative.md)."""

    def f(z):
        x, y = z
        return 0.0 if x == 0 and y == 0 else x * x * y / (x * x + y * y)

    origin = np.zeros(2)
    for v in (np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([2.0, -0.5])):
        quotient = dd.directional_difference_quotient(f, origin, v, 1e-8)
        assert abs(quotient - v[0] ** 2 * v[1] / (v @ v)) <= 1e-12
    partials = np.array([dd.directional_difference_quotient(f, origin, e, 1e-8) for e in np.eye(2)])
    assert np.all(partials == 0.0)
    v = np.array([1.0, 1.0])
    assert abs(dd.directional_difference_quotient(f, origin, v, 1e-8) - partials @ v - 0.5) <= 1e-12  # D_v f(0) = 1/2, ∇f(0)·v = 0
