"""``verify.check`` for framework-native functions, structured arguments and the framework's
own derivative: the function is adapted (verify/frameworks/), its arguments flattened to
named leaves (verify/structure.py), and the engine checks the function of the leaves with
the same checks, metric and tolerance table as everything else.

Which references run, and why the others do not, is decided here and said in the notes:

- finite differences in float64, always;
- for a hand-coded derivative: every framework that can run the function (a torch-native
  function is never handed to JAX, nor a JAX-native one to torch);
- for the framework's own derivative (derivative omitted): the framework's other mode
  where it has one (an autograd.Function's jvp against its backward; jax.jvp against a
  custom_vjp cannot run), never the same computation twice;
- ``reference=``: the reverse-mode autodiff of an independent implementation, on each
  framework it runs on.
"""

from __future__ import annotations

import numpy as np

from .api import CheckReport, adequacy_notes, check_signature, projection_notes, runs_on, user_identity
from .engine import FRAMEWORK_CHOICES, argument_names, run_entry
from .frameworks import ARRAY_API_ADAPTER, detect
from .registry import SECOND_ORDER_KINDS, UsageError
from .structure import Flat, flatten_output, is_structured, output_unflattener, result_leaves, tangent_structure

DISPLAY = {"jax": "JAX", "torch": "torch", "fd": "finite differences"}


def _names(function, nargs: int) -> list[str]:
    return argument_names(function, nargs)


def _module_inputs_and_params(adapter, example_args):
    """A Module's arguments: its inputs, then its parameters as one dict."""
    module = adapter.module
    params = {k: v.detach().clone() for k, v in module.named_parameters()}
    if not params:
        raise UsageError(f"{type(module).__name__} has no parameters: pass its forward function instead of the module")
    import inspect

    try:
        names = [p.name for p in inspect.signature(module.forward).parameters.values()][:len(example_args)]
    except (TypeError, ValueError):
        names = []
    names += [""] * (len(example_args) - len(names))
    return tuple(example_args) + (params,), names + ["params"]


def _default_wrt(adapter, example_args, arg_names, flat):
    """Module: every floating input and the params; tensors with requires_grad: those
    arguments (what gradcheck differentiates); otherwise the first argument."""
    import sys

    torch = sys.modules.get("torch")
    if getattr(adapter, "module", None) is not None:
        chosen = [k for k in range(len(flat.args) - 1) if any(flat.floating(i) for i, p in enumerate(flat.positions) if p == k)]
        return tuple(chosen) + ("params",)
    if torch is not None:
        import optree

        marked = [k for k, a in enumerate(example_args)
                  if any(isinstance(leaf, torch.Tensor) and leaf.requires_grad for leaf in optree.tree_leaves(a, none_is_leaf=False))]
        if marked:
            return tuple(marked) if len(marked) > 1 else marked[0]
    return 0


def _flat_function(call, flat: Flat, adapter, name: str):
    def flat_function(*leaves):
        return flatten_output(call(*flat.rebuild(leaves)))

    flat_function.__name__ = name
    flat_function.__verify_argument_names__ = flat.names
    run = adapter.native(flat_function)
    if run is not flat_function:
        run.__name__ = name
        run.__verify_argument_names__ = flat.names
        run.__verify_batched__ = adapter.batched(flat_function)  # finite differences on many points at once
    return run


def _hand_coded(derivative, adapter, flat: Flat, selections, kind: str, engine_wrt, unflatten_out):
    """The user's derivative as the engine calls it: on leaves (and a flat probe), returning
    leaves. The user's function sees the structures, in its own framework's arrays."""
    nleaves = len(flat.leaves)
    native = adapter is not ARRAY_API_ADAPTER
    to_native = adapter.to_native_tree if native else (lambda t: t)
    from_native = adapter.from_native_tree if native else (lambda t: t)
    multiple = not isinstance(engine_wrt, int)

    def hand(*inputs):
        leaves, rest = inputs[:nleaves], inputs[nleaves:]
        args = to_native(flat.rebuild(leaves))
        extra = ()
        if kind == "vjp":
            extra = (to_native(unflatten_out(rest[0])),)
        elif kind == "jvp":
            tangents = list(rest[0]) if multiple else [rest[0]]
            per, start = [], 0
            for sel in selections:
                per.append(tangent_structure(sel, tangents[start:start + len(sel.leaves)]))
                start += len(sel.leaves)
            extra = (to_native(per[0] if len(per) == 1 else tuple(per)),)
        elif kind == "hvp":
            extra = (to_native(rest[0]),)
        result = derivative(*args, *extra)
        if result is None:
            raise UsageError("the derivative returned None (missing return?)")
        result = from_native(result)
        if kind == "jvp":
            return np.asarray(flatten_output(result))
        if len(selections) == 1:
            per = [result]
        else:
            if not isinstance(result, (tuple, list)) or len(result) != len(selections):
                raise UsageError(f"with wrt naming {len(selections)} items the derivative returns a tuple of {len(selections)} results, "
                                 f"one per item, not {type(result).__name__}")
            per = list(result)
        out = []
        for sel, r in zip(selections, per):
            out.extend(np.asarray(leaf) for leaf in result_leaves(r, sel))
        return tuple(out) if multiple else out[0]

    return hand


def check_structured(function, derivative, example_args, *, kind, wrt, reference, dtype, chosen, backends_given, name, tolerance,
                     tolerance_reason, holomorphic, seed, fd_step, trials=0, sample=None, strategy="auto", probes=None) -> CheckReport:
    __tracebackhide__ = True
    from .backends import DISPLAY as FW_DISPLAY, install_hint, missing_note, unavailable

    notes: list[str] = []
    example_args = tuple(example_args)
    # 1. the adapter: torch, JAX or array-API (which can run on numpy leaves)
    import optree

    raw_leaves = optree.tree_leaves(example_args, none_is_leaf=False)
    numpy_args = tuple(optree.tree_map(lambda a: ARRAY_API_ADAPTER.to_numpy(a) if hasattr(a, "shape") else a, example_args, none_is_leaf=False))
    try:
        adapter = detect(function, raw_leaves, numpy_args)
    except ImportError:
        adapter = ARRAY_API_ADAPTER
    call = adapter.function if adapter is not ARRAY_API_ADAPTER else function
    if getattr(adapter, "module", None) is not None:
        example_args, arg_names = _module_inputs_and_params(adapter, example_args)
        call = adapter.module_call()
        name = name or type(adapter.module).__name__
    else:
        owner = getattr(call, "__self__", None)  # an autograd.Function's apply: its class, and its forward's names after ctx
        if isinstance(owner, type) and hasattr(owner, "forward"):
            arg_names, default = _names(owner.forward, len(example_args) + 1)[1:], owner.__name__
        else:
            arg_names, default = _names(call, len(example_args)), getattr(call, "__name__", None) or type(function).__name__
        name = name or default
    to_array = adapter.to_numpy
    flat = Flat.of(example_args, arg_names, to_array)
    if wrt is None:
        wrt = _default_wrt(adapter, example_args, arg_names, flat)
    selections = flat.select(wrt, arg_names)
    leaf_wrt = tuple(i for s in selections for i in s.leaves)
    engine_wrt = leaf_wrt[0] if len(selections) == 1 and selections[0].single else leaf_wrt
    if kind in SECOND_ORDER_KINDS and len(leaf_wrt) != 1:
        raise UsageError(f"a {kind} is taken with respect to one array, not {len(leaf_wrt)} leaves (wrt={wrt!r})")
    if kind == "derivative" and len(leaf_wrt) != 1:
        raise UsageError(f"kind='derivative' takes one array, not {len(leaf_wrt)} leaves (wrt={wrt!r})")
    run = _flat_function(call, flat, adapter, name)
    leaves = tuple(flat.leaves)
    if dtype is None:  # the dtype the user gave: numpy's default float64, or the tensors' own
        first = np.asarray(leaves[leaf_wrt[0]])
        dtype = first.dtype.name if adapter is not ARRAY_API_ADAPTER and first.dtype.name in ("float16", "bfloat16", "float32", "float64") else "float64"
    fresh = flat.rebuild([np.array(a, copy=True) for a in leaves])
    try:  # the result's structure (a tuple, a dict): the cotangent is unflattened to it
        with np.errstate(all="ignore"):
            raw_out = call(*fresh) if adapter is ARRAY_API_ADAPTER else adapter.from_native_tree(call(*adapter.to_native_tree(fresh)))
    except Exception:  # the engine calls f again and reports why it fails
        raw_out = None
    unflatten_out = output_unflattener(raw_out) if raw_out is not None else (lambda v: v)
    if is_structured(raw_out):
        notes.append("f returns a structure: its floating-point leaves are checked as one vector, in flattening order")

    # 2. the derivative being checked
    own = derivative is None
    exclude: dict[str, str] = {}
    if own:
        if adapter is ARRAY_API_ADAPTER:
            raise UsageError("the derivative is omitted, but the function is neither torch- nor JAX-native: give the hand-coded "
                             "derivative, or pass tensors / a torch.nn.Module / an autograd.Function / a jax.custom_vjp")
        if kind not in ("vjp", "jvp", "gradient", "jacobian"):
            raise UsageError(f"with the derivative omitted, kind is one of vjp, jvp, gradient, jacobian (not {kind!r})")
        if kind == "jvp" and getattr(adapter, "rule", "") == "custom_vjp":
            raise UsageError("a custom_vjp function has no forward mode: check kind='vjp'")
        hand = adapter.own_derivative(kind, run, tuple(leaf_wrt), not isinstance(engine_wrt, int))
        hand.__name__ = f"{name} ({adapter.own_rule(kind, name)})"
        exclude.update(adapter.same_as_own(kind))
        notes.append(f"checked: {adapter.own_rule(kind, name)} (a {adapter.kind_of}), kind {kind}")
    else:
        check_signature(derivative, kind, len(example_args), len(selections) > 1)
        hand = _hand_coded(derivative, adapter, flat, selections, kind, engine_wrt, unflatten_out)
        hand.__wrapped__ = derivative

    # 3. the frameworks that can run the function
    missing = unavailable(chosen)
    if missing and backends_given:
        raise ValueError(f"backends={chosen!r} asks for {' and '.join(FW_DISPLAY[fw] for fw in missing)}, but {'; '.join(missing.values())} "
                         f"({install_hint(next(iter(missing)) if len(missing) == 1 else 'all')})")
    if missing:
        chosen = tuple(fw for fw in chosen if fw not in missing)
        notes.append(missing_note(missing, fd_only=chosen == ("fd",)))
    if adapter is ARRAY_API_ADAPTER:
        unable = [fw for fw in chosen if fw != "fd" and not runs_on(fw, run, leaves)]
        if unable:
            notes.append(f"function does not run on {' and '.join(FW_DISPLAY[fw] for fw in unable)} arrays: checked without "
                         f"{' and '.join(FW_DISPLAY[fw] for fw in unable)}")
    else:
        unable = [fw for fw in chosen if fw not in ("fd", adapter.name)]
        if unable:
            notes.append(f"{name} is {adapter.display}-native (a {adapter.kind_of}): "
                         f"{' and '.join(FW_DISPLAY[fw] for fw in unable)} cannot run it")
        if own and adapter.name in chosen and "jvp" != kind:
            fwd_id = f"{adapter.name}.fwd"
            if fwd_id not in exclude:
                problem = adapter.forward_problem(run, leaves, tuple(leaf_wrt))
                if problem:
                    exclude[fwd_id] = f"{adapter.display} forward mode cannot run through it ({problem})"
    chosen = tuple(fw for fw in chosen if fw not in unable) or ("fd",)
    reasons: dict[str, list[str]] = {}
    for spec_id, why in exclude.items():
        if spec_id.split(".")[0] in chosen:
            reasons.setdefault(why, []).append(spec_id)
    for why, ids in reasons.items():
        notes.append(f"no {' or '.join(ids)} check: {why}")

    # 4. the reference implementation
    reference_frameworks: tuple[str, ...] = ()
    reference_run = None
    if reference is not None:
        numpy_full = flat.rebuild([np.array(a, copy=True) for a in leaves])  # a Module's params included
        ref_adapter = detect(reference, raw_leaves, numpy_full) if reference is not function else adapter
        ref_call = ref_adapter.function if ref_adapter is not ARRAY_API_ADAPTER else reference
        if getattr(ref_adapter, "module", None) is not None:
            ref_call = ref_adapter.module_call()
        reference_run = _flat_function(ref_call, flat, ref_adapter, f"reference of {name}")
        candidates = [fw for fw in ("jax", "torch") if fw not in unavailable((fw,)) and fw in FRAMEWORK_CHOICES]
        reference_frameworks = tuple(fw for fw in candidates if runs_on(fw, reference_run, leaves))
        if not reference_frameworks:
            notes.append("the reference implementation runs on neither JAX nor torch arrays: its autodiff is not used")
        else:
            notes.append(f"reference implementation differentiated by {' and '.join(FW_DISPLAY[fw] for fw in reference_frameworks)} (reverse mode)")

    entry = user_identity(run, hand, leaves, kind=kind, wrt=engine_wrt, name=name, tolerance=tolerance, tolerance_reason=tolerance_reason,
                          holomorphic=holomorphic, fd_step=fd_step)
    if reference_run is not None:
        from dataclasses import replace

        entry = replace(entry, reference=reference_run)
    out_shape = np.shape(np.asarray(flatten_output(raw_out))) if raw_out is not None and kind in ("vjp", "jacobian") else None
    notes.extend(adequacy_notes(run, leaves, engine_wrt, out_shape))
    run_options = dict(seed=seed, frameworks=chosen, dtype=dtype, raise_usage=True, exclude=tuple(exclude),
                       reference_frameworks=reference_frameworks, strategy=strategy, probes=probes)
    result = run_entry(entry, args=leaves, **run_options)
    if trials or sample is not None:  # more than the one point, on the leaves (verify/trials.py)
        from .trials import run_trials

        leaf_sample = None
        if sample is not None:  # the user's sampler draws structured arguments: flattened like the example's
            def leaf_sample(rng):
                drawn = tuple(sample(rng))
                if getattr(adapter, "module", None) is not None:
                    drawn = drawn + (example_args[-1],)
                return tuple(to_array(leaf) for leaf in optree.tree_leaves(drawn, none_is_leaf=False))

        notes.extend(run_trials(run, leaves, result, lambda moved: run_entry(entry, args=tuple(moved), **run_options),
                                trials=trials or 3, seed=seed, sample=leaf_sample, names=flat.names))
    notes.extend(result.notes)
    notes.extend(projection_notes(entry, leaves, result))
    ran = sorted({f"{c.backend} ({c.mode})" for c in result.checks})
    notes.append("references: " + ", ".join(ran))
    if result.checks and all(c.oracle.startswith("finite_difference") for c in result.checks):
        from .tolerances import tolerance as table

        tol = table(result.checks[0].oracle, dtype, entry.tolerance)
        notes.append(f"only finite differences judge this derivative: a relative error below their tolerance {tol:.0e} passes unseen; "
                     f"give reference= (an implementation that autodiff can differentiate) for a check at the autodiff tolerance")
    return CheckReport(result, notes, chosen)
