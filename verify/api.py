"""``verify.check``: the engine as a library, for a user's own function and derivative.

    >>> import numpy as np, verify
    >>> from array_api_compat import array_namespace
    >>> def f(x):                      # written against the array API: numpy, JAX, torch
    ...     xp = array_namespace(x)
    ...     return xp.sum(xp.tanh(x) ** 2)
    >>> def f_gradient(x):             # the hand-coded derivative, numpy
    ...     t = np.tanh(x)
    ...     return 2 * t * (1 - t**2)
    >>> result = verify.check(f, f_gradient, np.array([0.3, -1.2, 2.0]), kind="gradient")
    >>> result.passed
    True

The function and its derivative become a registry ``Identity`` (chapter "user") and run
through ``verify.engine.run_entry`` with the given arguments: the same checks, metric and
tolerance table as the curriculum. Above a size threshold the checks are projected onto
a few random ⟨u, J v⟩ (verify/projection.py). A function that does not run on JAX or torch
arrays is checked against the backends it runs on, finite differences at least, and the
result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import inspect
import numbers
import sys
import time
import weakref

from .engine import FRAMEWORK_CHOICES, argument_names, describe_argument, run_entry, same_bits
from .results import EntryResult, VerificationError, failure_lines  # noqa: F401  (VerificationError: verify.VerificationError)
from .registry import KINDS, PROBE_NAMES, PROBED_KINDS, SECOND_ORDER_KINDS, Identity, UsageError
from .tolerances import TOLERANCES

USER_CHAPTER = "user"


# --------------------------------------------------------------------------------------
# Usage mistakes: one UsageError at once, before anything runs
# --------------------------------------------------------------------------------------


def _parameter_names(function) -> list[str]:
    try:
        return [p.name for p in inspect.signature(function).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


def normalize_wrt(wrt, function, nargs: int, kind: str):
    """wrt as the engine takes it (an int, or a tuple of distinct ints), or a UsageError.

    An integer (np.int64 too) is an argument's position; a string is the name of one of
    the primal's parameters."""

    def one(w):
        if isinstance(w, str):
            names = _parameter_names(function)
            if w not in names[:nargs]:
                known = ", ".join(repr(n) for n in names[:nargs]) or "none that can be read"
                raise UsageError(f"wrt={w!r}: the primal has no parameter named {w!r} among its {nargs} argument(s) ({known})")
            return names.index(w)
        if isinstance(w, bool) or not isinstance(w, numbers.Integral):
            raise UsageError(f"wrt={w!r}: give an argument's position (an int) or name (a str), or a tuple of them")
        w = int(w)
        if not 0 <= w < nargs:
            raise UsageError(f"wrt={w} is out of range: {nargs} argument(s) were given, positions 0 to {nargs - 1}")
        return w

    if isinstance(wrt, (tuple, list)):
        if not wrt:
            raise UsageError("wrt=() names no argument: give at least one position or name")
        positions = tuple(one(w) for w in wrt)
        if len(set(positions)) != len(positions):
            raise UsageError(f"wrt={tuple(wrt)!r} names an argument twice")
        if kind in SECOND_ORDER_KINDS and len(positions) != 1:
            raise UsageError(f"a {kind} is taken with respect to one argument, not wrt={tuple(wrt)!r}")
        return positions
    return one(wrt)


def check_signature(derivative, kind: str, nargs: int, multiple_wrt: bool) -> None:
    """A UsageError when the derivative cannot be called as its kind calls it."""
    if not callable(derivative):
        raise UsageError(f"the derivative must be a function, not {type(derivative).__name__}")
    try:
        signature = inspect.signature(derivative)
    except (TypeError, ValueError):
        return  # a builtin without a readable signature: its call will tell
    count = nargs + (kind in PROBED_KINDS)
    try:
        signature.bind(*range(count))
    except TypeError:
        params = [p for p in signature.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        takes = f"yours takes {len(params)} argument{'s' if len(params) != 1 else ''}"
        if kind in PROBED_KINDS:
            probe = PROBE_NAMES[kind] + ("s (a tuple, one per wrt argument)" if kind == "jvp" and multiple_wrt else "")
            call = f"derivative(*args, {probe})"
        else:
            call = "derivative(*args)"
        raise UsageError(f"a {kind} derivative is called as {call} with the {nargs} argument(s) given: {takes}") from None


# --------------------------------------------------------------------------------------
# Test-point adequacy: inputs at which common wrong formulas give the right numbers
# --------------------------------------------------------------------------------------


def adequacy_notes(function, args: tuple, wrt, out_shape=None) -> list[str]:
    """Cheap, factual warnings about the given inputs (never a failure)."""
    names = argument_names(function, len(args))
    wrt = (wrt,) if isinstance(wrt, int) else tuple(wrt)
    notes = []
    arrays = []
    for i, a in enumerate(args):
        try:
            a = np.asarray(a)
        except Exception:
            continue
        if not np.issubdtype(a.dtype, np.number) or a.size == 0:
            arrays.append(None)
            continue
        arrays.append(a)
        what = describe_argument(i, names)
        if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and a.shape[-1] >= 2 and np.array_equal(a, np.swapaxes(a, -1, -2)) and not (np.all(a == 0) or np.all(a == 1)):
            symbol = names[i] or "A"
            notes.append(f"{what} is symmetric: a derivative that confuses {symbol} and {symbol}ᵀ "
                         f"(or uses only its symmetric part) passes here")
        if a.size > 1 and np.all(a == 0):
            notes.append(f"{what} is all zeros: terms proportional to it (x vs x², a dropped product-rule term) cannot be told apart here (trials=3 also checks at points moved off it)")
        elif a.size > 1 and np.all(a == 1):
            notes.append(f"{what} is all ones: x, x², 1/x and sums over any of its axes agree here (trials=3 also checks at points moved off it)")
        if i in wrt:
            axes = [n for n in a.shape if n >= 2]
            repeated = sorted({n for n in axes if axes.count(n) > 1})
            if repeated:
                notes.append(f"{what} has shape {a.shape}, two axes of length {repeated[0]}: a transposed result has the right shape here")
    for i, a in enumerate(arrays):
        for j in range(i + 1, len(arrays)):
            b = arrays[j]
            if a is not None and b is not None and a.ndim == b.ndim == 2 and a.shape[0] != a.shape[1] and a.shape == b.shape[::-1] and (i in wrt or j in wrt):
                notes.append(f"{describe_argument(i, names)} and {describe_argument(j, names)} have transposed shapes {a.shape} and {b.shape}: "
                             f"a derivative that swaps their roles has the right shape here")
    if out_shape is not None and len([n for n in out_shape if n >= 2]) >= 2:
        lengths = [n for n in out_shape if n >= 2]
        repeated = sorted({n for n in lengths if lengths.count(n) > 1})
        if repeated:
            notes.append(f"f returns shape {tuple(out_shape)}, two axes of length {repeated[0]}: a transposed cotangent or result has the right shape here")
    return notes


def user_identity(function, derivative, args: tuple, *, kind: str, wrt=0, name: str | None = None, tolerance=None,
                  tolerance_reason: str = "", holomorphic: bool = False, fd_step: float = 0.05) -> Identity:
    """An Identity for a user's pair: its sampler returns the given arguments."""
    if kind not in KINDS:
        raise UsageError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    name = name or getattr(function, "__name__", "function")
    args = tuple(args)
    if isinstance(tolerance, (int, float)):  # one value for every oracle
        tolerance = {oracle: float(tolerance) for oracle in ("autodiff", "finite_difference", "finite_difference_2", "complex_step")}
    tolerance = dict(tolerance or {})
    if tolerance and not tolerance_reason:
        tolerance_reason = "set by the caller"
    return Identity(
        name=name,
        chapter=USER_CHAPTER,
        statement=f"user function {name}: {kind}",
        derivation="",
        function=function,
        derivative=derivative,
        kind=kind,
        sample=lambda rng: args,
        wrt=wrt if isinstance(wrt, int) else tuple(wrt),
        holomorphic=holomorphic,
        tolerance=tolerance,
        tolerance_reason=tolerance_reason,
        fd_step=fd_step,
    )


META_ABOVE_S, META_ABOVE_SIZE = 4e-3, 2**17
"""torch's meta tensors answer runs_on in about 3 ms whatever the size (each operation
runs its shape rules in Python); a real call costs what f costs: 0.06 ms for a small f,
13 ms for one of 10⁶ inputs. runs_on tries meta tensors first where f's numpy call took
longer than META_ABOVE_S or, not timed, where the arguments hold more than
META_ABOVE_SIZE numbers."""


_RUNS_ON: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""function -> {(framework, its arguments' shapes and dtypes)} on which runs_on found that it
runs: a check of the same function at the same shapes does not ask again (1.0–1.5 ms of
JAX tracing per check at n = 10³ … 10⁴, a torch call or 3 ms of meta tensors). Held
weakly: a function that goes away takes its entries with it."""


def runs_on(framework: str, function, args: tuple, primal_seconds: float | None = None) -> bool:
    """Whether the primal runs on this framework's arrays and returns one of them (remembered
    per function, framework and the shapes and dtypes of plain numpy arguments: _RUNS_ON)."""
    signature = ((framework, tuple((a.shape, a.dtype.str) for a in args))
                 if all(type(a) is np.ndarray for a in args) else None)
    try:
        known = signature is not None and signature in _RUNS_ON.get(function, ())
    except TypeError:  # a callable that takes no weak reference
        known, signature = False, None
    if known:
        return True
    verdict = _runs_on(framework, function, args, primal_seconds)
    if verdict and signature is not None:
        _RUNS_ON.setdefault(function, set()).add(signature)
    return verdict


def _runs_on(framework: str, function, args: tuple, primal_seconds: float | None = None) -> bool:
    """Whether the primal runs on this framework's arrays and returns one of them.

    A numpy-only function either raises on a jax/torch array or quietly converts it
    with np.asarray and returns a numpy array: both mean autodiff cannot see through it.
    For JAX the function is traced, not run (jax.eval_shape: np.asarray of a tracer
    raises), and run eagerly only where tracing fails on a value (Python control flow).
    For torch it runs on real tensors where a call is cheap (``primal_seconds``: f's numpy
    call; see META_ABOVE_S), else first on meta tensors (shapes only, no arithmetic), and
    on real ones only where an operation has no meta kernel or a shape depends on the values.
    """
    from . import backends  # noqa: F401  (enables float64 in JAX first)

    try:
        if framework == "jax":
            import jax

            arrays = [backends.as_jax(a) for a in args]
            try:
                return all(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in [jax.eval_shape(function, *arrays)])
            except Exception as exc:
                if not backends._tracing_error(jax, exc):
                    return False
            return isinstance(function(*arrays), jax.Array)
        import torch

        large = sum(np.size(a) for a in args) > META_ABOVE_SIZE if primal_seconds is None else primal_seconds > META_ABOVE_S
        if large:
            try:  # on the meta device torch computes shapes only (np.asarray of a meta tensor raises)
                meta = [torch.empty(a.shape, dtype=torch.from_numpy(np.empty(0, a.dtype)).dtype, device="meta")
                        if isinstance(a, np.ndarray) else a for a in args]
                return isinstance(function(*meta), torch.Tensor)
            except Exception:  # an operation without a meta kernel, or one whose shape depends on values
                pass
        tensors = [torch.from_numpy(np.array(a, copy=True)) if isinstance(a, np.ndarray) else a for a in args]
        return isinstance(function(*tensors), torch.Tensor)
    except Exception:
        return False


@dataclass
class CheckReport:
    """The outcome of ``verify.check``: prints like a CLI row, has ``passed``."""

    entry: EntryResult
    notes: list[str] = field(default_factory=list)
    frameworks: tuple[str, ...] = FRAMEWORK_CHOICES

    @property
    def passed(self) -> bool:
        return self.entry.passed

    @property
    def checks(self):
        return self.entry.checks

    @property
    def failures(self):
        return self.entry.failures

    @property
    def strategy(self) -> str:
        """Which checks ran dense or projected, and why: 'strategy dense (budget …): predicted …'."""
        return self.entry.strategy

    @property
    def projected(self) -> bool:
        return any(c.mode.endswith("projected") for c in self.entry.checks)

    def message(self) -> str:
        """One line per failed check (identity, backend, mode, error vs tolerance), where it is
        wrong (argument, worst entry, got/expected, fraction wrong) and the likely mistake,
        then the notes."""
        lines = failure_lines(self.failures) or [f"{self.entry.name}: all {len(self.checks)} checks pass"]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def raise_for_failure(self) -> "CheckReport":
        """Raise VerificationError (an AssertionError) listing the failed checks."""
        __tracebackhide__ = True
        if not self.passed:
            raise VerificationError(f"{self.entry.statement}: {len(self.failures)} of {len(self.checks)} checks fail\n{self.message()}")
        return self

    def __str__(self) -> str:
        from . import report

        return "\n".join([report.header(), report.row(self.entry)] + [f"note: {n}" for n in self.notes])


def check(function, *args, kind: str | None = None, wrt=None, reference=None, name: str | None = None, tolerance=None,
          tolerance_reason: str = "", holomorphic: bool = False, seed: int = 0, dtype: str | None = None,
          backends=None, projection="auto", fd_step: float = 0.05, raise_on_failure: bool = False, trials: int = 0,
          sample=None, strategy: str = "auto", probes: int | None = None) -> CheckReport:
    """Check a derivative of ``function`` at the example arguments against JAX, torch and
    finite differences; returns a CheckReport (``.passed``; ``print`` shows every check's
    error; ``.message()`` says where and why a check fails).

    Called as ``check(function, derivative, *example_args, kind=...)`` with a hand-coded
    derivative, or ``check(function, *example_args)`` without one: then what is checked is
    the framework's own derivative of a torch- or JAX-native function (an autograd.Function's
    registered backward, a custom_vjp rule, autograd through a Module). See "Native layers"
    below.

    ``function`` is written against the array API (operators, array methods, or
    ``array_api_compat.array_namespace(x)``) so that it runs on numpy, JAX and torch arrays;
    one that runs on numpy only is checked against finite differences, and the report says
    so. ``derivative`` is numpy code and receives every argument of ``function``; ``wrt``
    (an index, or a tuple of indices) names the arguments it differentiates.

    The calling convention of each kind (x = example_args[wrt], J the Jacobian of f at x):

    ==========  ============================  ==============================================
    kind        derivative is called as       and returns
    ==========  ============================  ==============================================
    derivative  derivative(*args)             f'(x) shaped like x (f elementwise)
    gradient    derivative(*args)             the gradient of f (scalar) shaped like x
    jacobian    derivative(*args)             J shaped f(x).shape + x.shape
    hessian     derivative(*args)             H shaped x.shape + x.shape (f scalar)
    jvp         derivative(*args, tangent)    J @ tangent, shaped like f(x)
    vjp         derivative(*args, cotangent)  cotangent @ J, shaped like x
    hvp         derivative(*args, vector)     H @ vector, shaped like x (f scalar)
    ==========  ============================  ==============================================

    With several arguments (``wrt=(0, 1)``; a tuple, even of one, means this form),
    gradient, jacobian and vjp return a tuple with one array per argument, and jvp receives
    a tuple of tangents, one per argument, and returns the sum of J_i @ tangent_i.
    derivative, hessian and hvp take one argument. ``@`` contracts over all the axes of x
    (J @ tangent) or of f(x) (cotangent @ J). The tangent, cotangent and vector are random
    (never all ones), drawn by the check.

    One example per kind (tests/test_docs.py runs them):

    >>> import numpy as np, verify
    >>> from array_api_compat import array_namespace
    >>> x, y = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.75])
    >>> sin = lambda x: array_namespace(x).sin(x)          # elementwise
    >>> cube = lambda x: (x**3).sum()                      # scalar
    >>> verify.check(sin, lambda x: np.cos(x), x, kind="derivative").passed
    True
    >>> verify.check(cube, lambda x: 3 * x**2, x, kind="gradient").passed
    True
    >>> verify.check(lambda x: x * x.sum(), lambda x: x.sum() * np.eye(3) + x[:, None], x, kind="jacobian").passed
    True
    >>> verify.check(cube, lambda x: np.diag(6 * x), x, kind="hessian").passed
    True
    >>> verify.check(sin, lambda x, t: np.cos(x) * t, x, kind="jvp").passed
    True
    >>> verify.check(lambda x: x * x.sum(), lambda x, u: u * x.sum() + u @ x, x, kind="vjp").passed
    True
    >>> verify.check(cube, lambda x, v: 6 * x * v, x, kind="hvp").passed
    True

    Several arguments: f(x, y) = sum(x * y) and g(x, y) = x * y.

    >>> verify.check(lambda x, y: (x * y).sum(), lambda x, y: (y, x), x, y, kind="gradient", wrt=(0, 1)).passed
    True
    >>> verify.check(lambda x, y: (x * y).sum(), lambda x, y: x, x, y, kind="gradient", wrt=1).passed
    True
    >>> verify.check(lambda x, y: x * y, lambda x, y: (np.diag(y), np.diag(x)), x, y, kind="jacobian", wrt=(0, 1)).passed
    True
    >>> verify.check(lambda x, y: x * y, lambda x, y, t: y * t[0] + x * t[1], x, y, kind="jvp", wrt=(0, 1)).passed
    True
    >>> verify.check(lambda x, y: x * y, lambda x, y, u: (u * y, u * x), x, y, kind="vjp", wrt=(0, 1)).passed
    True

    Native layers and structured arguments. ``function`` may also be torch-native (a function
    of tensors, a ``torch.nn.Module``, a ``torch.autograd.Function``) or JAX-native (a function
    of JAX arrays, a ``jax.custom_vjp`` / ``jax.custom_jvp``); it then runs only on its own
    framework and on numpy leaves converted to it, and the notes say which references ran.
    A hand-coded derivative of a native function receives that framework's arrays. Arguments
    and results may be dicts, tuples and lists of arrays; ``wrt`` then names an argument
    (position or name) or a path (``"params.w"`` or ``"params['w']"``), and the derivative
    returns, per ``wrt`` item, a structure like the selected one. A Module is checked as
    ``f(*inputs, params)`` with ``params = dict(module.named_parameters())``; the default
    ``wrt`` is every floating input and ``params`` (for tensors with ``requires_grad``, those,
    as in gradcheck). ``reference=`` gives an independent implementation whose autodiff is one
    more reference.

    >>> import torch
    >>> class Cube(torch.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x**3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 3 * x**2 * g
    >>> verify.check(Cube, torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)).passed
    True
    >>> verify.check(torch.nn.Linear(3, 2).double(), torch.ones(4, 3, dtype=torch.float64)).passed
    True
    >>> loss = lambda p, x: ((x @ p["w"] + p["b"]) ** 2).sum()
    >>> def loss_gradient(p, x):
    ...     r = x @ p["w"] + p["b"]
    ...     return {"w": 2 * x.T @ r, "b": 2 * r.sum(0)}
    >>> p = {"w": np.array([[1.0, -2.0], [0.5, 3.0]]), "b": np.array([0.1, -0.3])}
    >>> verify.check(loss, loss_gradient, p, np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, 0.2]]), kind="gradient").passed
    True

    Options:

    wrt: which argument(s) the derivative differentiates: a position, a name, a path, or a
      tuple of them (default: the first argument; see above for Modules and requires_grad).
    reference: an independent implementation of ``function`` (array-API, torch or JAX).
    dtype: the dtype of the check (default float64, or the dtype of the tensors given).

    backends: a subset of ("jax", "torch", "fd"); default all that are installed and that the
      function runs on. A framework that is not installed is left out with a note ("torch is
      not installed: checked without torch (pip install calculus-for-ml[torch])"); naming it
      here is a ValueError.
    strategy: "auto" (dense or random ⟨u, J v⟩ probes, chosen by predicted cost: at most about
      twice torch.autograd.gradcheck's time; verify/strategy.py), "dense" or "projected".
      ``result.strategy`` says which ran and why (a note too, unless everything ran dense),
      and a note states the detection power of the probes.
    projection: the older spelling: True is strategy="projected", False strategy="dense".
    probes: the number of block probes per side where checks are projected. Default: none
      where a reverse-mode check compares uᵀJ entrywise (every kind but jvp, with JAX or
      torch), which already gives the dense check's single-entry power; else up to 16, as
      many as the budget pays for.
    tolerance: a float for every oracle, or {oracle: value}; see verify/tolerances.py.
    raise_on_failure: raise VerificationError (an AssertionError) instead of returning a
      failed result.
    trials: also check at this many further points, perturbations of the given arguments
      that keep their structure (shapes, dtypes, signs; integer labels unchanged) and move
      off degenerate values (ones, zeros, equal entries, symmetric matrices); each check
      reports its worst point, and a note says when the given point passed but a trial
      failed ("the given point is degenerate: ..."). See verify/trials.py.
    sample: a function rng -> tuple of arguments that draws the trials' points instead
      (trials defaults to 3 when sample is given).
    """
    __tracebackhide__ = True
    from .projection import PROJECTION_CHOICES

    derivative, example_args = _split_derivative(args)
    if projection not in PROJECTION_CHOICES:
        raise UsageError(f"projection must be one of {PROJECTION_CHOICES}, not {projection!r}")
    from .strategy import STRATEGIES, normalize

    if strategy not in STRATEGIES:
        raise UsageError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if probes is not None and (isinstance(probes, bool) or not isinstance(probes, numbers.Integral) or probes < 1):
        raise UsageError(f"probes must be a positive integer, not {probes!r}")
    strategy = normalize(strategy, projection)
    if not example_args and not _is_module(function):
        raise UsageError("give the example argument(s) at which to check the derivative")
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 0:
        raise UsageError(f"trials={trials!r}: give the number of further points to check at (an int >= 0)")
    if sample is not None and not callable(sample):
        raise UsageError(f"sample must be a function rng -> tuple of arguments, not {type(sample).__name__}")
    if kind is None:
        if derivative is not None:
            raise UsageError(f"give kind=, one of {', '.join(KINDS)}: what the derivative returns")
        kind = "jvp" if _is_custom_jvp(function) else "vjp"
    if kind not in KINDS:
        raise UsageError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if dtype is not None and ("autodiff", str(dtype)) not in TOLERANCES:
        known = ", ".join(dict.fromkeys(d for o, d in TOLERANCES if o == "autodiff"))
        raise UsageError(f"dtype {dtype!r} has no row in the tolerance table (verify/tolerances.py): choose from {known}")
    chosen = tuple(FRAMEWORK_CHOICES if backends is None else ((backends,) if isinstance(backends, str) else backends))
    unknown = [b for b in chosen if b not in FRAMEWORK_CHOICES]
    if unknown or not chosen:
        raise UsageError(f"backends must be among {FRAMEWORK_CHOICES}, not {unknown or chosen}")
    options = dict(name=name, tolerance=tolerance, tolerance_reason=tolerance_reason, holomorphic=holomorphic, seed=seed,
                   fd_step=fd_step, trials=int(trials), sample=sample, strategy=strategy, probes=probes)
    seen: dict = {}
    if derivative is None or reference is not None or _needs_structure(function, example_args, wrt, seen):
        from .native import check_structured

        report = check_structured(function, derivative, example_args, kind=kind, wrt=wrt, reference=reference, dtype=dtype,
                                  chosen=chosen, backends_given=backends is not None, **options)
    else:
        report = _check_arrays(function, derivative, example_args, kind=kind, wrt=0 if wrt is None else wrt, dtype=dtype or "float64",
                               chosen=chosen, backends=backends, seen=seen, **options)
    if raise_on_failure:
        report.raise_for_failure()
    return report


def _split_derivative(args: tuple):
    """(derivative or None, example args): the derivative is omitted when the first of
    ``args`` is not a function (an array, a tensor, a dict of them ...)."""
    if args and callable(args[0]) and not _is_module(args[0]) and not hasattr(args[0], "shape"):
        return args[0], args[1:]
    return None, args


def _is_module(value) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.nn.Module)


def _is_custom_jvp(function) -> bool:
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(function, jax.custom_jvp)


def _on_copies(function, args):
    """f on fresh copies of its numpy arguments: a write inside f must not reach the caller's arrays."""
    return function(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args])


def _needs_structure(function, example_args, wrt, seen: dict | None = None) -> bool:
    """Whether the check goes through verify/native.py: a native function or array, a
    structured argument, or wrt given as a path. The numpy value of f it computes on the
    way is kept in ``seen["out"]`` (the plain path reuses it)."""
    from .structure import is_structured

    if _is_module(function) or _is_custom_jvp(function):
        return True
    jax, torch = sys.modules.get("jax"), sys.modules.get("torch")
    if jax is not None and isinstance(function, jax.custom_vjp):
        return True
    if torch is not None and (getattr(function, "__self__", None) is not None and isinstance(function.__self__, type)
                              and issubclass(function.__self__, torch.autograd.Function)):
        return True
    for a in example_args:
        if is_structured(a):
            return True
        if torch is not None and isinstance(a, torch.Tensor):
            return True
        if jax is not None and isinstance(a, jax.Array):
            return True
    items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    if any(isinstance(w, str) and not w.isidentifier() for w in items):  # a path: "params.w", "params['w']"
        return True
    copies = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in example_args]
    try:  # a structured result (a tuple, a dict of arrays); with the engine's floating-point guard
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            started = time.perf_counter()
            out = function(*copies)
            seconds = time.perf_counter() - started
    except FloatingPointError:  # the engine names it; whether the result is structured is asked without the guard
        try:
            with np.errstate(all="ignore"):
                return is_structured(_on_copies(function, example_args))
        except Exception:
            return False
    except Exception:
        return False  # the engine calls f again and says why it fails
    written = any(isinstance(a, np.ndarray) and (c.shape != a.shape or not same_bits(c, a)) for a, c in zip(example_args, copies))
    if seen is not None and not written and all(type(a) is np.ndarray for a in example_args):
        # the engine's own call would see exactly these arrays (a write: it calls f again and names it)
        seen["out"], seen["seconds"] = out, seconds
    return is_structured(out)


def _check_arrays(function, derivative, example_args, *, kind, wrt, name, tolerance, tolerance_reason, holomorphic, seed, dtype,
                  chosen, backends, fd_step, trials, sample, strategy, probes, seen=None) -> CheckReport:
    """verify.check for array-API code on plain arrays and a numpy derivative; ``seen``: f at
    the example arguments and its time where _needs_structure computed them (the engine
    then calls f once less)."""
    seen = seen or {}
    out = seen.get("out")
    __tracebackhide__ = True
    wrt = normalize_wrt(wrt, function, len(example_args), kind)
    check_signature(derivative, kind, len(example_args), not isinstance(wrt, int))
    entry = user_identity(function, derivative, example_args, kind=kind, wrt=wrt, name=name, tolerance=tolerance,
                          tolerance_reason=tolerance_reason, holomorphic=holomorphic, fd_step=fd_step)
    args = tuple(np.asarray(a) if isinstance(a, (list, float, int)) else a for a in example_args)
    notes = []
    from .backends import DISPLAY, install_hint, missing_note, unavailable

    missing = unavailable(chosen)  # a framework that is not installed is a note, unless asked for
    if missing and backends is not None:
        raise ValueError(f"backends={backends!r} asks for {' and '.join(DISPLAY[fw] for fw in missing)}, but {'; '.join(missing.values())} "
                         f"({install_hint(next(iter(missing)) if len(missing) == 1 else 'all')})")
    if missing:
        chosen = tuple(fw for fw in chosen if fw not in missing)
        notes.append(missing_note(missing, fd_only=chosen == ("fd",)))
    unable = [fw for fw in chosen if fw != "fd" and not runs_on(fw, function, args, seen.get("seconds"))]
    if unable:
        chosen = tuple(fw for fw in chosen if fw not in unable)
        names = " and ".join({"jax": "JAX", "torch": "torch"}[fw] for fw in unable)
        if not [fw for fw in chosen if fw != "fd"]:
            notes.append(f"function does not run on {names} arrays: checked against finite differences only")
        else:
            notes.append(f"function does not run on {names} arrays: checked without {names}")
        if not chosen:
            chosen = ("fd",)
    try:
        if out is None:
            with np.errstate(all="ignore"):
                out = _on_copies(function, args)
        out_shape = None if kind not in ("vjp", "jacobian") else np.shape(np.asarray(out))
    except Exception:
        out, out_shape = None, None
    notes.extend(adequacy_notes(function, args, wrt, out_shape))
    run_options = dict(seed=seed, frameworks=chosen, dtype=dtype, raise_usage=True, strategy=strategy, probes=probes)
    result = run_entry(entry, args=args, primal_value=(seen["out"], seen["seconds"]) if "out" in seen else None, **run_options)
    if trials or sample is not None:  # more than the one point (verify/trials.py)
        from .trials import run_trials

        rerun = lambda moved: run_entry(entry, args=moved, **run_options)  # noqa: E731
        notes.extend(run_trials(function, args, result, rerun, trials=trials or 3, seed=seed, sample=sample,
                                names=argument_names(function, len(args))))
    notes.extend(result.notes)
    notes.extend(projection_notes(entry, args, result, out))
    return CheckReport(result, notes, chosen)


def projection_notes(entry, args: tuple, result: EntryResult, out=None) -> list[str]:
    """What a projected check adds to its notes: which checks ran on ⟨u, J v⟩ probes, and
    the detection power of those probes (verify/projection.py's power_note); ``out``: f
    at ``args`` where known (else computed here, for m)."""
    projected = [c for c in result.checks if c.mode.endswith("projected")]
    if not projected:
        return []
    from .projection import PROBES, power_note, sizes

    counts = {c.check: int(c.method.split(" block probes")[0].rsplit(" ", 1)[-1]) for c in projected if " block probes" in c.method}
    pairs = f"{PROBES} pair{'s' if PROBES > 1 else ''}" + (" and block probes" if counts else "")
    notes = [f"checked on random projections ⟨u, J v⟩ ({pairs} per mode) instead of the full Jacobian: "
             + ", ".join(c.check for c in projected)]
    try:
        if out is None:
            out = _on_copies(entry.function, args)
        n, m = sizes(entry, args, out)
        fd_blocks = counts.get("fd", 0)
        blocks = max([v for k, v in counts.items() if k != "fd"], default=0)
        power = power_note(entry.kind, n, m, blocks, fd_blocks, {c.oracle: c.tolerance for c in projected if c.tolerance},
                           {c.check for c in projected})
        if power:
            notes.append(power)
    except Exception:  # the power statement is a note: a result it cannot read leaves it out
        pass
    return notes
