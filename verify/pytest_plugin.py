"""The pytest plugin (registered through the ``pytest11`` entry point): a user's test is one line.

    def test_my_layer(check_derivative):
        check_derivative(my_layer, my_layer_vjp, x, W, kind="vjp", wrt=(0, 1))

``check_derivative`` takes the arguments of ``verify.check`` and fails the test with an
AssertionError listing every failed check (identity, backend, mode, error vs tolerance).
It returns the CheckReport when every check passes. This module imports nothing heavy:
JAX and torch load on the first call.
"""

from __future__ import annotations

import pytest


def assert_derivative(function, derivative, *example_args, **options):
    """verify.check(...), raising VerificationError (an AssertionError) on failure."""
    __tracebackhide__ = True
    from .api import check

    return check(function, derivative, *example_args, **options).raise_for_failure()


@pytest.fixture
def check_derivative():
    """The one-line check of a user's derivative: ``check_derivative(f, df, x, kind=...)``."""
    return assert_derivative
