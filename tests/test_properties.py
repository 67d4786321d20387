"""No false alarms: correct derivatives pass at hypothesis-drawn seeds, shapes and values.

Two kinds of draws per chapter: seeds for the entries' own samplers (every entry of the
chapter, claims included), and shapes and values drawn directly across each identity's
domain. `make test` runs the "ci" profile (bounded, derandomized); `make test-long` runs
the "long" profile (1000 draws per test, so at least 2000 per chapter). A failure here is
a false alarm of the suite on a correct derivative: report it, never loosen a tolerance
inside a test.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify.engine import run_entry
from verify.identities import BY_NAME, CHAPTERS, REGISTRY
from verify.samplers import nonsymmetric, onehot, well_conditioned

RUNS = [pytest.param("bounded", id="bounded"), pytest.param("long", id="long", marks=pytest.mark.slow)]
SEEDS = st.integers(0, 2**32 - 1)


def _assert_passes(entry, **kw):
    result = run_entry(entry, **kw)
    assert result.passed, f"false alarm on a correct derivative ({kw.get('seed', 'given args')}):\n{result.message()}"


def _finite(low, high):
    """Floats of [low, high]: 0, or magnitudes of at least 1e-100. Below that (x = 1e-303)
    products like x·h underflow in the oracles: outside the domain the suite checks."""
    values = st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    return values.filter(lambda v: v == 0 or abs(v) >= 1e-100)


def _array(data, low, high, shape, exclude_zero=False):
    values = _finite(low, high).filter(lambda v: v != 0) if exclude_zero else _finite(low, high)
    return np.array(data.draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))), dtype=np.float64).reshape(shape)


def _shape(data, max_rank=2, max_side=5):
    rank = data.draw(st.integers(1, max_rank))
    return tuple(data.draw(st.integers(1, max_side)) for _ in range(rank))


# --------------------------------------------------------------------------------------
# Seeds for every entry's own sampler
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("chapter", list(CHAPTERS))
@given(data=st.data())
def test_property_sampler_seeds_never_raise_a_false_alarm(run, chapter, data):
    names = [e.name for e in REGISTRY if e.chapter == chapter]
    name = data.draw(st.sampled_from(names), label="entry")
    seed = data.draw(SEEDS, label="seed")
    _assert_passes(BY_NAME[name], seed=seed)


# --------------------------------------------------------------------------------------
# Shapes and values drawn directly, per chapter
# --------------------------------------------------------------------------------------

# the domain of each elementwise rule of chapter 01: where the primal is defined and smooth
ELEMENTWISE_DOMAINS = {
    "power_rule": (0.3, 20.0), "polynomial": (-4.0, 4.0), "exponential": (-30.0, 30.0),
    "logarithm": (0.01, 100.0), "sine": (-10.0, 10.0), "cosine": (-10.0, 10.0),
    "tangent": (-1.3, 1.3), "chain_rule": (-2.0, 2.0), "product_rule": (-6.0, 6.0),
    "quotient_rule": (-10.0, 10.0), "sigmoid": (-60.0, 60.0), "softplus": (-60.0, 60.0),
    "tanh": (-20.0, 20.0),  # saturated: 1 − tanh² cancels, judged against the rounding floor (tanh.md)
}


def _single_variable_args(data, name):
    if name in ELEMENTWISE_DOMAINS:
        return (_array(data, *ELEMENTWISE_DOMAINS[name], _shape(data)),)
    if name == "logsumexp":
        return (_array(data, -50.0, 50.0, (data.draw(st.integers(1, 8)),)),)
    batch, classes = data.draw(st.integers(1, 5)), data.draw(st.integers(2, 6))
    rng = np.random.default_rng(data.draw(SEEDS))
    # spread up to 30: softmax(z) − y and σ(z) − y cancel (1 − s with s ≈ 1) in every
    # implementation, judged against the rounding floor (verify/tolerances.py)
    logits = _array(data, -15.0, 15.0, (batch, classes))
    if name == "softmax_cross_entropy":
        return logits, onehot(rng, batch, classes)
    return logits, rng.uniform(0.0, 1.0, size=(batch, classes))  # binary_cross_entropy


def _unsaturated(x, preactivation, bound=12.0):
    """x scaled so that the tanh it feeds has |preactivation| <= bound.

    Past |a| ≈ 7, 1 - tanh² is computed by cancellation in every implementation: numpy's and
    XLA's tanh differ in the last bit, a relative 1e-9 of 1 - tanh² at |a| = 8.7, and correct
    derivatives disagree beyond 1e-10 relative to the result; such results are judged against
    the rounding floor (verify/tolerances.py). At 12, 1 - tanh² is 1.5e-10.
    """
    largest = float(np.max(np.abs(preactivation))) if np.size(preactivation) else 0.0
    return x * min(1.0, bound / largest) if largest > 0 else x


def _multivariable_args(data, name):
    rng = np.random.default_rng(data.draw(SEEDS))
    n, m = data.draw(st.integers(2, 7)), data.draw(st.integers(1, 6))
    scale = data.draw(_finite(0.1, 3.0))
    if name in ("rosenbrock_gradient", "rosenbrock_hvp", "rosenbrock_hessian"):
        return (_array(data, -2.0, 2.0, (n,)),)
    if name == "softmax_jacobian":
        # spread up to 30, 1 - max(s) down to 1e-13: the autodiff reference computes s(1 - s)
        # with relative error ε/(1 - s), judged against the rounding floor (verify/tolerances.py)
        return (_array(data, -15.0, 15.0, (n,)),)
    if name == "tanh_layer_jacobian":
        x, W = scale * rng.standard_normal(n), nonsymmetric(rng, m, n)
        return _unsaturated(x, W @ x), W
    if name == "affine_map_jacobian":
        return rng.standard_normal(n), scale * nonsymmetric(rng, m, n), rng.standard_normal(m)
    if name in ("quadratic_gradient", "quadratic_hessian"):
        return scale * rng.standard_normal(n), nonsymmetric(rng, n, n), rng.standard_normal(n)
    # logistic regression: n samples, m features
    X = scale * rng.standard_normal((n, m))
    return rng.standard_normal(m), X, (rng.uniform(size=n) < 0.5).astype(np.float64)


def _directional_args(data, name):
    if name == "rosenbrock_directional_derivative":
        return (_array(data, -2.0, 2.0, (data.draw(st.integers(2, 8)),)),)
    return _multivariable_args(data, "logistic_loss_gradient")


def _matrix_calculus_args(data, name):
    rng = np.random.default_rng(data.draw(SEEDS))
    m, n = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    scale = data.draw(_finite(0.1, 5.0))
    if name in ("quadratic_form", "quadratic_form_hessian"):
        return scale * rng.standard_normal(n), nonsymmetric(rng, n, n)
    if name == "log_determinant":
        return (scale * well_conditioned(rng, n),)
    if name == "inverse_bilinear_form":
        return scale * well_conditioned(rng, n), rng.standard_normal(n), rng.standard_normal(n)
    if name == "bilinear_form":
        return scale * nonsymmetric(rng, m, n), rng.standard_normal(m), rng.standard_normal(n)
    if name == "trace_quadratic":
        return scale * nonsymmetric(rng, m, n), nonsymmetric(rng, m, m)
    if name == "linear_layer_vjp":
        p = data.draw(st.integers(1, 6))
        return scale * rng.standard_normal((m, n)), nonsymmetric(rng, p, n), rng.standard_normal(p)
    if name == "matrix_chain_rule":
        p = data.draw(st.integers(1, 6))
        X, W = scale * rng.standard_normal((m, n)) / np.sqrt(n), rng.standard_normal((n, p))
        return _unsaturated(X, X @ W), W
    # mlp_gradients: batch m, inputs n, hidden, classes
    from implementations import layers

    hidden, classes = data.draw(st.integers(1, 6)), data.draw(st.integers(2, 5))
    W1, b1, W2, b2 = layers.mlp_init(rng, n, hidden, classes)
    X = scale * rng.standard_normal((m, n))
    return W1, b1, W2, b2, _unsaturated(X, X @ W1.T), onehot(rng, m, classes)


VALUE_DRAWS = {
    "01_single_variable_derivatives": (sorted(ELEMENTWISE_DOMAINS) + ["logsumexp", "softmax_cross_entropy", "binary_cross_entropy"], _single_variable_args),
    "02_multivariable_derivatives": (
        ["rosenbrock_gradient", "rosenbrock_hvp", "rosenbrock_hessian", "softmax_jacobian", "tanh_layer_jacobian", "affine_map_jacobian",
         "quadratic_gradient", "quadratic_hessian", "logistic_loss_gradient", "logistic_loss_hessian", "logistic_loss_hvp"],
        _multivariable_args,
    ),
    "03_directional_derivatives": (["rosenbrock_directional_derivative", "logistic_loss_directional_derivative"], _directional_args),
    "04_matrix_calculus": (
        ["quadratic_form", "quadratic_form_hessian", "log_determinant", "inverse_bilinear_form", "bilinear_form", "trace_quadratic",
         "linear_layer_vjp", "matrix_chain_rule", "mlp_gradients"],
        _matrix_calculus_args,
    ),
}


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("chapter", list(VALUE_DRAWS))
@given(data=st.data())
def test_property_drawn_shapes_and_values_never_raise_a_false_alarm(run, chapter, data):
    names, draw_args = VALUE_DRAWS[chapter]
    name = data.draw(st.sampled_from(names), label="entry")
    args = draw_args(data, name)
    _assert_passes(BY_NAME[name], args=args, seed=0)


def test_property_value_draws_name_real_entries():
    for chapter, (names, _) in VALUE_DRAWS.items():
        assert all(BY_NAME[name].chapter == chapter for name in names)


# --------------------------------------------------------------------------------------
# False alarms these draws found, now fixed: each input stays as a regression test
# --------------------------------------------------------------------------------------


def _saturated_mlp_args():
    """A long-run draw: one hidden unit at tanh = -0.99998, so ∂ℓ/∂b1 ≈ -3e-5 with ℓ ≈ 1.8."""
    from implementations import layers

    rng = np.random.default_rng(10847)
    params = layers.mlp_init(rng, 2, 1, 3)
    return (*params, 4.0 * rng.standard_normal((1, 2)), onehot(rng, 1, 3))


@pytest.mark.parametrize(
    "name, kw",
    [
        # diag(s) − s sᵀ at a saturated softmax: s(1 − s) cancelled; now s · Σ_{j≠i} s_j
        ("softmax_jacobian", dict(args=(np.array([0.0, 13.0]),))),
        # second-order differences needed their own error estimate to judge (1.55e-5 > 1e-5)
        ("logsumexp_hessian", dict(seed=15)),
        # autodiff of abs at exactly 0 took a subgradient: the primals now use where(x >= 0, ...)
        ("sigmoid", dict(args=(np.array([0.0, 1.0]),))),
        ("softplus", dict(args=(np.array([0.0, 1.0]),))),
        ("binary_cross_entropy", dict(args=(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])))),
        # the first difference step reached log(0): steps now scale with |x| and retry smaller
        ("logarithm", dict(args=(np.array([0.05]),))),
        ("logarithm", dict(args=(np.array([0.001, 2.0]),))),
        # a derivative that is 0 everywhere: differences' residue is judged by their estimate
        ("chain_rule", dict(args=(np.array([0.0, 0.0]),))),
        # the level curve's offset at a point of tiny curvature: the claim now asks for o(s)
        ("level_set_perpendicular", dict(seed=2061528)),
        # f ≈ 1 with f' ≈ 4e-8: differences hit their rounding floor, which scipy's estimate
        # (the change between two iterates) reported as 0; the estimate now includes the floor
        ("sigmoid", dict(args=(np.array([17.0]),))),
        ("mlp_gradients", dict(args=_saturated_mlp_args())),
        # a fixed complex step h = 1e-20 exceeded a tiny x; its error h² f‴/6 beat f'(x) ≈ 4x³
        ("product_rule", dict(args=(np.array([1e-30, 1e-90]),))),
        # f(x) = 2e-171 but f(x ± h) = 6e-10: the rounding floor now uses the neighbours' |f|
        ("product_rule", dict(args=(np.array([2.196544200890794e-43]),))),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_fixed_false_alarm_stays_fixed(name, kw):
    _assert_passes(BY_NAME[name], **kw)
