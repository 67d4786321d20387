"""How a user's function is run and differentiated on each framework: one adapter each.

``verify.check`` takes functions written three ways, and all flow through the same checks:

- array-API code (``ArrayApi``): runs on numpy, JAX and torch arrays alike; each framework
  differentiates it, and the hand-coded derivative is numpy;
- torch-native code (``verify.frameworks.torch_native``): a function of tensors (any torch
  op), a ``torch.nn.Module`` (its parameters become one dict argument, ``params``) or a
  ``torch.autograd.Function`` (its ``apply``);
- JAX-native code (``verify.frameworks.jax_native``): a function of JAX arrays, including
  ``jax.custom_vjp`` / ``jax.custom_jvp`` functions.

The engine evaluates every function on numpy leaves (finite differences, the hand-coded
side) and on its framework's arrays (that framework's autodiff). A native adapter converts
numpy leaves to its arrays on the way in and back on the way out, passes its own arrays
through, and refuses the other framework's arrays, so that a torch-native function is never
handed to JAX (and a failure never blames the framework that could not run it).

When the derivative is omitted, what is checked is the framework's own derivative of the
function (``own_derivative``): torch's registered backward, JAX's custom rule or autodiff.
The references computed by the same machinery are then left out (``same_as_own``), since
they could only agree with it.
"""

from __future__ import annotations

import sys

import numpy as np

ARRAY_API = "array-api"


class Adapter:
    """The array-API adapter: the function runs on any framework's arrays as they are."""

    name = ARRAY_API
    display = "array-API"

    def owns(self, value) -> bool:
        return False

    def to_numpy(self, value):
        from ..backends import _as_numpy

        if isinstance(value, np.ndarray):
            return value
        return _as_numpy(value) if not isinstance(value, (int, float, complex, bool)) else np.asarray(value)

    def native(self, function):
        """The function as the engine calls it: here, as it is."""
        return function

    def derivative_call(self, derivative):
        """The user's hand-coded derivative as the engine calls it: here, on numpy."""
        return derivative

    def batched(self, flat):
        """batch(i, stack, leaves): flat at many values of leaf i at once (stack: numpy, one
        value per row), the other leaves fixed, as numpy (one result per row), through the
        framework's vmap; the finite differences evaluate f at n points this way in a few
        calls. None here: array-API code runs on numpy, one point per call, framework-free."""
        return None


ARRAY_API_ADAPTER = Adapter()


def of_wrt(run, fixed: list, wrt):
    """run as a function of its ``wrt`` arguments alone, the others fixed at ``fixed``."""

    def fw(*ws):
        full = list(fixed)
        for i, v in zip(wrt, ws):
            full[i] = v
        return run(*full)

    return fw


def _torch_loaded() -> bool:
    return "torch" in sys.modules


def _jax_loaded() -> bool:
    return "jax" in sys.modules


def detect(function, leaves, numpy_args: tuple) -> Adapter:
    """The adapter for a function given with these example leaves.

    A Module, an autograd.Function or a custom_vjp/custom_jvp is native by construction;
    a function given torch tensors (JAX arrays) is native to torch (JAX) unless it also
    runs on numpy arrays and returns one, in which case it is array-API code."""
    if _torch_loaded():
        from .torch_native import TorchAdapter, is_torch_native_callable

        if is_torch_native_callable(function):
            return TorchAdapter(function)
    if _jax_loaded():
        from .jax_native import JaxAdapter, is_custom_rule

        if is_custom_rule(function):
            return JaxAdapter(function)
    owner = None
    if _torch_loaded():
        import torch

        if any(isinstance(leaf, torch.Tensor) for leaf in leaves):
            owner = "torch"
    if owner is None and _jax_loaded():
        import jax

        if any(isinstance(leaf, jax.Array) for leaf in leaves):
            owner = "jax"
    if owner is None or portable(function, numpy_args):  # array-API code given tensors
        return ARRAY_API_ADAPTER
    if owner == "torch":
        from .torch_native import TorchAdapter

        return TorchAdapter(function)
    from .jax_native import JaxAdapter

    return JaxAdapter(function)


def portable(function, numpy_args) -> bool:
    """Whether the function runs on numpy arrays and returns numpy (array-API code)."""
    try:
        with np.errstate(all="ignore"):
            out = function(*numpy_args)
    except Exception:
        return False
    from ..structure import is_structured

    import optree

    leaves = optree.tree_leaves(out, none_is_leaf=False) if is_structured(out) else [out]
    return all(isinstance(leaf, (np.ndarray, np.generic, float, int)) for leaf in leaves)
