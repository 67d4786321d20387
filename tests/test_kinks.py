"""Kinks near the point, not at it: the finite differences shrink their steps there.

A ReLU, max-pool or Huber derivative evaluated at a point whose nearest kink lies within
the first finite-difference step is right, and f is differentiable there: it must pass
with no kink verdict, on the dense path and on the projected one (n = 10⁵). A wrong
derivative near a kink still fails, with the usual reason (not a subgradient verdict), and
a point truly at a kink keeps its subgradient verdict (tests/test_traps.py has more).
"""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import array_namespace

import verify
from verify import oracles

from .test_traps import DELTA, huber, huber_gradient, max_pool, max_pool_vjp, relu

N = 100_000


def relu_vjp(x, cotangent):
    return cotangent * (x > 0)


def relu_vjp_late(x, cotangent):  # planted: the ReLU switches on at 0.01 instead of 0
    return cotangent * (x >= 0.01)


def huber_gradient_late(r):  # planted: the quadratic piece runs on to 1.001 δ
    return np.where(np.abs(r) <= 1.001 * DELTA, r, DELTA * np.sign(r))


def huber_gradient_slope(r):  # planted: the linear piece's slope δ/2 (the ½ of ½δ² carried over)
    return np.where(np.abs(r) <= DELTA, r, 0.5 * DELTA * np.sign(r))


def relu_loss(x, w):
    xp = array_namespace(x, w)
    return xp.sum(w * xp.maximum(x, xp.zeros_like(x)))


def kink_words(result) -> list[str]:
    return [n for n in result.notes if "kink" in n] + [c.reason for c in result.checks if "kink" in c.reason or "subgradient" in c.reason]


def near_point(rng, n: int, width: float = 1e-3, share: float = 0.1):
    """n standard normal entries, a share of them within ±width of 0 but at least 1e-6 from
    it: kinks near the point, at distances from 1e-6 to the first finite-difference steps."""
    x = rng.standard_normal(n)
    near = rng.random(n) < share
    x[near] = rng.choice([-1.0, 1.0], near.sum()) * rng.uniform(1e-6, width, near.sum())
    return x


def near_inputs(seed: int, n: int):
    """Inputs of ReLU (near 0), max-pooling (pairs near a tie) and Huber (near ±δ)."""
    rng = np.random.default_rng(seed)
    x = near_point(rng, n)
    pooled = rng.standard_normal(n)
    pairs = pooled.reshape(-1, 2)
    pairs[:, 1] = pairs[:, 0] + near_point(rng, n // 2, share=0.2)
    residuals = 1.5 * rng.standard_normal(n)
    at = rng.random(n) < 0.1
    residuals[at] = np.sign(residuals[at]) * DELTA + near_point(rng, int(at.sum()), share=1.0)
    return {"relu": (relu, relu_vjp, x, "vjp"), "max_pool": (max_pool, max_pool_vjp, pooled, "vjp"),
            "huber": (huber, huber_gradient, residuals, "gradient")}


# --------------------------------------------------------------------------------------
# Dense path
# --------------------------------------------------------------------------------------


def test_relu_vjp_near_a_kink_passes_with_no_kink_verdict():
    """10×100 activations whose smallest |x| is 2e-4, well inside the first steps: the kink
    examination shrinks its step to 1.6e-5, sees the quotients agree, and the finite
    differences along that input start there."""
    x = np.random.default_rng(0).standard_normal((10, 100))
    smallest = np.argmin(np.abs(x))
    x.flat[smallest] = 2e-4
    result = verify.check(relu, relu_vjp, x, kind="vjp", strategy="dense")
    assert result.passed and len(result.checks) == 6, result.message()
    assert not kink_words(result), kink_words(result)
    fd = next(c for c in result.checks if c.check == "fd")
    assert "kink" not in fd.method and fd.error < 1e-9, (fd.method, fd.error)


def near_coordinates_gradient(x, w, close, examination):
    """The finite-difference gradient of Σ wᵢ relu(xᵢ) in the coordinates ``close`` alone
    (the others held fixed), with the examination's steps there (None: scipy's own)."""

    def loss_of_close(z, x, w):
        xp = array_namespace(z, x)
        full = xp.where(xp.asarray(close), xp.zeros_like(x), x)
        full = full + xp.asarray(np.eye(x.size)[:, close]) @ z if z.shape[0] else full
        return relu_loss(full, w)

    near = None if examination is None else oracles.Examination(None, (examination.limits[0][close],), (examination.sides[0][close],))
    return oracles.finite_difference("gradient", loss_of_close, (x[close], x, w), (0,), None, 0.05, near).value[0]


@pytest.mark.parametrize("seed", range(20))
def test_random_activations_have_no_kink_and_finite_differences_clear_the_near_ones(seed):
    """1000 standard normal activations: the nearest is often within the first steps (2e-4
    at seed 1, 1.5e-5 at seed 5). No kink anywhere; the inputs within the first kink step,
    and they alone, are differenced one-sided away from 0, and there the finite-difference
    gradient of Σ wᵢ relu(xᵢ) equals w ⊙ [x > 0] to 1e-8."""
    x = np.random.default_rng(seed).standard_normal(1000)
    w = np.random.default_rng(1000 + seed).standard_normal(1000)
    found = oracles.examine_kinks("gradient", relu_loss, (x, w), (0,), None)
    assert found.kink is None
    close = np.abs(x) < 2 * oracles.KINK_STEP  # the quotients at the first step straddle these
    assert found.near == int(np.count_nonzero(close))
    if found.near:
        limits, sides = found.limits[0], found.sides[0]
        assert np.all(sides[close] == np.sign(x[close])) and np.all(limits[close] == 2 * oracles.KINK_STEP)  # one-sided, away from 0
        assert np.all(np.isinf(limits[~close])) and np.all(sides[~close] == 0)
        fd = near_coordinates_gradient(x, w, close, found)
        assert np.max(np.abs(fd - w[close] * (x[close] > 0))) < 1e-8 * np.max(np.abs(w))


def test_without_the_step_limits_the_differences_straddle_a_near_kink():
    """The control: scipy's first step (0.005 here) straddles a kink 3e-7 away, and its ten
    halvings do not get clear of it; with the examination's limit they start clear."""
    x = np.random.default_rng(5).standard_normal(1000)
    w = np.random.default_rng(1005).standard_normal(1000)
    x[int(np.argmin(np.abs(x)))] = 3e-7
    close = np.abs(x) < 2 * oracles.KINK_STEP
    found = oracles.examine_kinks("gradient", relu_loss, (x, w), (0,), None)
    assert found.kink is None and found.near == int(np.count_nonzero(close))
    exact = w[close] * (x[close] > 0)
    assert np.max(np.abs(near_coordinates_gradient(x, w, close, None) - exact)) > 1e-3
    assert np.max(np.abs(near_coordinates_gradient(x, w, close, found) - exact)) < 1e-8 * np.max(np.abs(w))


@pytest.mark.parametrize("name", ["relu", "max_pool", "huber"])
def test_dense_check_passes_near_kinks(name):
    function, derivative, x, kind = near_inputs(1, 200)[name]
    result = verify.check(function, derivative, x, kind=kind, strategy="dense")
    assert not result.projected and result.passed, result.message()
    assert not kink_words(result), kink_words(result)


def test_a_jvp_near_a_kink_along_the_tangent_passes():
    x = np.array([1.0, 3e-5, -2.0, -4e-4, 0.5])
    result = verify.check(relu, lambda x, t: t * (x > 0), x, kind="jvp")
    assert result.passed and not kink_words(result), result.message()
    wrong = verify.check(relu, lambda x, t: t * (x >= 1e-4), x, kind="jvp")
    assert not any(c.passed for c in wrong.checks), wrong.message()


@pytest.mark.parametrize("name, wrong", [("relu", relu_vjp_late), ("huber", huber_gradient_late), ("huber", huber_gradient_slope)])
def test_dense_check_fails_a_wrong_derivative_near_kinks_with_the_usual_reason(name, wrong):
    function, _, x, kind = near_inputs(2, 200)[name]
    result = verify.check(function, wrong, x, kind=kind)
    assert len(result.failures) == len(result.checks) == 6, result.message()
    for c in result.failures:
        line = c.message()
        assert line.startswith(f"{name} [{c.backend}, {c.mode}]: FAIL: max relative error "), line
        assert "subgradient" not in line and "not differentiable" not in line, line


def test_dense_point_at_a_kink_keeps_its_subgradient_verdict_among_near_ones():
    x = np.array([2e-4, 0.0, -3e-6, 1.5, -2.0])
    result = verify.check(relu, relu_vjp, x, kind="vjp")
    assert result.passed, result.message()
    assert any("valid subgradient (left 0, right 1) along input 1 " in n for n in result.notes), result.notes
    outside = verify.check(relu, lambda x, c: c * np.where(x == 0, 2.0, x > 0), x, kind="vjp")
    assert all("is not a valid subgradient" in c.reason and "at entry (1,)" in c.reason for c in outside.checks), outside.message()


# --------------------------------------------------------------------------------------
# Projected path (n = 10⁵)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def near_large():
    return near_inputs(0, N)


@pytest.mark.parametrize("name", ["relu", "max_pool", "huber"])
def test_projected_check_passes_near_kinks_with_no_kink_verdict(near_large, name):
    function, derivative, x, kind = near_large[name]
    result = verify.check(function, derivative, x, kind=kind, projection=True)
    assert result.projected and result.passed, result.message()
    assert not kink_words(result), kink_words(result)


@pytest.mark.parametrize("name, wrong", [("relu", relu_vjp_late), ("huber", huber_gradient_late), ("huber", huber_gradient_slope)])
def test_projected_check_fails_a_wrong_derivative_near_kinks_in_every_check(near_large, name, wrong):
    """Finite differences included: the near outputs are differenced at shrunk steps, not
    left out (a Huber switch 0.1 % late used to pass its finite-difference check)."""
    function, _, x, kind = near_large[name]
    result = verify.check(function, wrong, x, kind=kind, projection=True)
    assert len(result.failures) == len(result.checks) == 5, result.message()
    for c in result.failures:
        line = c.message()
        assert line.startswith(f"{name} [{c.backend}, {c.mode}]: FAIL: max relative error "), line
        assert c.mode.endswith("projected") and "subgradient" not in line, line
    fd = next(c for c in result.checks if c.check == "fd")
    assert "steps shrunk" in fd.reason + fd.method, fd


def test_projected_point_at_kinks_keeps_its_subgradient_verdict_among_near_ones(near_large):
    function, _, x, kind = near_large["relu"]
    x = x.copy()
    x[::50] = 0.0  # 2 % exactly at the kink
    inside = verify.check(function, lambda x, c: c * np.where(x == 0, 0.5, x > 0), x, kind=kind)
    assert inside.passed and any("valid subgradient" in n for n in inside.notes), inside.message()
    outside = verify.check(function, lambda x, c: c * np.where(x == 0, 2.0, x > 0), x, kind=kind)
    assert not any(c.passed for c in outside.checks)
    assert all(c.reason.startswith("not a valid subgradient at the kinks of f") for c in outside.checks), outside.message()
