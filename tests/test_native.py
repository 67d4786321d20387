"""verify.check on framework-native layers and structured arguments (verify/native.py).

Each capability is shown twice: a correct layer passes, a planted wrong one fails with a
message that names the identity, the backend, the mode and the error (and where)."""

from __future__ import annotations

import numpy as np
import pytest

import verify

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import torch.nn.functional as F  # noqa: E402

RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------------------
# torch.autograd.Function: its registered backward (and jvp) is what is checked
# --------------------------------------------------------------------------------------


def make_square(backward_factor=2.0, jvp_factor=2.0, with_jvp=True):
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.x = x
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return backward_factor * g * x

        if with_jvp:
            @staticmethod
            def jvp(ctx, t):
                return jvp_factor * ctx.x * t

    return Square


def x_tensor(shape=(4, 3), requires_grad=True):
    return torch.tensor(RNG.standard_normal(shape), requires_grad=requires_grad)


def test_autograd_function_backward_checked_against_its_jvp_and_finite_differences():
    report = verify.check(make_square(), x_tensor(), strategy="dense")
    assert report.passed, report.message()
    assert {c.check for c in report.checks} == {"torch.fwd", "fd"}
    assert any("the registered backward of Square" in n for n in report.notes)


def test_wrong_backward_is_named_with_backend_mode_error_and_location():
    report = verify.check(make_square(backward_factor=1.0), x_tensor())
    assert not report.passed
    message = report.message()
    assert "Square [torch.func, forward]: FAIL: max relative error 5.00e-01 > tolerance 1e-10" in message
    assert "Square [numpy, central differences" in message
    assert "argument 0 (x) at [" in message and "1/2" in message


def test_a_relative_1e8_error_is_caught_by_forward_mode_not_only_finite_differences():
    report = verify.check(make_square(backward_factor=2.0 * (1 + 1e-8)), x_tensor(), strategy="dense")
    failed = {c.check for c in report.failures}
    assert failed == {"torch.fwd"}  # finite differences (1e-7) cannot see it; the jvp rule can


def test_wrong_jvp_fails_the_forward_check_when_the_jvp_is_what_is_checked():
    report = verify.check(make_square(jvp_factor=-2.0), x_tensor(), kind="jvp")
    assert not report.passed
    assert "sign flip" in report.message()
    assert {c.check for c in report.failures} >= {"torch.rev", "fd"}


def test_function_without_jvp_says_why_forward_mode_did_not_run_and_what_fd_alone_misses():
    report = verify.check(make_square(with_jvp=False), x_tensor())
    assert report.passed
    assert any("no torch.fwd check: torch forward mode cannot run through it" in n for n in report.notes)
    assert any("only finite differences judge this derivative" in n for n in report.notes)
    assert not any("JAX" in n and "torch" not in n for n in report.notes)  # never blames JAX


def test_reference_implementation_adds_an_autodiff_reference():
    square = make_square(with_jvp=False, backward_factor=2.0 * (1 + 1e-8))
    report = verify.check(square, x_tensor(), reference=lambda x: x * x, strategy="dense")
    assert {c.check for c in report.checks} >= {"reference.jax", "reference.torch", "fd"}
    assert {c.check for c in report.failures} == {"reference.jax", "reference.torch"}


def test_backward_that_scales_the_cotangent_in_place_is_right_and_says_so():
    class Relu(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g.mul_(x > 0)  # in place, on the cotangent

    x = torch.tensor(RNG.uniform(0.1, 1.0, (3, 4)) * RNG.choice([-1, 1], (3, 4)))
    report = verify.check(Relu, x)
    assert report.passed, report.message()
    assert any("writes into its cotangent" in n for n in report.notes)


# --------------------------------------------------------------------------------------
# torch.nn.Module: parameters as a dict argument, wrt by path
# --------------------------------------------------------------------------------------


class Affine(torch.nn.Module):
    def __init__(self, wrong=False):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(RNG.standard_normal((2, 3))))
        self.bias = torch.nn.Parameter(torch.tensor(RNG.standard_normal(2)))
        self.wrong = wrong

    def forward(self, x):
        return AffineFn.apply(x, self.weight, self.bias, self.wrong)


class AffineFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, wrong):
        ctx.save_for_backward(x, w)
        ctx.wrong = wrong
        return x @ w.T + b

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        dw = g.T @ x
        db = g.mean(0) if ctx.wrong else g.sum(0)  # the planted bug: a mean over the batch
        return g @ w, dw, db, None


def test_module_parameters_are_checked_as_a_dict():
    report = verify.check(Affine(), torch.tensor(RNG.standard_normal((5, 3))))
    assert report.passed, report.message()


def test_module_wrong_bias_gradient_is_located_by_path():
    report = verify.check(Affine(wrong=True), torch.tensor(RNG.standard_normal((5, 3))))
    assert not report.passed
    message = report.message()
    assert "Affine [numpy, central differences" in message
    assert "params['bias']" in message
    assert "mean" in message or "1/5" in message


def test_wrt_by_path_selects_one_parameter():
    report = verify.check(Affine(wrong=True), torch.tensor(RNG.standard_normal((5, 3))), wrt="params.weight")
    assert report.passed, report.message()  # the weight gradient is right
    report = verify.check(Affine(wrong=True), torch.tensor(RNG.standard_normal((5, 3))), wrt="params['bias']")
    assert not report.passed


# --------------------------------------------------------------------------------------
# torch-native functions with a hand-coded derivative; requires_grad inputs
# --------------------------------------------------------------------------------------


def layer_norm(x):
    return F.layer_norm(x, x.shape[-1:])


def layer_norm_vjp(x, g, *, forget_centering=False):
    mu = x.mean(-1, keepdim=True)
    sigma = torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + 1e-5)
    xhat = (x - mu) / sigma
    gc = g if forget_centering else g - g.mean(-1, keepdim=True)
    return (gc - xhat * (g * xhat).mean(-1, keepdim=True)) / sigma


def test_torch_native_function_with_a_torch_derivative():
    x = x_tensor((3, 5), requires_grad=False)
    report = verify.check(layer_norm, layer_norm_vjp, x, kind="vjp", strategy="dense")
    assert report.passed, report.message()
    assert {c.check for c in report.checks} == {"torch.fwd", "torch.rev", "torch.tape", "fd"}
    assert any("torch-native" in n and "JAX cannot run it" in n for n in report.notes)


def test_torch_native_function_with_a_wrong_derivative():
    x = x_tensor((3, 5), requires_grad=False)
    report = verify.check(layer_norm, lambda x, g: layer_norm_vjp(x, g, forget_centering=True), x, kind="vjp")
    assert not report.passed
    assert "layer_norm [torch.func, reverse]: FAIL: max relative error" in report.message()


def test_requires_grad_tensors_are_the_default_wrt_as_in_gradcheck():
    a, b = x_tensor((3,), requires_grad=False), x_tensor((3,), requires_grad=True)
    report = verify.check(lambda a, b: (a * torch.sin(b)).sum(), lambda a, b: a * torch.cos(b), a, b, kind="gradient")
    assert report.passed, report.message()
    wrong = verify.check(lambda a, b: (a * torch.sin(b)).sum(), lambda a, b: torch.cos(b), a, b, kind="gradient")
    assert not wrong.passed


def test_float32_tensors_are_checked_at_float32():
    x = torch.tensor(RNG.standard_normal(4), dtype=torch.float32)
    report = verify.check(lambda x: torch.tanh(x).sum(), lambda x: 1 - torch.tanh(x) ** 2, x, kind="gradient")
    assert report.passed, report.message()
    assert {c.tolerance for c in report.checks if c.oracle == "autodiff"} == {1e-4}


# --------------------------------------------------------------------------------------
# JAX: custom_vjp and custom_jvp rules
# --------------------------------------------------------------------------------------


def make_custom_vjp(factor=1.0):
    @jax.custom_vjp
    def sinx(x):
        return jnp.sin(x) * x

    def fwd(x):
        return sinx(x), x

    def bwd(x, g):
        return (g * (jnp.cos(x) * x + factor * jnp.sin(x)),)

    sinx.defvjp(fwd, bwd)
    return sinx


def make_custom_jvp(factor=1.0):
    @jax.custom_jvp
    def softplus(x):
        return jnp.logaddexp(x, 0.0)

    @softplus.defjvp
    def rule(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), factor * jax.nn.sigmoid(x) * t

    return softplus


def test_custom_vjp_rule_is_checked_and_forward_mode_is_said_to_be_absent():
    x = jnp.asarray(RNG.standard_normal(5))
    report = verify.check(make_custom_vjp(), x)
    assert report.passed, report.message()
    assert any("custom_vjp function has no forward mode" in n for n in report.notes)


def test_wrong_custom_vjp_rule_fails_and_its_reference_catches_a_small_error():
    x = jnp.asarray(RNG.standard_normal(5))
    report = verify.check(make_custom_vjp(factor=0.0), x)
    assert not report.passed
    assert "sinx [numpy, central differences" in report.message()
    small = verify.check(make_custom_vjp(factor=1 + 1e-8), x, reference=lambda x: jnp.sin(x) * x, strategy="dense")
    assert {c.check for c in small.failures} == {"reference.jax"}


def test_custom_jvp_rule_is_checked_in_forward_mode():
    x = jnp.asarray(RNG.standard_normal(5))
    report = verify.check(make_custom_jvp(), x)
    assert report.passed, report.message()
    assert report.entry.kind == "jvp"
    wrong = verify.check(make_custom_jvp(factor=2.0), x)
    assert not wrong.passed and "got = 2 × expected" in wrong.message()


def test_jax_native_function_is_never_handed_to_torch():
    x = jnp.asarray(RNG.standard_normal(5))
    report = verify.check(lambda x: jnp.sum(jax.nn.gelu(x)), lambda x: jax.grad(lambda y: jnp.sum(jax.nn.gelu(y)))(x), x, kind="gradient", strategy="dense")
    assert report.passed, report.message()
    assert {c.check for c in report.checks} == {"jax.fwd", "jax.rev", "fd"}
    assert any("JAX-native" in n and "torch cannot run it" in n for n in report.notes)


# --------------------------------------------------------------------------------------
# pytrees: dict and tuple arguments, tuple results, wrt by name or path
# --------------------------------------------------------------------------------------


def loss(params, x):
    r = x @ params["w"] + params["b"]
    return (r * r).sum()


def loss_gradient(params, x, factor=2.0):
    r = x @ params["w"] + params["b"]
    return {"w": 2 * x.T @ r, "b": factor * r.sum(0)}


PARAMS = {"w": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2)}
X = RNG.standard_normal((5, 3))


def test_dict_argument_checked_against_every_framework():
    report = verify.check(loss, loss_gradient, PARAMS, X, kind="gradient", strategy="dense")
    assert report.passed, report.message()
    assert {c.check for c in report.checks} == {"jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "torch.tape", "fd"}


def test_dict_argument_with_a_wrong_leaf_names_its_path():
    report = verify.check(loss, lambda p, x: loss_gradient(p, x, factor=1.0), PARAMS, X, kind="gradient")
    assert not report.passed
    message = report.message()
    assert "loss [jax, forward]: FAIL: max relative error 5.00e-01 > tolerance 1e-10" in message
    assert "params['b']" in message and "1/2" in message


def test_relative_1e8_error_in_a_dict_argument_fails_autodiff():
    report = verify.check(loss, lambda p, x: loss_gradient(p, x, factor=2.0 * (1 + 1e-8)), PARAMS, X, kind="gradient", strategy="dense")
    assert not report.passed
    assert {c.check for c in report.failures} == {"jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "torch.tape"}


def test_wrt_by_path_and_by_name():
    report = verify.check(loss, lambda p, x: 2 * x.T @ (x @ p["w"] + p["b"]), PARAMS, X, kind="gradient", wrt="params.w")
    assert report.passed, report.message()
    both = verify.check(loss, lambda p, x: (loss_gradient(p, x), 2 * (x @ p["w"] + p["b"]) @ p["w"].T), PARAMS, X,
                        kind="gradient", wrt=("params", "x"))
    assert both.passed, both.message()


def test_tuple_result_and_its_cotangent_structure():
    def two_np(x, y):
        return (x * y, (x ** 2).sum())

    def vjp(x, y, cotangent):
        gu, gs = cotangent
        return gu * y + 2 * x * gs

    x, y = RNG.standard_normal(4), RNG.standard_normal(4)
    report = verify.check(two_np, vjp, x, y, kind="vjp")
    assert report.passed, report.message()
    assert any("returns a structure" in n for n in report.notes)
    wrong = verify.check(two_np, lambda x, y, c: c[0] * y + x * c[1], x, y, kind="vjp")
    assert not wrong.passed


@pytest.mark.parametrize(
    "wrt, message",
    [
        ("params.v", "wrt='params.v' names no argument or path"),
        (("params", "params.w"), "selects a leaf twice"),
        (5, "wrt=5 is out of range"),
        ((), "names no argument"),
    ],
)
def test_structured_wrt_mistakes_are_one_usage_error(wrt, message):
    with pytest.raises(verify.UsageError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace(".", r"\.")):
        verify.check(loss, loss_gradient, PARAMS, X, kind="gradient", wrt=wrt)


def test_a_derivative_with_the_wrong_structure_is_a_usage_error():
    with pytest.raises(verify.UsageError, match="structure"):
        verify.check(loss, lambda p, x: {"w": 0 * p["w"]}, PARAMS, X, kind="gradient")


def test_omitting_the_derivative_of_plain_numpy_code_is_a_usage_error():
    with pytest.raises(verify.UsageError, match="neither torch- nor JAX-native"):
        verify.check(loss, PARAMS, X, kind="gradient")


def test_readme_native_example_prints_what_the_readme_shows(capsys):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = text.split("<!-- native-example:begin -->")[1].split("<!-- native-example:end -->")[0]
    code = block.split("```python\n")[1].split("```")[0]
    shown = block.split("```text\n")[1].split("```")[0]
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == shown
