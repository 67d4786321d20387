"""Structured arguments and results for ``verify.check``: dicts, tuples and lists of arrays.

A pytree argument (flattened with optree, dict keys in sorted order) becomes its leaves, and
the engine checks a function of the leaves: ``flat(*leaves)`` rebuilds the arguments, calls
the user's function and returns its result as one array (a structured result is raveled and
concatenated, floating leaves only). Every leaf is named by its path, ``params['weight']``
or ``inputs[0]``, and that name is what a failure reports.

``wrt`` selects leaves: an argument's position or name (all its floating leaves), or a path
(``"params.weight"`` or ``"params['weight']"``: the leaves under it). A hand-coded derivative
still sees the structures: it receives the arguments as given (and a cotangent shaped like
the function's result, a tangent shaped like the selection), and returns, per selection, a
structure like the selected one (a dict for ``params``, an array for one leaf).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import optree

from .registry import UsageError


def _is_number_list(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(v, numbers.Number) or (isinstance(v, (list, tuple)) and _is_number_list(v)) for v in value)


def is_structured(value) -> bool:
    """A dict, tuple or list that holds arrays (a list of plain numbers is an array)."""
    return isinstance(value, (dict, tuple, list)) and not _is_number_list(value)


def _key_text(key) -> str:
    return f"[{key}]" if isinstance(key, int) else f"[{key!r}]"


def _dotted(components) -> str:
    return ".".join(str(c) for c in components)


def _bracketed(components) -> str:
    return str(components[0]) + "".join(_key_text(k) for k in components[1:])


class PathNames(list):
    """Leaf names that are paths: a failure names the leaf by its path alone."""


@dataclass
class Selection:
    """One item of ``wrt``: the leaves it selects and the structure its result takes."""

    text: str
    leaves: tuple[int, ...]  # leaf indices, in flattening order
    subtree: object  # the selected value (an array, or a structure of arrays)
    floating: tuple[bool, ...]  # per leaf of the subtree: is it differentiated

    @property
    def single(self) -> bool:
        return not is_structured(self.subtree)


@dataclass
class Flat:
    """Arguments flattened to leaves, with a name per leaf."""

    args: tuple
    treespec: object
    leaves: list
    components: list  # per leaf: (argument name or position, key, key, ...)
    positions: list  # per leaf: the position of its top-level argument
    names: PathNames = field(default_factory=PathNames)

    @classmethod
    def of(cls, args: tuple, arg_names: list[str], to_array) -> "Flat":
        args = tuple(np.asarray(a) if _is_number_list(a) else a for a in args)
        paths, leaves, treespec = optree.tree_flatten_with_path(args, none_is_leaf=False)
        leaves = [to_array(leaf) for leaf in leaves]
        components, positions = [], []
        for path in paths:
            k = path[0]
            name = arg_names[k] if k < len(arg_names) and arg_names[k] else f"args[{k}]"
            components.append((name,) + tuple(path[1:]))
            positions.append(k)
        flat = cls(args, treespec, leaves, components, positions)
        names = PathNames()
        for i, (comp, k) in enumerate(zip(components, positions)):
            if len(comp) == 1:  # a top-level array: its name, and its position when the leaf index differs
                names.append(comp[0] if i == k else f"{comp[0]} (argument {k})")
            else:
                names.append(_bracketed(comp))
        flat.names = names
        return flat

    def floating(self, i: int) -> bool:
        a = self.leaves[i]
        return np.issubdtype(np.asarray(a).dtype, np.floating) or np.asarray(a).dtype.name == "bfloat16"

    def rebuild(self, leaves) -> tuple:
        return optree.tree_unflatten(self.treespec, list(leaves))

    # ----------------------------------------------------------------------------------
    # wrt
    # ----------------------------------------------------------------------------------

    def select(self, wrt, arg_names: list[str]) -> list[Selection]:
        items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
        if not items:
            raise UsageError("wrt=() names no argument: give at least one position, name or path")
        selections = [self._one(w, arg_names) for w in items]
        seen: set[int] = set()
        for s in selections:
            if seen & set(s.leaves):
                raise UsageError(f"wrt={tuple(items)!r} selects a leaf twice ({s.text} overlaps an earlier item)")
            seen.update(s.leaves)
        return selections

    def _one(self, w, arg_names) -> Selection:
        nargs = len(self.args)
        if isinstance(w, str) and w in arg_names[:nargs]:
            w = arg_names.index(w)
        if isinstance(w, bool) or not isinstance(w, (numbers.Integral, str)):
            raise UsageError(f"wrt={w!r}: give an argument's position (an int), name or path (a str), or a tuple of them")
        if isinstance(w, numbers.Integral):
            k = int(w)
            if not 0 <= k < nargs:
                raise UsageError(f"wrt={k} is out of range: {nargs} argument(s) were given, positions 0 to {nargs - 1}")
            indices = [i for i, p in enumerate(self.positions) if p == k]
            text, subtree = (arg_names[k] if k < len(arg_names) and arg_names[k] else f"argument {k}"), self.args[k]
        else:
            indices = [i for i, comp in enumerate(self.components) if _matches(w, comp)]
            if not indices:
                known = ", ".join(sorted({_dotted(c) for c in self.components})[:12])
                raise UsageError(f"wrt={w!r} names no argument or path (paths: {known})")
            text = w
            first = self.components[indices[0]]
            depth = next(d for d in range(1, len(first) + 1) if w in (_dotted(first[:d]), _bracketed(first[:d])))
            subtree = self.args[self.positions[indices[0]]]
            for key in first[1:depth]:
                subtree = subtree[key]
        floating = tuple(self.floating(i) for i in indices)
        chosen = tuple(i for i, f in zip(indices, floating) if f)
        if not chosen:
            raise UsageError(f"wrt={w!r} selects no floating-point array (derivatives need floating-point inputs)")
        return Selection(text, chosen, subtree, floating)


def _matches(selector: str, components) -> bool:
    return any(selector in (_dotted(components[:d]), _bracketed(components[:d])) for d in range(1, len(components) + 1))


# --------------------------------------------------------------------------------------
# Results: a structured output as one vector; a derivative's structured result as leaves
# --------------------------------------------------------------------------------------


def _floating_leaf(x) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, float)
    name = str(dtype).replace("torch.", "")
    return name.startswith(("float", "bfloat", "complex"))


def flatten_output(out):
    """A structured result as one 1-D array of its floating leaves (in their framework)."""
    if not is_structured(out):
        return out
    leaves = [leaf for leaf in optree.tree_leaves(out, none_is_leaf=False) if _floating_leaf(leaf)]
    if not leaves:
        raise UsageError("the function returns no floating-point array")
    from array_api_compat import array_namespace

    xp = array_namespace(*leaves)
    return xp.concat([xp.reshape(leaf if hasattr(leaf, "shape") else xp.asarray(leaf), (-1,)) for leaf in leaves])


def output_unflattener(out):
    """The inverse of flatten_output for the function's result at the example point: a
    cotangent vector back to the result's structure (non-floating leaves get zeros)."""
    if not is_structured(out):
        return lambda v: v
    leaves, spec = optree.tree_flatten(out, none_is_leaf=False)
    shapes = [tuple(np.shape(leaf)) if _floating_leaf(leaf) else None for leaf in leaves]

    def unflatten(vector):
        vector = np.asarray(vector)
        parts, start = [], 0
        for leaf, shape in zip(leaves, shapes):
            if shape is None:
                parts.append(np.zeros(np.shape(leaf)))
                continue
            size = int(np.prod(shape, dtype=int))
            parts.append(vector[start:start + size].reshape(shape))
            start += size
        return optree.tree_unflatten(spec, parts)

    return unflatten


def result_leaves(result, selection: Selection, who: str = "the derivative") -> list:
    """A derivative's result for one selection, as the selected leaves (floating ones)."""
    if selection.single:
        if is_structured(result):
            raise UsageError(f"{who} returns a {type(result).__name__} for {selection.text}, an array is expected")
        return [result]
    expected = optree.tree_structure(selection.subtree, none_is_leaf=False)
    got_leaves, got = optree.tree_flatten(result, none_is_leaf=False)
    if got != expected:
        floating_only = sum(selection.floating)
        if len(got_leaves) == floating_only and type(result) is type(selection.subtree):
            return got_leaves
        raise UsageError(f"{who} returns {got} for {selection.text}, whose structure is {expected}")
    return [leaf for leaf, f in zip(got_leaves, selection.floating) if f]


def tangent_structure(selection: Selection, tangents: list):
    """Tangents for the selected leaves, in the selection's structure (zeros elsewhere)."""
    if selection.single:
        return tangents[0]
    leaves, spec = optree.tree_flatten(selection.subtree, none_is_leaf=False)
    it = iter(tangents)
    parts = [next(it) if f else np.zeros(np.shape(leaf)) for leaf, f in zip(leaves, selection.floating)]
    return optree.tree_unflatten(spec, parts)
