"""The engine: every check of an entry, generated from its kind, run and compared.

``run_entry`` draws inputs with the entry's sampler (seeded by the global seed, the
entry's name and the trial number, so filtering does not change the draws), validates
them, calls the hand-coded derivative (twice, on two copies: the nondeterminism verdict),
and compares it with every reference (JAX, torch.func, the torch.autograd tape, finite
differences, the complex step) using the one metric of ``verify.tolerances``. Nothing
escapes as a traceback: any exception becomes a FAIL of the check it happened in, with a
one-line reason (a UsageError is raised instead when the caller asks, as verify.check does).

Traps that do not depend on the values: every call of the primal and of the derivative
gets fresh copies of its inputs (``Guarded``), so no call moves the point at which the
next is evaluated; a write into an argument ("derivative writes into argument 0 (x)") and
two calls that differ ("nondeterministic: ...") fail every check with their own reason,
followed by what the comparison on copies found. At a kink of f (one-sided derivatives
that differ at every step: ``oracles.examine_kinks``), a check is judged off the kink by its reference
and at it by the interval between the one-sided derivatives: a value inside is a valid
subgradient, whichever subgradient JAX or torch chose.
"""

from __future__ import annotations

import inspect
import sys
import time
import zlib
from dataclasses import dataclass
from dataclasses import replace as dataclasses_replace

import numpy as np

from . import tolerances
from .diagnose import PROJECTED
from .frameworks import of_wrt
from .linalg import diagonal_jacobian
from .registry import PROBE_NAMES, PROBED_KINDS, SECOND_ORDER_KINDS, Claim, Identity, UsageError
from .results import BadInput, CheckResult, EntryResult, failure_lines, one_line as _one_line, raised_at as _at  # noqa: F401
from .tolerances import ORACLE_ESTIMATE_FACTOR, ComparisonError, relative_error_parts, tolerance

FRAMEWORK_CHOICES = ("jax", "torch", "fd")
DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class CheckSpec:
    """One generated check: which backend, which mode, which tolerance row."""

    id: str
    framework: str  # jax | torch | fd (what --backend filters on)
    backend: str  # jax | torch.func | torch.autograd | numpy
    mode: str  # forward | reverse | forward-over-reverse | reverse-over-reverse | tape | ...
    oracle: str  # the key into the tolerance table
    target: str = "function"  # "reference": the autodiff of the entry's reference implementation


def check_specs(entry: Identity, frameworks=FRAMEWORK_CHOICES, exclude=(), reference_frameworks=()) -> list[CheckSpec]:
    """The checks generated for an entry: a function of its kind and holomorphic flag, less
    the ids in ``exclude``, plus the reverse-mode autodiff of the entry's reference
    implementation on each of ``reference_frameworks``."""
    if entry.kind in SECOND_ORDER_KINDS:
        first, second = "forward-over-reverse", "reverse-over-reverse"
        fd_oracle = "finite_difference_2"
    else:
        first, second = "forward", "reverse"
        fd_oracle = "finite_difference"
    specs = [
        CheckSpec("jax.fwd", "jax", "jax", first, "autodiff"),
        CheckSpec("jax.rev", "jax", "jax", second, "autodiff"),
        CheckSpec("torch.fwd", "torch", "torch.func", first, "autodiff"),
        CheckSpec("torch.rev", "torch", "torch.func", second, "autodiff"),
        CheckSpec("torch.tape", "torch", "torch.autograd", "tape", "autodiff"),
        CheckSpec("fd", "fd", "numpy", "central differences (scipy, order 8)", fd_oracle),
    ]
    if entry.holomorphic and entry.kind not in SECOND_ORDER_KINDS:
        specs.append(CheckSpec("cstep", "fd", "numpy", "complex step", "complex_step"))
    specs = [s for s in specs if s.framework in frameworks and s.id not in exclude]
    if entry.reference is not None:
        backend = {"jax": "jax", "torch": "torch.func"}
        specs += [CheckSpec(f"reference.{fw}", fw, backend[fw], f"{second} (reference implementation)", "autodiff", target="reference")
                  for fw in reference_frameworks]
    return specs


def entry_rng(seed: int, name: str, trial: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode()), trial])


# --------------------------------------------------------------------------------------
# Input validation: bad input is a FAIL with a reason, never a traceback
# --------------------------------------------------------------------------------------


def _validate_inputs(entry: Identity, args: tuple) -> None:
    for i, a in enumerate(args):
        a = np.asarray(a)
        role = "differentiated argument" if i in entry.wrt_tuple else "argument"
        if i in entry.wrt_tuple:
            if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
                raise BadInput(f"{role} {i} has dtype {a.dtype}: derivatives need a floating-point input")
            if np.iscomplexobj(a):
                note = "" if entry.holomorphic else " (this entry is not holomorphic)"
                raise BadInput(f"{role} {i} is complex{note}: checks take real inputs")
            if a.size == 0:
                raise BadInput(f"{role} {i} is empty (shape {a.shape}): nothing to differentiate")
        if np.issubdtype(a.dtype, np.inexact) and not np.all(np.isfinite(a)):
            bad = "NaN" if np.any(np.isnan(a)) else "Inf"
            raise BadInput(f"{role} {i} contains {bad}")
    if max(entry.wrt_tuple) >= len(args):
        raise BadInput(f"wrt={entry.wrt} but only {len(args)} argument(s) were given")


def _validate_output(entry: Identity, args: tuple, out) -> None:
    out = np.asarray(out)
    if not np.all(np.isfinite(out)):
        raise BadInput("the primal is NaN or Inf at this input (outside its domain?)")
    if entry.kind in ("gradient", "hessian", "hvp") and out.shape != ():
        raise BadInput(f"a {entry.kind} needs a scalar function, but f returns shape {out.shape}")
    if entry.kind == "derivative":
        x = np.asarray(args[entry.wrt_tuple[0]])
        if out.shape != x.shape:
            raise BadInput(f"a derivative entry needs an elementwise f, but f maps shape {x.shape} to {out.shape}")


# --------------------------------------------------------------------------------------
# Value-independent traps: every call on its own copies; writes and nondeterminism named
# --------------------------------------------------------------------------------------


def _copy(value):
    """A copy of a numpy array (or a clone of a torch tensor), through tuples and lists;
    anything else (JAX arrays are immutable, tracers, scalars) as it is."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (tuple, list)):
        return type(value)(_copy(v) for v in value)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.clone()
    return value


BYTES_COMPARED_AS_BYTES = 1 << 16
"""Arrays up to this size are compared by their bytes (two copies and a memcmp, 0.3 µs for
ten float64, where an elementwise comparison takes 20 times more); larger ones through an
unsigned-integer view of their bits (0.6 ms for 10⁶ float64, where the two copies take 14 ms)."""


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays of one shape and dtype hold the same bits (a NaN equals the same
    NaN; −0.0 differs from 0.0)."""
    if a.nbytes <= BYTES_COMPARED_AS_BYTES or a.dtype.hasobject:
        return a.tobytes() == b.tobytes()
    width = next(w for w in (8, 4, 2, 1) if a.dtype.itemsize % w == 0)
    return np.array_equal(*(np.ascontiguousarray(x).reshape(-1).view(f"u{width}") for x in (a, b)))


def _changed(before, after) -> bool:
    """Whether a call wrote into its numpy input, compared bit for bit (same_bits)."""
    if isinstance(before, np.ndarray):
        return (not isinstance(after, np.ndarray) or before.shape != after.shape or before.dtype != after.dtype
                or not same_bits(before, after))
    if isinstance(before, (tuple, list)):
        return any(_changed(b, a) for b, a in zip(before, after))
    return False


def _spread(first, second) -> float:
    """max|first − second| / max(max|first|, tiny) over matching results; inf if their
    structure differs; NaN at the same places counts as equal, and two arrays of the same
    bits have spread 0 (infinities at the same places included)."""
    if isinstance(first, (tuple, list)) or isinstance(second, (tuple, list)):
        if not (isinstance(first, (tuple, list)) and isinstance(second, (tuple, list))) or len(first) != len(second):
            return float("inf")
        return max((_spread(a, b) for a, b in zip(first, second)), default=0.0)
    try:
        a = np.asarray(first, dtype=np.float64) if not np.iscomplexobj(first) else np.asarray(first)
        b = np.asarray(second, dtype=np.float64) if not np.iscomplexobj(second) else np.asarray(second)
    except (TypeError, ValueError):
        return 0.0 if first is second else float("inf")
    if a.shape != b.shape:
        return float("inf")
    if a.dtype == b.dtype and same_bits(a, b):  # the usual case, at a tenth of the cost of the difference
        return 0.0
    same_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(same_nan, 0.0, np.abs(a - b))
    if a.size == 0:
        return 0.0
    if not np.all(np.isfinite(diff)):
        return float("inf")
    scale = max(float(np.max(np.where(np.isfinite(a), np.abs(a), 0.0))), np.finfo(np.float64).tiny)
    return float(np.max(diff) / scale)


class Guarded:
    """A user's function called on fresh copies of its inputs, so that no call can change
    the point at which the next one (a reference, the other side) is evaluated.

    ``writes`` collects the positions of the numpy inputs a call wrote into. With
    ``repeat``, each call runs twice on two copies and ``spread`` keeps the largest
    difference between the two results (the nondeterminism verdict)."""

    def __init__(self, function, repeat: bool = False):
        self.function = function
        self.__wrapped__ = function  # the JAX caches key on the user's function
        self.repeat = repeat
        self.writes: set[int] = set()
        self.spread = 0.0
        # a framework-native f evaluated on many points in one call (frameworks.Adapter.batched):
        # the finite differences' fast path; the plain calls above still catch writes
        self.batched = getattr(function, "__verify_batched__", None)

    def __call__(self, *inputs):
        copies = _copy(inputs)
        result = self.function(*copies)
        if result is None and self.repeat:  # the derivative's guard
            raise UsageError("the derivative returned None (missing return?)")
        self.writes.update(i for i, (before, after) in enumerate(zip(inputs, copies)) if _changed(before, after))
        if self.repeat:
            again = self.function(*_copy(inputs))
            self.spread = max(self.spread, _spread(result, again))
        return result

    def on_fresh(self, inputs: tuple, fresh):
        """f on ``inputs`` where the positions in ``fresh`` hold arrays made for this call
        alone (a finite difference's shifted point): those go in uncopied, as no other call
        reads them; the others are copied and watched as in a plain call."""
        copies = tuple(a if i in fresh else _copy(a) for i, a in enumerate(inputs))
        result = self.function(*copies)
        self.writes.update(i for i, (before, after) in enumerate(zip(inputs, copies)) if i not in fresh and _changed(before, after))
        return result


def argument_names(function, count: int | None = None) -> list[str]:
    """The names of a function's positional parameters: all of them, or the first ``count``
    ('' where there is none); [] when its signature is unknown. A function of flattened
    structured arguments (verify/structure.py) names its leaves by their paths."""
    paths = getattr(inspect.unwrap(function), "__verify_argument_names__", None)
    if paths is not None:
        return paths if count is None else type(paths)(paths[i] if i < len(paths) else "" for i in range(count))
    try:
        params = [p for p in inspect.signature(function).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if count is None:
        return [p.name for p in params]
    return [params[i].name if i < len(params) else "" for i in range(count)]


def describe_argument(i: int, names: list[str]) -> str:
    name = names[i] if i < len(names) else ""
    if name and not name.isidentifier():  # a leaf of a structured argument: its path
        return name
    return f"argument {i} ({name})" if name else f"argument {i}"


def trap_verdicts(entry: Identity, primal: Guarded, derivative: Guarded, nargs: int, dtype: str) -> tuple[list[str], list[str]]:
    """(reasons that fail every check, notes) from what the guarded calls saw."""
    reasons, notes = [], []
    names = argument_names(entry.function, nargs)
    for who, guard in (("primal", primal), ("derivative", derivative)):
        written = sorted(i for i in guard.writes if i < nargs)
        if written:
            reasons.append(f"{who} writes into " + ", ".join(describe_argument(i, names) for i in written))
    if any(i >= nargs for i in derivative.writes) and entry.kind in PROBED_KINDS:
        notes.append(f"the derivative writes into its {PROBE_NAMES[entry.kind]}: harmless here (each call gets its own copy), "
                     f"but unsafe where a framework shares that buffer")
    allowed = tolerance("nondeterminism", dtype)
    if derivative.spread > allowed:
        reasons.append(f"nondeterministic: results differ by {derivative.spread:.2e} between two calls on the same input")
    return reasons, notes


def _apply_traps(results: list[CheckResult], reasons: list[str]) -> list[CheckResult]:
    """Every check FAILs with the trap's reason; what its comparison (on copies) found follows."""
    if not reasons:
        return results
    for r in results:
        if r.error is not None:
            relation = "<=" if r.passed else ">"
            found = f"the values, compared on copies: max relative error {r.error:.2e} {relation} tolerance {r.tolerance:.0e}"
        else:
            found = f"the comparison: {r.reason}" if r.reason else ""
        r.reason = "; ".join(reasons + ([found] if found else []))
        r.passed = False
    return results


# --------------------------------------------------------------------------------------
# Probes and the hand-coded side
# --------------------------------------------------------------------------------------


def draw_probe(entry: Identity, args: tuple, out, rng: np.random.Generator, dtype):
    """Random tangent (jvp), cotangent (vjp) or vector (hvp): never all-ones."""
    if entry.kind == "jvp":
        return tuple(rng.standard_normal(np.shape(args[i])).astype(dtype) for i in entry.wrt_tuple)
    if entry.kind == "vjp":
        return rng.standard_normal(np.shape(out)).astype(dtype)
    if entry.kind == "hvp":
        return rng.standard_normal(np.shape(args[entry.wrt_tuple[0]])).astype(dtype)
    return None


def call_hand_coded(entry: Identity, args: tuple, probe):
    """The hand-coded derivative, brought to the shape of the references."""
    if entry.kind in PROBED_KINDS:
        hand_probe = probe[0] if (entry.kind == "jvp" and not entry.multiple_wrt) else probe
        result = entry.derivative(*args, hand_probe)
    else:
        result = entry.derivative(*args)
    if result is None:
        raise UsageError("the derivative returned None (missing return?)")
    if isinstance(result, list):
        result = tuple(result)
    if entry.kind == "derivative":
        x = np.asarray(args[entry.wrt_tuple[0]])
        d = np.asarray(result)
        if d.shape != x.shape:
            raise ComparisonError(f"shape {d.shape} where f'(x) must be shaped like x {x.shape}")
        return diagonal_jacobian(d, x.shape)
    return result


def _unwrap_single(entry: Identity, ref):
    """References come as one block per wrt argument; a single wrt gives one array."""
    if entry.kind in ("derivative", "gradient", "jacobian", "vjp") and isinstance(ref, tuple) and not entry.multiple_wrt:
        return ref[0]
    return ref


def _reference(entry: Identity, spec: CheckSpec, args: tuple, probe, near=None, jax_modes: tuple = ()):
    """(value, method, oracle error estimate, warning); ``near``: the kink examination
    (oracles.examine_kinks), whose steps the finite differences keep to, or None;
    ``jax_modes``: every JAX mode checked at this point (computed in one jitted call)."""
    from . import backends

    wrt = entry.wrt_tuple
    kind = entry.kind
    if spec.framework == "fd":
        from . import oracles

        if spec.id == "cstep":
            result = oracles.complex_step(kind, entry.function, args, wrt, probe)
        else:
            result = oracles.finite_difference(kind, entry.function, args, wrt, probe, entry.fd_step, near)
        return result.value, result.method, result.error_estimate, result.warning
    function = entry.reference if spec.target == "reference" else entry.function
    if spec.framework == "jax":
        value, method = backends.jax_reference(kind, spec.mode, function, args, wrt, probe, jax_modes if spec.target != "reference" else ())
        return value, method, None, ""
    fw = of_wrt(function, list(backends._tensors(args)), wrt)
    w = tuple(args[i] for i in wrt)
    if spec.id == "torch.tape":
        value, method = backends.torch_tape_reference(kind, fw, w, probe)
    else:
        value, method = backends.torch_func_reference(kind, spec.mode, fw, w, probe)
    return value, method, None, ""


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def cast_args(args: tuple, dtype: str) -> tuple:
    out = []
    for a in args:
        a = np.asarray(a)
        if np.issubdtype(a.dtype, np.floating):
            a = a.astype(dtype)
        out.append(a)
    return tuple(out)


def _judge_at_kink(entry: Identity, hand, ref, found, tol: float):
    """(error off the kink, how far outside its interval the worst kinked entry lies (0 if
    inside), (index, value, lower, upper) there, or None when f's kinks leave no entry of
    this reference kinked). Off the kink, the usual metric; at it, the subgradient interval."""
    from .oracles import SUBGRADIENT_TOLERANCE

    lower, upper, kinked = found.lower, found.upper, found.kinked
    if entry.kind != "jvp":
        lower, upper, kinked = (_unwrap_single(entry, v) for v in (lower, upper, kinked))
    parts = list(zip(*(v if isinstance(ref, tuple) else (v,) for v in (hand, ref, lower, upper, kinked))))
    if not any(np.any(m) for *_, m in parts):
        return None
    scale_ref = max([float(np.max(np.abs(r))) for _, r, *_ in parts if np.size(r)] + [np.finfo(np.float64).tiny])
    scale_kink = max([float(np.max(np.abs(b))) for _, _, lo, hi, _ in parts for b in (lo, hi) if np.size(b)] + [np.finfo(np.float64).tiny])
    off, outside, where = 0.0, 0.0, None
    for position, (h, r, lo, hi, m) in enumerate(parts):
        h, r = np.asarray(h, dtype=np.float64), np.asarray(r, dtype=np.float64)
        if np.any(~m):
            off = max(off, float(np.max(np.abs(h - r)[~m])) / scale_ref)
        excess = np.where(m, np.maximum(lo - h, h - hi), -np.inf) / scale_kink
        k = int(np.argmax(excess))
        if np.any(m) and (where is None or excess.flat[k] > outside):
            outside = max(float(excess.flat[k]), 0.0)
            index = tuple(int(i) for i in np.unravel_index(k, h.shape))
            where = (position if isinstance(ref, tuple) else None, index, float(h.flat[k]), float(lo.flat[k]), float(hi.flat[k]))
    return off, outside, where, outside <= SUBGRADIENT_TOLERANCE and off <= tol


def _clean_pass(hand, ref, estimate, warning: str, tol: float) -> bool:
    """Whether finite differences agree with the hand-coded value within the table's
    tolerance, with an error estimate that does not widen it and no warning: then no kink
    of f lies within their steps (one there makes the iterates disagree, or the values)."""
    if warning or estimate is None or not np.isfinite(estimate) or ORACLE_ESTIMATE_FACTOR * estimate > tol:
        return False
    try:
        return relative_error_parts(hand, ref) <= tol
    except ComparisonError:
        return False


def _subgradient_tolerance() -> float:
    from .oracles import SUBGRADIENT_TOLERANCE

    return SUBGRADIENT_TOLERANCE


def _kink_words(where) -> str:
    part, index, value, lo, hi = where
    at = f"entry {index}" + (f" of result {part}" if part is not None else "")
    return at, f"{value:.6g}", f"[{lo:.6g}, {hi:.6g}]"


def run_trial(entry: Identity, args: tuple, rng: np.random.Generator, specs, dtype: str, trial: int = 0, projection="auto",
              notes: list | None = None, raise_usage: bool = False, strategy: str | None = None, probes: int | None = None,
              plans: list | None = None, primal_value=None) -> list[CheckResult]:
    """Every check of ``specs`` on one set of inputs (projected above a size: verify/projection.py).

    The primal and the derivative are called on fresh copies of the inputs every time
    (``Guarded``); the derivative runs twice per call. A write into an argument or two
    calls that disagree fail every check with their own reason; at a kink of f, a hand-coded
    value between the one-sided derivatives passes as a valid subgradient. ``notes``
    collects what is worth saying about a pass (a subgradient, a written cotangent).

    ``strategy`` None: projected above a size (``projection``: verify/projection.py); else
    "auto", "dense" or "projected", planned by predicted cost (verify/strategy.py), the
    plan appended to ``plans`` and its note to ``notes`` unless "auto" chose dense for
    everything; ``probes`` fixes the number of block probes. ``primal_value``: (f(args),
    seconds) from a call the caller made on copies of the same arrays (no write, no
    floating-point error), used instead of a first call where the dtype leaves them as
    they are."""
    notes = [] if notes is None else notes
    primal = Guarded(entry.function)
    derivative = Guarded(entry.derivative, repeat=True)
    nargs = len(args)
    guarded = dataclasses_replace(entry, function=primal, derivative=derivative)

    def failed_all(reason: str) -> list[CheckResult]:
        return [
            CheckResult(entry.name, s.id, s.backend, s.mode, s.oracle, None, tolerance(s.oracle, dtype, entry.tolerance), False, reason=reason, trial=trial)
            for s in specs
        ]

    def finish(results):
        reasons, trap_notes = trap_verdicts(entry, primal, derivative, nargs, dtype)
        notes.extend(n for n in trap_notes if n not in notes)
        return _apply_traps(results, reasons)

    try:
        args = tuple(np.asarray(a) for a in args)
        _validate_inputs(entry, args)
        uncast = args
        args = cast_args(args, dtype)
        if primal_value is not None and all(a.dtype == c.dtype for a, c in zip(uncast, args)):
            out, primal_seconds = primal_value
        else:
            with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                started = time.perf_counter()
                out = primal(*args)
                primal_seconds = time.perf_counter() - started
        _validate_output(entry, args, out)
        from .projection import run_projected, use_projection

        order = [s.id for s in specs]
        projected = []
        if strategy is None:  # the size threshold
            projected_specs = list(specs) if use_projection(entry, args, out, projection) else []
            blocks = fd_blocks = 0
        else:  # by predicted cost
            from .strategy import plan

            chosen = plan(entry, args, out, specs, strategy, probes, primal=primal, primal_seconds=primal_seconds)
            if plans is not None:
                plans.append(chosen)
            if (chosen.strategy != "dense" or strategy != "auto") and chosen.note not in notes:
                notes.append(chosen.note)
            projected_specs = [s for s in specs if chosen.projected(s)]
            blocks, fd_blocks = chosen.blocks, chosen.fd_blocks
        if projected_specs:  # ⟨u, J v⟩ probes
            probe = draw_probe(entry, args, out, rng, dtype) if len(projected_specs) < len(specs) else None
            projected = run_projected(guarded, args, out, rng, projected_specs, dtype, trial, notes=notes, blocks=blocks, fd_blocks=fd_blocks)
            for r in projected:
                if not r.passed and r.error is not None:
                    r.diagnosis = PROJECTED
            if len(projected_specs) == len(specs):
                return finish(projected)
            specs = [s for s in specs if s not in projected_specs]
        else:
            probe = draw_probe(entry, args, out, rng, dtype)
    except UsageError as exc:
        if raise_usage:
            raise
        return failed_all(str(exc))
    except BadInput as exc:
        return failed_all(str(exc))
    except FloatingPointError as exc:
        return failed_all(f"the primal hit a floating-point error at this input: {exc}")
    except Exception as exc:  # the primal itself raised
        return finish(failed_all(f"the primal raised {_one_line(exc)}{_at(exc)}"))
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            hand = call_hand_coded(guarded, args, probe)
    except UsageError as exc:
        if raise_usage:
            raise
        return failed_all(str(exc))
    except ComparisonError as exc:
        return finish(failed_all(f"hand-coded derivative: {exc}"))
    except FloatingPointError as exc:
        return finish(failed_all(f"hand-coded derivative hit a floating-point error: {exc}{_at(exc)}"))
    except Exception as exc:
        return finish(failed_all(f"hand-coded derivative raised {_one_line(exc)}{_at(exc)}"))

    kink_cache = []

    def examined():
        """f's kinks at and near args (oracles.examine_kinks), examined once, when first asked."""
        if not kink_cache:
            from . import oracles

            kink_cache.append(oracles.examine_kinks(entry.kind, primal, args, entry.wrt_tuple, probe))
        return kink_cache[0]

    def kink_here():
        return examined().kink

    def kink_suspected():
        from . import oracles

        return oracles.kink_suspected(entry.kind, primal, args, entry.wrt_tuple, probe)

    coupled_cache = []

    def coupled_here(found) -> str:
        """Whether a kink shared by several inputs (a max's tie) is respected as a whole
        (verify/subgradient.py); examined once, when first asked."""
        if not coupled_cache:
            from .subgradient import coupled_kink_violation

            try:
                coupled_cache.append(coupled_kink_violation(entry.kind, primal, args, entry.wrt_tuple, probe, hand, found.kinked))
            except Exception:  # an odd primal: the per-entry verdict stands
                coupled_cache.append("")
        return coupled_cache[0]

    term_cache = []

    def term_sizes(spec, ref):
        """The size of the summed terms per block (verify/tolerances.py), estimated once per
        input: from an autodiff reference where one runs, else from this check's own."""
        if not term_cache:
            preferred = [s for s in specs if s.oracle == "autodiff"] or [spec]
            term_cache.append(_term_sizes(guarded, preferred, args, out, probe, spec, ref, dtype, jax_modes))
        return term_cache[0]

    jax_modes = tuple(s.mode for s in specs if s.framework == "jax" and s.target != "reference")  # computed in one jitted call
    results = []
    for spec in specs:
        tol = tolerance(spec.oracle, dtype, entry.tolerance)
        result = CheckResult(entry.name, spec.id, spec.backend, spec.mode, spec.oracle, None, tol, False, trial=trial)
        ref = None
        try:
            found = None
            ref, result.method, estimate, warning = _reference(guarded, spec, args, probe, jax_modes=jax_modes)
            ref = _unwrap_single(entry, ref)
            if spec.id == "fd" and (not _clean_pass(hand, ref, estimate, warning, tol) or kink_suspected()):
                # central differences average a kink's sides, at the input or within a step of
                # it: examined coordinate by coordinate (4 calls of f each) only where the
                # differences do not agree cleanly or a random direction shows a kink (4 calls),
                # and taken again, one-sided or with smaller steps, where one lies near
                found = kink_here()
                if examined().limits is not None:
                    ref, result.method, estimate, warning = _reference(guarded, spec, args, probe, examined())
                    ref = _unwrap_single(entry, ref)
            if estimate is not None and np.isfinite(estimate) and found is None:
                result.oracle_error_estimate = float(estimate)
            result.error = relative_error_parts(hand, ref)
            table_tol = tol
            if result.oracle_error_estimate is not None:
                # finite differences bring their own error estimate: where it exceeds the
                # table's value (f ≈ 1 in float64, a derivative that is 0), the oracle
                # cannot judge more finely than ORACLE_ESTIMATE_FACTOR times its estimate.
                tol = result.tolerance = max(tol, ORACLE_ESTIMATE_FACTOR * result.oracle_error_estimate)
            floors = None
            if result.error > table_tol:  # a reference of rounding noise? (verify/tolerances.py: the rounding floor)
                sizes = term_sizes(spec, ref)
                floors = tolerances.rounding_floors(sizes, table_tol, dtype)
                floored = relative_error_parts(hand, ref, floors)
                if floored < result.error:
                    result.error = floored
                    result.scale_note = tolerances.floor_note(ref, floors, sizes)
            result.passed = result.error <= tol
            if result.passed and result.scale_note and not any(n.startswith(tolerances.FLOOR_NOTE) for n in notes):
                notes.append(result.scale_note)
            if not result.passed and spec.oracle != "complex_step":
                found = kink_here()
            judged = _judge_at_kink(entry, hand, ref, found, tol) if found is not None and (spec.id == "fd" or not result.passed) else None
            if judged is not None:
                off, outside, where, ok = judged
                at, value, interval = _kink_words(where)
                result.error, result.passed = off, ok
                result.method += f"; at a kink of f, judged by the one-sided derivatives ({found.summary})"
                coupled = coupled_here(found) if ok else ""
                if coupled:  # each entry inside its interval, but a kink shared by several is not respected
                    result.passed = False
                    result.reason = f"f is not differentiable at this input and the hand-coded value is no subgradient: {coupled}"
                elif ok:
                    note = f"f has a kink at this input: the hand-coded value is a valid subgradient (left {found.left:.6g}, right {found.right:.6g}) {found.where}"
                    if note not in notes:
                        notes.append(note)
                elif outside > _subgradient_tolerance():
                    result.reason = (f"f is not differentiable at this input and the hand-coded value {value} at {at} is not a valid "
                                     f"subgradient: it lies outside the one-sided derivatives' interval {interval} ({found.summary})")
                else:
                    result.reason = f"max relative error {off:.2e} > tolerance {tol:.0e} away from the kink of f ({found.summary})"
            elif warning and not result.passed:
                result.reason = f"max relative error {result.error:.2e} > tolerance {tol:.0e}; {warning}"
            if not result.passed and judged is None:
                _explain(entry, args, out, hand, ref, tol, result, probe=probe, dtype=dtype, floor=floors)
        except ComparisonError as exc:
            result.reason = str(exc)
            if ref is not None:  # a shape mismatch can still be a recognisable transpose
                _explain(entry, args, out, hand, ref, tol, result, locate=False, probe=probe, dtype=dtype)
        except Exception as exc:
            result.reason = f"reference raised {_one_line(exc)}"
        results.append(result)
    if projected:  # the dense and the projected checks, in the order of specs
        results = sorted(results + projected, key=lambda r: order.index(r.check) if r.check in order else len(order))
    return finish(results)


def _term_sizes(entry: Identity, specs, args: tuple, out, probe, current: CheckSpec, ref, dtype: str, jax_modes: tuple = ()):
    """T per block, the larger of (1) the change of a reference when every input is
    perturbed by a relative ±η (tolerances.change_term_sizes) and (2) the size the values
    of f give a derivative (tolerances.value_term_sizes). A reference that cannot be
    evaluated at the perturbed inputs leaves (2) alone."""
    values = tolerances.value_term_sizes(entry.kind, args, entry.wrt_tuple, out, probe, len(ref) if isinstance(ref, tuple) else None)
    eta = tolerances.perturbation_size(dtype)
    for spec in specs:
        try:
            signs = np.random.default_rng(0)
            at = [tolerances.perturbed((args, probe), signs, eta, d) for d in (1.0, -1.0)]
            with np.errstate(all="ignore"):
                base = ref if spec.id == current.id else _unwrap_single(entry, _reference(entry, spec, args, probe, jax_modes=jax_modes)[0])
                plus, minus = (_unwrap_single(entry, _reference(entry, spec, a, p, jax_modes=jax_modes)[0]) for a, p in at)
            change = tolerances.change_term_sizes(base, plus, minus, eta)
        except Exception:
            continue
        if isinstance(change, tuple) == isinstance(values, tuple):
            return tolerances.combine_term_sizes(change, values)
    return values


def _explain(entry: Identity, args: tuple, out, hand, ref, tol: float, result: CheckResult, locate: bool = True, probe=None, dtype: str = "float64",
             floor=None) -> None:
    """Fill a failed check's location and diagnosis fields (verify/diagnose.py)."""
    from . import diagnose

    names = argument_names(entry.function)
    named = [(a, names[i] if i < len(names) else "") for i, a in enumerate(args)]
    if entry.kind in ("vjp", "hvp") and probe is not None:  # the cotangent (vector) is a candidate too
        named.append((np.asarray(probe), "cotangent" if entry.kind == "vjp" else "vector"))
    out_ndim = np.ndim(out) if entry.kind in ("jacobian",) else (np.ndim(args[entry.wrt_tuple[0]]) if entry.kind == "hessian" else None)
    try:
        if entry.kind == "derivative":  # an elementwise f'(x): compare the diagonals, shaped like x
            x_shape = np.shape(args[entry.wrt_tuple[0]])
            n = int(np.prod(x_shape))
            hand = np.diagonal(np.asarray(hand).reshape(n, n)).reshape(x_shape)
            ref = np.diagonal(np.asarray(ref).reshape(n, n)).reshape(x_shape)
        if locate:
            where = diagnose.locate(hand, ref, tol, entry.wrt_tuple, names, per_argument=entry.kind != "jvp", floor=floor)
            result.block, result.argument, result.argument_name = where.block, where.argument, where.argument_name
            result.worst_index, result.got, result.expected = where.index, where.got, where.expected
            result.wrong_fraction = where.wrong_fraction
        if result.scale_note:  # the reference is rounding noise: no pattern against it means anything
            result.diagnosis, result.diagnosis_class = ("no recognisable pattern" if locate else ""), ""
            return
        found = diagnose.diagnose(hand, ref, tol, entry.wrt_tuple, names, named, out_ndim, dtype, output=out, floor=floor)
    except Exception:  # a result too odd to explain (ragged, object arrays): the verdict stands
        return
    if found is None:
        result.diagnosis, result.diagnosis_class = ("" if not locate else "no recognisable pattern"), ""
    else:
        result.diagnosis, result.diagnosis_class = found.text, found.kind


def _worse(a: CheckResult, b: CheckResult) -> CheckResult:
    """Of two trials of the same check, the one to report."""
    if a.passed != b.passed:
        return b if a.passed else a
    ea = -1.0 if a.error is None else a.error
    eb = -1.0 if b.error is None else b.error
    return b if eb > ea else a


def run_entry(entry, *, seed: int = 0, trials: int = 1, frameworks=FRAMEWORK_CHOICES, dtype: str = "float64", args=None, projection="auto",
              raise_usage: bool = False, exclude=(), reference_frameworks=(), strategy: str | None = None,
              probes: int | None = None, primal_value=None) -> EntryResult:
    """Run every generated check of an Identity (or the measurements of a Claim); ``exclude``
    and ``reference_frameworks`` go to check_specs, ``strategy`` and ``probes`` to run_trial,
    and ``primal_value`` (f at ``args`` and its seconds, already computed) to the first trial."""
    start = time.perf_counter()
    result = EntryResult(entry.name, entry.chapter, entry.statement, entry.kind, entry.derivation)
    worst: dict[str, CheckResult] = {}
    plans: list = []
    for trial in range(trials):
        rng = entry_rng(seed, entry.name, trial)
        if isinstance(entry, Claim):
            trial_results = run_claim(entry, rng, trial)
        else:
            try:
                trial_args = args if args is not None else entry.sample(rng)
            except Exception as exc:
                trial_args = None
                reason = f"the sampler raised {_one_line(exc)}"
            if trial_args is None:
                specs = check_specs(entry, frameworks, exclude, reference_frameworks)
                trial_results = [
                    CheckResult(entry.name, s.id, s.backend, s.mode, s.oracle, None, tolerance(s.oracle, dtype, entry.tolerance), False, reason=reason, trial=trial)
                    for s in specs
                ]
            else:
                trial_results = run_trial(entry, tuple(trial_args), rng, check_specs(entry, frameworks, exclude, reference_frameworks), dtype, trial,
                                          projection, notes=result.notes, raise_usage=raise_usage, strategy=strategy, probes=probes, plans=plans,
                                          primal_value=primal_value if trial == 0 and args is not None else None)
        for r in trial_results:
            worst[r.check] = _worse(worst[r.check], r) if r.check in worst else r
    result.checks = list(worst.values())
    result.strategy = plans[-1].note if plans else ""
    result.seconds = time.perf_counter() - start
    return result


def run_claim(claim: Claim, rng: np.random.Generator, trial: int = 0, implementation=None) -> list[CheckResult]:
    """A claim's measurements as check results: each holds when value <= bound."""
    implementation = claim.implementation if implementation is None else implementation
    try:
        with np.errstate(over="ignore", under="ignore"):
            measured = list(claim.verify(implementation, rng))
    except Exception as exc:
        return [CheckResult(claim.name, "claim", "numpy", "claim", "claim", None, None, False, reason=f"the claim's check raised {_one_line(exc)}", trial=trial)]
    return [
        CheckResult(
            claim.name, f"claim:{m.label}", "numpy", "claim", "claim", float(m.value), float(m.bound), m.holds,
            method=m.detail, reason="" if m.holds else f"{m.label}: measured {m.value:.3g}, must be <= {m.bound:.3g}. {m.detail}".strip(), trial=trial,
        )
        for m in measured
    ]
