"""The torch adapter: functions of tensors, ``torch.nn.Module``s and ``torch.autograd.Function``s.

A Module is checked as ``f(*inputs, params)`` with ``params = dict(module.named_parameters())``
(``torch.func.functional_call``), so its parameters are a differentiable dict argument. An
autograd.Function is checked through its ``apply``: its registered ``backward`` is what the
reverse-mode derivative runs, its ``jvp`` what forward mode runs (torch.autograd.forward_ad,
which needs no vmap rule).
"""

from __future__ import annotations

import contextlib
import inspect

import numpy as np

from . import Adapter, of_wrt


def _torch():
    from ..backends import _torch as load

    return load()


def is_torch_native_callable(function) -> bool:
    torch = _torch()
    if isinstance(function, torch.nn.Module):
        return True
    if inspect.isclass(function) and issubclass(function, torch.autograd.Function):
        return True
    owner = getattr(function, "__self__", None)  # MyFunction.apply
    return inspect.isclass(owner) and issubclass(owner, torch.autograd.Function)


def _is_jax(value) -> bool:
    import sys

    jax = sys.modules.get("jax")
    return jax is not None and isinstance(value, jax.Array)


def to_tensor(a):
    torch = _torch()
    if isinstance(a, torch.Tensor):
        return a
    a = np.asarray(a)
    if a.dtype.name == "bfloat16":
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    if not a.flags.writeable:
        a = a.copy()
    return torch.from_numpy(a)  # shares memory: a write into the tensor is seen in the array


def to_numpy(t):
    from ..backends import _as_numpy

    torch = _torch()
    if isinstance(t, torch.Tensor):
        return np.array(_as_numpy(t), copy=True)
    return t


class _Context:
    """What an autograd.Function's forward may ask of its ctx, when only its value is wanted."""

    def __init__(self, inputs):
        self.needs_input_grad = tuple(False for _ in inputs)
        self.saved_tensors = ()

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def save_for_forward(self, *tensors):
        pass

    def mark_dirty(self, *tensors):
        pass

    def mark_non_differentiable(self, *tensors):
        pass

    def set_materialize_grads(self, value):
        pass


@contextlib.contextmanager
def _forward_only():
    """Within: every autograd.Function's apply calls its forward directly (with a stand-in
    ctx for the classic forward(ctx, ...)). vmap refuses an autograd.Function without a
    vmap rule even under no_grad; the primal value alone needs none. The batched values
    are compared with a plain call before they are used (oracles._ValueScale)."""
    torch = _torch()
    from torch.autograd.function import _SingleLevelFunction

    Function = torch.autograd.Function
    saved = Function.__dict__["apply"]

    def apply(cls, *args, **kwargs):
        if cls.setup_context is not _SingleLevelFunction.setup_context:  # forward(*args), then setup_context
            return cls.forward(*args, **kwargs)
        return cls.forward(_Context(args), *args, **kwargs)

    Function.apply = classmethod(apply)
    try:
        yield
    finally:
        Function.apply = saved


def _apply_of(cls):
    """cls.apply, looked up at each call (so that ``_forward_only`` reaches it)."""

    def apply(*args, **kwargs):
        return cls.apply(*args, **kwargs)

    apply.__name__ = cls.__name__
    apply.__self__ = cls  # still recognised as an autograd.Function's apply (is_torch_native_callable)
    return apply


class TorchAdapter(Adapter):
    name = "torch"
    display = "torch"

    def __init__(self, function):
        torch = _torch()
        self.original = function
        self.module = function if isinstance(function, torch.nn.Module) else None
        owner = function if inspect.isclass(function) else getattr(function, "__self__", None)
        if inspect.isclass(owner) and issubclass(owner, torch.autograd.Function):
            function = _apply_of(owner)
        self.function = function
        self.kind_of = ("torch.nn.Module" if self.module is not None else
                        "torch.autograd.Function" if is_torch_native_callable(function) else "function of torch tensors")

    def owns(self, value) -> bool:
        return isinstance(value, _torch().Tensor)

    def to_numpy(self, value):
        if self.owns(value):
            return to_numpy(value)
        return super().to_numpy(value)

    def module_call(self):
        """A Module as f(*inputs, params): torch.func.functional_call with the params dict."""
        torch = _torch()
        module = self.module

        def call(*inputs_and_params):
            *inputs, params = inputs_and_params
            return torch.func.functional_call(module, params, tuple(inputs))

        call.__name__ = type(module).__name__
        return call

    def native(self, flat):
        """flat(*leaves) on tensors: numpy leaves become tensors (sharing memory), the result
        comes back as numpy; tensors pass through; JAX arrays are refused."""
        torch = _torch()

        def run(*leaves):
            if any(isinstance(leaf, torch.Tensor) for leaf in leaves):
                return flat(*leaves)
            if any(_is_jax(leaf) for leaf in leaves):
                raise TypeError("a torch-native function cannot run on JAX arrays")
            with torch.no_grad():
                return to_numpy(flat(*[to_tensor(leaf) for leaf in leaves]))

        return run

    def batched(self, flat):
        """flat at many values of leaf i in one call: torch.func.vmap, without autograd (an
        autograd.Function's forward called as it is: ``_forward_only``)."""
        torch = _torch()

        def batch(i, stack, leaves):
            fixed = [to_tensor(np.array(leaf, copy=True)) if isinstance(leaf, np.ndarray) else leaf for leaf in leaves]
            one = of_wrt(flat, fixed, (i,))
            with torch.no_grad(), _forward_only():
                return to_numpy(torch.func.vmap(one)(to_tensor(np.ascontiguousarray(stack))))

        return batch

    def to_native_tree(self, tree):
        import optree

        return optree.tree_map(lambda a: to_tensor(a) if isinstance(a, np.ndarray) else a, tree, none_is_leaf=False)

    def from_native_tree(self, tree):
        import optree

        return optree.tree_map(to_numpy, tree, none_is_leaf=False)

    # ----------------------------------------------------------------------------------
    # the framework's own derivative: what is checked when the user gives none
    # ----------------------------------------------------------------------------------

    def own_derivative(self, kind: str, run, wrt: tuple, multiple: bool):
        """derivative(*leaves[, probe]) computed by torch: the registered backward (reverse
        kinds) or jvp (forward_ad, for kind jvp), returned as numpy in the engine's layout."""
        torch = _torch()

        def derivative(*inputs):
            if kind in ("vjp", "jvp"):
                *leaves, probe = inputs
            else:
                leaves = list(inputs)
            tensors = [to_tensor(np.array(leaf, copy=True)) for leaf in leaves]
            if kind == "jvp":
                tangents = probe if multiple else (probe,)
                value = forward_ad_jvp(run, tensors, wrt, [to_tensor(np.asarray(t)) for t in tangents])
                return to_numpy(value)
            for i in wrt:
                tensors[i].requires_grad_(True)
            w = [tensors[i] for i in wrt]
            if kind == "jacobian":
                jac = torch.autograd.functional.jacobian(of_wrt(run, tensors, wrt), tuple(t.detach() for t in w), vectorize=False)
                blocks = tuple(to_numpy(j) for j in jac)
                return blocks if multiple else blocks[0]
            out = run(*tensors)
            grad_output = None if kind == "gradient" else to_tensor(np.asarray(probe))
            grads = torch.autograd.grad(out, w, grad_outputs=grad_output, allow_unused=True)
            blocks = tuple(np.zeros(np.shape(leaves[i])) if g is None else to_numpy(g) for g, i in zip(grads, wrt))
            return blocks if multiple else blocks[0]

        return derivative

    def own_rule(self, kind: str, name: str = "it") -> str:
        if self.kind_of == "torch.autograd.Function":
            return f"the registered jvp of {name} (forward mode)" if kind == "jvp" else f"the registered backward of {name}"
        what = "forward mode" if kind == "jvp" else "autograd"
        return f"torch's {what} through {name}"

    def same_as_own(self, kind: str) -> dict[str, str]:
        """{spec id: why it is left out} for the references that would recompute the checked derivative."""
        if kind == "jvp":
            return {"torch.fwd": "torch's forward mode is the derivative being checked"}
        return {"torch.rev": "torch's reverse mode is the derivative being checked",
                "torch.tape": "torch's reverse mode is the derivative being checked"}

    def forward_problem(self, run, leaves, wrt) -> str:
        """'' when forward mode runs through the function, else why not (one line)."""
        try:
            tensors = [to_tensor(np.array(leaf, copy=True)) for leaf in leaves]
            forward_ad_jvp(run, tensors, wrt, [_torch().ones_like(tensors[i]) for i in wrt])
            return ""
        except Exception as exc:
            text = (str(exc).strip().splitlines() or [""])[0]
            return f"{type(exc).__name__}: {text}"[:200]


def forward_ad_jvp(run, tensors, wrt, tangents):
    """J·t by torch.autograd.forward_ad's dual numbers (an autograd.Function's jvp rule)."""
    torch = _torch()
    import torch.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        full = list(tensors)
        for i, t in zip(wrt, tangents):
            full[i] = fwAD.make_dual(tensors[i].detach(), t.to(tensors[i].dtype))
        out = run(*full)
        tangent = fwAD.unpack_dual(out).tangent
        return torch.zeros_like(out) if tangent is None else tangent.detach()
