"""verify.check: a user's function and hand-coded derivative, every kind, through the engine.

The example functions below are array-API primals with numpy derivatives, as a user
would write them; tests/test_projection.py reuses them at large sizes.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from array_api_compat import array_namespace

import verify
from verify.api import VerificationError

# --------------------------------------------------------------------------------------
# A user's functions: a tanh layer (jacobian, jvp, vjp) and an energy (gradient, hessian, hvp)
# --------------------------------------------------------------------------------------


def tanh_layer(x, W):
    """tanh(W x), W shaped (m, n)."""
    xp = array_namespace(x, W)
    return xp.tanh(W @ x)


def tanh_layer_jacobian(x, W):
    return (1 - np.tanh(W @ x) ** 2)[:, None] * W


def tanh_layer_jvp(x, W, tangent):
    return (1 - np.tanh(W @ x) ** 2) * (W @ tangent)


def tanh_layer_vjp(x, W, cotangent):
    return W.T @ ((1 - np.tanh(W @ x) ** 2) * cotangent)


def tanh_layer_vjp_both(x, W, cotangent):
    s = (1 - np.tanh(W @ x) ** 2) * cotangent
    return W.T @ s, np.outer(s, x)


def energy(x, A):
    """½ xᵀAx + Σ exp(x/2): a scalar with a non-diagonal, non-symmetric-A Hessian."""
    xp = array_namespace(x, A)
    return 0.5 * xp.sum(x * (A @ x)) + xp.sum(xp.exp(0.5 * x))


def energy_gradient(x, A):
    return 0.5 * (A @ x + A.T @ x) + 0.5 * np.exp(0.5 * x)


def energy_hessian(x, A):
    return 0.5 * (A + A.T) + np.diag(0.25 * np.exp(0.5 * x))


def energy_hvp(x, A, vector):
    return 0.5 * (A @ vector + A.T @ vector) + 0.25 * np.exp(0.5 * x) * vector


def numpy_only_energy(x):
    """Runs on numpy only (np.asarray drops any framework array)."""
    x = np.asarray(x)
    return float(np.sum(np.log1p(x**2)))


def numpy_only_energy_gradient(x):
    return 2 * x / (1 + x**2)


def layer_args(rng, n=5, m=3):
    return rng.standard_normal(n), rng.standard_normal((m, n))


def energy_args(rng, n=5):
    return rng.standard_normal(n), rng.standard_normal((n, n))


CASES = {
    "gradient": (energy, energy_gradient, energy_args, {}),
    "hessian": (energy, energy_hessian, energy_args, {}),
    "hvp": (energy, energy_hvp, energy_args, {}),
    "jacobian": (tanh_layer, tanh_layer_jacobian, layer_args, {}),
    "jvp": (tanh_layer, tanh_layer_jvp, layer_args, {}),
    "vjp": (tanh_layer, tanh_layer_vjp, layer_args, {}),
    "vjp (x, W)": (tanh_layer, tanh_layer_vjp_both, layer_args, {"wrt": (0, 1)}),
}


def scaled(derivative, factor):
    """A planted wrong derivative: every output multiplied by ``factor``."""

    def wrong(*args):
        result = derivative(*args)
        return tuple(r * factor for r in result) if isinstance(result, tuple) else result * factor

    return wrong


def kind_of(case: str) -> str:
    return case.split()[0]


# --------------------------------------------------------------------------------------
# Every kind passes when right and fails on a relative 1e-8 error
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_correct_derivative_of_every_kind_passes_every_check(case):
    function, derivative, sample, options = CASES[case]
    result = verify.check(function, derivative, *sample(np.random.default_rng(1)), kind=kind_of(case), **options)
    assert result.passed, result.message()
    assert {c.backend for c in result.checks} == {"jax", "torch.func", "torch.autograd", "numpy"}
    assert not result.projected


@pytest.mark.parametrize("case", CASES)
def test_relative_1e8_error_fails_every_autodiff_check(case):
    function, derivative, sample, options = CASES[case]
    result = verify.check(function, scaled(derivative, 1 + 1e-8), *sample(np.random.default_rng(1)), kind=kind_of(case), **options)
    autodiff = [c for c in result.checks if c.oracle == "autodiff"]
    assert not result.passed
    assert len(autodiff) == 5 and not any(c.passed for c in autodiff), result.message()


# --------------------------------------------------------------------------------------
# The result object
# --------------------------------------------------------------------------------------


def test_result_prints_like_a_cli_row():
    x, A = energy_args(np.random.default_rng(2))
    text = str(verify.check(energy, energy_gradient, x, A, kind="gradient"))
    header, row = text.splitlines()[:2]
    assert header.startswith("identity") and "jax fwd" in header and "fd" in header
    assert row.startswith("energy") and "user function energy: gradient" in row and row.endswith("PASS")


def test_raise_for_failure_names_identity_backend_mode_error_and_tolerance():
    x, A = energy_args(np.random.default_rng(2))
    result = verify.check(energy, scaled(energy_gradient, -1), x, A, kind="gradient")
    assert "FAIL" in str(result)
    with pytest.raises(VerificationError) as caught:
        result.raise_for_failure()
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert "energy [jax, forward]: FAIL: max relative error" in message
    assert "energy [torch.autograd, tape]" in message and "> tolerance 1e-10" in message
    with pytest.raises(VerificationError):
        verify.check(energy, scaled(energy_gradient, -1), x, A, kind="gradient", raise_on_failure=True)
    assert verify.check(energy, energy_gradient, x, A, kind="gradient").raise_for_failure().passed


def test_numpy_only_function_is_checked_against_finite_differences_alone():
    x = np.random.default_rng(3).standard_normal(6)
    result = verify.check(numpy_only_energy, numpy_only_energy_gradient, x, kind="gradient")
    assert result.passed, result.message()
    assert [c.check for c in result.checks] == ["fd"]
    assert "finite differences only" in str(result) and "finite differences only" in result.message()
    wrong = verify.check(numpy_only_energy, scaled(numpy_only_energy_gradient, 1 + 1e-4), x, kind="gradient")
    assert not wrong.passed


def test_backends_option_restricts_the_checks():
    x, A = energy_args(np.random.default_rng(4))
    result = verify.check(energy, energy_gradient, x, A, kind="gradient", backends=("torch",))
    assert {c.check for c in result.checks} == {"torch.fwd", "torch.rev", "torch.tape"}


def test_tolerance_option_loosens_every_oracle():
    x, A = energy_args(np.random.default_rng(4))
    wrong = scaled(energy_gradient, 1 + 1e-8)
    assert not verify.check(energy, wrong, x, A, kind="gradient").passed
    assert verify.check(energy, wrong, x, A, kind="gradient", tolerance=1e-6, tolerance_reason="a test of the option").passed


def test_bad_arguments_are_rejected_with_a_reason():
    x, A = energy_args(np.random.default_rng(5))
    with pytest.raises(ValueError, match="kind 'grad' is not one of"):
        verify.check(energy, energy_gradient, x, A, kind="grad")
    with pytest.raises(ValueError, match="projection must be one of"):
        verify.check(energy, energy_gradient, x, A, kind="gradient", projection="sometimes")
    with pytest.raises(ValueError, match="backends must be among"):
        verify.check(energy, energy_gradient, x, A, kind="gradient", backends=("tensorflow",))


def test_importing_verify_does_not_import_jax_or_torch():
    code = "import sys, verify; verify.check; print('jax' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_argument_mistakes_are_usage_errors_raised_before_any_check():
    """verify.UsageError is a ValueError; wrt, kind, dtype and the derivative's arity are
    checked before anything runs (tests/test_traps.py has every case)."""
    x, A = energy_args(np.random.default_rng(6))
    calls = []

    def counted(x, A):
        calls.append(1)
        return energy_gradient(x, A)

    for options in ({"wrt": 5}, {"wrt": (0, 0)}, {"dtype": "float8"}, {"backends": ("tensorflow",)}):
        with pytest.raises(verify.UsageError):
            verify.check(energy, counted, x, A, kind="gradient", **options)
    with pytest.raises(verify.UsageError, match="a hvp derivative is called as derivative"):
        verify.check(energy, lambda x, A: x, x, A, kind="hvp")
    assert calls == []
    assert issubclass(verify.UsageError, ValueError)


def test_the_primal_value_is_reused_only_from_a_clean_call():
    """verify.check calls f once to see whether its result is structured and hands that
    value to the engine: only when the call wrote nothing and raised no floating-point
    error. A structured result is still seen behind an overflow, and a write is still named."""
    from verify.api import _needs_structure

    def overflowing_dict(x):
        return {"big": np.exp(x * 1e3), "x": x}

    seen: dict = {}
    assert _needs_structure(overflowing_dict, (np.array([1.0, 2.0]),), 0, seen) and "out" not in seen

    def writes(x):
        x[0] = 0.0
        return np.sum(x**2)

    seen = {}
    assert not _needs_structure(writes, (np.array([1.0, 2.0]),), 0, seen) and "out" not in seen
    report = verify.check(writes, lambda x: 2 * x, np.array([1.0, 2.0]), kind="gradient", backends=("fd",))
    assert not report.passed and "primal writes into argument 0 (x)" in report.message(), report.message()

    seen = {}
    x = np.array([1.0, 2.0])
    assert not _needs_structure(lambda x: np.sum(x**2), (x,), 0, seen) and seen["out"] == 5.0


def test_whether_f_runs_on_a_framework_is_asked_once_per_function_and_shapes():
    """runs_on remembers a yes per function, framework and argument shapes and dtypes (a
    second check of the same layer does not trace or call it again); a new shape, dtype or
    framework asks again, a no is asked again, and a function that goes away leaves nothing."""
    import gc
    import weakref

    from verify import api

    calls = []

    def f(x):
        calls.append(type(x).__module__.split(".")[0])
        return array_namespace(x).sum(array_namespace(x).tanh(x))

    for _ in range(3):
        assert api.runs_on("torch", f, (np.ones(4),)) and api.runs_on("jax", f, (np.ones(4),))
    assert calls == ["torch", "jax"]  # JAX traces f once: its arrays are tracers of jax's module
    assert api.runs_on("torch", f, (np.ones(5),)) and api.runs_on("torch", f, (np.ones(4, dtype=np.float32),))
    assert calls == ["torch", "jax", "torch", "torch"]
    numpy_only = []

    def g(x):
        numpy_only.append(1)
        return np.sum(np.tanh(np.asarray(x)))

    assert not api.runs_on("torch", g, (np.ones(4),)) and not api.runs_on("torch", g, (np.ones(4),))
    assert len(numpy_only) == 2
    gone = weakref.ref(f)
    del f
    gc.collect()
    assert gone() is None  # the cache did not keep it alive


def test_asking_whether_f_runs_on_torch_computes_nothing_where_meta_tensors_do():
    """runs_on answers for torch on meta tensors (shapes, no arithmetic) where a real call
    would cost (f's numpy call took long, or, not timed, the arguments are large), on real
    tensors where a call is cheap or an operation needs values, and a numpy-only function
    still answers no (asked each time: _runs_on, which runs_on remembers)."""
    import torch

    from verify.api import META_ABOVE_S, META_ABOVE_SIZE, _runs_on, runs_on

    devices = []

    def f(x):
        devices.append(x.device.type if isinstance(x, torch.Tensor) else "numpy")
        return array_namespace(x).sum(array_namespace(x).tanh(x))

    def needs_a_value(x):  # .item() has no meta kernel
        devices.append(x.device.type)
        return x * float(x.max().item())

    large = np.ones(META_ABOVE_SIZE + 1)
    assert _runs_on("torch", f, (np.ones(4),), primal_seconds=2 * META_ABOVE_S) and devices == ["meta"]
    devices.clear()
    assert _runs_on("torch", f, (large,)) and devices == ["meta"]
    devices.clear()
    assert _runs_on("torch", f, (large,), primal_seconds=META_ABOVE_S / 2) and devices == ["cpu"]
    devices.clear()
    assert _runs_on("torch", f, (np.ones(4),)) and devices == ["cpu"]
    devices.clear()
    assert _runs_on("torch", needs_a_value, (large,)) and devices == ["meta", "cpu"]
    assert not runs_on("torch", lambda x: np.sum(np.tanh(np.asarray(x))), (np.ones(4),))
