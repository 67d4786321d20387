"""Value-independent traps: writes into arguments, nondeterminism, kinks (dense and
projected), test-point adequacy and usage mistakes.

Each verdict has a planted wrong derivative that it rejects and a planted correct but
tricky one (an in-place cotangent, a subgradient at a kink, a primal that writes into
its input) that it reports without a false alarm.
"""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import array_namespace

import verify
from verify.tolerances import TOLERANCES

from .test_api import energy, energy_args, energy_gradient, tanh_layer, tanh_layer_vjp

# --------------------------------------------------------------------------------------
# Writes into arguments: every call gets its own copies, and a write is its own verdict
# --------------------------------------------------------------------------------------


def cube_sum(x):
    return array_namespace(x).sum(x**3)


def test_a_derivative_that_writes_into_its_input_can_no_longer_pass_while_wrong():
    """3(2x)² is wrong at x; evaluated after it doubled x in place, every reference used to
    agree with it. Now the references see the caller's x, and the write is named."""

    def doubling_gradient(x):
        x *= 2
        return 3 * x**2

    x = np.array([0.5, -1.2, 2.0])
    before = x.copy()
    result = verify.check(cube_sum, doubling_gradient, x, kind="gradient")
    assert np.array_equal(x, before)  # the caller's array is untouched
    assert not result.passed and len(result.checks) == 6
    for c in result.checks:
        assert c.reason.startswith("derivative writes into argument 0 (x); the values, compared on copies: max relative error"), c.reason
        assert "> tolerance" in c.reason  # and the values are wrong as well


def test_a_right_derivative_that_writes_into_its_input_fails_with_that_reason_only():
    def scratch_vjp(x, W, cotangent):
        result = tanh_layer_vjp(x, W, cotangent)
        x.fill(0.0)  # reuses its input as scratch space
        return result

    rng = np.random.default_rng(0)
    x, W = rng.standard_normal(5), rng.standard_normal((3, 5))
    result = verify.check(tanh_layer, scratch_vjp, x, W, kind="vjp")
    assert not result.passed
    for c in result.checks:
        assert c.reason.startswith("derivative writes into argument 0 (x); the values, compared on copies"), c.reason
        assert "<= tolerance" in c.reason  # the values themselves are right
    assert verify.check(tanh_layer, tanh_layer_vjp, x, W, kind="vjp").passed


def test_a_primal_that_writes_into_its_input_is_named_and_its_derivative_still_judged():
    def clearing_energy(x):  # right value, then clears its (numpy) input
        xp = array_namespace(x)
        value = xp.sum(xp.tanh(x) ** 2)
        if isinstance(x, np.ndarray):
            x.fill(0.0)
        return value

    def right(x):
        t = np.tanh(x)
        return 2 * t * (1 - t**2)

    x = np.array([0.3, -1.2, 2.0])
    result = verify.check(clearing_energy, right, x, kind="gradient")
    assert not result.passed and np.array_equal(x, [0.3, -1.2, 2.0])
    for c in result.checks:
        assert c.reason.startswith("primal writes into argument 0 (x); the values, compared on copies"), c.reason
        assert "<= tolerance" in c.reason, c.reason
    wrong = verify.check(clearing_energy, lambda x: right(x) * 1.01, x, kind="gradient")
    assert all("primal writes into argument 0 (x)" in c.reason and "> tolerance" in c.reason for c in wrong.checks)
    # projected, differences only: their shifted points go to f uncopied (Guarded.on_fresh), the write is still named
    projected = verify.check(clearing_energy, right, x, kind="gradient", backends=("fd",), projection=True)
    assert not projected.passed and projected.projected and np.array_equal(x, [0.3, -1.2, 2.0])
    assert all(c.reason.startswith("primal writes into argument 0 (x)") for c in projected.checks), projected.message()


@pytest.mark.parametrize("n", [4, 70_000])  # below and above engine.BYTES_COMPARED_AS_BYTES
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.int8])
def test_same_bits_sees_every_changed_bit_and_treats_nan_as_itself(n, dtype):
    """The write check compares bits: a NaN equals the same NaN, −0.0 differs from 0.0,
    and one changed entry anywhere is seen, in contiguous and strided arrays alike."""
    from verify.engine import BYTES_COMPARED_AS_BYTES, same_bits

    a = np.zeros(n, dtype)
    assert (a.nbytes > BYTES_COMPARED_AS_BYTES) == (n > 4)
    if np.issubdtype(dtype, np.inexact):
        a[0] = np.nan
        assert same_bits(a, a.copy())
        negative_zero = a.copy()
        negative_zero[-1] = -0.0
        assert not same_bits(a, negative_zero)
    changed = a.copy()
    changed[n // 2] = 1
    assert not same_bits(a, changed) and not same_bits(a[::2], changed[::2])  # n // 2 is even
    assert same_bits(a[1::2], changed[1::2])


def test_a_primal_that_writes_one_entry_of_a_large_input_is_named():
    """At 10⁵ inputs (compared through an integer view of the bits, not two byte copies),
    one written entry is still a write."""

    def touching_energy(x):
        xp = array_namespace(x)
        value = xp.sum(xp.tanh(x) ** 2)
        if isinstance(x, np.ndarray):
            x[12345] = 0.0
        return value

    x = np.random.default_rng(3).standard_normal(10**5)
    result = verify.check(touching_energy, lambda x: 2 * np.tanh(x) * (1 - np.tanh(x) ** 2), x, kind="gradient", backends=("fd",))
    assert not result.passed and all(c.reason.startswith("primal writes into argument 0 (x)") for c in result.checks), result.message()


def test_a_right_vjp_that_scales_its_cotangent_in_place_passes_and_says_so():
    def in_place_vjp(x, W, cotangent):
        cotangent *= 1 - np.tanh(W @ x) ** 2
        return W.T @ cotangent

    rng = np.random.default_rng(1)
    x, W = rng.standard_normal(5), rng.standard_normal((3, 5))
    result = verify.check(tanh_layer, in_place_vjp, x, W, kind="vjp")
    assert result.passed, result.message()
    assert not any(c.reason for c in result.checks)
    assert any("writes into its cotangent: harmless here (each call gets its own copy)" in n for n in result.notes)

    def wrong_in_place_vjp(x, W, cotangent):  # forgets the tanh' factor's square
        cotangent *= 1 - np.tanh(W @ x)
        return W.T @ cotangent

    assert not any(c.passed for c in verify.check(tanh_layer, wrong_in_place_vjp, x, W, kind="vjp").checks)


# --------------------------------------------------------------------------------------
# Nondeterminism: the derivative runs twice on copies of the same input
# --------------------------------------------------------------------------------------


def test_two_calls_that_differ_are_a_nondeterminism_verdict():
    calls = []

    def drifting_gradient(x, A):
        calls.append(1)
        return energy_gradient(x, A) * (1 + 1e-12 * len(calls))  # within every value tolerance

    x, A = energy_args(np.random.default_rng(2))
    result = verify.check(energy, drifting_gradient, x, A, kind="gradient")
    assert not result.passed
    for c in result.checks:
        assert c.reason.startswith("nondeterministic: results differ by 1.00e-12 between two calls on the same input"), c.reason
    assert verify.check(energy, energy_gradient, x, A, kind="gradient").passed  # a deterministic one passes
    assert {TOLERANCES[("nondeterminism", d)] for d in ("float64", "float32", "float16", "bfloat16")} == {0.0}


def test_an_unseeded_random_derivative_is_nondeterministic():
    noise = np.random.default_rng()

    def dropout_like(x, A):
        return energy_gradient(x, A) * (1.0 + 0.5 * noise.random(x.shape))  # a mask could repeat by chance; this cannot

    result = verify.check(energy, dropout_like, *energy_args(np.random.default_rng(3)), kind="gradient")
    assert all("nondeterministic: results differ by" in c.reason for c in result.checks)


# --------------------------------------------------------------------------------------
# Kinks, dense path: a value between the one-sided derivatives is a valid subgradient
# --------------------------------------------------------------------------------------


def l1(x):
    return array_namespace(x).sum(array_namespace(x).abs(x))


def relu(x):
    xp = array_namespace(x)
    return xp.maximum(x, xp.zeros_like(x))


def test_frameworks_pick_different_subgradients_and_none_is_a_false_alarm():
    """|x|'(0): JAX 1, torch 0, sign 0: each autodiff check that disagrees with the hand-coded
    value is judged by the one-sided interval [−1, 1] at the kink, not by its own choice."""
    x = np.array([0.0, 1.5, -2.0])
    for subgradient in (0.0, 1.0, -0.25):
        result = verify.check(l1, lambda x, s=subgradient: np.where(x == 0, s, np.sign(x)), x, kind="gradient")
        assert result.passed, result.message()
        assert any("valid subgradient (left -1, right 1" in n for n in result.notes), result.notes
    wrong = verify.check(l1, lambda x: np.where(x == 0, 1.5, np.sign(x)), x, kind="gradient")
    for c in wrong.checks:
        assert "hand-coded value 1.5 at entry (0,) is not a valid subgradient" in c.reason and "[-1, 1]" in c.reason, c.reason
    off_the_kink = verify.check(l1, lambda x: np.sign(x) * 1.01, x, kind="gradient")  # wrong where f is smooth
    assert all("away from the kink of f" in c.reason for c in off_the_kink.checks)


def test_kink_of_a_vjp_and_of_a_jvp():
    x = np.array([1.0, 0.0, -2.0, 0.0, 0.5])
    right_vjp = lambda x, c: c * (x > 0)  # noqa: E731
    assert verify.check(relu, right_vjp, x, kind="vjp").passed
    outside_vjp = lambda x, c: c * np.where(x == 0, 2.0, x > 0)  # noqa: E731
    assert not any(c.passed for c in verify.check(relu, outside_vjp, x, kind="vjp").checks)
    right_jvp = lambda x, t: t * (x >= 0)  # noqa: E731  (relu'(0) = 1: still inside [0, 1])
    result = verify.check(relu, right_jvp, x, kind="jvp")
    assert result.passed, result.message()
    outside_jvp = lambda x, t: t * np.where(x == 0, -1.0, x > 0)  # noqa: E731
    assert not any(c.passed for c in verify.check(relu, outside_jvp, x, kind="jvp").checks)


# --------------------------------------------------------------------------------------
# Kinks, projected path (n = 10⁵): ReLU, max-pooling and Huber with values at the kink
# --------------------------------------------------------------------------------------

N = 100_000
DELTA = 1.0


def max_pool(x):
    """max over non-overlapping pairs."""
    xp = array_namespace(x)
    return xp.max(xp.reshape(x, (-1, 2)), axis=1)


def max_pool_vjp(x, cotangent):
    pairs = x.reshape(-1, 2)
    first = pairs[:, 0] >= pairs[:, 1]  # a tie goes to the first
    return np.stack([cotangent * first, cotangent * ~first], axis=1).reshape(-1)


def huber(r):
    xp = array_namespace(r)
    a = xp.abs(r)
    return xp.sum(xp.where(a <= DELTA, 0.5 * r * r, DELTA * (a - 0.5 * DELTA)))


def huber_gradient(r):
    return np.clip(r, -DELTA, DELTA)


def kinked_inputs(seed: int):
    """10 % of the entries exactly at each function's kink."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(N)
    x[rng.random(N) < 0.1] = 0.0
    pooled = rng.standard_normal(N)
    pairs = pooled.reshape(-1, 2)
    ties = rng.random(N // 2) < 0.1
    pairs[ties, 1] = pairs[ties, 0]
    residuals = 1.5 * rng.standard_normal(N)
    at = rng.random(N) < 0.1
    residuals[at] = np.sign(residuals[at]) * DELTA
    return {"relu": (relu, lambda x, c: c * (x > 0), x, "vjp"), "max_pool": (max_pool, max_pool_vjp, pooled, "vjp"),
            "huber": (huber, huber_gradient, residuals, "gradient")}


@pytest.fixture(scope="module")
def kinked():
    return kinked_inputs(0)


@pytest.mark.parametrize("name", ["relu", "max_pool", "huber"])
def test_projected_check_has_no_false_alarm_at_kinks(kinked, name):
    function, derivative, x, kind = kinked[name]
    result = verify.check(function, derivative, x, kind=kind)
    assert result.projected and result.passed, result.message()


@pytest.mark.parametrize("name", ["relu", "max_pool", "huber"])
def test_projected_check_still_fails_a_wrong_derivative_at_kinks(kinked, name):
    function, derivative, x, kind = kinked[name]
    scaled = verify.check(function, lambda *a: derivative(*a) * (1 + 1e-6), x, kind=kind)
    assert not any(c.passed for c in scaled.checks if c.oracle == "autodiff"), scaled.message()


def test_projected_check_fails_a_value_outside_the_interval_at_kinks(kinked):
    function, _, x, kind = kinked["relu"]
    result = verify.check(function, lambda x, c: c * np.where(x == 0, 2.0, x > 0), x, kind=kind)
    assert not any(c.passed for c in result.checks)
    assert all(c.reason.startswith("not a valid subgradient at the kinks of f") for c in result.checks), result.message()
    inside = verify.check(function, lambda x, c: c * np.where(x == 0, 0.5, x > 0), x, kind=kind)
    assert inside.passed and any("valid subgradient" in n for n in inside.notes)


def test_projected_check_fails_a_tie_weight_outside_the_interval(kinked):
    """Max-pooling's ties: weights 1.5 and 0 are outside [0, 1]. Summed over thousands of
    ties, values above and below their intervals cancel; the outputs judged one at a time
    catch it."""
    function, _, x, kind = kinked["max_pool"]

    def tie_weight(x, cotangent):
        pairs = x.reshape(-1, 2)
        first, tie = pairs[:, 0] >= pairs[:, 1], pairs[:, 0] == pairs[:, 1]
        return np.stack([cotangent * np.where(tie, 1.5, first), cotangent * ~first], axis=1).reshape(-1)

    result = verify.check(function, tie_weight, x, kind=kind)
    assert not any(c.passed for c in result.checks)
    assert all(c.reason.startswith("not a valid subgradient at the kinks of f") for c in result.checks), result.message()


# --------------------------------------------------------------------------------------
# Test-point adequacy: inputs at which common wrong formulas give the right numbers
# --------------------------------------------------------------------------------------


def test_a_symmetric_matrix_is_named_because_a_wrong_derivative_passes_there():
    x, A = energy_args(np.random.default_rng(4))
    S = A + A.T
    wrong = lambda x, A: A @ x  # noqa: E731  (right only for symmetric A)
    at_symmetric = verify.check(energy_quadratic, wrong, x, S, kind="gradient")
    assert at_symmetric.passed  # the planted wrong derivative is invisible here ...
    assert "argument 1 (A) is symmetric: a derivative that confuses A and Aᵀ (or uses only its symmetric part) passes here" in at_symmetric.notes
    assert not verify.check(energy_quadratic, wrong, x, A, kind="gradient").passed  # ... and caught at a non-symmetric A
    assert not [n for n in verify.check(energy_quadratic, lambda x, A: 0.5 * (A + A.T) @ x, x, A, kind="gradient").notes if "symmetric" in n]


def energy_quadratic(x, A):
    return 0.5 * array_namespace(x, A).sum(x * (A @ x))


def test_zeros_ones_and_shapes_that_hide_a_transpose_are_named():
    x, A = energy_args(np.random.default_rng(5))
    zeros = verify.check(cube_sum, lambda x: 3 * x**2, np.zeros(3), kind="gradient")
    assert "argument 0 (x) is all zeros" in " ".join(zeros.notes)
    assert verify.check(cube_sum, lambda x: 2 * x, np.zeros(3), kind="gradient").passed  # a wrong 2x passes at 0
    ones = verify.check(cube_sum, lambda x: 3 * x**2, np.ones(3), kind="gradient")
    assert "argument 0 (x) is all ones" in " ".join(ones.notes)
    assert verify.check(cube_sum, lambda x: 3 * x, np.ones(3), kind="gradient").passed  # a wrong 3x passes at 1
    square = verify.check(energy_quadratic, lambda x, A: 0.5 * np.outer(x, x), x, A, kind="gradient", wrt=1)
    assert square.passed and "argument 1 (A) has shape (5, 5), two axes of length 5" in " ".join(square.notes)
    assert verify.check(energy_quadratic, lambda x, A: 0.5 * np.outer(x, x).T, x, A, kind="gradient", wrt=1).passed  # xxᵀ is symmetric

    def bilinear(X, W):
        return array_namespace(X, W).sum(X * W.T)

    X = np.random.default_rng(6).standard_normal((3, 5))
    W = np.random.default_rng(7).standard_normal((5, 3))
    result = verify.check(bilinear, lambda X, W: W.T, X, W, kind="gradient")
    assert "argument 0 (X) and argument 1 (W) have transposed shapes (3, 5) and (5, 3)" in " ".join(result.notes)
    plain = verify.check(energy, energy_gradient, *energy_args(np.random.default_rng(8)), kind="gradient")
    assert plain.notes == []


# --------------------------------------------------------------------------------------
# Usage mistakes: one UsageError (a ValueError), at once, one line
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        ({"wrt": 2}, "wrt=2 is out of range: 2 argument(s) were given, positions 0 to 1"),
        ({"wrt": -1}, "wrt=-1 is out of range"),
        ({"wrt": (0, 0)}, "wrt=(0, 0) names an argument twice"),
        ({"wrt": ()}, "wrt=() names no argument"),
        ({"wrt": 1.0}, "wrt=1.0: give an argument's position (an int) or name (a str)"),
        ({"wrt": "y"}, "wrt='y': the primal has no parameter named 'y' among its 2 argument(s) ('x', 'A')"),
        ({"wrt": True}, "wrt=True: give an argument's position"),
        ({"kind": "grad"}, "kind 'grad' is not one of derivative, gradient"),
        ({"dtype": "int8"}, "dtype 'int8' has no row in the tolerance table (verify/tolerances.py): choose from float64, float32, float16, bfloat16"),
        ({"kind": "hessian", "wrt": (0, 1)}, "a hessian is taken with respect to one argument"),
    ],
)
def test_argument_mistakes_raise_one_usage_error(options, message):
    x, A = energy_args(np.random.default_rng(9))
    options = {"kind": "gradient", **options}
    with pytest.raises(verify.UsageError) as caught:
        verify.check(energy, energy_gradient, x, A, **options)
    assert isinstance(caught.value, ValueError)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_wrt_by_numpy_integer_or_by_name_is_accepted():
    x, A = energy_args(np.random.default_rng(10))
    for wrt in (np.int64(0), "x", [0], ("x",)):
        assert verify.check(energy, energy_gradient if not isinstance(wrt, (list, tuple)) else (lambda x, A: (energy_gradient(x, A),)),
                            x, A, kind="gradient", wrt=wrt).passed, wrt


def test_derivative_mistakes_raise_one_usage_error():
    x, A = energy_args(np.random.default_rng(11))
    with pytest.raises(verify.UsageError, match=r"^the derivative returned None \(missing return\?\)$"):
        verify.check(energy, lambda x, A: None, x, A, kind="gradient")
    with pytest.raises(verify.UsageError, match=r"^a vjp derivative is called as derivative\(\*args, cotangent\) with the 2 argument\(s\) given: yours takes 1 argument$"):
        verify.check(tanh_layer, lambda cotangent: cotangent, x, A[:3], kind="vjp")
    with pytest.raises(verify.UsageError, match=r"a jvp derivative is called as derivative\(\*args, tangents \(a tuple, one per wrt argument\)\)"):
        verify.check(tanh_layer, lambda x, W, tx, tW: tx, x, A[:3], kind="jvp", wrt=(0, 1))
    with pytest.raises(verify.UsageError, match=r"a gradient derivative is called as derivative\(\*args\) with the 2 argument\(s\) given: yours takes 3 arguments"):
        verify.check(energy, lambda x, A, v: x, x, A, kind="gradient")


def test_float16_and_bfloat16_have_tolerance_rows_and_still_catch_errors():
    x, A = energy_args(np.random.default_rng(12))
    for dtype, caught in (("float16", 1.1), ("bfloat16", 1.5)):
        result = verify.check(energy, energy_gradient, x, A, kind="gradient", dtype=dtype)
        assert result.passed, (dtype, result.message())
        assert {c.tolerance for c in result.checks if c.oracle == "autodiff"} == {TOLERANCES[("autodiff", dtype)]}
        wrong = verify.check(energy, lambda x, A, f=caught: energy_gradient(x, A) * f, x, A, kind="gradient", dtype=dtype)
        assert not any(c.passed for c in wrong.checks), (dtype, wrong.message())


# --------------------------------------------------------------------------------------
# The README's example of these verdicts is what the engine prints
# --------------------------------------------------------------------------------------


def test_readme_traps_example_is_current():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in readme.split("```text\n")[1:] if "relu_vjp_scratch" in b).split("```")[0]

    def relu_vjp(x, cotangent):
        cotangent *= x > 0
        return cotangent

    def relu_vjp_scratch(x, cotangent):
        x[x < 0] = 0
        return cotangent * (x > 0)

    x = np.array([1.0, 0.0, -2.0])
    printed = verify.check(relu, relu_vjp, x, kind="vjp").message().splitlines()
    printed.append(verify.check(relu, relu_vjp_scratch, x, kind="vjp").failures[0].message())
    with pytest.raises(verify.UsageError) as caught:
        verify.check(relu, relu_vjp, x, kind="vjp", wrt=1)
    printed.append(f"UsageError: {caught.value}")
    expected = [line for line in block.splitlines() if not line.startswith((">>>", "..."))]
    assert printed == expected


def test_a_derivative_returning_none_is_a_usage_error_on_the_projected_path_too():
    x = np.random.default_rng(13).standard_normal(50)
    with pytest.raises(verify.UsageError, match=r"^the derivative returned None \(missing return\?\)$"):
        verify.check(cube_sum, lambda x: None, x, kind="gradient", projection=True)
    from verify.api import user_identity
    from verify.engine import run_entry

    rows = run_entry(user_identity(cube_sum, lambda x: None, (x,), kind="gradient"), args=(x,), projection=True)
    assert all(c.reason == "the derivative returned None (missing return?)" for c in rows.checks)  # the CLI's rows
