"""The detection power that a projected check states (verify/projection.py, "What it
catches") against a quick Monte-Carlo at small n."""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace

from verify import projection
from verify.api import user_identity
from verify.engine import check_specs

TOL = 1e-10  # the autodiff row, float64


def softplus_sum(x):
    xp = array_namespace(x)
    return xp.sum(xp.logaddexp(xp.zeros_like(x), x))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _caught(function, derivative, x, kind, check, seed, blocks):
    entry = user_identity(function, derivative, (x,), kind=kind)
    specs = [s for s in check_specs(entry, ("torch",)) if s.id == check]
    out = function(x)
    (result,) = projection.run_projected(entry, (x,), out, np.random.default_rng(seed), specs, "float64", blocks=blocks)
    assert result.reason == "", result.reason
    return not result.passed


def test_single_entry_statement_matches_a_monte_carlo():
    n, blocks, runs = 256, 8, 100
    x = np.random.default_rng(0).standard_normal(n)
    g = sigmoid(x)
    single, _ = projection.block_power(TOL, n, 1, blocks)
    rms = np.sqrt(np.mean(g**2))

    def rate(size):
        hits = 0
        for seed in range(runs):
            j = int(np.random.default_rng(1000 + seed).integers(n))

            def wrong(x, j=j):
                d = sigmoid(x)
                d[j] += size * rms
                return d

            hits += _caught(softplus_sum, wrong, x, "gradient", "torch.fwd", seed, blocks)
        return hits / runs

    assert rate(single) >= 0.92  # stated: ≥ 0.95 (100 runs: 3 points of slack)
    assert rate(single / 20) <= 0.5  # and the statement is not loose by an order of magnitude


def test_every_entry_statement_matches_a_monte_carlo():
    n, runs = 64, 200
    x = np.random.default_rng(1).standard_normal(n)

    def tanh(x):
        return array_namespace(x).tanh(x)

    def scaled_vjp(factor):
        return lambda x, u: u * (1 - np.tanh(x) ** 2) * factor

    for blocks in (8, 2):
        _, every = projection.block_power(TOL, n, n, blocks)
        hits = sum(_caught(tanh, scaled_vjp(1 + 1.01 * every), x, "vjp", "torch.fwd", seed, blocks) for seed in range(runs))
        # stated: ≥ 0.95 with the blocks alone (the dense pair adds a chance)
        assert hits / runs >= 0.90, (blocks, every, hits)
        if blocks == 2:  # two blocks state a larger δ_all: at 1e-10 they miss often
            assert every > 1.5 * TOL
            low = sum(_caught(tanh, scaled_vjp(1 + 1.01 * TOL), x, "vjp", "torch.fwd", seed, blocks) for seed in range(runs))
            assert low / runs <= 0.8, low


def test_reverse_mode_compares_the_gradient_entrywise_with_probability_one():
    n = 512
    x = np.random.default_rng(2).standard_normal(n)
    g = sigmoid(x)
    j = int(np.argmin(g))  # the smallest entry: a scalar probe would dilute it most

    def planted(size):
        def wrong(x):
            d = sigmoid(x)
            d[j] += size * np.max(g)
            return d

        return wrong

    above = [_caught(softplus_sum, planted(1.02 * TOL), x, "gradient", "torch.rev", seed, 0) for seed in range(10)]
    below = [_caught(softplus_sum, planted(0.98 * TOL), x, "gradient", "torch.rev", seed, 0) for seed in range(10)]
    assert all(above) and not any(below), (above, below)


def test_power_note_speaks_in_words():
    note = projection.power_note("gradient", 25_600, 1, 16, 8, {"autodiff": 1e-10, "finite_difference": 1e-7},
                                 {"jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "fd"})
    assert "whole gradient entrywise" in note and "probability 1" in note
    single, every = projection.block_power(1e-10, 25_600, 1, 16)
    assert f"{single:.1e}" in note and "(16 block probes)" in note and "(8 block probes)" in note
