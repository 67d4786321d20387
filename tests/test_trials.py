"""More than the one point: ``verify.check(..., trials=k)`` checks at k perturbations of the
given arguments that keep their structure, and says when the given point was degenerate."""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import array_namespace

import verify
from verify import trials

EPS = 1e-5


def layer_norm(x, gamma, beta):
    """y = γ ⊙ (x − μ)/σ + β over the last axis, σ = √(var + ε)."""
    xp = array_namespace(x, gamma, beta)
    mu = xp.mean(x, axis=-1, keepdims=True)
    centred = x - mu
    sigma = xp.sqrt(xp.mean(centred * centred, axis=-1, keepdims=True) + EPS)
    return gamma * centred / sigma + beta


def layer_norm_vjp(x, gamma, beta, dy, forget_gamma=False):
    """(dx, dγ, dβ): with g = dy ⊙ γ and x̂ = (x − μ)/σ, dx = (g − mean(g) − x̂ mean(g ⊙ x̂))/σ."""
    mu = x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + EPS)
    x_hat = (x - mu) / sigma
    g = dy if forget_gamma else dy * gamma
    dx = (g - g.mean(axis=-1, keepdims=True) - x_hat * (g * x_hat).mean(axis=-1, keepdims=True)) / sigma
    return dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)


def layer_norm_vjp_without_gamma(x, gamma, beta, dy):  # planted: γ forgotten in dx
    return layer_norm_vjp(x, gamma, beta, dy, forget_gamma=True)


def layer_norm_args(seed: int = 0):
    x = np.random.default_rng(seed).standard_normal((4, 6))
    return x, np.ones(6), np.zeros(6)  # the usual initialisation: γ = 1, β = 0


def test_gamma_forgotten_passes_at_gamma_one_and_fails_at_the_trials():
    x, gamma, beta = layer_norm_args()
    at_the_point = verify.check(layer_norm, layer_norm_vjp_without_gamma, x, gamma, beta, kind="vjp", wrt=(0, 1, 2))
    assert at_the_point.passed  # invisible at γ = 1 ...
    result = verify.check(layer_norm, layer_norm_vjp_without_gamma, x, gamma, beta, kind="vjp", wrt=(0, 1, 2), trials=3)
    assert not any(c.passed for c in result.checks), result.message()  # ... caught off it
    assert all(c.trial >= 1 for c in result.checks)
    degenerate = [n for n in result.notes if n.startswith("the given point is degenerate")]
    assert degenerate == ["the given point is degenerate: layer_norm passes at the given arguments but fails at trial 1 "
                          "(argument 1 (gamma) perturbed off all-ones; argument 2 (beta) perturbed off all-zeros)"], result.notes
    assert "note: the given point is degenerate" in result.message()
    for c in result.failures:
        assert c.message().startswith(f"layer_norm [{c.backend}, {c.mode}]: FAIL: max relative error "), c.message()


def test_a_right_layer_norm_passes_at_every_trial():
    x, gamma, beta = layer_norm_args(1)
    result = verify.check(layer_norm, layer_norm_vjp, x, gamma, beta, kind="vjp", wrt=(0, 1, 2), trials=3)
    assert result.passed, result.message()
    assert "also checked at 3 further points (trials=3, perturbations of the given arguments); each check reports its worst" in result.notes
    assert not [n for n in result.notes if "degenerate" in n]


def test_a_mistake_at_the_given_point_is_not_called_degenerate():
    x, gamma, beta = layer_norm_args(2)
    gamma = gamma * 1.5
    result = verify.check(layer_norm, layer_norm_vjp_without_gamma, x, gamma, beta, kind="vjp", wrt=(0, 1, 2), trials=2)
    assert not result.passed and not [n for n in result.notes if "degenerate" in n]


def quadratic(x, A):
    return 0.5 * array_namespace(x, A).sum(x * (A @ x))


def test_a_symmetric_matrix_is_moved_off_and_a_transpose_mistake_found():
    rng = np.random.default_rng(6)
    x, B = rng.standard_normal(5), rng.standard_normal((5, 5))
    S = B + B.T
    wrong = lambda x, A: A @ x  # noqa: E731  (right only for a symmetric A: ½(A + Aᵀ)x)
    assert verify.check(quadratic, wrong, x, S, kind="gradient").passed
    result = verify.check(quadratic, wrong, x, S, kind="gradient", trials=2)
    assert not result.passed
    assert any(n.endswith("fails at trial 1 (argument 1 (A) perturbed off a symmetric matrix)") for n in result.notes), result.notes
    assert verify.check(quadratic, lambda x, A: 0.5 * (A + A.T) @ x, x, S, kind="gradient", trials=2).passed


def softmax_cross_entropy(z, labels):
    xp = array_namespace(z)
    one_hot = xp.astype(xp.arange(z.shape[-1])[None, :] == labels[:, None], z.dtype)
    shifted = z - xp.max(z, axis=-1, keepdims=True)
    return xp.mean(xp.log(xp.sum(xp.exp(shifted), axis=-1)) - xp.sum(shifted * one_hot, axis=-1))


def softmax_cross_entropy_gradient(z, labels):
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1
    return p / len(labels)


def test_integer_labels_stay_intact():
    rng = np.random.default_rng(3)
    z, labels = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    for trial in (1, 2, 3):
        moved_z, moved_labels = trials.trial_arguments(softmax_cross_entropy, (z, labels), trial, seed=0)
        assert moved_labels is labels and not np.allclose(moved_z, z)
    result = verify.check(softmax_cross_entropy, softmax_cross_entropy_gradient, z, labels, kind="gradient", trials=3)
    assert result.passed, result.message()
    wrong = verify.check(softmax_cross_entropy, lambda z, y: softmax_cross_entropy_gradient(z, y) * len(y), z, labels, kind="gradient", trials=3)
    assert not any(c.passed for c in wrong.checks)  # the mean's 1/B forgotten


def log_sum(x):
    return array_namespace(x).sum(array_namespace(x).log(x))


def test_positive_arguments_stay_positive():
    x = np.array([0.5, 2.0, 3.0, 0.01, 7.0])
    for trial in range(1, 11):
        (moved,) = trials.trial_arguments(log_sum, (x,), trial, seed=0)
        assert np.all(moved > 0) and moved.dtype == x.dtype and moved.shape == x.shape
    result = verify.check(log_sum, lambda x: 1 / x, x, kind="gradient", trials=3)
    assert result.passed, result.message()
    assert not verify.check(log_sum, lambda x: 1 / np.abs(x) ** 1.01, x, kind="gradient", trials=3).passed


@pytest.mark.parametrize("given, what", [(np.ones(4), "all-ones"), (np.zeros(4), "all-zeros"), (np.full(4, 2.5), "equal entries"),
                                         (np.array([[2.0, 1.0], [1.0, 3.0]]), "a symmetric matrix")])
def test_degenerate_values_are_named_and_moved_off(given, what):
    assert trials.degeneracies((given,)) == [(0, what)]
    moved = trials.perturb_one(given, np.random.default_rng(0))
    assert trials.degeneracies((moved,)) == [] and moved.shape == given.shape


def test_structures_kept():
    rng = np.random.default_rng(4)
    probabilities = rng.dirichlet(np.ones(5), size=3)
    moved = trials.perturb_one(probabilities, rng)
    assert np.allclose(moved.sum(axis=-1), 1) and np.all(moved > 0) and not np.allclose(moved, probabilities)
    one_hot = np.eye(4)[[0, 2, 1]]
    assert trials.perturb_one(one_hot, rng) is one_hot  # float labels of 0s and 1s
    in_unit = rng.random(6)
    moved = trials.perturb_one(in_unit, rng)
    assert np.all((moved > 0) & (moved < 1)) and not np.allclose(moved, in_unit)
    negative = -rng.random(6) - 0.1
    assert np.all(trials.perturb_one(negative, rng) < 0)
    single = np.float32(2.0) * np.ones((), dtype=np.float32)
    assert trials.perturb_one(single, rng).dtype == np.float32 and trials.perturb_one(single, rng).shape == ()


def test_sample_draws_the_trials_and_a_bad_trials_value_is_a_usage_error():
    x, gamma, beta = layer_norm_args(5)
    drawn = []

    def sample(rng):
        drawn.append(1)
        return rng.standard_normal((4, 6)), rng.uniform(0.5, 2.0, 6), rng.standard_normal(6)

    result = verify.check(layer_norm, layer_norm_vjp_without_gamma, x, gamma, beta, kind="vjp", wrt=(0, 1, 2), sample=sample)
    assert len(drawn) == 3 and not result.passed
    assert any(n == "the given point is degenerate: layer_norm passes at the given arguments but fails at trial 1" for n in result.notes), result.notes
    for bad in (-1, 1.5, True):
        with pytest.raises(verify.UsageError, match=r"trials=.*: give the number of further points"):
            verify.check(log_sum, lambda x: 1 / x, np.ones(3), kind="gradient", trials=bad)


def test_a_trial_where_the_primal_fails_is_redrawn_smaller_or_skipped():
    def needs_small(x):  # finite only where every |x| < 1.2: the given point is close to the edge
        xp = array_namespace(x)
        return xp.sum(xp.log(1.2 - xp.abs(x)))

    x = np.array([1.0, -1.1, 0.9])
    first = trials.perturb((x,), np.random.default_rng([0, trials.TRIAL_SEED, 2]))[0]
    assert np.max(np.abs(first)) > 1.2  # trial 2's first draw leaves the domain ...
    (moved,) = trials.trial_arguments(needs_small, (x,), 2, seed=0)
    assert np.max(np.abs(moved)) < 1.2 and not np.allclose(moved, x)  # ... its redraw at half the scale does not
    result = verify.check(needs_small, lambda x: -np.sign(x) / (1.2 - np.abs(x)), x, kind="gradient", trials=3)
    assert result.passed, result.message()

    def nowhere_else(x):  # finite at the given point only
        xp = array_namespace(x)
        return xp.sum(xp.sqrt(-(x - xp.asarray([1.0, -1.1, 0.9])) ** 2) + x)

    assert trials.trial_arguments(nowhere_else, (x,), 1, seed=0) is None
    skipped = verify.check(nowhere_else, lambda x: np.ones_like(x), x, kind="gradient", trials=2, backends="fd")
    assert "trials 1, 2 skipped: the primal raised or was not finite at every perturbation tried (4, the last at scale 0.0625)" in skipped.notes
    assert "also checked at 0 further points (trials=2, perturbations of the given arguments); each check reports its worst" in skipped.notes


def test_readme_trials_example_is_current():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in readme.split("```text\n")[1:] if "layer_norm_vjp_without_gamma" in b).split("```")[0]
    x = np.random.default_rng(0).standard_normal((4, 6))
    result = verify.check(layer_norm, layer_norm_vjp_without_gamma, x, np.ones(6), np.zeros(6), kind="vjp", wrt=(0, 1, 2), trials=3)
    printed = [result.failures[0].message(detail=False), *result.notes[2:]]
    assert printed == [line for line in block.splitlines() if not line.startswith(">>>")]
