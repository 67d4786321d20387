"""Projection mode: ⟨u, J v⟩ on a few random probes instead of the dense Jacobian."""

from __future__ import annotations

import json

import numpy as np
import pytest
from array_api_compat import array_namespace

import verify
from tests.test_api import CASES, energy, energy_gradient, kind_of, numpy_only_energy, numpy_only_energy_gradient, scaled
from verify import projection
from verify.api import user_identity
from verify.engine import check_specs


@pytest.mark.parametrize("case", CASES)
def test_forced_projection_passes_every_kind_and_says_so(case):
    function, derivative, sample, options = CASES[case]
    result = verify.check(function, derivative, *sample(np.random.default_rng(6)), kind=kind_of(case), projection=True, **options)
    assert result.passed, result.message()
    assert result.projected and all(c.mode.endswith("projected") for c in result.checks)
    assert "random projections" in str(result)
    assert all(f"{projection.PROBES} probe pair" in c.method for c in result.checks)


@pytest.mark.parametrize("case", CASES)
def test_forced_projection_catches_a_relative_1e8_error_in_every_autodiff_check(case):
    function, derivative, sample, options = CASES[case]
    result = verify.check(function, scaled(derivative, 1 + 1e-8), *sample(np.random.default_rng(6)), kind=kind_of(case), projection=True, **options)
    autodiff = [c for c in result.checks if c.oracle == "autodiff"]
    assert len(autodiff) == 4 and not any(c.passed for c in autodiff), result.message()


def test_projection_runs_one_forward_and_one_reverse_check_per_framework():
    x = np.random.default_rng(10).standard_normal(50)
    result = verify.check(chain_energy, chain_energy_gradient, x, kind="gradient", projection=True)
    by_id = {c.check: c for c in result.checks}
    assert set(by_id) == {"jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "fd"}  # the tape is torch.rev
    assert "the tape" in by_id["torch.rev"].method and by_id["torch.rev"].backend == "torch.autograd"
    assert "forward_ad" in by_id["torch.fwd"].method
    assert all("(forward)" in by_id[c].method for c in ("jax.fwd", "torch.fwd", "fd"))
    assert all("(reverse)" in by_id[c].method for c in ("jax.rev", "torch.rev"))


def test_jax_forward_and_reverse_checks_share_one_jitted_call_and_each_still_catches(monkeypatch):
    """With one probe pair (the default) JAX's jvp and vjp run in one jitted call (the
    primal once); a wrong gradient still fails both JAX checks, each with its error. With
    two pairs each mode runs its own passes."""
    modes = []
    real = projection._jax_dispatch  # where every pass starts
    monkeypatch.setattr(projection, "_jax_dispatch", lambda entry, mode, *a, **k: modes.append(mode) or real(entry, mode, *a, **k))
    x = np.random.default_rng(13).standard_normal(60)
    right = verify.check(chain_energy, chain_energy_gradient, x, kind="gradient", projection=True, backends=("jax",))
    assert right.passed and modes == ["pair"], (modes, right.message())
    modes.clear()
    wrong = verify.check(chain_energy, scaled(chain_energy_gradient, 1 + 1e-7), x, kind="gradient", projection=True, backends=("jax",))
    # (a failing check then asks for more passes: the rounding floor's, at perturbed points)
    assert modes[0] == "pair" and {c.check for c in wrong.failures} == {"jax.fwd", "jax.rev"}, wrong.message()
    assert all(c.error > c.tolerance for c in wrong.failures)
    modes.clear()
    two = verify.check(chain_energy, chain_energy_gradient, x, kind="gradient", projection=True, probes=2, backends=("jax",))
    assert two.passed and "pair" not in modes and {"forward", "reverse"} <= set(modes), modes


def test_jax_pair_runs_while_the_other_references_are_computed_and_a_failed_wait_falls_back(monkeypatch):
    """The paired JAX pass is started before the torch and finite-difference references and
    waited for after them (XLA runs it meanwhile); the checks' order in the report is
    unchanged. A pass that fails when waited for leaves each JAX check to run its own."""
    events = []
    real_dispatch, real_torch, real_fd = projection._jax_dispatch, projection._torch, projection._fd_one

    def dispatch(entry, mode, *a, **k):
        events.append(f"start {mode}")
        settle = real_dispatch(entry, mode, *a, **k)
        return lambda: events.append(f"wait {mode}") or settle()

    monkeypatch.setattr(projection, "_jax_dispatch", dispatch)
    monkeypatch.setattr(projection, "_torch", lambda *a, **k: events.append("torch") or real_torch(*a, **k))
    monkeypatch.setattr(projection, "_fd_one", lambda *a, **k: events.append("fd") or real_fd(*a, **k))
    x = np.random.default_rng(14).standard_normal(60)
    report = verify.check(chain_energy, chain_energy_gradient, x, kind="gradient", projection=True)
    assert report.passed, report.message()
    assert [c.check for c in report.entry.checks] == ["jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "fd"]
    assert events == ["start pair", "torch", "torch", "fd", "wait pair"], events

    def failing(entry, mode, *a, **k):
        settle = real_dispatch(entry, mode, *a, **k)
        if mode != "pair":
            return settle
        return lambda: (_ for _ in ()).throw(RuntimeError("XLA failed"))

    monkeypatch.setattr(projection, "_jax_dispatch", failing)
    events.clear()
    fallback = verify.check(chain_energy, chain_energy_gradient, x, kind="gradient", projection=True, backends=("jax",))
    assert fallback.passed and all(c.method.startswith("⟨u, J v⟩ with jax.") for c in fallback.entry.checks), fallback.message()
    wrong = verify.check(chain_energy, scaled(chain_energy_gradient, 1 + 1e-7), x, kind="gradient", projection=True, backends=("jax",))
    assert {c.check for c in wrong.failures} == {"jax.fwd", "jax.rev"}, wrong.message()


def test_hand_coded_side_is_computed_once_for_every_backend():
    calls = []

    def counted_gradient(x):
        calls.append(1)
        return chain_energy_gradient(x)

    x = np.random.default_rng(11).standard_normal(50)
    assert verify.check(chain_energy, counted_gradient, x, kind="gradient", projection=True).passed
    assert len(calls) == 2  # once for every backend, once more on its own copies: the nondeterminism verdict


def test_more_probe_pairs_on_request_and_forward_reverse_pairs_are_independent():
    x = np.random.default_rng(12).standard_normal(40)
    entry = user_identity(chain_energy, chain_energy_gradient, (x,), kind="gradient")
    specs = check_specs(entry, ("torch", "fd"))
    results = projection.run_projected(entry, (x,), chain_energy(x), np.random.default_rng(0), specs, "float64", probes=3)
    assert all(r.passed and "3 probe pairs" in r.method for r in results), [r.message() for r in results]
    with pytest.raises(ValueError, match="probes"):
        projection.run_projected(entry, (x,), chain_energy(x), np.random.default_rng(0), specs, "float64", probes=0)
    rng = np.random.default_rng(1)
    first, second = (projection.draw(entry, (x,), chain_energy(x), rng, "float64") for _ in range(2))
    assert not np.allclose(first.v[0], second.v[0])
    assert abs(first.rms_v - 1) < 0.3 and abs(np.mean(first.v[0])) < 0.5  # mean 0, variance 1


@pytest.mark.parametrize("delta", [1e-2, 1e-4, 1e-6, 1e-8])
def test_large_input_catches_random_sign_relative_errors(delta):
    rng = np.random.default_rng(13)
    x = rng.standard_normal(projection.MAX_INPUTS + 1)
    signs = rng.choice([-1.0, 1.0], size=x.size)
    result = verify.check(chain_energy, lambda x: chain_energy_gradient(x) * (1 + delta * signs), x, kind="gradient", backends=("torch", "fd"))
    assert result.projected and not result.passed, result.message()


def test_mode_is_chosen_by_size():
    entry = user_identity(energy, energy_gradient, (), kind="gradient")
    small, large = np.zeros(projection.MAX_INPUTS), np.zeros(projection.MAX_INPUTS + 1)
    assert not projection.use_projection(entry, (small,), 0.0)
    assert projection.use_projection(entry, (large,), 0.0)
    assert projection.use_projection(entry, (small[:3],), 0.0, projection=True)
    assert not projection.use_projection(entry, (large,), 0.0, projection=False)
    jacobian = user_identity(energy, energy_gradient, (), kind="jacobian")  # n·m = 2000·1000 > 1e6
    assert projection.use_projection(jacobian, (np.zeros(2000),), np.zeros(1000))
    assert not projection.use_projection(jacobian, (np.zeros(2000),), np.zeros(400))


def chain_energy(x):
    """Σ softplus(x_i x_{i+1}): each input meets both neighbours."""
    xp = array_namespace(x)
    return xp.sum(xp.logaddexp(xp.zeros_like(x[1:]), x[1:] * x[:-1]))


def chain_energy_gradient(x, drop_left_neighbour=False):
    s = 1 / (1 + np.exp(-x[1:] * x[:-1]))  # σ(x_i x_{i+1})
    g = np.zeros_like(x)
    g[:-1] += s * x[1:]
    if not drop_left_neighbour:
        g[1:] += s * x[:-1]
    return g


def test_large_input_is_projected_automatically_and_errors_are_still_caught():
    x = np.random.default_rng(7).standard_normal(projection.MAX_INPUTS + 1)
    right = verify.check(chain_energy, chain_energy_gradient, x, kind="gradient")
    assert right.passed and right.projected, right.message()
    dropped = verify.check(chain_energy, lambda x: chain_energy_gradient(x, drop_left_neighbour=True), x, kind="gradient")
    assert not dropped.passed and all(not c.passed for c in dropped.checks), dropped.message()


def test_numpy_only_function_is_projected_against_finite_differences():
    x = np.random.default_rng(8).standard_normal(20_000)
    right = verify.check(numpy_only_energy, numpy_only_energy_gradient, x, kind="gradient")
    assert right.passed and right.projected and [c.check for c in right.checks] == ["fd"], right.message()
    assert right.checks[0].error < 1e-9  # Richardson to O(h⁴): far below the 1e-7 tolerance
    wrong = verify.check(numpy_only_energy, scaled(numpy_only_energy_gradient, 1 + 1e-5), x, kind="gradient")
    assert not wrong.passed


def test_directional_derivative_is_accurate():
    rng = np.random.default_rng(9)
    x, v = rng.standard_normal(50), rng.standard_normal(50)
    entry = user_identity(np.exp, np.exp, (x,), kind="derivative")
    value, estimate = projection.directional_derivative(entry, (x,), (v,))
    exact = np.exp(x) * v
    assert np.max(np.abs(value - exact)) / np.max(np.abs(exact)) < 1e-10  # 1000× inside the 1e-7 tolerance
    assert np.max(np.abs(value - exact)) <= estimate < 1e-4 * np.max(np.abs(exact))  # an upper bound


def test_metric_uses_the_spread_not_a_cancelled_scalar():
    # ⟨u, J v⟩ = 0 by cancellation: a 1e-14 absolute difference is relative to the spread.
    assert projection.projected_error(1e-14, 0.0, spread=3.0) == pytest.approx(1e-14 / 3.0)
    assert projection.projected_error(2.0, 1.0, spread=0.5) == pytest.approx(1.0)


def test_hand_coded_shape_error_is_a_failure_with_a_reason():
    x, A = np.ones(4), np.eye(4)
    result = verify.check(energy, lambda x, A: energy_gradient(x, A)[:3], x, A, kind="gradient", projection=True)
    assert not result.passed
    assert all("shape" in c.reason for c in result.checks), result.message()


def test_quick_benchmark_runs_and_projection_catches_what_fast_mode_lets_through(tmp_path):
    from benchmarks import projection as bench

    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    rows = {r["tool"]: r for r in json.loads((tmp_path / "projection.json").read_text())["rows"]}
    assert set(rows) == set(bench.TOOLS)
    assert all(r["accepts right gradient"] for r in rows.values())
    mine, fast = rows["verify projection"], rows["gradcheck fast_mode"]
    assert all(mine["catches"].values()), mine["catches"]
    assert fast["catches"]["dropped term"] and not fast["catches"]["relative 1e-04"]  # within its rtol 1e-3
    table = (tmp_path / "projection.md").read_text()
    assert "| 1e+02 | verify projection | yes | yes | yes | yes | yes | yes |" in table
    within = mine["runs"][0] / fast["runs"][0]  # the one round: the ratio within it
    assert f"| 1e+02 | {within:.2f}× ({within:.2f} – {within:.2f}) |" in table, table


def test_api_docstring_example_runs():
    import doctest

    from verify import api

    assert doctest.testmod(api, raise_on_error=False).failed == 0


GLOBAL_SCALE = {"value": 2.0}  # a global the primal reads: a cached JAX trace must not keep it


def scaled_square_sum(x):
    xp = array_namespace(x)
    return GLOBAL_SCALE["value"] * xp.sum(x * x)


def scaled_square_sum_gradient(x):
    return 2 * GLOBAL_SCALE["value"] * x


def test_cached_jax_trace_is_reused_and_redone_when_a_global_changes():
    x = np.random.default_rng(14).standard_normal(30)
    check = lambda gradient: verify.check(scaled_square_sum, gradient, x, kind="gradient", projection=True, backends=("jax",))  # noqa: E731
    try:
        assert check(scaled_square_sum_gradient).passed
        cached = dict(projection._JAX_TRANSFORMS)
        assert check(scaled_square_sum_gradient).passed and projection._JAX_TRANSFORMS == cached  # reused, not re-traced
        GLOBAL_SCALE["value"] = 3.0
        changed = check(scaled_square_sum_gradient)
        assert changed.passed, changed.message()  # a stale trace would compare against 2·2x
        assert not check(lambda x: 4.0 * x).passed  # the old global's gradient is now wrong
    finally:
        GLOBAL_SCALE["value"] = 2.0


def test_a_derivative_rule_of_the_users_own_is_traced_at_every_projected_pass():
    """f's value cannot show a change in a custom_jvp rule that reads a global: such a
    function's projected JAX passes are guarded by the trace of its derivatives, so the
    reference follows the changed rule (the cached pass would keep the old one)."""
    jnp = pytest.importorskip("jax").numpy
    from tests.test_cost import softplus_with_its_own_rule

    rule = {"scale": 1.0}
    soft = softplus_with_its_own_rule(rule)

    def f(x):
        return jnp.sum(soft(x)) if not isinstance(x, np.ndarray) else np.sum(np.logaddexp(0.0, x))

    def gradient(x):
        return 1 / (1 + np.exp(-x))

    x = np.random.default_rng(16).standard_normal(40)
    check = lambda: verify.check(f, gradient, x, kind="gradient", projection=True, backends=("jax",))  # noqa: E731
    assert check().passed and check().passed
    rule["scale"] = 2.0
    changed = check()
    assert not changed.passed and all(not c.passed for c in changed.checks), changed.message()


def test_untraceable_function_falls_back_to_eager_jax():
    def signed_square_sum(x, sign):  # a Python branch on a non-differentiated argument: no jit
        xp = array_namespace(x)
        return xp.sum(x * x) if float(sign) > 0 else -xp.sum(x * x)

    x, sign = np.random.default_rng(15).standard_normal(20), np.asarray(-1.0)
    result = verify.check(signed_square_sum, lambda x, sign: -2 * x, x, sign, kind="gradient", projection=True, backends=("jax",))
    assert result.passed, result.message()
    assert not verify.check(signed_square_sum, lambda x, sign: 2 * x, x, sign, kind="gradient", projection=True, backends=("jax",)).passed
