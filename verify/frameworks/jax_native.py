"""The JAX adapter: functions of JAX arrays, including ``jax.custom_vjp`` / ``jax.custom_jvp``.

With the derivative omitted, what is checked is JAX's derivative of the function: for a
custom_vjp function its ``bwd`` rule (reverse mode; it has no forward mode), for a custom_jvp
its ``jvp`` rule (forward mode; JAX derives reverse mode by transposing the same rule, so the
two are not independent), otherwise JAX's autodiff.
"""

from __future__ import annotations

import numpy as np

from . import Adapter, of_wrt


def _jax():
    from ..backends import _jax as load

    return load()


def is_custom_rule(function) -> bool:
    jax = _jax()
    return isinstance(function, (jax.custom_vjp, jax.custom_jvp))


def _is_torch(value) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


BATCH_ROWS = 256
"""Rows per batched call of a JAX-native f (``JaxAdapter.batched``)."""


class JaxAdapter(Adapter):
    name = "jax"
    display = "JAX"

    def __init__(self, function):
        jax = _jax()
        self.original = function
        self.function = function
        self.rule = "custom_vjp" if isinstance(function, jax.custom_vjp) else "custom_jvp" if isinstance(function, jax.custom_jvp) else ""
        self.kind_of = f"jax.{self.rule} function" if self.rule else "function of JAX arrays"

    def owns(self, value) -> bool:
        return isinstance(value, _jax().Array)

    def to_numpy(self, value):
        if self.owns(value):
            return np.array(value, copy=True)
        return super().to_numpy(value)

    def native(self, flat):
        jax = _jax()
        import jax.numpy as jnp

        jitted = [jax.jit(flat)]  # numpy leaves (finite differences call f a thousand times): compiled once

        def run(*leaves):
            if any(isinstance(leaf, jax.Array) for leaf in leaves):  # JAX arrays and tracers
                return flat(*leaves)
            if any(_is_torch(leaf) for leaf in leaves):
                raise TypeError("a JAX-native function cannot run on torch tensors")
            # numpy arrays go to the jitted function as they are (7 times faster than jnp.asarray each)
            arrays = [leaf if isinstance(leaf, np.ndarray) else jnp.asarray(leaf) for leaf in leaves]
            if jitted:
                try:
                    return np.asarray(jitted[0](*arrays))
                except (jax.errors.ConcretizationTypeError, jax.errors.TracerBoolConversionError,
                        jax.errors.TracerIntegerConversionError, jax.errors.TracerArrayConversionError):
                    jitted.clear()  # value-dependent Python control flow: eager from now on
            return np.asarray(flat(*arrays))

        return run

    def batched(self, flat):
        """flat at many values of leaf i in one call: jax.vmap, jitted once per leaf, on
        chunks of a fixed number of rows (BATCH_ROWS, fewer where the rows are large; the
        last chunk padded with its first row), so that no batch size compiles anew."""
        jax = _jax()

        from ..oracles import BATCH_ENTRIES

        compiled = {}

        def batch(i, stack, leaves):
            count = stack.shape[0]
            rows = max(1, min(BATCH_ROWS, BATCH_ENTRIES // max(stack[0].size, 1)))
            if i not in compiled:
                def one(value, *rest):
                    full = list(rest)
                    full[i] = value
                    return flat(*full)

                compiled[i] = jax.jit(jax.vmap(one, in_axes=(0,) + (None,) * len(leaves)))
            parts = []
            for start in range(0, count, rows):
                part = stack[start:start + rows]
                if part.shape[0] < rows:
                    part = np.concatenate([part, np.repeat(part[:1], rows - part.shape[0], axis=0)])
                parts.append(np.asarray(compiled[i](part, *leaves)))
            return np.concatenate(parts)[:count]

        return batch

    def to_native_tree(self, tree):
        import optree

        from ..backends import as_jax

        return optree.tree_map(lambda a: as_jax(a) if isinstance(a, np.ndarray) else a, tree, none_is_leaf=False)

    def from_native_tree(self, tree):
        import optree

        jax = _jax()
        return optree.tree_map(lambda a: np.asarray(a) if isinstance(a, jax.Array) else a, tree, none_is_leaf=False)

    def own_derivative(self, kind: str, run, wrt: tuple, multiple: bool):
        from ..backends import as_jax

        jax = _jax()

        def derivative(*inputs):
            if kind in ("vjp", "jvp"):
                *leaves, probe = inputs
            else:
                leaves = list(inputs)
            fixed = [as_jax(leaf) for leaf in leaves]
            fw = of_wrt(run, fixed, wrt)

            w = tuple(fixed[i] for i in wrt)
            if kind == "jvp":
                tangents = probe if multiple else (probe,)
                return np.asarray(jax.jvp(fw, w, tuple(as_jax(t) for t in tangents))[1])
            argnums = tuple(range(len(w)))
            if kind == "vjp":
                _, pullback = jax.vjp(fw, *w)
                blocks = pullback(as_jax(probe))
            elif kind == "gradient":
                blocks = jax.grad(fw, argnums=argnums)(*w)
            else:  # jacobian
                blocks = jax.jacrev(fw, argnums=argnums)(*w)
            blocks = tuple(np.asarray(b) for b in blocks)
            return blocks if multiple else blocks[0]

        return derivative

    def own_rule(self, kind: str, name: str = "it") -> str:
        if self.rule:
            return f"the {self.rule} rule of {name}"
        return f"JAX's {'forward' if kind == 'jvp' else 'reverse'} mode through {name}"

    def same_as_own(self, kind: str) -> dict[str, str]:
        if self.rule == "custom_jvp":  # reverse mode transposes the same jvp rule
            why = "JAX derives both modes from the custom_jvp rule being checked"
            return {"jax.fwd": why, "jax.rev": why}
        if kind == "jvp":
            return {"jax.fwd": "JAX's forward mode is the derivative being checked"}
        return {"jax.rev": "JAX's reverse mode is the derivative being checked"}

    def forward_problem(self, run, leaves, wrt) -> str:
        if self.rule == "custom_vjp":
            return "a custom_vjp function has no forward mode"
        from ..backends import as_jax

        jax = _jax()
        import jax.numpy as jnp

        try:
            fixed = [as_jax(leaf) for leaf in leaves]
            fw = of_wrt(run, fixed, wrt)

            jax.jvp(fw, tuple(fixed[i] for i in wrt), tuple(jnp.ones_like(fixed[i]) for i in wrt))
            return ""
        except Exception as exc:
            text = (str(exc).strip().splitlines() or [""])[0]
            return f"{type(exc).__name__}: {text}"[:200]
