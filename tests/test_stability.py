"""The ML functions of chapter 01 are stable at logits of ±1000: no overflow, NaN or Inf."""

from __future__ import annotations

import numpy as np
import pytest

from implementations import single_variable as sv

LOGITS = np.array([-1000.0, -30.0, -1.0, 0.5, 30.0, 1000.0])


@pytest.fixture(autouse=True)
def raise_on_floating_point_errors():
    with np.errstate(all="raise", under="ignore"):
        yield


def test_sigmoid_and_its_derivative():
    s = sv.sigmoid(LOGITS)
    assert s[0] == 0.0 and s[-1] == 1.0 and np.all(np.isfinite(s))
    d = sv.sigmoid_derivative(LOGITS)
    assert np.all(np.isfinite(d)) and d[0] == 0.0 and d[-1] == 0.0


def test_softplus_is_linear_far_right_and_zero_far_left():
    y = sv.softplus(LOGITS)
    assert y[-1] == 1000.0 and y[0] == 0.0
    np.testing.assert_allclose(sv.softplus_derivative(LOGITS), sv.sigmoid(LOGITS))


def test_logsumexp_and_softmax():
    x = np.array([1000.0, -1000.0, 999.0])
    assert np.isclose(sv.logsumexp(x), 1000.0 + np.log1p(np.exp(-1.0)))
    s = sv.softmax(x)
    assert np.all(np.isfinite(s)) and np.isclose(s.sum(), 1.0) and s[1] == 0.0


def test_cross_entropies_at_extreme_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 5.0]])
    y = np.eye(3)[[0, 0]]
    loss = sv.softmax_cross_entropy(z, y)
    assert np.isfinite(loss) and np.isclose(loss, 1000.0)  # second row: -log softmax = 2000, mean = 1000
    g = sv.softmax_cross_entropy_gradient(z, y)
    assert np.all(np.isfinite(g))
    targets = np.array([1.0, 0.0, 1.0, 0.0, 0.3, 0.7])
    bce = sv.binary_cross_entropy_with_logits(LOGITS, targets)
    assert np.isfinite(bce)
    assert np.all(np.isfinite(sv.binary_cross_entropy_with_logits_gradient(LOGITS, targets)))


@pytest.mark.parametrize("name", ["sigmoid", "softplus"])
def test_autodiff_of_the_stable_primals_is_finite_at_extremes(name):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    f = getattr(sv, name)
    g = jax.vmap(jax.grad(lambda t: f(t)))(jnp.asarray(LOGITS))
    assert np.all(np.isfinite(np.asarray(g)))
    np.testing.assert_allclose(np.asarray(g), getattr(sv, f"{name}_derivative")(LOGITS), rtol=1e-12, atol=1e-300)
