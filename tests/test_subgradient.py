"""Kinks shared by several inputs (verify/subgradient.py): a max's tie is one kink in two
coordinates, and a gradient sent to every tied entry is no subgradient, though each of its
entries lies between its own one-sided derivatives. The judgement is the dense path's: the
checks force strategy="dense" (auto may project on a loaded machine, where the projected
path's own kink judgement words the failure differently)."""

from __future__ import annotations

import numpy as np
import pytest

import verify

X = np.array([1.0, 1.0, 0.5, 2.0, 3.0, 3.0, -1.0, 4.0])  # windows of 2: ties in windows 0 and 2


def pool(x):
    return x.reshape(-1, 2).max(1)


def to_every_tie(x, u):  # the planted mistake: the tie's gradient counted once per tied entry
    x2 = x.reshape(-1, 2)
    return ((x2 == x2.max(1, keepdims=True)) * u[:, None]).reshape(-1)


def to_first(x, u):
    x2 = x.reshape(-1, 2)
    g = np.zeros_like(x2)
    g[np.arange(len(x2)), x2.argmax(1)] = u
    return g.reshape(-1)


def split(x, u):
    x2 = x.reshape(-1, 2)
    m = x2 == x2.max(1, keepdims=True)
    return (m / m.sum(1, keepdims=True) * u[:, None]).reshape(-1)


def test_a_tie_counted_twice_fails_every_check_naming_the_tied_entries():
    report = verify.check(pool, to_every_tie, X, kind="vjp", backends=("jax", "fd"), strategy="dense")
    assert not report.passed and len(report.failures) == len(report.checks)
    message = report.message()
    assert "pool [jax, forward]: FAIL: f is not differentiable at this input and the hand-coded value is no subgradient" in message
    assert "the entries [0], [1] share one kink of f (a tie)" in message


@pytest.mark.parametrize("derivative", [to_first, split])
def test_a_tie_sent_to_one_entry_or_split_is_a_valid_subgradient(derivative):
    report = verify.check(pool, derivative, X, kind="vjp", backends=("jax", "fd"), strategy="dense")
    assert report.passed, report.message()
    assert any("valid subgradient" in n for n in report.notes)


def test_a_gradient_of_a_max_tie_counted_twice_fails():
    f = lambda x: x.max()  # noqa: E731
    x = np.array([0.5, 2.0, 2.0, -1.0])
    assert not verify.check(f, lambda x: (x == x.max()).astype(float), x, kind="gradient", backends=("jax", "fd"), strategy="dense").passed
    assert verify.check(f, lambda x: (np.arange(4) == 1).astype(float), x, kind="gradient", backends=("jax", "fd"), strategy="dense").passed


def test_separate_kinks_keep_their_per_entry_verdict():
    """ReLU at several zeros with cotangent entries of both signs: any value of [0, 1] per
    entry is a valid subgradient, whatever the sum (not one kink, several)."""
    relu = lambda x: np.maximum(x, 0) if isinstance(x, np.ndarray) else x * (x > 0)  # noqa: E731
    x = np.array([0.0, 0.0, 1.0, 0.0, -2.0])
    report = verify.check(relu, lambda x, u: u * (x > 0), x, kind="vjp", backends=("jax", "fd"), strategy="dense")
    assert report.passed, report.message()
    report = verify.check(relu, lambda x, u: u * (x >= 0), x, kind="vjp", backends=("jax", "fd"), strategy="dense")
    assert report.passed, report.message()


def test_torch_native_max_pool_backward_that_doubles_a_tie_fails():
    torch = pytest.importorskip("torch")

    class Pool(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            windows = x.reshape(-1, 2)
            y = windows.max(1).values
            ctx.save_for_backward(windows, y)
            return y

        @staticmethod
        def backward(ctx, g):
            windows, y = ctx.saved_tensors
            return ((windows == y[:, None]) * g[:, None]).reshape(-1)

    report = verify.check(Pool, torch.tensor(X, requires_grad=True), strategy="dense")
    assert not report.passed
    assert "share one kink of f (a tie)" in report.message()
