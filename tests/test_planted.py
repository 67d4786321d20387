"""The engine rejects planted wrong derivatives, and says which identity, backend,
mode and error. A check that cannot fail is a defect: these prove ours can."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from verify.engine import run_entry
from verify.identities import BY_NAME
from implementations import single_variable as sv


def planted(name, derivative):
    return dataclasses.replace(BY_NAME[name], derivative=derivative)


PLANTS = {
    "sign flip": ("sigmoid", lambda x: -sv.sigmoid_derivative(x)),
    "missing factor": ("power_rule", lambda x: x ** (sv.POWER - 1)),
    "relative 1e-8": ("logsumexp", lambda x: sv.logsumexp_gradient(x) * (1 + 1e-8)),
    "wrong shape": ("softmax_cross_entropy", lambda z, y: (sv.softmax(z) - y).sum(axis=0)),
    "sigma instead of sigma(1 - sigma)": ("sigmoid", sv.sigmoid),
    "missing product-rule term": ("product_rule", lambda x: 3 * x**2 * np.sin(x)),
    "missing 1/B": ("softmax_cross_entropy", lambda z, y: sv.softmax(z) - y),
    "one wrong component": ("logsumexp", lambda x: sv.logsumexp_gradient(x) + np.eye(x.size)[2] * 1e-6),
    "tanh' as 1 + tanh^2": ("tanh", lambda x: 1 + np.tanh(x) ** 2),
    "tanh' as sech, not sech^2": ("tanh", lambda x: 1 / np.cosh(x)),
    "tanh' via sigma without the inner factor 2": ("tanh", lambda x: 2 * sv.sigmoid_derivative(2 * x)),
}


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.replace(" ", "_"))
def test_planted_wrong_derivative_is_rejected_by_every_autodiff_check(plant):
    name, wrong = PLANTS[plant]
    result = run_entry(planted(name, wrong))
    assert not result.passed, f"planted '{plant}' in {name} was not caught"
    autodiff = [c for c in result.checks if c.oracle == "autodiff"]
    assert autodiff and all(not c.passed for c in autodiff), [c.message() for c in autodiff if c.passed]


def test_failure_message_names_identity_backend_mode_and_error():
    result = run_entry(planted("logsumexp", lambda x: sv.logsumexp_gradient(x) * (1 + 1e-8)))
    by_id = {c.check: c for c in result.checks}
    message = by_id["jax.rev"].message()
    assert message.startswith("logsumexp [jax, reverse]: FAIL: max relative error ")
    assert "e-09" in message or "e-08" in message, message
    assert "> tolerance 1e-10" in message
    assert by_id["torch.fwd"].message().startswith("logsumexp [torch.func, forward]: FAIL")
    assert by_id["torch.tape"].message().startswith("logsumexp [torch.autograd, tape]: FAIL")
    # a relative 1e-8 is below what finite differences resolve: the oracle passes,
    # and it is the autodiff checks that catch it.
    assert by_id["fd"].passed


def test_wrong_shape_message_names_the_shapes():
    result = run_entry(planted("softmax_cross_entropy", lambda z, y: (sv.softmax(z) - y).sum(axis=0)))
    message = result.checks[0].message()
    assert "softmax_cross_entropy [jax, forward]: FAIL" in message
    assert "shape (5,)" in message and "(4, 5)" in message


def test_derivative_that_raises_is_a_fail_not_a_traceback():
    def broken(x):
        raise RuntimeError("boom")

    result = run_entry(planted("sigmoid", broken))
    assert not result.passed
    assert all("hand-coded derivative raised RuntimeError: boom" in c.reason for c in result.checks)


def test_large_error_caught_by_the_oracles_too():
    result = run_entry(planted("exponential", lambda x: np.exp(x) * 1.01))
    by_id = {c.check: c for c in result.checks}
    assert not by_id["fd"].passed and not by_id["cstep"].passed
    assert by_id["fd"].message().startswith("exponential [numpy, central differences (scipy, order 8)]: FAIL")
    assert by_id["cstep"].message().startswith("exponential [numpy, complex step]: FAIL")


def test_planted_wrong_claim_implementations_are_rejected():
    from verify.engine import run_claim

    claim = BY_NAME["limit_definition"]
    wrong_central = lambda f, x, h: (f(x + h) - f(x - h)) / h / 2 + h  # an O(h) error: not central any more
    results = run_claim(claim, np.random.default_rng(0), implementation=wrong_central)
    assert any(not r.passed and "O(h^2)" in r.check for r in results)

    tangent = BY_NAME["tangent_line"]
    wrong_slope = lambda f, df, a: (lambda x: f(a) + 1.01 * df(a) * (x - a))
    results = run_claim(tangent, np.random.default_rng(0), implementation=wrong_slope)
    failed = {r.check for r in results if not r.passed}
    assert "claim:slope is f'(a)" in failed and "claim:gap |f - T| is O(h^2)" in failed
