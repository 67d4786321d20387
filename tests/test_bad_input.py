"""Bad input gives a FAIL with a one-line reason, never a traceback."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from array_api_compat import array_namespace

from verify.engine import run_entry
from verify.identities import BY_NAME
from verify.registry import Identity

ROOT = Path(__file__).resolve().parents[1]


def with_sample(name, *args):
    return dataclasses.replace(BY_NAME[name], sample=lambda rng: args)


@pytest.mark.parametrize(
    "name, args, expected",
    [
        ("logsumexp", (np.array([1.0, np.nan, 2.0]),), "contains NaN"),
        ("logsumexp", (np.array([1.0, np.inf, 2.0]),), "contains Inf"),
        ("logsumexp", (np.array([1.0, -np.inf, 2.0]),), "contains Inf"),
        ("quadratic_form", (np.array([1.0, 2.0, np.nan]), np.eye(3)), "contains NaN"),
        ("quadratic_form", (np.ones(3), np.ones((5, 5))), "the primal raised ValueError"),
        ("mlp_gradients", (np.ones((5, 3)), np.ones(4), np.ones((4, 5)), np.ones(4), np.ones((6, 3)), np.eye(4)[[0] * 6]), "the primal raised"),
        ("log_determinant", (np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]]),), "the primal is NaN or Inf"),
        ("log_determinant", (np.zeros((3, 3)),), "the primal is NaN or Inf"),
        ("log_determinant", (np.ones((2, 3)),), "the primal raised"),
        ("logsumexp", (np.array([1, 2, 3]),), "dtype int64"),
        ("logsumexp", (np.array([True, False]),), "dtype bool"),
        ("logsumexp", (np.zeros(0),), "is empty"),
        ("logsumexp", (np.array([1.0 + 1j, 2.0]),), "is complex (this entry is not holomorphic)"),
        ("logarithm", (np.array([-1.0, 2.0]),), "floating-point error"),
        ("softmax_cross_entropy", (np.ones((4, 5)), np.ones((3, 5))), "the primal raised"),
    ],
)
def test_bad_input_fails_every_check_with_a_reason(name, args, expected):
    result = run_entry(with_sample(name, *args))
    assert not result.passed
    for check in result.checks:
        assert expected in check.reason, check.reason
        assert "\n" not in check.message()


# --------------------------------------------------------------------------------------
# Where the inputs are legal but hard: each has a stated outcome
# --------------------------------------------------------------------------------------


def test_singular_matrix_raises_in_the_hand_coded_inverse_with_a_reason():
    """A derivative asked at a singular X (the primal given a finite value) says so."""
    entry = dataclasses.replace(BY_NAME["log_determinant"], function=lambda X: X[0, 0] * 0.0 + 1.0)
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    result = run_entry(dataclasses.replace(entry, sample=lambda rng: (singular,)))
    assert all("hand-coded derivative raised LinAlgError: Singular matrix" in c.reason for c in result.checks)


@pytest.mark.parametrize("projection", [False, True])
def test_a_derivative_that_returns_an_infinity_is_named_for_it(projection):
    """Its two calls agree (the same bits, the infinity included): the reason is the
    infinity in its result, not a floating-point error in comparing the two calls."""
    import verify

    def gradient(x):
        g = 2 * x
        g[0] = np.inf
        return g

    report = verify.check(lambda x: np.sum(x**2), gradient, np.array([0.3, -1.2, 2.0]), kind="gradient", projection=projection)
    assert not report.passed and report.checks
    assert all("hand-coded" in c.reason and "NaN or Inf" in c.reason for c in report.checks), report.message()


@pytest.mark.parametrize(
    "name, args",
    [
        ("logsumexp", (np.array([1000.0, -1000.0, 999.5, 3.0]),)),
        ("sigmoid", (np.array([1000.0, -1000.0, 3.0]),)),
        ("softplus", (np.array([1000.0, -1000.0, 3.0]),)),
        ("softmax_cross_entropy", (np.array([[1000.0, -1000.0, 3.0, 0.5], [-1000.0, 1000.0, 0.0, 1.0]]), np.eye(4)[[0, 2]])),
        ("binary_cross_entropy", (np.array([[1000.0, -1000.0], [3.0, -1.0]]), np.array([[1.0, 0.0], [0.3, 1.0]]))),
    ],
)
def test_logits_of_plus_minus_1000_pass_every_check(name, args):
    """The stable primals and derivatives neither overflow nor lose the answer."""
    result = run_entry(with_sample(name, *args))
    assert result.passed, result.message()


def _abs(x):
    return array_namespace(x).abs(x)


def _relu(x):
    xp = array_namespace(x)
    return xp.maximum(x, xp.zeros_like(x))


def _relu_where(x):
    xp = array_namespace(x)
    return xp.where(x > 0, x, xp.zeros_like(x))


def _elementwise(name, function, derivative, x):
    return Identity(name=name, chapter="01_single_variable_derivatives", statement=name, derivation="-",
                    function=function, derivative=derivative, kind="derivative", sample=lambda rng: (x,))


@pytest.mark.parametrize(
    "name, function, derivative, x, left, right, coordinate",
    [
        ("abs", _abs, np.sign, np.array([0.0, 1.5, -2.0]), -1, 1, 0),
        ("relu", _relu, lambda x: (x > 0) * 1.0, np.array([1.0, 0.0, -2.0]), 0, 1, 1),
        ("relu_where", _relu_where, lambda x: (x > 0) * 1.0, np.array([-0.5, 2.0, 0.0]), 0, 1, 2),
    ],
)
def test_a_subgradient_at_a_kink_passes_and_a_value_outside_fails_naming_the_interval(name, function, derivative, x, left, right, coordinate):
    """At a kink autodiff frameworks return a subgradient of their choice and central
    differences average the two sides: only one-sided differences tell the interval.
    A hand-coded value inside it passes every check (a valid subgradient); one outside fails."""
    result = run_entry(_elementwise(name, function, derivative, x))
    assert result.passed, result.message()
    assert any(f"valid subgradient (left {left}, right {right}) along input {coordinate}" in n for n in result.notes), result.notes
    fd = next(c for c in result.checks if c.check == "fd")
    assert f"one-sided derivatives differ (left {left}, right {right}) along input {coordinate}" in fd.method

    def outside(x, derivative=derivative):  # 1 above the right derivative at the kink
        return np.where(x == x[coordinate], right + 1.0, derivative(x))

    wrong = run_entry(_elementwise(name, function, outside, x))
    assert not any(c.passed for c in wrong.checks)
    for check in wrong.checks:
        assert f"is not a valid subgradient: it lies outside the one-sided derivatives' interval [{left}, {right}]" in check.reason, check.reason


def test_kink_detection_is_silent_away_from_the_kink():
    away = np.array([0.7, 1.5, -2.0])
    for function, derivative in ((_abs, np.sign), (_relu, lambda x: (x > 0) * 1.0)):
        result = run_entry(_elementwise("kink_free", function, derivative, away))
        assert result.passed, result.message()


def test_kink_along_the_tangent_of_a_jvp():
    entry = Identity(name="abs_sum", chapter="03_directional_derivatives", statement="-", derivation="-",
                     function=lambda x: array_namespace(x).sum(_abs(x)), derivative=lambda x, t: np.sign(x) @ t,
                     kind="jvp", sample=lambda rng: (np.array([0.0, 1.0, -2.0]),))
    result = run_entry(entry)
    assert result.passed and any("valid subgradient" in n and "along the tangent" in n for n in result.notes), result.message()
    outside = dataclasses.replace(entry, derivative=lambda x, t: np.where(x == 0, 3.0, np.sign(x)) @ t)  # |x|'(0) = 3
    for check in run_entry(outside).checks:
        assert "is not a valid subgradient" in check.reason and "along the tangent" in check.reason, check.reason


# --------------------------------------------------------------------------------------
# float32 and JAX's x64 switch
# --------------------------------------------------------------------------------------

FLOAT32_ENTRIES = ["logsumexp", "sigmoid", "softmax_cross_entropy", "quadratic_form", "log_determinant", "mlp_gradients", "rosenbrock_hvp"]


@pytest.mark.parametrize("name", FLOAT32_ENTRIES)
def test_float32_passes_with_dtype_aware_tolerances(name):
    result = run_entry(BY_NAME[name], dtype="float32")
    assert result.passed, result.message()
    assert {c.tolerance for c in result.checks if c.oracle == "autodiff"} == {1e-4}


def test_float32_still_catches_a_planted_error():
    wrong = lambda x: np.asarray(BY_NAME["logsumexp"].derivative(x)) * 1.01
    result = run_entry(dataclasses.replace(BY_NAME["logsumexp"], derivative=wrong), dtype="float32")
    assert all(not c.passed for c in result.checks)


def test_jax_x64_off_is_a_fail_with_a_note_not_a_float32_reference():
    import jax

    jax.config.update("jax_enable_x64", False)
    try:
        result = run_entry(BY_NAME["logsumexp"], frameworks=("jax", "torch"))
    finally:
        jax.config.update("jax_enable_x64", True)
    by_check = {c.check: c for c in result.checks}
    for check in ("jax.fwd", "jax.rev"):
        assert not by_check[check].passed
        assert by_check[check].reason.startswith("JAX x64 is off: its reference is float32"), by_check[check].reason
    assert by_check["torch.fwd"].passed and by_check["torch.tape"].passed


# --------------------------------------------------------------------------------------
# The CLI: a user's module with bad inputs gives FAIL rows, never a traceback
# --------------------------------------------------------------------------------------

USER_MODULE = """
import numpy as np
from array_api_compat import array_namespace

def cube(x):
    return x * x * x

def cube_derivative(x):
    return 3 * x * x

def absolute(x):
    return array_namespace(x).abs(x)

def log_abs_det(X):
    return array_namespace(X).linalg.slogdet(X)[1]

CHECKS = [
    dict(name="nan_input", function=cube, derivative=cube_derivative, kind="derivative", args=(np.array([1.0, np.nan]),)),
    dict(name="inf_input", function=cube, derivative=cube_derivative, kind="derivative", args=(np.array([1.0, -np.inf]),)),
    dict(name="empty_input", function=cube, derivative=cube_derivative, kind="derivative", args=(np.zeros(0),)),
    dict(name="int_input", function=cube, derivative=cube_derivative, kind="derivative", args=(np.array([1, 2]),)),
    dict(name="bool_input", function=cube, derivative=cube_derivative, kind="derivative", args=(np.array([True, False]),)),
    dict(name="complex_input", function=cube, derivative=cube_derivative, kind="derivative", args=(np.array([1.0 + 2j]),)),
    dict(name="kink", function=absolute, derivative=lambda x: np.sign(x) + 2.0 * (x == 0), kind="derivative", args=(np.array([0.0, 2.0]),)),
    dict(name="subgradient", function=absolute, derivative=np.sign, kind="derivative", args=(np.array([0.0, 2.0]),)),
    dict(name="singular", function=log_abs_det, derivative=lambda X: np.linalg.inv(X).T, kind="gradient", args=(np.array([[1.0, 2.0], [2.0, 4.0]]),)),
    dict(name="fine", function=cube, derivative=cube_derivative, kind="derivative", args=(np.array([0.5, -1.5]),)),
]
"""


def test_cli_reports_bad_input_as_fail_rows_without_a_traceback(tmp_path):
    path = tmp_path / "user_checks.py"
    path.write_text(USER_MODULE)
    r = subprocess.run([sys.executable, "-m", "verify", "--module", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    expected = {
        "nan_input": "contains NaN", "inf_input": "contains Inf", "empty_input": "is empty",
        "int_input": "dtype int64", "bool_input": "dtype bool", "complex_input": "is complex",
        "kink": "is not a valid subgradient", "singular": "the primal is NaN or Inf",
    }
    for name, reason in expected.items():
        row = next(line for line in r.stdout.splitlines() if line.startswith(name))
        assert row.endswith("FAIL"), row
        assert f"{name} [" in r.stdout and reason in r.stdout, (name, reason)
    for name in ("fine", "subgradient"):
        assert next(line for line in r.stdout.splitlines() if line.startswith(name)).endswith("PASS")
