"""Autodiff references from JAX and PyTorch, as numpy arrays.

Importing this module enables JAX's float64 (``jax_enable_x64``) before any JAX array
exists, and silences the one known deprecation warning of torch's forward mode.

JAX and torch are optional (the extras ``calculus-for-ml[jax]``, ``[torch]``, ``[all]``):
a framework that cannot be imported leaves its name in ``unavailable()``, with the note
that ``python -m verify`` and ``verify.check`` print when they check without it, and its
references are never called.

Every reference is computed on ``fw(*w)``: the primal with the non-differentiated
arguments fixed, as a function of the ``wrt`` arguments only. Results come back as a
tuple with one array per ``wrt`` argument (first-order kinds) or one array.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated", category=DeprecationWarning)

# Neither JAX nor torch is imported here: a run that selects only the finite differences
# (``--backend fd``) imports neither, and a run imports each on its first use. JAX reads
# its configuration from the environment when it is imported (the JAX_* variables below);
# if it is already imported, the same options are set through jax.config instead.
# Compiling the jitted references is most of a run's time; XLA's persistent cache keeps
# the executables across runs (keyed by the computation, so a changed primal recompiles).
_CACHE = os.environ.get("CALCULUS_FOR_ML_JAX_CACHE", str(Path.home() / ".cache" / "calculus-for-ml" / "jax"))
_JAX_OPTIONS = {"jax_enable_x64": True}
if _CACHE:
    _JAX_OPTIONS.update({
        "jax_compilation_cache_dir": _CACHE,
        "jax_persistent_cache_min_compile_time_secs": 0.0,
        "jax_persistent_cache_min_entry_size_bytes": 0,
    })


def _configure_jax(jax) -> None:
    for name, value in _JAX_OPTIONS.items():
        if getattr(jax.config, name) != value:
            jax.config.update(name, value)


if "jax" in sys.modules:  # imported before this module: configure it now
    _configure_jax(sys.modules["jax"])
else:  # configured by its own import, wherever that happens (the engine imports jax.numpy)
    for _name, _value in _JAX_OPTIONS.items():
        os.environ[_name.upper()] = str(int(_value)) if isinstance(_value, bool) else str(_value)


_JAX_CONFIGURED = []


def _jax():
    """JAX, imported on first use, with float64 and the compilation cache configured once
    (a caller that turns x64 off later gets a FAIL naming it, not a float32 reference)."""
    import jax

    if not _JAX_CONFIGURED:
        _configure_jax(jax)
        _JAX_CONFIGURED.append(True)
    return jax


CPU_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}
"""XLA's options for this suite's executables on the CPU: the elemental emitters instead of
the MLIR fusion emitters. The references are small programs compiled once each, whose
compilation is most of a cold run; these compile in about half the time (310 → 175 ms
for a jvp, vjp and two Jacobians of a small layer; a cold registry run 21 → 16 s of CPU
time in two paired runs) and give the same results to the bit (the registry's JSON report
is the same bytes with and without them). benchmarks/speed.py measures the whole."""

_COMPILER_OPTIONS: list = []  # [options], resolved on first use


def compiler_options() -> dict:
    """CPU_COMPILER_OPTIONS where JAX runs on the CPU and its XLA knows them (one trivial
    compilation asks it, once per process), else {}: XLA's defaults."""
    if not _COMPILER_OPTIONS:
        jax = _jax()
        options = {}
        if jax.default_backend() == "cpu":
            try:
                jax.jit(lambda x: x + 1).lower(np.float64(0.0)).compile(compiler_options=CPU_COMPILER_OPTIONS)
                options = dict(CPU_COMPILER_OPTIONS)
            except Exception:  # an XLA without the option ("No such compile option"): its defaults
                pass
        _COMPILER_OPTIONS.append(options)
    return _COMPILER_OPTIONS[0]


def _torch():
    """torch, imported on first use (with torch.func)."""
    import torch
    import torch.func  # noqa: F401

    return torch


_IMPORT_ERRORS: dict[str, BaseException] = {}  # framework -> why it could not be imported
_IMPORTERS = {"jax": _jax, "torch": _torch}


def preload(frameworks) -> None:
    """Import what a run over ``frameworks`` (jax, torch, fd) uses. A run split by identity
    calls it before it forks its workers, so that each import is paid once, not once per
    worker; a worker of a run split by framework calls it for its group (verify/parallel.py).

    torch._dynamo too: torch.func's reverse transforms import it on their first call
    (torch/_functorch/eager_transforms.py, ``_autograd_grad``), 1.2–1.4 s that every
    worker paid on its own. Imported before the fork, a warm run of the registry split by
    identity over two workers took 1.0–2.1 s less CPU time (5 paired runs) in the same wall
    time: the workers had paid it side by side."""
    if "fd" in frameworks:
        import scipy.differentiate  # noqa: F401
    if "torch" in frameworks:
        _torch()
        import torch._dynamo  # noqa: F401
    if "jax" in frameworks:
        _jax()
        import jax.numpy  # noqa: F401


from .linalg import contract_jvp, contract_vjp  # noqa: E402
from .tolerances import ComparisonError  # noqa: E402

FRAMEWORKS = ("jax", "torch")
DISPLAY = {"jax": "JAX", "torch": "torch"}


_IMPORTABLE: dict[str, bool] = {}


def _importable(framework: str) -> bool:
    """Import a framework once (it is needed anyway when this is asked); remember a failure."""
    if framework not in _IMPORTABLE:
        try:
            _IMPORTERS[framework]()
        except Exception as exc:  # not installed (ImportError) or a broken install
            _IMPORT_ERRORS[framework] = exc
        _IMPORTABLE[framework] = framework not in _IMPORT_ERRORS
    return _IMPORTABLE[framework]


def unavailable(frameworks=FRAMEWORKS) -> dict[str, str]:
    """{framework: why it cannot be used} for those of ``frameworks`` (names among jax,
    torch; others such as fd are ignored) whose import failed; empty when all import."""
    return {fw: _why(fw) for fw in frameworks if fw in FRAMEWORKS and not _importable(fw)}


_REASONS_ELSEWHERE: dict[str, str] = {}  # framework -> why it could not be imported, in a worker process


def record_availability(found: dict[str, str | None]) -> None:
    """Learn what worker processes found ({framework: why it cannot be imported, or None
    where it imports}): this process then answers ``unavailable``, ``missing_note`` and
    ``versions`` alike without importing anything."""
    for framework, why in found.items():
        _IMPORTABLE[framework] = why is None
        if why is not None:
            _REASONS_ELSEWHERE[framework] = why


def _why(framework: str) -> str:
    if framework in _REASONS_ELSEWHERE:
        return _REASONS_ELSEWHERE[framework]
    exc = _IMPORT_ERRORS[framework]
    name = DISPLAY[framework]
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == framework:
        return f"{name} is not installed"
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{name} cannot be imported ({type(exc).__name__}: {text})"


def install_hint(framework: str) -> str:
    return f"pip install calculus-for-ml[{framework}]"


def missing_note(frameworks, *, fd_only: bool = False) -> str:
    """The note for a run that leaves out the unavailable ``frameworks``:
    "torch is not installed: checked without torch (pip install calculus-for-ml[torch])"."""
    missing = unavailable(frameworks)
    if not missing:
        return ""
    names = " and ".join(DISPLAY[fw] for fw in missing)
    reasons = "; ".join(missing.values())
    hint = install_hint(next(iter(missing)) if len(missing) == 1 else "all")
    what = "with finite differences only" if fd_only else f"without {names}"
    return f"{reasons}: checked {what} ({hint})"


def _version(module: str) -> str:
    """A package's version: its ``__version__`` once imported, else its installed metadata
    (the same string, without paying for the import)."""
    if module in _IMPORT_ERRORS or module in _REASONS_ELSEWHERE:
        return None  # not available: null in the report
    if module in sys.modules:
        return sys.modules[module].__version__
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return None


def versions() -> dict:
    """The versions of the runtime packages; null for a framework that is not available."""
    jax_version = _version("jax")
    if jax_version is None:
        jaxlib = None
    elif "jax" in sys.modules:
        jax = sys.modules["jax"]
        jaxlib = jax.lib.__version__ if hasattr(jax.lib, "__version__") else jax.__version__
    else:
        jaxlib = _version("jaxlib")
    return {
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "jax": jax_version,
        "jaxlib": jaxlib,
        "torch": _version("torch"),
        "array_api_compat": _version("array_api_compat"),
    }


def _as_numpy(tree):
    if isinstance(tree, (tuple, list)):
        return tuple(_as_numpy(t) for t in tree)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(tree, torch.Tensor):
        if tree.dtype == torch.bfloat16:  # numpy has no bfloat16 of torch's: through float32
            return tree.detach().cpu().float().numpy().astype("bfloat16")
        return tree.detach().cpu().numpy()
    return np.asarray(tree)


# --------------------------------------------------------------------------------------
# JAX
# --------------------------------------------------------------------------------------


def _jax_core(kind: str, mode: str, n_wrt: int):
    """(core(fw, w, probe) -> the JAX value, the JAX call named, post(numpy value, numpy
    probe) -> the reference) for a kind in forward/reverse (or nested) mode."""
    jax = _jax()
    argnums = tuple(range(n_wrt))
    same = lambda value, probe: value  # noqa: E731
    if kind in ("derivative", "gradient", "jacobian"):
        if mode == "forward":
            return (lambda fw, w, p: jax.jacfwd(fw, argnums=argnums)(*w)), "jax.jacfwd", same
        if kind == "gradient":
            return (lambda fw, w, p: jax.grad(fw, argnums=argnums)(*w)), "jax.grad", same
        return (lambda fw, w, p: jax.jacrev(fw, argnums=argnums)(*w)), "jax.jacrev", same
    if kind == "jvp":
        if mode == "forward":
            return (lambda fw, w, p: jax.jvp(fw, w, tuple(p))[1]), "jax.jvp", same
        return ((lambda fw, w, p: jax.jacrev(fw, argnums=argnums)(*w)), "jax.jacrev, contracted with the tangent",
                lambda jac, p: contract_jvp(jac, p))
    if kind == "vjp":
        if mode == "reverse":
            return (lambda fw, w, p: jax.vjp(fw, *w)[1](p)), "jax.vjp", same
        return ((lambda fw, w, p: jax.jacfwd(fw, argnums=argnums)(*w)), "jax.jacfwd, contracted with the cotangent",
                lambda jac, p: contract_vjp(p, jac))
    if kind == "hessian":
        if mode == "forward-over-reverse":
            return (lambda fw, w, p: jax.jacfwd(jax.jacrev(fw))(*w)), "jax.jacfwd(jax.jacrev)", same
        return (lambda fw, w, p: jax.jacrev(jax.jacrev(fw))(*w)), "jax.jacrev(jax.jacrev)", same
    if kind == "hvp":
        if mode == "forward-over-reverse":
            return (lambda fw, w, p: jax.jvp(jax.grad(fw), w, (p,))[1]), "jax.jvp(jax.grad)", same
        return (lambda fw, w, p: jax.vjp(jax.grad(fw), *w)[1](p)[0]), "jax.vjp(jax.grad)", same
    raise ValueError(f"no JAX reference for kind {kind!r} in mode {mode!r}")


_JAX_REFERENCES: dict = {}  # (function, kind, mode, wrt, shapes) -> _Kept; None: not traceable so
_JAX_REFERENCES_KEPT = 256
_TRACING_ERRORS = ("ConcretizationTypeError", "TracerBoolConversionError", "TracerIntegerConversionError")


def _tracing_error(jax, exc: Exception) -> bool:
    return any(isinstance(exc, getattr(jax.errors, name)) for name in _TRACING_ERRORS)


class _Kept:
    """A compiled JAX reference and what guards its reuse: the fingerprint of the traced
    derivatives it was compiled from, and (once the same trace has been seen twice) the
    fingerprint of f's own trace, or "" where f's trace does not determine its derivatives."""

    __slots__ = ("fingerprint", "compiled", "primal")

    def __init__(self, fingerprint: str, compiled):
        self.fingerprint, self.compiled, self.primal = fingerprint, compiled, None


def _self_contained(jax, jaxpr) -> bool:
    """Whether a jaxpr of f determines f's derivatives: none of its equations (nested ones
    included) holds a rule written outside JAX. JAX differentiates a jaxpr's primitives
    by rules of its own; a custom_jvp rule is followed only where JAX wrote it (jnp.logaddexp,
    jax.nn.relu), read from where it was defined; a custom_vjp, a callback, or any other
    function among an equation's parameters is code whose globals f's trace does not see."""
    from jax.extend import core as jex

    jax_dir = os.path.dirname(jax.__file__) + os.sep

    def written_by_jax(fun) -> bool:
        where = getattr(getattr(fun, "debug_info", None), "func_src_info", None) or ""
        path = where.rsplit(" at ", 1)[-1].rsplit(":", 1)[0]
        return bool(path) and os.path.abspath(path).startswith(jax_dir)

    def parameter_ok(value) -> bool:
        if isinstance(value, jex.ClosedJaxpr):
            return walk(value.jaxpr)
        if isinstance(value, jex.Jaxpr):
            return walk(value)
        if isinstance(value, (tuple, list)):
            return all(parameter_ok(v) for v in value)
        return not callable(value) and not hasattr(value, "call_wrapped")

    def walk(jaxpr) -> bool:
        for eqn in jaxpr.eqns:
            for name, value in eqn.params.items():
                if eqn.primitive.name == "custom_jvp_call" and name == "jvp_jaxpr_fun":
                    if not written_by_jax(value):
                        return False
                elif not parameter_ok(value):
                    return False
        return True

    return walk(jaxpr)


def as_jax(a):
    """A JAX array of an array, without a compilation for a numpy one: jnp.asarray of a
    numpy array runs a jitted identity (lax.stage), compiled once per shape and dtype
    (20–90 ms each, 19 of a cold run's 74 compilations), where jax.device_put copies it."""
    jax = _jax()
    if isinstance(a, (np.ndarray, np.generic)):
        return jax.device_put(a)
    import jax.numpy as jnp

    return jnp.asarray(a)


def _primal_trace(jax, function, jargs):
    """f's own closed jaxpr at these arguments, every one traced; None where f cannot be
    traced so."""
    try:
        return jax.jit(lambda a: function(*a)).trace(tuple(jargs)).jaxpr
    except Exception:
        return None


def written_outside_jax(function, args) -> bool:
    """Whether f's JAX trace at ``args`` holds a derivative rule or a callback written outside
    JAX (``_self_contained``): then neither f's trace nor its value shows a change in what
    its derivatives compute. False where f cannot be traced with every argument traced."""
    jax = _jax()
    closed = _primal_trace(jax, function, [as_jax(a) for a in args])
    return closed is not None and not _self_contained(jax, closed.jaxpr)


def _primal_fingerprint(jax, function, jargs) -> str:
    """The fingerprint of f's own trace at these arguments (all traced), or "" where that
    trace does not determine f's derivatives (``_self_contained``) or cannot be made."""
    closed = _primal_trace(jax, function, jargs)
    return _fingerprint(closed) if closed is not None and _self_contained(jax, closed.jaxpr) else ""


def _fingerprint(closed) -> str:
    """The jaxpr's text (its literals included) and the bytes of its constants: equal
    fingerprints, the same computation."""
    import hashlib

    digest = hashlib.sha1(str(closed.jaxpr).encode())
    for const in closed.consts:
        digest.update(np.asarray(const).tobytes())
    return digest.hexdigest()


def _signature(tree) -> tuple:
    jax = _jax()
    leaves, structure = jax.tree_util.tree_flatten(tree)
    return (str(structure), tuple((np.shape(a), str(getattr(a, "dtype", type(a))), bool(getattr(a, "weak_type", False))) for a in leaves))


_LAST_BATCH: list = [None]  # [((function, kind, modes, wrt, args, probe), {mode: (reference, method)})]: the last batch computed


def jax_reference(kind: str, mode: str, function, args: tuple, wrt: tuple, probe, modes: tuple = ()) -> tuple[object, str]:
    """(reference, the JAX call used) for a kind in forward/reverse (or nested) mode, of
    ``function`` as a function of its ``wrt`` arguments, the others fixed at ``args``.

    ``modes``: every JAX mode the check runs at this point. They are computed together, in
    one jitted call (one compilation instead of one per mode: about a quarter less compile
    time over the registry), and the next mode asked for at the same point is taken from
    that batch; where the batch fails (a mode this function does not support), each mode
    is computed alone and reports its own error. See jax_batch for the caching."""
    modes = tuple(dict.fromkeys(modes)) if mode in modes and len(set(modes)) > 1 else (mode,)
    if len(modes) > 1:
        last = _LAST_BATCH[0]  # read once: another thread may replace it
        if last is not None and last[0][:4] == (function, kind, modes, tuple(wrt)) and last[0][4] is args and last[0][5] is probe:
            return last[1][mode]
        try:
            batch = jax_batch(kind, modes, function, args, wrt, probe)
        except ComparisonError:
            raise
        except Exception:
            batch = None
        if batch is not None:
            _LAST_BATCH[0] = ((function, kind, modes, tuple(wrt), args, probe), batch)
            return batch[mode]
    return jax_batch(kind, (mode,), function, args, wrt, probe)[mode]


def jax_batch(kind: str, modes: tuple, function, args: tuple, wrt: tuple, probe) -> dict:
    """{mode: (reference, the JAX call used)} for every mode of ``modes``, in one call.

    Every argument is a jit argument, and the compiled executable is kept per (function,
    kind, modes, wrt, shapes and dtypes), so a second call (another trial point, the
    rounding-floor estimate's perturbed inputs, the next check of the same layer) skips
    lowering and compilation. It still traces: a trace keeps the values of the globals f
    read (as literals and constants of the jaxpr), so the executable is reused only when
    the new trace's jaxpr and constants are those it was compiled from. A function that
    cannot be traced with its other arguments as jit arguments (a Python int taken from
    one of them) is traced with them as constants, once per call; one that cannot be
    traced at all runs eagerly."""
    jax = _jax()

    if not jax.config.jax_enable_x64 and any(np.asarray(args[i]).dtype == np.float64 for i in wrt):
        # jnp.asarray would silently round the float64 input to float32
        raise ComparisonError("JAX x64 is off: its reference is float32 (set jax_enable_x64 before any JAX array exists)")
    from .frameworks import of_wrt

    cores = [_jax_core(kind, mode, len(wrt)) for mode in modes]
    numpy_probe = None if probe is None else _as_numpy(probe)
    jargs = tuple(as_jax(a) for a in args)
    jprobe = None if probe is None else jax.tree_util.tree_map(as_jax, probe)

    def results(values) -> dict:
        return {mode: (post(_as_numpy(value), numpy_probe), method) for mode, value, (_, method, post) in zip(modes, values, cores)}

    def transform(a, p):
        fw = of_wrt(function, list(a), wrt)
        w = tuple(a[i] for i in wrt)
        return tuple(core(fw, w, p) for core, _, _ in cores)

    key = (getattr(function, "__wrapped__", function), kind, modes, tuple(wrt), _signature((jargs, jprobe)))
    kept = _JAX_REFERENCES.get(key, ())
    if kept is not None:
        # f's own trace, where it determines the derivatives, is the cheaper guard (the
        # derivatives' trace of an HVP at n = 10⁴ takes 10-20 times as long)
        if kept and kept.primal and _primal_fingerprint(jax, function, jargs) == kept.primal:
            return results(kept.compiled(jargs, jprobe))
        try:
            traced = jax.jit(transform).trace(jargs, jprobe)
        except Exception:
            _JAX_REFERENCES[key] = None  # not traceable with every argument traced: the constants' way below
        else:
            fingerprint = _fingerprint(traced.jaxpr)
            kept = _JAX_REFERENCES.get(key)
            if kept is None or kept.fingerprint != fingerprint:  # new, or f read a global that has changed since
                while len(_JAX_REFERENCES) >= _JAX_REFERENCES_KEPT:
                    _JAX_REFERENCES.pop(next(iter(_JAX_REFERENCES)))
                # (XLA's backend optimizations stay on: compiling without them costs a fifth less,
                # but its tanh of a saturated unit gave NaN where the optimized code does not)
                kept = _JAX_REFERENCES[key] = _Kept(fingerprint, traced.lower().compile(compiler_options=compiler_options()))
            elif kept.primal is None:  # the same derivatives traced again: f's own trace guards from now on
                kept.primal = _primal_fingerprint(jax, function, jargs)
            return results(kept.compiled(jargs, jprobe))
    fw = of_wrt(function, list(jargs), wrt)
    w = tuple(jargs[i] for i in wrt)
    try:
        values = jax.jit(lambda w, p: tuple(core(fw, w, p) for core, _, _ in cores), compiler_options=compiler_options())(w, jprobe)
    except Exception as exc:
        if not _tracing_error(jax, exc):
            raise
        values = tuple(core(fw, w, jprobe) for core, _, _ in cores)  # value-dependent Python control flow: eagerly
    return results(values)


# --------------------------------------------------------------------------------------
# PyTorch: torch.func (forward and reverse) and the classic torch.autograd tape
# --------------------------------------------------------------------------------------


def _tensor(a):
    torch = _torch()
    a = np.array(a, copy=True)
    if a.dtype.name == "bfloat16":  # ml_dtypes' bfloat16 (JAX's): torch takes it through float32
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(a)


def _tensors(arrays):
    return tuple(_tensor(a) for a in arrays)


_TRANSFORM_ERRORS = (RuntimeError, NotImplementedError)


def _dual_jacobian(fw, w: tuple) -> tuple:
    """The Jacobian blocks by forward mode on dual numbers, one pass per input entry: the
    path for an autograd.Function whose jvp exists but that torch.func cannot vmap."""
    from .frameworks.torch_native import forward_ad_jvp

    torch = _torch()
    blocks = []
    for k, x in enumerate(w):
        columns = []
        for j in range(x.numel()):
            tangents = [torch.zeros_like(t) for t in w]
            tangents[k].view(-1)[j] = 1.0
            columns.append(forward_ad_jvp(fw, list(w), range(len(w)), tangents))
        out_shape = columns[0].shape
        blocks.append(torch.stack(columns, dim=-1).reshape(*out_shape, *x.shape))
    return tuple(blocks)


def torch_func_reference(kind: str, mode: str, fw, w: tuple, probe) -> tuple[object, str]:
    """(reference, the torch.func call used)."""
    torch = _torch()
    w = _tensors(w)
    argnums = tuple(range(len(w)))
    if probe is not None:
        probe = _tensors(probe) if isinstance(probe, tuple) else _tensors((probe,))[0]
    F = torch.func
    if kind in ("derivative", "gradient", "jacobian"):
        if mode == "forward":
            try:
                return _as_numpy(F.jacfwd(fw, argnums=argnums)(*w)), "torch.func.jacfwd"
            except _TRANSFORM_ERRORS:  # an autograd.Function without vmap/setup_context support
                return _as_numpy(_dual_jacobian(fw, w)), "torch.autograd.forward_ad, one dual pass per input entry"
        if kind == "gradient":
            return _as_numpy(F.grad(fw, argnums=argnums)(*w)), "torch.func.grad"
        return _as_numpy(F.jacrev(fw, argnums=argnums)(*w)), "torch.func.jacrev"
    if kind == "jvp":
        if mode == "forward":
            try:
                return _as_numpy(F.jvp(fw, w, probe)[1]), "torch.func.jvp"
            except _TRANSFORM_ERRORS:
                from .frameworks.torch_native import forward_ad_jvp

                return _as_numpy(forward_ad_jvp(fw, w, range(len(w)), probe)), "torch.autograd.forward_ad (dual numbers)"
        jac = _as_numpy(F.jacrev(fw, argnums=argnums)(*w))
        return contract_jvp(jac, _as_numpy(probe)), "torch.func.jacrev, contracted with the tangent"
    if kind == "vjp":
        if mode == "reverse":
            _, pullback = F.vjp(fw, *w)
            return _as_numpy(pullback(probe)), "torch.func.vjp"
        try:
            jac, method = _as_numpy(F.jacfwd(fw, argnums=argnums)(*w)), "torch.func.jacfwd"
        except _TRANSFORM_ERRORS:
            jac, method = _as_numpy(_dual_jacobian(fw, w)), "torch.autograd.forward_ad, one dual pass per input entry"
        return contract_vjp(_as_numpy(probe), jac), f"{method}, contracted with the cotangent"
    (x,) = w
    if kind == "hessian":
        if mode == "forward-over-reverse":
            return _as_numpy(F.hessian(fw)(x)), "torch.func.hessian (jacfwd(jacrev))"
        return _as_numpy(F.jacrev(F.jacrev(fw))(x)), "torch.func.jacrev(jacrev)"
    if kind == "hvp":
        if mode == "forward-over-reverse":
            return _as_numpy(F.jvp(F.grad(fw), (x,), (probe,))[1]), "torch.func.jvp(grad)"
        _, pullback = F.vjp(F.grad(fw), x)
        return _as_numpy(pullback(probe)[0]), "torch.func.vjp(grad)"
    raise ValueError(f"no torch.func reference for kind {kind!r} in mode {mode!r}")


def torch_tape_reference(kind: str, fw, w: tuple, probe) -> tuple[object, str]:
    """(reference, the torch.autograd call used): the classic recorded tape."""
    torch = _torch()
    leaves = tuple(t.requires_grad_() for t in _tensors(w))
    if probe is not None:
        probe = _tensors(probe) if isinstance(probe, tuple) else _tensors((probe,))[0]
    A = torch.autograd
    if kind in ("derivative", "gradient", "jacobian"):
        jac = A.functional.jacobian(fw, leaves, vectorize=False)
        return _as_numpy(jac), "torch.autograd.functional.jacobian"
    if kind == "jvp":
        return _as_numpy(A.functional.jvp(fw, leaves, probe)[1]), "torch.autograd.functional.jvp"
    if kind == "vjp":
        out = fw(*leaves)
        grads = A.grad(out, leaves, grad_outputs=probe, allow_unused=True)
        grads = tuple(torch.zeros_like(t) if g is None else g for g, t in zip(grads, leaves))
        return _as_numpy(grads), "torch.autograd.grad(grad_outputs=cotangent)"
    (x,) = leaves
    if kind == "hessian":
        return _as_numpy(A.functional.hessian(fw, x)), "torch.autograd.functional.hessian"
    if kind == "hvp":
        (g,) = A.grad(fw(x), (x,), create_graph=True)
        (hv,) = A.grad(g, (x,), grad_outputs=probe)
        return _as_numpy(hv), "torch.autograd.grad of the gradient (double backward)"
    raise ValueError(f"no torch.autograd reference for kind {kind!r}")
