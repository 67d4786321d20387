"""A tolerance that knows the scale (verify/tolerances.py, the rounding floor).

Where the reference is itself rounding noise, the plain metric max|got − ref| / max|ref|
raises false alarms: a gradient that is zero at an optimum, cosine similarity of parallel
vectors, LayerNorm of inputs near 1e6. Each such case passes here, and each has a planted
wrong derivative that still fails: a small extra term, a sign flipped on a small term, a
dropped term, and a relative 1e-8 error on a well-conditioned input. Every correct case is
shown to fail the plain metric, so that none of them passes for a reason other than the floor.
"""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import array_namespace

import verify
from verify.tolerances import EPSILON, FLOOR_NOTE, ROUNDING_BUDGET, TOLERANCES, relative_error, rounding_floor

AUTODIFF = TOLERANCES[("autodiff", "float64")]
BACKENDS = ("torch",)  # an autodiff reference (tight tolerance); JAX runs the same checks, slower to compile


# --------------------------------------------------------------------------------------
# The three cases
# --------------------------------------------------------------------------------------


def least_squares(w, X, y):
    r = X @ w - y
    return (r * r).sum()


def least_squares_gradient(w, X, y):
    return 2 * X.T @ (X @ w - y)


def least_squares_optimum():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((8, 3)), rng.standard_normal(8)
    return np.linalg.lstsq(X, y, rcond=None)[0], X, y


def cosine(a, b):
    xp = array_namespace(a)
    return (a * b).sum() / xp.sqrt((a * a).sum() * (b * b).sum())


def cosine_gradient(a, b):
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return b / (na * nb) - (a @ b) * a / (na**3 * nb)


def parallel_vectors():
    a = np.random.default_rng(1).standard_normal(5)
    return a, 2.5 * a


def layer_norm(x):
    xp = array_namespace(x)
    d = x - xp.mean(x, axis=-1, keepdims=True)
    return d / xp.sqrt(xp.mean(d * d, axis=-1, keepdims=True) + 1e-5)


def layer_norm_vjp(x, g):
    d = x - x.mean(-1, keepdims=True)
    inv = 1 / np.sqrt((d * d).mean(-1, keepdims=True) + 1e-5)
    yhat = d * inv
    return inv * (g - g.mean(-1, keepdims=True) - yhat * (g * yhat).mean(-1, keepdims=True))


def near_1e6():
    return (1e6 + np.random.default_rng(1).standard_normal((64, 8)),)


CASES = {
    "least_squares_optimum": (least_squares, least_squares_gradient, least_squares_optimum, "gradient"),
    "cosine_parallel": (cosine, cosine_gradient, parallel_vectors, "gradient"),
    "layer_norm_near_1e6": (layer_norm, layer_norm_vjp, near_1e6, "vjp"),
}


def _jax_reference(function, args, kind, cotangent=None):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    jargs = [jnp.asarray(a) for a in args]
    if kind == "gradient":
        return np.asarray(jax.grad(function)(*jargs))
    _, pullback = jax.vjp(function, *jargs)
    return np.asarray(pullback(jnp.asarray(cotangent))[0])


@pytest.mark.parametrize("name", CASES)
def test_rounding_noise_reference_passes(name):
    function, derivative, inputs, kind = CASES[name]
    args = inputs()
    report = verify.check(function, derivative, *args, kind=kind, backends=BACKENDS, name=name)
    assert report.passed, str(report)
    floored = [c for c in report.entry.checks if c.scale_note]
    assert floored, "the plain metric passed: this case does not exercise the floor"
    assert any(n.startswith(FLOOR_NOTE) for n in report.notes), report.notes
    assert "errors measured against the rounding scale" in floored[0].scale_note
    for c in report.entry.checks:  # the error shown is relative to the scale actually used
        assert c.error <= c.tolerance


@pytest.mark.parametrize("name", CASES)
def test_plain_metric_fails_these_correct_derivatives(name):
    """Without the floor, each case is a false alarm: its derivative is right, and its
    disagreement with JAX exceeds the autodiff tolerance relative to max|ref|."""
    function, derivative, inputs, kind = CASES[name]
    args = inputs()
    if kind == "vjp":
        g = np.random.default_rng(2).standard_normal(args[0].shape)
        hand, ref = derivative(*args, g), _jax_reference(function, args, kind, g)
        assert relative_error(hand, ref) > AUTODIFF / 10  # at rounding's edge: any draw can cross 1e-10
        report = verify.check(function, derivative, *args, kind=kind, backends=BACKENDS)
        assert any(c.scale_note for c in report.entry.checks)  # the engine's draw did cross it
    else:
        assert relative_error(derivative(*args), _jax_reference(function, args, kind)) > AUTODIFF


# --------------------------------------------------------------------------------------
# Planted wrong derivatives at the same inputs, and a relative 1e-8 on well-conditioned ones
# --------------------------------------------------------------------------------------


def least_squares_extra_small_term(w, X, y):  # a stray 1e-9 w (a regularizer that is not in f)
    return 2 * X.T @ (X @ w - y) + 1e-9 * w


def least_squares_missing_term(w, X, y):  # the −2Xᵀy term dropped
    return 2 * X.T @ (X @ w)


def cosine_sign_flipped(a, b):  # the small (a·b) a / (|a|³|b|) term with the wrong sign
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return b / (na * nb) + (a @ b) * a / (na**3 * nb)


def layer_norm_missing_term(x, g):  # the ŷ mean(g ⊙ ŷ) term dropped
    d = x - x.mean(-1, keepdims=True)
    inv = 1 / np.sqrt((d * d).mean(-1, keepdims=True) + 1e-5)
    return inv * (g - g.mean(-1, keepdims=True))


def layer_norm_relative_1e6(x, g):  # above what the floor allows at 1e6 (module docstring)
    return layer_norm_vjp(x, g) * (1 + 1e-6)


def relative(derivative, delta=1e-8):
    """``derivative`` off by a relative ``delta`` in every entry."""
    return lambda *a: derivative(*a) * (1 + delta)


def _well_conditioned_least_squares():
    w, X, y = least_squares_optimum()
    return w + 1.0, X, y


def _well_conditioned_vectors():
    rng = np.random.default_rng(3)
    return rng.standard_normal(5), rng.standard_normal(5)


def _well_conditioned_layer_norm():
    return (np.random.default_rng(1).standard_normal((64, 8)),)


WRONG = {
    "least_squares: stray 1e-9 w at the optimum": (least_squares, least_squares_extra_small_term, least_squares_optimum, "gradient"),
    "least_squares: missing term at the optimum": (least_squares, least_squares_missing_term, least_squares_optimum, "gradient"),
    "least_squares: relative 1e-8, well-conditioned": (least_squares, relative(least_squares_gradient), _well_conditioned_least_squares, "gradient"),
    "cosine: small term's sign flipped, parallel": (cosine, cosine_sign_flipped, parallel_vectors, "gradient"),
    "cosine: relative 1e-8, well-conditioned": (cosine, relative(cosine_gradient), _well_conditioned_vectors, "gradient"),
    "layer_norm: missing term near 1e6": (layer_norm, layer_norm_missing_term, near_1e6, "vjp"),
    "layer_norm: relative 1e-6 near 1e6": (layer_norm, layer_norm_relative_1e6, near_1e6, "vjp"),
    "layer_norm: relative 1e-8, well-conditioned": (layer_norm, relative(layer_norm_vjp), _well_conditioned_layer_norm, "vjp"),
}


@pytest.mark.parametrize("case", WRONG)
def test_planted_wrong_derivative_still_fails(case):
    function, derivative, inputs, kind = WRONG[case]
    name = case.split(":")[0]
    report = verify.check(function, derivative, *inputs(), kind=kind, backends=BACKENDS, name=name)
    assert not report.passed, str(report)
    failed = [c for c in report.entry.checks if not c.passed and c.oracle == "autodiff"]
    assert failed, str(report)
    line = failed[0].message()
    assert line.startswith(f"{name} [torch.func, forward]: FAIL: max relative error "), line  # identity, backend, mode, error
    assert "> tolerance 1e-10" in line


# --------------------------------------------------------------------------------------
# The widened domains: saturated tanh and softmax pass, and a wrong formula there fails
# --------------------------------------------------------------------------------------


def tanh(x):
    return array_namespace(x).tanh(x)


def tanh_derivative(x):
    return 1 / np.cosh(x) ** 2


def softmax(x):
    xp = array_namespace(x)
    e = xp.exp(x - xp.max(x))
    return e / xp.sum(e)


def softmax_jacobian(x):
    s = np.exp(x - x.max())
    s /= s.sum()
    return np.diag(s) - np.outer(s, s)


def test_saturated_tanh_and_softmax_pass():
    x = np.array([8.0, -9.5, 12.0, 15.0, -20.0])  # 1 − tanh² from 4.5e-7 down to 1.7e-17
    assert verify.check(tanh, tanh_derivative, x, kind="derivative", backends=BACKENDS).passed
    z = np.array([30.0, 0.5, -1.0, 2.0, -3.0, 1.0])  # 1 − max s ≈ 1e-12
    assert verify.check(softmax, softmax_jacobian, z, kind="jacobian", backends=BACKENDS).passed


def test_wrong_formula_at_saturation_fails():
    x = np.array([8.0, 9.0])  # 1 − tanh (2.3e-7, 3.0e-8) in place of 1 − tanh²: a factor 2 at saturation
    assert not verify.check(tanh, lambda x: 1 - np.tanh(x), x, kind="derivative", backends=BACKENDS).passed
    z = np.array([18.0, 0.5, -1.0, 2.0])  # diag(s) − s sᵀ with sᵀ's sign flipped: 1 − s ≈ 1e-7
    wrong = lambda x: softmax_jacobian(x) + 2 * np.outer(softmax(x), softmax(x)) * (1 - np.eye(4))
    assert not verify.check(softmax, wrong, z, kind="jacobian", backends=BACKENDS).passed


# --------------------------------------------------------------------------------------
# The floor itself, per dtype
# --------------------------------------------------------------------------------------


def test_every_dtype_has_rows_and_an_epsilon():
    for dtype in ("float64", "float32", "float16", "bfloat16"):
        assert dtype in EPSILON
        for oracle in ("autodiff", "finite_difference", "finite_difference_2", "complex_step", "nondeterminism"):
            assert (oracle, dtype) in TOLERANCES


def test_rounding_floor_values():
    # float64 autodiff: 256 ε / 1e-10 = 5.68e-4 of the terms' size
    assert rounding_floor(1.0, AUTODIFF, "float64") == pytest.approx(ROUNDING_BUDGET * EPSILON["float64"] / AUTODIFF)
    assert rounding_floor(1.0, AUTODIFF, "float64") == pytest.approx(5.68e-4, rel=1e-2)
    # float16 and bfloat16: 64 ε exceeds the table's value, the floor is the terms' size
    for dtype in ("float16", "bfloat16"):
        assert rounding_floor(3.0, TOLERANCES[("autodiff", dtype)], dtype) == 3.0
    assert rounding_floor(0.0, AUTODIFF, "float64") == 0.0
    assert rounding_floor(1.0, 0.0, "float64") == 0.0  # a zero tolerance (nondeterminism) stays exact


def test_float32_zero_gradient_passes_and_wrong_fails():
    a, b = parallel_vectors()
    assert verify.check(cosine, cosine_gradient, a, b, kind="gradient", backends=BACKENDS, dtype="float32").passed
    assert not verify.check(cosine, cosine_sign_flipped, a, b, kind="gradient", backends=BACKENDS, dtype="float32").passed


def test_floor_never_widens_a_well_conditioned_check():
    """A relative 1e-9 error at a point where the terms are no larger than the result is
    judged exactly as by the plain metric: 1e-9 > 1e-10, FAIL, no floor note."""
    a, b = _well_conditioned_vectors()
    report = verify.check(cosine, relative(cosine_gradient, 1e-9), a, b, kind="gradient", backends=BACKENDS)
    assert not report.passed
    assert not any(c.scale_note for c in report.entry.checks)
    assert all(c.error == pytest.approx(1e-9, rel=0.05) for c in report.entry.checks if c.oracle == "autodiff")


def test_projected_path_has_the_floor_too():
    """Above the projection threshold, ⟨u, J v⟩ of a zero gradient is rounding noise as well."""
    a = np.random.default_rng(4).standard_normal(20_000)
    report = verify.check(cosine, cosine_gradient, a, 2.5 * a, kind="gradient", backends=BACKENDS)
    assert report.passed and all(c.mode.endswith("projected") for c in report.entry.checks), str(report)
    assert any(n.startswith(FLOOR_NOTE) for n in report.notes), report.notes
    assert not verify.check(cosine, cosine_sign_flipped, a, 2.5 * a, kind="gradient", backends=BACKENDS).passed
