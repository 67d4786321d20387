"""What a check costs, counted in calls of f (never timed): the finite differences stop
once converged, a framework-native f is evaluated on all the stencil's points at once
(vmap), the kink examination runs only where it is needed. Each shortcut is shown to keep
the verdict: a planted wrong derivative still fails, naming its check and error."""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import array_namespace

import verify
from verify import oracles

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

RNG = np.random.default_rng(7)


def test_a_jacobian_with_zero_entries_stops_at_the_second_iteration():
    """An elementwise f has a diagonal Jacobian: its zeros used to run every column to
    scipy's 10th iteration (27 calls of f per column); now 11 calls per column at most."""
    calls = []

    def f(x):
        calls.append(1)
        return np.tanh(x)

    x = RNG.standard_normal(40)
    df, err, warning = oracles.fd_jacobian_flat(f, x, 0.01)
    assert len(calls) <= 11 * x.size + 1
    assert np.max(np.abs(df - np.diag(1 - np.tanh(x) ** 2))) < 1e-10
    assert np.max(err) < 1e-9 and warning == ""


class _Counted:
    """A torch autograd.Function whose forward counts its calls."""

    def __init__(self, backward_factor=2.0):
        self.forward_calls = 0
        counter = self

        class Cube(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                counter.forward_calls += 1
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * backward_factor * x ** 2 * 1.5  # 3x² when backward_factor is 2

        self.function = Cube


def test_an_autograd_function_is_evaluated_in_batches_and_still_judged():
    x = torch.tensor(RNG.standard_normal((6, 5)), requires_grad=True)
    right = _Counted()
    report = verify.check(right.function, x, strategy="dense")
    assert report.passed, report.message()
    assert right.forward_calls < x.numel(), right.forward_calls  # one call per point would be 11 per entry

    wrong = _Counted(backward_factor=2.0 * (1 + 1e-6))
    report = verify.check(wrong.function, x, strategy="dense")
    assert not report.passed
    fd = next(c for c in report.checks if c.check == "fd")
    assert not fd.passed and fd.error > 1e-7
    message = report.message()
    assert "Cube [numpy, central differences" in message and "max relative error 1.00e-06 > tolerance 1e-07" in message, message


def test_a_function_vmap_cannot_run_falls_back_to_one_call_per_point():
    """Python control flow on a tensor's value stops vmap: the plain calls judge instead."""

    def gated(x):
        if float(x.detach().sum()) > -1e9:  # value-dependent: vmap raises
            return torch.sin(x) * x

    x = torch.tensor(RNG.standard_normal(8), requires_grad=True)
    ok = verify.check(gated, x, strategy="dense")
    assert ok.passed, ok.message()

    def wrong_derivative(x, u):
        return u * (torch.cos(x) * x + torch.sin(x) * 1.001)

    report = verify.check(gated, wrong_derivative, x, kind="vjp", strategy="dense")
    assert not report.passed
    fd = next(c for c in report.checks if c.check == "fd")
    assert not fd.passed


def test_a_batch_that_disagrees_with_a_plain_call_is_dropped():
    """The batched values are compared with a plain call at their first point; a batch that
    computes something else (here off by 1e-6) is never used."""
    x = RNG.standard_normal(5)

    def f(y):
        return np.sin(y) * y.sum()

    def off_batch(columns):
        return np.stack([f(columns[:, k]) * (1 + 1e-6) for k in range(columns.shape[1])])

    plain, _, _ = oracles.fd_jacobian_flat(f, x, 0.01)
    batched, _, _ = oracles.fd_jacobian_flat(f, x, 0.01, batch=off_batch)
    np.testing.assert_array_equal(batched, plain)


def test_a_jax_function_is_evaluated_in_batches_and_still_judged(monkeypatch):
    batched, plain = [], []
    real_along = oracles._ValueScale.along

    def along(self, values):
        out = real_along(self, values)
        (batched if self.batch is not None else plain).append(values.size)
        return out

    monkeypatch.setattr(oracles._ValueScale, "along", along)

    def softplus_chain(x):
        return jnp.logaddexp(0.0, x[1:] * x[:-1])

    def jacobian(x):
        s = jax.nn.sigmoid(x[1:] * x[:-1])
        rows = jnp.arange(29)
        return jnp.zeros((29, 30)).at[rows, rows].set(s * x[1:]).at[rows, rows + 1].add(s * x[:-1])

    x = jnp.asarray(RNG.standard_normal(30))
    report = verify.check(softplus_chain, jacobian, x, kind="jacobian", backends=("fd",), strategy="dense")
    assert report.passed, report.message()
    assert sum(batched) >= 8 * x.size and not plain, (batched, plain)  # every point of the stencil, in batches

    def wrong(x):
        return jacobian(x) * (1 + 1e-6)

    report = verify.check(softplus_chain, wrong, x, kind="jacobian", backends=("fd",), strategy="dense")
    assert not report.passed and "max relative error 1.00e-06" in report.message(), report.message()


def test_a_smooth_check_skips_the_kink_examination_and_a_kink_still_gets_it(monkeypatch):
    examined = []
    real = oracles.examine_kinks

    def counting(*args, **kwargs):
        examined.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(oracles, "examine_kinks", counting)
    x = RNG.standard_normal(20)
    smooth = verify.check(lambda x: np.sum(np.sin(x)), lambda x: np.cos(x), x, kind="gradient", backends=("fd",))
    assert smooth.passed and not examined

    x[3] = 0.0  # |x| at 0: sign(0) = 0, the average of the one-sided slopes, is a valid subgradient
    kinked = verify.check(lambda x: np.sum(np.abs(x)), lambda x: np.sign(x), x, kind="gradient", backends=("fd",))
    assert kinked.passed and examined
    assert any("valid subgradient" in n and "input 3" in n for n in kinked.notes), kinked.notes


def test_the_kink_examination_of_a_torch_function_is_batched_and_keeps_its_verdicts(monkeypatch):
    used = []
    real = oracles._batched_quotients
    monkeypatch.setattr(oracles, "_batched_quotients", lambda *a: used.append(len(r := real(*a))) or r)
    x = torch.tensor(RNG.standard_normal(12))
    x[4] = 0.0  # relu's kink, at the input

    def relu_sum(t):
        return torch.relu(t).sum()

    def right(t):
        return (t > 0).to(t.dtype)  # 0 at the kink: a valid subgradient

    def wrong(t):
        return (t > 0).to(t.dtype) * 2.0

    passed = verify.check(relu_sum, right, x, kind="gradient", backends=("fd",), strategy="dense")
    assert passed.passed and used and used[-1] == x.numel(), (passed.message(), used)
    assert any("valid subgradient" in n and "input 4" in n for n in passed.notes), passed.notes
    failed = verify.check(relu_sum, wrong, x, kind="gradient", backends=("fd",), strategy="dense")
    assert not failed.passed and "away from the kink of f" in failed.message(), failed.message()


def test_writes_are_compared_bit_for_bit_so_a_signed_zero_written_counts():
    """The write trap compares the bytes (a memcmp, cheap on the many calls of a check): −0.0
    written over 0.0 is a write, which a comparison of values could not see."""

    def flips_zero_sign(x):
        x[x == 0.0] = -0.0  # equal as values, not as bits
        return np.cos(x)

    x = np.array([0.0, 0.5, -1.0])
    result = verify.check(lambda x: np.sum(np.sin(x)), flips_zero_sign, x, kind="gradient")
    assert not result.passed
    assert all(c.reason.startswith("derivative writes into argument 0 (x)") for c in result.checks), [c.reason for c in result.checks]


# --------------------------------------------------------------------------------------
# JAX's references: traced once per function, kind and mode, and never stale
# --------------------------------------------------------------------------------------


def _softplus_dot(x, w):
    xp = jnp if not isinstance(x, np.ndarray) else np
    return xp.sum(xp.logaddexp(0.0, x) * w)


def _gradient(x, w):
    return w / (1 + np.exp(-x))


def test_jax_references_are_compiled_once_and_reused_at_new_points(monkeypatch):
    """Every argument is a jit argument: a second check of the same function at another
    point (a trial, the next call) reuses the compiled executables; a wrong gradient is
    still caught by them."""
    from verify import backends

    monkeypatch.setattr(backends, "_JAX_REFERENCES", {})
    x, w = RNG.standard_normal(6), RNG.standard_normal(6)
    first = verify.check(_softplus_dot, _gradient, x, w, kind="gradient", backends=("jax",))
    assert first.passed, first.message()
    kept = dict(backends._JAX_REFERENCES)
    assert kept and all(v is not None for v in kept.values())
    again = verify.check(_softplus_dot, _gradient, RNG.standard_normal(6), RNG.standard_normal(6), kind="gradient", backends=("jax",))
    assert again.passed and backends._JAX_REFERENCES.keys() == kept.keys()
    assert all(backends._JAX_REFERENCES[k] is kept[k] for k in kept)  # the same executables: nothing compiled again
    wrong = verify.check(_softplus_dot, lambda x, w: _gradient(x, w) * (1 + 1e-6), x, w, kind="gradient", backends=("jax",))
    assert not wrong.passed and all(backends._JAX_REFERENCES[k] is kept[k] for k in kept)
    assert "max relative error 1.00e-06 > tolerance" in wrong.message(), wrong.message()


def test_a_kept_trace_of_a_function_whose_global_changed_is_traced_again(monkeypatch):
    """A trace keeps the values of the globals f read when traced: an executable is reused
    only when the new trace's jaxpr and constants are those it was compiled from, so the
    reference follows the global (a kept stale executable would fail the right derivative)."""
    from verify import backends

    monkeypatch.setattr(backends, "_JAX_REFERENCES", {})
    scale = {"now": 2.0}

    def f(x):
        xp = jnp if not isinstance(x, np.ndarray) else np
        return xp.sum(xp.sin(x)) * scale["now"]

    def gradient(x):
        return np.cos(x) * scale["now"]

    x = RNG.standard_normal(5)
    assert verify.check(f, gradient, x, kind="gradient", backends=("jax",)).passed
    scale["now"] = 3.0
    after = verify.check(f, gradient, x, kind="gradient", backends=("jax",))
    assert after.passed, after.message()
    scale["now"] = 2.0
    wrong = verify.check(f, lambda x: np.cos(x) * 3.0, x, kind="gradient", backends=("jax",))
    assert not wrong.passed, wrong.message()


def _traces_of(monkeypatch, f, check_args, kind: str, times: int) -> list[tuple[int, bool]]:
    """How many times f's Python body runs under JAX (its traces) in each of ``times``
    checks of JAX alone, and whether each passed."""
    from verify import backends

    monkeypatch.setattr(backends, "_JAX_REFERENCES", {})
    counts = []
    for _ in range(times):
        before = f.traced
        report = verify.check(f, *check_args, kind=kind, backends=("jax",))
        counts.append((f.traced - before, report.passed))
    return counts


def test_a_check_seen_twice_is_guarded_by_fs_own_trace(monkeypatch):
    """Once the same derivatives have been traced twice, f's own trace (one run of its
    body, not the several of jvp-of-grad) guards the kept executable: a global f reads
    that changes after that is still seen, and the reference follows it."""
    scale = {"now": 2.0}

    def f(x):
        if not isinstance(x, np.ndarray):
            f.traced += 1
        xp = jnp if not isinstance(x, np.ndarray) else np
        return xp.sum(xp.logaddexp(0.0, x)) * scale["now"]  # logaddexp: a custom_jvp that JAX wrote

    f.traced = 0

    def hvp(x, v):
        s = 1 / (1 + np.exp(-x))
        return scale["now"] * s * (1 - s) * v

    x = RNG.standard_normal(7)
    counts = _traces_of(monkeypatch, f, (hvp, x), "hvp", 4)
    assert all(passed for _, passed in counts), counts
    first, second, third, fourth = (n for n, _ in counts)
    assert third == fourth == 1 and second > 1, counts  # the fast guard: f traced once
    scale["now"] = 3.0  # read by the primal: its trace changes, and the derivatives are traced again
    after = verify.check(f, hvp, x, kind="hvp", backends=("jax",))
    assert after.passed, after.message()
    stale = verify.check(f, lambda x, v: hvp(x, v) * 2.0 / 3.0, x, kind="hvp", backends=("jax",))
    assert not stale.passed and "jax" in stale.message(), stale.message()


def softplus_with_its_own_rule(rule: dict):
    """softplus as a custom_jvp whose rule reads the global ``rule["scale"]`` (1: right):
    a change of it changes the derivatives and neither f's value nor f's own trace."""

    @jax.custom_jvp
    def soft(x):
        return jnp.logaddexp(0.0, x)

    @soft.defjvp
    def soft_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return soft(x), rule["scale"] * jax.nn.sigmoid(x) * t

    return soft


def test_a_rule_of_the_users_own_keeps_the_full_guard(monkeypatch):
    """A custom_jvp rule written by the user can read a global f's own trace does not show:
    such a function is always guarded by the trace of its derivatives, so a changed rule
    is followed (a stale executable would pass the derivative the old rule gave)."""
    rule = {"scale": 1.0}
    soft = softplus_with_its_own_rule(rule)

    def f(x):
        if not isinstance(x, np.ndarray):
            f.traced += 1
            return jnp.sum(soft(x))
        return np.sum(np.logaddexp(0.0, x))

    f.traced = 0

    def gradient(x):
        return 1 / (1 + np.exp(-x))

    x = RNG.standard_normal(6)
    counts = _traces_of(monkeypatch, f, (gradient, x), "gradient", 4)
    assert all(passed for _, passed in counts), counts
    assert all(n > 1 for n, _ in counts[1:]), counts  # never the primal's trace alone
    rule["scale"] = 2.0  # the JAX reference now follows the changed (wrong) rule
    changed = verify.check(f, gradient, x, kind="gradient", backends=("jax",))
    assert not changed.passed, changed.message()
    assert "max relative error" in changed.message(), changed.message()


def test_a_function_that_needs_a_concrete_argument_is_traced_with_it_as_a_constant(monkeypatch):
    """int(k) of a traced k cannot be traced: JAX then takes the other arguments as
    constants (one trace per call), and the check runs with its JAX references."""
    from verify import backends

    monkeypatch.setattr(backends, "_JAX_REFERENCES", {})

    def power(x, k):
        return x ** int(k)

    x = RNG.standard_normal(4)
    report = verify.check(power, lambda x, k: 3 * x**2, x, np.array(3), kind="derivative", backends=("jax", "fd"))
    assert report.passed and {c.check for c in report.checks} >= {"jax.fwd", "jax.rev"}, report.message()
    wrong = verify.check(power, lambda x, k: 3 * x**2 * (1 + 1e-6), x, np.array(3), kind="derivative", backends=("jax",))
    assert not wrong.passed and all(not c.passed for c in wrong.checks)


def _logsumexp(x):
    xp = array_namespace(x)
    m = xp.max(x)
    return m + xp.log(xp.sum(xp.exp(x - m)))


def _logsumexp_hessian(x):
    s = np.exp(x - np.max(x))
    s /= s.sum()
    return np.diag(s) - np.outer(s, s)


def test_a_finite_difference_hessian_takes_a_few_calls_per_pair_and_sees_a_small_curvature():
    """Ridders' second differences (oracles.fd_hessian_flat): about 4 calls of f per pair of
    inputs, where scipy.differentiate.hessian's nested differences took 121 to 729; and accurate
    where f is large and its curvature small (log-sum-exp with one input at 13: f ≈ 13,
    max|H| = 8e-5), where the nested differences were 18 % off, said so in their estimate,
    and so let a Hessian wrong by 0.1 % pass."""
    x = np.array([0.92999874, -1.28868197, 13.18792841, 1.06862699, 3.59563901, -0.3145032])
    calls = []

    def f(x):
        calls.append(1)
        return _logsumexp(x)

    result = oracles.finite_difference("hessian", f, (x,), (0,), None, 0.05)
    exact = _logsumexp_hessian(x)
    assert len(calls) <= 8 * x.size**2, len(calls)
    assert np.max(np.abs(result.value - exact)) <= 1e-5 * np.max(np.abs(exact)) and result.error_estimate <= 1e-4
    assert verify.check(_logsumexp, _logsumexp_hessian, x, kind="hessian", backends=("fd",)).passed

    def wrong(x):
        h = _logsumexp_hessian(x)
        h[2, 3] += 1e-3 * np.max(np.abs(h))
        h[3, 2] = h[2, 3]
        return h

    report = verify.check(_logsumexp, wrong, x, kind="hessian", backends=("fd",))
    assert not report.passed and "max relative error 1.00e-03" in report.message(), report.message()
