"""Chapter 01's interactive pictures show what they claim, across their sliders' ranges.

derivations/01_single_variable_derivatives/interactive.py holds the notebook's callbacks
and the pure functions that compute the numbers each picture shows. Each test asserts the
mathematical fact of one picture and shows that a planted wrong variant is rejected.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from implementations import single_variable as sv

PATH = Path(__file__).resolve().parents[1] / "derivations/01_single_variable_derivatives/interactive.py"
spec = importlib.util.spec_from_file_location("interactive_01", PATH)
I = importlib.util.module_from_spec(spec)
spec.loader.exec_module(I)

EPS = np.finfo(np.float64).eps
A_SLIDER = np.linspace(-2.0, 3.0, 11)  # the notebook's slider for a
X_SLIDER = np.arange(0.25, 1.2501, 0.05)  # the error plot's slider for x
THRESHOLDS = np.geomspace(1e-4, 0.25, 12)
BETAS = np.geomspace(0.25, 20.0, 9)
CHAIN_X = np.linspace(-2.0, 2.0, 17)


def _order(steps, errors) -> float:
    return sv.convergence_order(steps, errors)


# --------------------------------------------------------------------------------------
# 1. secant → tangent
# --------------------------------------------------------------------------------------


def _secant_error_order(secant, function, a):
    steps = np.logspace(-1, -4, 7)
    errors = np.abs(np.array([secant(a, h, function) for h in steps]) - I.tangent_slope(a, function))
    return _order(steps, errors), errors, steps


@pytest.mark.parametrize("function", list(I.FUNCTIONS))
def test_secant_slope_tends_to_the_tangent_slope_with_error_O_h(function):
    d2f = I.FUNCTIONS[function][2]
    for a in A_SLIDER:
        if function == "x^3.5":
            a = abs(a) + 0.25  # x^3.5 lives on x > 0
        if abs(d2f(a)) < 1e-2:
            continue  # f''(a) = 0: the error is of higher order there
        order, errors, steps = _secant_error_order(I.secant_slope, function, a)
        assert abs(order - 1.0) < 0.1, (function, a, order)
        # the leading term: |secant - f'(a)| ≈ |f''(a)| h / 2
        np.testing.assert_allclose(errors[-1], abs(d2f(a)) * steps[-1] / 2, rtol=0.05)


def test_tangent_slope_is_the_project_derivative():
    np.testing.assert_allclose(I.tangent_slope(A_SLIDER, "sin"), np.cos(A_SLIDER), rtol=0, atol=1e-15)
    np.testing.assert_allclose(I.tangent_slope(A_SLIDER, "exp"), np.exp(A_SLIDER), rtol=1e-15)


def test_a_secant_that_divides_by_2h_is_rejected():
    wrong = lambda a, h, function: I.secant_slope(a, h, function) / 2  # noqa: E731
    _, errors, _ = _secant_error_order(wrong, "sin", 1.0)
    assert errors[-1] > 0.1  # it converges to f'(a)/2, not f'(a)


def test_secant_picture_draws_for_every_slider_value():
    for function in I.FUNCTIONS:
        fig = I.secant_to_tangent(a=1.0, h=0.01, function=function)
        assert isinstance(fig, Figure) and len(fig.axes) == 2
        assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)


# --------------------------------------------------------------------------------------
# 2. forward vs central differences
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("function", list(I.FUNCTIONS))
def test_truncation_orders_and_best_steps(function):
    for x in X_SLIDER:
        forward, central = I.difference_errors(x, function)
        truncation = (I.STEPS <= 1e-2) & (I.STEPS >= 1e-4)
        assert abs(_order(I.STEPS[truncation], forward[truncation]) - 1) < 0.1
        truncation2 = (I.STEPS <= 1e-2) & (I.STEPS >= 1e-3)
        assert abs(_order(I.STEPS[truncation2], central[truncation2]) - 2) < 0.1
        # the best steps sit near √ε (forward) and ε^(1/3) (central), as the model predicts
        h_forward, h_central = I.best_step(forward), I.best_step(central)
        assert np.sqrt(EPS) / 10 <= h_forward <= 10 * np.sqrt(EPS), (x, h_forward)
        assert np.cbrt(EPS) / 10 <= h_central <= 10 * np.cbrt(EPS), (x, h_central)
        model = I.central_best_step_model(x, function)
        assert model / 5 <= h_central <= 5 * model, (x, h_central, model)
        # the central quotient is better at its best than the forward one at its best
        assert central.min() < forward.min() / 10


def test_error_models_match_the_measured_errors_where_they_dominate():
    forward, central = I.difference_errors(1.0, "exp")
    models = I.error_models(1.0, "exp")
    at = np.argmin(np.abs(I.STEPS - 1e-3))
    np.testing.assert_allclose(forward[at], models["forward O(h)"][at], rtol=0.01)
    np.testing.assert_allclose(central[at], models["central O(h²)"][at], rtol=0.01)
    # below the best step the rounding model is an upper envelope (up to small factors)
    small = I.STEPS <= 1e-10
    assert np.all(central[small] <= 4 * models["rounding ε/h"][small])
    assert np.median(central[small] / models["rounding ε/h"][small]) > 0.05


def test_a_central_quotient_that_is_really_forward_is_rejected():
    """Planted: a 'central' quotient that forgets f(x−h). Its best step is √ε, not ε^(1/3)."""
    steps = I.STEPS
    wrong = np.array([abs(sv.forward_difference(np.exp, 1.0, h) - np.e) / np.e for h in steps])
    assert not (np.cbrt(EPS) / 10 <= I.best_step(wrong) <= 10 * np.cbrt(EPS))


def test_best_step_ignores_a_lone_zero():
    errors = np.abs(np.log10(I.STEPS) + 5.0) + 1.0  # V-shaped, minimum at h = 1e-5
    errors[-3] = 0.0  # an error that rounded to exactly 0 far from the trend
    assert I.best_step(errors) == pytest.approx(1e-5, rel=0.3)  # within one grid step
    assert I.best_step(errors, window=1) == I.STEPS[-3]  # unsmoothed, the lone zero would win


def test_error_plot_draws_for_every_function():
    for function in I.FUNCTIONS:
        fig = I.difference_error_plot(0.5, function)
        (ax,) = fig.axes
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_ylabel()


# --------------------------------------------------------------------------------------
# 3. σ and σ': the vanishing-gradient region
# --------------------------------------------------------------------------------------


def test_sigmoid_derivative_peaks_at_one_quarter_only_at_zero():
    xs = np.linspace(-40, 40, 80001)  # contains 0 exactly
    ds = I.sigmoid_derivative(xs)
    assert ds.max() == 0.25 and xs[np.argmax(ds)] == 0.0
    assert np.all(ds[xs != 0] < 0.25)


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_shaded_region_is_exactly_where_the_derivative_is_below_threshold(threshold):
    x_star = I.vanishing_threshold(threshold)
    xs = np.linspace(-20, 20, 40001)
    shaded = np.abs(xs) > x_star
    boundary = np.isclose(np.abs(xs), x_star, rtol=0, atol=1e-9)
    assert np.array_equal(shaded[~boundary], I.vanishing_mask(xs, threshold)[~boundary])
    # at the boundary σ' equals the threshold
    np.testing.assert_allclose(I.sigmoid_derivative(np.array([x_star])), threshold, rtol=1e-12)


def test_a_wrong_vanishing_boundary_is_rejected():
    """Planted boundaries: σ' = 1/(4cosh²x) (dropped the 1/2) and σ' ≈ e^(-|x|) (the tail)."""
    threshold = 0.01
    xs = np.linspace(-20, 20, 40001)
    for wrong_star in (np.arccosh(1 / (2 * np.sqrt(threshold))), np.log(1 / threshold)):
        assert not np.array_equal(np.abs(xs) > wrong_star, I.vanishing_mask(xs, threshold))


def test_threshold_outside_the_range_of_sigma_prime_is_refused():
    with pytest.raises(ValueError):
        I.vanishing_threshold(0.3)


def test_sigmoid_picture_shades_the_region():
    fig = I.sigmoid_vanishing(0.01)
    assert len(fig.axes) == 2 and all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    left_label = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert any("4.58" in t for t in left_label)  # 2 arccosh(5) = 4.585...


# --------------------------------------------------------------------------------------
# 4. softplus_β → ReLU
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", BETAS)
def test_softplus_beta_gap_is_at_most_log2_over_beta(beta):
    xs = np.linspace(-50, 50, 100001)  # contains 0 exactly
    gap = I.softplus_beta(xs, beta) - I.relu(xs)
    bound = I.softplus_gap_bound(beta)
    rounding = 4 * EPS * np.maximum(np.abs(xs), 1.0)  # softplus(βx)/β rounds to x ± a few ulps of x
    assert np.all(gap >= -rounding) and np.all(gap <= bound * (1 + 1e-15))
    assert gap.max() == pytest.approx(bound, rel=1e-15) and xs[np.argmax(gap)] == 0.0
    # the derivative is σ(βx), a smooth step
    np.testing.assert_allclose(I.softplus_beta_derivative(xs, beta), sv.sigmoid(beta * xs), rtol=1e-15)


def test_softplus_beta_tends_to_relu():
    xs = np.linspace(-5, 5, 1001)
    gaps = [np.max(np.abs(I.softplus_beta(xs, b) - I.relu(xs))) for b in BETAS]
    assert np.all(np.diff(gaps) < 0) and gaps[-1] < 0.04


def test_a_softplus_without_the_1_over_beta_is_rejected():
    beta, xs = 4.0, np.linspace(-5, 5, 1001)
    wrong = sv.softplus(beta * xs)  # forgot the 1/β: the gap at 0 is ln 2, not ln 2 / β
    assert np.max(wrong - I.relu(xs)) > I.softplus_gap_bound(beta) * 1.5


# --------------------------------------------------------------------------------------
# 5. the chain rule as a product of slopes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("composition", list(I.COMPOSITIONS))
def test_chain_rule_product_equals_the_project_derivative(composition):
    f, _, g, *_ = I.COMPOSITIONS[composition]
    for x in CHAIN_X:
        s = I.chain_slopes(composition, x)
        assert s["product"] == pytest.approx(s["outer"] * s["inner"], rel=1e-15)
        assert s["product"] == pytest.approx(s["project"], rel=1e-12, abs=1e-14)
        # and both agree with a central difference of f∘g (independent of the project)
        fd = sv.central_difference(lambda t: f(g(t)), x, 1e-5)
        assert s["product"] == pytest.approx(fd, rel=1e-7, abs=1e-9)


def test_outer_derivative_at_x_instead_of_g_x_is_rejected():
    """Planted: f'(x)·g'(x), the classic slip of evaluating the outer slope at the wrong point."""
    f, df, g, dg, *_ = I.COMPOSITIONS["exp(sin(x²))"]
    wrong = df(1.0) * dg(1.0)
    assert abs(wrong - I.chain_slopes("exp(sin(x²))", 1.0)["project"]) > 0.1


def test_chain_picture_draws_for_every_composition():
    for composition in I.COMPOSITIONS:
        fig = I.chain_rule_slopes(composition, 0.5)
        assert len(fig.axes) == 3 and all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
