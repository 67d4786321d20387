"""The pytest plugin: a user's test is one line, and a failure says which check failed."""

from __future__ import annotations

from importlib.metadata import entry_points

pytest_plugins = ["pytester"]

USER_TESTS = '''
import numpy as np
from array_api_compat import array_namespace


def softplus_sum(x):
    xp = array_namespace(x)
    return xp.sum(xp.logaddexp(xp.zeros_like(x), x))


def softplus_sum_gradient(x):
    return 1 / (1 + np.exp(-x))


def wrong_gradient(x):
    return 1 / (1 + np.exp(x))  # sign slip: σ(-x)


X = np.array([0.3, -1.7, 2.2, 0.9])


def test_right(check_derivative):
    check_derivative(softplus_sum, softplus_sum_gradient, X, kind="gradient")


def test_wrong(check_derivative):
    check_derivative(softplus_sum, wrong_gradient, X, kind="gradient")
'''


def test_plugin_is_registered_through_the_pytest11_entry_point():
    registered = {e.name: e.value for e in entry_points(group="pytest11")}
    assert registered.get("calculus_for_ml") == "verify.pytest_plugin"


def test_one_line_user_test_passes_and_fails_with_a_clear_message(pytester):
    pytester.makepyfile(test_user_layer=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*VerificationError: user function softplus_sum: gradient: 6 of 6 checks fail*",
            "*softplus_sum ?jax, forward?: FAIL: max relative error * > tolerance 1e-10*",
            "*softplus_sum ?numpy, central differences (scipy, order 8)?: FAIL: max relative error * > tolerance 1e-07*",
        ]
    )
    result.stdout.fnmatch_lines(["*check_derivative(softplus_sum, wrong_gradient, X, kind=*", "test_user_layer.py:*: VerificationError"])
