"""Strategy by predicted cost (verify/strategy.py), the HVP without a Hessian, and the
sparse-error power of the projected checks."""

from __future__ import annotations

import re

import numpy as np
import pytest
from array_api_compat import array_namespace

import verify
from verify import projection, strategy
from verify.registry import UsageError

ALL = {"jax", "torch", "fd"}


def softplus_sum(x):
    xp = array_namespace(x)
    return xp.sum(xp.logaddexp(xp.zeros_like(x), x))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# --------------------------------------------------------------------------------------
# The choice: tiny, medium, huge; forced; the note
# --------------------------------------------------------------------------------------


def test_tiny_medium_and_huge_cases_get_dense_mixed_and_projected():
    tiny = strategy.decide("gradient", 10, 1, t_f=2e-5, t_g=1e-4, frameworks=ALL)
    medium = strategy.decide("gradient", 2000, 1, t_f=1e-4, t_g=3e-4, frameworks=ALL)
    huge = strategy.decide("gradient", 10**6, 1, t_f=5e-3, t_g=2e-2, frameworks=ALL)
    assert (tiny.autodiff, tiny.fd) == ("dense", "dense") and tiny.note.startswith("strategy dense")
    assert (medium.autodiff, medium.fd) == ("dense", "projected") and medium.strategy == "mixed"
    assert (huge.autodiff, huge.fd) == ("projected", "projected") and "dense would take" in huge.note
    assert "fast mode" in huge.note and "default mode" in tiny.note  # gradcheck's default mode is infeasible at 10⁶
    for p in (tiny, medium, huge):  # what ran is within twice gradcheck's prediction, or the floor
        assert p.predicted["chosen"] <= p.predicted["budget"], p.note
    # the note names the floor where it, not gradcheck's prediction, set the budget
    assert "budget 0.50 s: the floor for a check's fixed costs, above twice torch.autograd.gradcheck's predicted default mode, 2.2 ms" in tiny.note, tiny.note
    assert huge.note.startswith("strategy projected (budget 0.50 s: the floor") and "predicted fast mode, 0.08 s)" in huge.note, huge.note
    big = strategy.decide("gradient", 10**6, 1, t_f=5e-2, t_g=2e-1, frameworks=ALL)
    assert big.note.startswith("strategy projected (budget 0.80 s: twice torch.autograd.gradcheck's predicted fast mode)"), big.note


def test_torch_reverse_pass_is_timed_only_where_the_choice_depends_on_it(monkeypatch):
    """A vjp at n = 10⁴ is projected whatever a reverse pass costs (dense: a minute): plan
    does not time one, nor f again after the engine's call, and its note gives t_f only. A gradient at n = 2000 turns on t_g
    (gradcheck's default mode, and the budget, scale with it): it is timed."""
    assert strategy.settled("vjp", 10**4, 10**4 - 1, 4e-4, ALL, None, True)
    assert not strategy.settled("gradient", 2000, 1, 3e-5, ALL, None, True)
    # the engine's first call alone settles the vjp (t_f from 40 µs to 0.8 ms), not the gradient
    first = strategy.SETTLED_FIRST_CALL
    assert strategy.settled("vjp", 10**4, 10**4 - 1, 4e-4, ALL, None, True, primal_range=first)
    assert not strategy.settled("gradient", 2000, 1, 3e-5, ALL, None, True, primal_range=first)
    timed, primal_timed = [], []
    real, real_primal = strategy.time_reverse, strategy.time_primal
    monkeypatch.setattr(strategy, "time_reverse", lambda *a: timed.append(1) or real(*a))
    monkeypatch.setattr(strategy, "time_primal", lambda *a: primal_timed.append(1) or real_primal(*a))

    def chain(x):
        xp = array_namespace(x)
        return xp.logaddexp(xp.zeros_like(x[1:]), x[1:] * x[:-1])

    def chain_vjp(x, u):
        s = sigmoid(x[1:] * x[:-1])
        g = np.zeros_like(x)
        g[:-1] += u * s * x[1:]
        g[1:] += u * s * x[:-1]
        return g

    big = verify.check(chain, chain_vjp, np.random.default_rng(0).standard_normal(10**4), kind="vjp", backends=("torch", "fd"))
    assert big.passed and big.projected and not timed and "torch reverse pass" not in big.strategy, big.strategy
    assert not primal_timed and "one call of f took" in big.strategy, big.strategy  # the engine's call, not timed again
    for _ in range(3):  # the premise: f's first call took its usual tens of µs (a load spike of 100× settles the plan too)
        timed.clear(), primal_timed.clear()
        medium = verify.check(softplus_sum, sigmoid, np.random.default_rng(0).standard_normal(2000), kind="gradient", backends=("torch", "fd"))
        if not re.search(r"one call of f took [\d.]+ ms", medium.strategy):
            break
    assert medium.passed and timed and primal_timed and "one torch reverse pass" in medium.strategy, medium.strategy


def test_second_order_kinds_never_predict_a_finite_difference_hessian_for_an_hvp():
    hvp = strategy.decide("hvp", 100, 100, t_f=5e-5, t_g=3e-4, frameworks=ALL)
    hessian = strategy.decide("hessian", 100, 100, t_f=5e-5, t_g=3e-4, frameworks=ALL)
    assert hvp.fd == "dense" and hvp.predicted["fd dense"] == strategy.HVP_EVALUATIONS * 100 * 5e-5
    assert hessian.fd == "projected" and hessian.predicted["fd dense"] == strategy.FD2_EVALUATIONS * 100 * 100 * 5e-5  # n² stencils
    assert hessian.predicted["fd dense"] > 10 * hvp.predicted["fd dense"]


def test_forced_strategy_is_honoured_and_projection_is_an_alias():
    x = np.random.default_rng(0).standard_normal(30)
    auto = verify.check(softplus_sum, sigmoid, x, kind="gradient", backends=("torch", "fd"))
    dense = verify.check(softplus_sum, sigmoid, x, kind="gradient", backends=("torch", "fd"), strategy="dense")
    projected = verify.check(softplus_sum, sigmoid, x, kind="gradient", backends=("torch", "fd"), strategy="projected")
    alias = verify.check(softplus_sum, sigmoid, x, kind="gradient", backends=("torch", "fd"), projection=True)
    assert all(r.passed for r in (auto, dense, projected, alias))
    assert not auto.projected and not dense.projected and projected.projected and alias.projected
    assert auto.strategy.startswith("strategy dense (budget") and not any(n.startswith("strategy") for n in auto.notes)
    assert any(n.startswith("strategy dense (forced)") for n in dense.notes), dense.notes
    assert any(n.startswith("strategy projected (forced)") for n in projected.notes), projected.notes
    assert projected.strategy.startswith("strategy projected (forced)") and "dense would take" in projected.strategy
    assert any(n.startswith("detection power:") for n in projected.notes), projected.notes
    with pytest.raises(UsageError, match="strategy must be one of"):
        verify.check(softplus_sum, sigmoid, x, kind="gradient", strategy="fast")
    with pytest.raises(UsageError, match="probes must be a positive integer"):
        verify.check(softplus_sum, sigmoid, x, kind="gradient", probes=0)


def test_probes_sets_the_number_of_block_probes():
    x = np.random.default_rng(1).standard_normal(64)
    result = verify.check(softplus_sum, sigmoid, x, kind="gradient", backends=("torch", "fd"), strategy="projected", probes=5)
    assert result.passed and all("5 block probes" in c.method for c in result.checks), [c.method for c in result.checks]
    assert any("(5 block probes)" in n for n in result.notes)


def test_mixed_plan_runs_dense_autodiff_and_projected_finite_differences():
    x = np.random.default_rng(2).standard_normal(40)
    entry = verify.api.user_identity(softplus_sum, sigmoid, (x,), kind="gradient")
    from verify.engine import check_specs, run_trial

    plan = strategy.Plan("dense", "projected", 8, 8)
    specs = check_specs(entry, ("torch", "fd"))
    original = strategy.plan
    strategy.plan = lambda *a, **k: plan
    try:
        results = run_trial(entry, (x,), np.random.default_rng(0), specs, "float64", strategy="auto")
        wrong = verify.api.user_identity(softplus_sum, lambda x: sigmoid(x) * (1 + 1e-5), (x,), kind="gradient")
        failed = run_trial(wrong, (x,), np.random.default_rng(0), specs, "float64", strategy="auto")
    finally:
        strategy.plan = original
    assert [r.check for r in results] == [s.id for s in specs]
    assert all(r.passed for r in results)
    assert {r.check for r in results if r.mode.endswith("projected")} == {"fd"}
    assert not any(r.passed for r in failed)  # a planted error fails the dense and the projected checks


# --------------------------------------------------------------------------------------
# An HVP's finite differences build no Hessian
# --------------------------------------------------------------------------------------


def test_hvp_at_n_100_runs_without_building_the_hessian():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100)
    calls = []

    def f(x):
        if isinstance(x, np.ndarray):
            calls.append(1)
        xp = array_namespace(x)
        return xp.sum(xp.logaddexp(xp.zeros_like(x), x * xp.flip(x, axis=0))) + xp.sum(x**4) / 4

    def hvp(x, v):  # d²/dx² of softplus(x_i x_{n-1-i}) summed, and of x⁴/4
        r = x[::-1]
        s = sigmoid(x * r)
        w = s * (1 - s)
        return 2 * (w * r * r * v + (s + w * x * r) * v[::-1]) + 3 * x**2 * v

    result = verify.check(f, hvp, x, kind="hvp", backends=("fd",), strategy="dense")
    assert result.passed and not result.projected, result.message()
    fd_calls = len(calls)
    assert fd_calls <= strategy.HVP_EVALUATIONS * x.size + 50, fd_calls  # 16 per input, against n(n+1)/2 = 5050 stencils
    calls.clear()
    wrong = verify.check(f, lambda x, v: hvp(x, v) * (1 + 1e-4), x, kind="hvp", backends=("fd",), strategy="dense")
    assert not wrong.passed and "no Hessian built" in wrong.checks[0].method


# --------------------------------------------------------------------------------------
# One gradient entry off by 1e-6 among 25,600
# --------------------------------------------------------------------------------------


def _single_entry_case():
    x = np.random.default_rng(4).standard_normal(25_600)
    x[7] = -7.0  # σ(−7) = 9.1e-4: an entry 1e-3 of the largest, 1e-5 of the gradient's norm

    def wrong(x):
        g = sigmoid(x)
        g[7] *= 1 + 1e-6
        return g

    return x, wrong


def _old_single_pair_caught(g, wrong, seed, tol=1e-10):
    """The former projected check: one uniform pair (u, v) forward, one reverse, scalars only."""
    rng = np.random.default_rng(seed)
    caught = False
    for side in ("forward", "reverse"):
        v = (rng.random(g.size) - 0.5) * 2 * np.sqrt(3)
        u = (rng.random() - 0.5) * 2 * np.sqrt(3)
        ref, hand = u * (g @ v), u * (wrong @ v)
        spread = abs(ref) if side == "forward" else abs(u) * np.linalg.norm(g) * np.sqrt(np.mean(v**2))
        caught |= abs(hand - ref) / max(abs(ref), spread) > tol
    return caught


def test_single_entry_off_by_1e6_at_n_25600_is_caught_where_one_probe_pair_missed_it():
    x, wrong = _single_entry_case()
    g, bad = sigmoid(x), wrong(x)
    old = [_old_single_pair_caught(g, bad, seed) for seed in range(20)]
    assert sum(old) <= 5, old  # the single pair misses it at most seeds
    new = [verify.check(softplus_sum, wrong, x, kind="gradient", backends=("torch",), strategy="projected", probes=4, seed=seed)
           for seed in range(20)]
    assert all(not r.passed for r in new), [r.message() for r in new if r.passed]
    assert all(not c.passed for r in new for c in r.checks if c.check == "torch.rev")
    right = verify.check(softplus_sum, sigmoid, x, kind="gradient", backends=("torch",), strategy="projected")
    assert right.passed, right.message()


def test_block_probes_raise_forward_mode_sensitivity_to_one_entry():
    """Forward mode sees only ⟨u, J v⟩: a block of n/B inputs weighs the entry √B times more."""
    x, _ = _single_entry_case()
    x = x[:1024]
    g = sigmoid(x)

    def wrong(x):
        d = sigmoid(x)
        d[100] += 3e-9 * np.sqrt(np.mean(g**2))  # a dense probe sees 3e-9/√n = 9e-11 of ⟨g, v⟩'s scale; a block of 16, 7.5e-10
        return d

    from verify.api import user_identity
    from verify.engine import check_specs

    entry = user_identity(softplus_sum, wrong, (x,), kind="gradient")
    specs = check_specs(entry, ("torch",))
    spec = [s for s in specs if s.id == "torch.fwd"]
    dense = sum(not projection.run_projected(entry, (x,), softplus_sum(x), np.random.default_rng(s), spec, "float64")[0].passed for s in range(20))
    blocked = sum(not projection.run_projected(entry, (x,), softplus_sum(x), np.random.default_rng(s), spec, "float64", blocks=64)[0].passed
                  for s in range(20))
    assert blocked >= 19 and dense <= 12, (dense, blocked)


def test_block_probes_call_a_jvp_once_per_block_and_catch_a_wrong_one():
    x = np.random.default_rng(5).standard_normal(200)
    calls = []

    def tanh(x):
        return array_namespace(x).tanh(x)

    def jvp(x, t, factor=1.0):
        calls.append(1)
        return (1 - np.tanh(x) ** 2) * t * factor

    right = verify.check(tanh, jvp, x, kind="jvp", backends=("torch",), strategy="projected", probes=4)
    assert right.passed, right.message()
    assert len(calls) == 2 * (1 + 1 + 4)  # the two dense pairs and 4 blocks, each call run twice (nondeterminism)
    wrong = verify.check(tanh, lambda x, t: jvp(x, t, 1 + 1e-8), x, kind="jvp", backends=("torch",), strategy="projected", probes=4)
    assert not wrong.passed and all(not c.passed for c in wrong.checks), wrong.message()


def test_a_batched_f_makes_dense_finite_differences_affordable_and_the_note_says_so():
    """A framework-native f evaluated through vmap costs t_p per point, not t_f per call:
    dense finite differences that one call per point could not afford fit the budget."""
    looped = strategy.decide("vjp", 2000, 2000, t_f=1e-4, t_g=3e-4, frameworks=ALL)
    batched = strategy.decide("vjp", 2000, 2000, t_f=1e-4, t_g=3e-4, frameworks=ALL, t_p=2e-6)
    assert looped.fd == "projected" and batched.fd == "dense"
    assert batched.predicted["fd dense"] == strategy.FD_EVALUATIONS * 2000 * 2e-6
    assert "one point of a batched call 2 µs" in batched.note and "batched" not in looped.note


def test_block_probes_run_only_where_no_reverse_check_compares_entrywise():
    """Reverse mode compares the whole uᵀJ entrywise (every kind but jvp): block probes
    would add forward passes and finite differences but no power, so none run unless
    probes= asks; a jvp, which no reverse check compares entrywise, keeps them. The
    entrywise comparison alone still catches one entry off by 1e-6 among 25,600."""
    gradient = strategy.decide("gradient", 10**6, 1, t_f=5e-3, t_g=2e-2, frameworks=ALL)
    jvp = strategy.decide("jvp", 10**6, 10**6, t_f=5e-3, t_g=2e-2, frameworks=ALL)
    fd_only = strategy.decide("gradient", 10**6, 1, t_f=5e-3, t_g=2e-2, frameworks={"fd"})
    asked = strategy.decide("gradient", 10**6, 1, t_f=5e-3, t_g=2e-2, frameworks=ALL, probes=6)
    assert gradient.strategy == "projected" and gradient.blocks == 0
    assert jvp.blocks >= strategy.MIN_BLOCKS and fd_only.blocks >= strategy.MIN_BLOCKS and asked.blocks == 6
    x, wrong = _single_entry_case()
    report = verify.check(softplus_sum, wrong, x, kind="gradient", backends=("torch", "fd"), strategy="projected")
    assert not report.passed and not any("block probes" in c.method for c in report.checks), [c.method for c in report.checks]
    rev = next(c for c in report.checks if c.check == "torch.rev")
    assert not rev.passed and "uᵀJ compared entrywise" in rev.method
    right = verify.check(softplus_sum, sigmoid, x, kind="gradient", backends=("torch", "fd"), strategy="projected")
    assert right.passed and any("no block probes" in n for n in right.notes), right.notes
