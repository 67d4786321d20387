"""Random-projection checks for large inputs: ⟨u, J v⟩ for random u, v.

A dense check builds the full Jacobian (n·m entries, or n² for a Hessian); above a size
threshold that is too slow or too big, so each check compares one scalar per probe pair
instead: the hand-coded ⟨u, J v⟩ (from whatever its kind returns) against

- forward mode: ⟨u, jvp(f, x, v)⟩        (jax.jvp; torch.autograd.forward_ad)
- reverse mode: ⟨vjp(f, x)(u), v⟩        (jax.vjp; torch: the torch.autograd tape)
- finite differences: ⟨u, D_v f(x)⟩, D_v f a central difference along v at steps h and
  h/2, Richardson-extrapolated (error O(h⁴), 4 evaluations of f); the complex step along
  v where holomorphic.

For a Hessian or HVP, J is the Jacobian of the gradient (H itself) and u, v both live in
the input space; the finite-difference reference is then ∂²/∂s∂t f(x + s u + t v) at 0.

Cost: about what torch.autograd.gradcheck(fast_mode=True) spends. By default each check
uses ONE probe pair (``probes=`` draws more): the forward-mode checks and the finite
differences share one pair (u₁, v₁), the reverse-mode checks another, independent pair
(u₂, v₂). The hand-coded derivative is called once for all backends (once per distinct
pair for the jvp, vjp and hvp kinds), the primal's inputs are shared with torch without a
copy, and each framework runs one forward-mode and one reverse-mode pass. In torch,
torch.func.vjp and the torch.autograd tape run the same autograd engine, so projection
mode merges them: its reverse-mode check ("torch.rev") runs on the tape, and there is no
separate "torch.tape" check; its forward-mode check ("torch.fwd") runs on
torch.autograd.forward_ad's dual numbers, the formulas under torch.func.jvp at half the
cost. JAX's jax.jvp and jax.vjp passes are jitted once per (function, wrt, shapes and
dtypes) and cached (eager dispatch costs milliseconds at small n; a Hessian's nested
passes stay eager). A cached trace keeps the values of globals the function read when
traced, so each pass also returns f(x), which is compared with the engine's numpy f(x):
when they differ beyond rounding (√ε relative), the trace is dropped and redone.

The metric. ⟨u, J v⟩ is a sum of m terms of random sign: it can be small by cancellation,
so it is not its own scale. Each reference also returns the spread of the scalar over the
random draw: for a forward reference rms(u)·‖J v‖ (the standard deviation of ⟨u, J v⟩
over u with independent entries of mean 0 and variance 1: u and v are uniform on
[−√3, √3)), for a reverse one ‖uᵀJ‖·rms(v) (the same over v), for the
second-order finite difference √|uᵀHu · vᵀHv| (Cauchy–Schwarz when H is semi-definite).
The error of a probe is |hand − ref| / max(|ref|, spread, tiny); a check reports its
largest probe error, and compares it with the same tolerance row as the dense check
(verify/tolerances.py).

What it catches. A derivative off by a relative δ in every component (in a direction
unrelated to the probes) shows up as an error of about δ·|z|, z roughly standard normal:
one pair misses it when |z| < tol/δ, with probability about 0.8·tol/δ, and the forward
and reverse pairs are independent, so the checks together miss it with probability about
(0.8·tol/δ)² (1e-4 at δ = 1e-8 against the autodiff tolerance 1e-10, 1e-8 at δ = 1e-6).
An error in a single component of n is diluted to about δ/√n, as in any projection test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .linalg import contract_jvp
from .registry import SECOND_ORDER_KINDS, Identity
from .tolerances import ComparisonError, tolerance

PROBES = 1  # probe pairs per mode (forward, reverse); see "What it catches" above
MAX_INPUTS = 10_000  # above this many differentiated inputs, project
MAX_JACOBIAN_ENTRIES = 1_000_000  # ... or above this many entries of the dense Jacobian
PROJECTION_CHOICES = ("auto", True, False)
FD_STEP = 0.003  # the finite-difference step h, relative to rms(x) / rms(v)
FORWARD_CHECKS = ("jax.fwd", "torch.fwd", "fd", "cstep")  # share the forward pair(s)


def sizes(entry: Identity, args: tuple, out) -> tuple[int, int]:
    """(n, m): differentiated inputs and rows of the Jacobian being checked."""
    n = int(sum(np.size(args[i]) for i in entry.wrt_tuple))
    m = n if entry.kind in SECOND_ORDER_KINDS else int(np.size(out))
    return n, m


def use_projection(entry: Identity, args: tuple, out, projection="auto") -> bool:
    """Projection when forced, or (auto) above MAX_INPUTS or MAX_JACOBIAN_ENTRIES."""
    if projection is True or projection is False:
        return projection
    if projection != "auto":
        raise ValueError(f"projection must be one of {PROJECTION_CHOICES}, not {projection!r}")
    n, m = sizes(entry, args, out)
    return n > MAX_INPUTS or n * m > MAX_JACOBIAN_ENTRIES


# --------------------------------------------------------------------------------------
# Probes, inner products and the hand-coded side
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    u: np.ndarray  # shaped like f(x) (first order) or like x (second order)
    v: tuple  # one tangent per wrt argument
    rms_u: float
    rms_v: float


def _uniform(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Independent entries, uniform on [−√3, √3): mean 0, variance 1, no atoms (no exact
    cancellation), and five times cheaper to draw than normal ones at 10⁶ entries."""
    a = rng.random(shape)
    a -= 0.5
    a *= 2 * np.sqrt(3.0)
    return np.asarray(a).astype(dtype, copy=False)


def draw(entry: Identity, args: tuple, out, rng: np.random.Generator, dtype) -> Probe:
    v = tuple(_uniform(rng, np.shape(args[i]), dtype) for i in entry.wrt_tuple)
    u_shape = np.shape(args[entry.wrt_tuple[0]]) if entry.kind in SECOND_ORDER_KINDS else np.shape(out)
    u = _uniform(rng, u_shape, dtype)
    return Probe(u, v, rms(u), rms(v))


def _numpy(a):
    """A float64 numpy view of a numpy, JAX or torch array (a copy only to change dtype)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def inner(a, b) -> float:
    """Σ a·b in float64, over matching tuples of arrays.

    np.einsum rather than np.dot: a threaded BLAS dot stalls on a busy machine."""
    if isinstance(a, (tuple, list)):
        return float(sum(inner(x, y) for x, y in zip(a, b, strict=True)))
    a, b = _numpy(a), _numpy(b)
    if a.shape != b.shape:
        raise ComparisonError(f"shape {a.shape} where shape {b.shape} is expected")
    return float(np.einsum("i,i->", a.reshape(-1), b.reshape(-1)))


def norm(a) -> float:
    if isinstance(a, (tuple, list)):
        return float(np.sqrt(sum(norm(x) ** 2 for x in a)))
    a = _numpy(a).reshape(-1)
    return float(np.sqrt(np.einsum("i,i->", a, a)))


def rms(a) -> float:
    size = sum(np.size(x) for x in a) if isinstance(a, (tuple, list)) else np.size(a)
    return norm(a) / np.sqrt(max(size, 1))


def _finite(value: float, what: str) -> float:
    if not np.isfinite(value):
        raise ComparisonError(f"{what} contains NaN or Inf")
    return value


def hand_coded(entry: Identity, args: tuple, probes: list[Probe]) -> list[float]:
    """The hand-coded ⟨u, J v⟩ of every probe, from what the entry's kind returns.

    A probed kind (jvp, vjp, hvp) is called once per probe; any other kind once."""
    kind, multiple = entry.kind, entry.multiple_wrt
    if kind in ("jvp", "hvp"):
        return [_finite(inner(p.u, entry.derivative(*args, p.v if multiple else p.v[0])), "hand-coded result") for p in probes]
    if kind == "vjp":
        pulled = [entry.derivative(*args, p.u) for p in probes]
        return [_finite(inner(tuple(r) if multiple else (r,), p.v), "hand-coded result") for r, p in zip(pulled, probes)]
    result = entry.derivative(*args)
    if kind == "derivative":
        d = _numpy(result)
        x = np.asarray(args[entry.wrt_tuple[0]])
        if d.shape != x.shape:
            raise ComparisonError(f"shape {d.shape} where f'(x) must be shaped like x {x.shape}")
        return [_finite(inner(p.u, d * _numpy(p.v[0])), "hand-coded result") for p in probes]
    if kind == "gradient":  # J = ∇fᵀ, one row: ⟨u, J v⟩ = u ⟨∇f, v⟩
        grads = tuple(_numpy(g) for g in result) if multiple else (_numpy(result),)
        if len(grads) != len(probes[0].v):
            raise ComparisonError(f"{len(grads)} gradient(s) where {len(probes[0].v)} (one per wrt argument) are expected")
        return [_finite(float(p.u) * inner(grads, p.v), "hand-coded result") for p in probes]
    blocks = tuple(_numpy(b) for b in result) if multiple else (_numpy(result),)
    expected = [np.shape(probes[0].u) + np.shape(t) for t in probes[0].v]
    if len(blocks) != len(expected):
        raise ComparisonError(f"{len(blocks)} block(s) where {len(expected)} (one per wrt argument) are expected")
    for block, shape in zip(blocks, expected):
        if block.shape != shape:
            raise ComparisonError(f"shape {block.shape} where the {kind} must be shaped {shape}")
    return [_finite(inner(p.u, contract_jvp(blocks, tuple(_numpy(t) for t in p.v))), "hand-coded result") for p in probes]


# --------------------------------------------------------------------------------------
# References: per probe (⟨u, J v⟩, its spread), one framework pass per probe and mode
# --------------------------------------------------------------------------------------


def _closure(entry: Identity, fixed):
    return _closure_of(entry.function, entry.wrt_tuple, fixed)


def _closure_of(function, wrt: tuple, fixed):
    """f as a function of the wrt arguments only, the others fixed."""

    def fw(*w):
        full = list(fixed)
        for i, value in zip(wrt, w):
            full[i] = value
        return function(*full)

    return fw


def _forward(jv, p: Probe):
    jv = _numpy(jv)  # one conversion (a view for torch) for both sums
    return inner(p.u, jv), p.rms_u * norm(jv)


def _reverse(pulled, p: Probe):
    pulled = tuple(_numpy(g) for g in pulled) if isinstance(pulled, (tuple, list)) else _numpy(pulled)
    return inner(pulled, p.v), norm(pulled) * p.rms_v


_JAX_TRANSFORMS: dict = {}  # (function, wrt, mode, shapes and dtypes) -> jitted transform or None (eager)
_JAX_TRANSFORMS_KEPT = 64


def _jax_transform(function, wrt: tuple, forward: bool):
    """(all args, direction) -> (f(x), J v) or (f(x), uᵀJ), one jax.jvp or jax.vjp pass."""
    import jax

    def transform(args, direction):
        fw = _closure_of(function, wrt, args)
        w = tuple(args[i] for i in wrt)
        if forward:
            return jax.jvp(fw, w, direction)
        primal, pullback = jax.vjp(fw, *w)
        return primal, pullback(direction)

    return transform


def _jax_pass(entry: Identity, forward: bool, args: tuple, out, direction):
    """One JAX pass, jitted once per (function, shapes) and then reused.

    A cached trace keeps the values of any global the function read when it was traced.
    The pass also returns f(x), compared here with the engine's numpy f(x): a mismatch
    (a global changed since) drops the trace and traces again."""
    import jax

    key = (entry.function, entry.wrt_tuple, forward, tuple((np.shape(a), np.asarray(a).dtype.str) for a in args))
    for attempt in range(2):
        if key not in _JAX_TRANSFORMS:
            while len(_JAX_TRANSFORMS) >= _JAX_TRANSFORMS_KEPT:
                _JAX_TRANSFORMS.pop(next(iter(_JAX_TRANSFORMS)))
            _JAX_TRANSFORMS[key] = jax.jit(_jax_transform(entry.function, entry.wrt_tuple, forward))
        jitted = _JAX_TRANSFORMS[key]
        transform = _jax_transform(entry.function, entry.wrt_tuple, forward) if jitted is None else jitted
        try:
            primal, value = transform(args, direction)
        except Exception:
            if jitted is None:
                raise
            _JAX_TRANSFORMS[key] = None  # not traceable (value-dependent control flow ...): run eagerly
            return _jax_transform(entry.function, entry.wrt_tuple, forward)(args, direction)[1]
        expected = _numpy(out)
        scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, np.finfo(np.float64).tiny)
        rtol = np.sqrt(np.finfo(np.asarray(primal).dtype).eps)  # rounding apart, a changed global moves f more
        if jitted is None or np.max(np.abs(_numpy(primal) - expected), initial=0.0) <= rtol * scale:
            return value
        del _JAX_TRANSFORMS[key]  # stale trace: trace again
    return value


def _jax(entry: Identity, mode: str, args: tuple, out, probes: list[Probe]):
    """jax.jvp / jax.vjp: jitted and cached per function and shape (first order), eager
    for a Hessian or HVP (jax.grad, then jax.jvp or jax.vjp)."""
    import jax
    import jax.numpy as jnp

    forward = mode in ("forward", "forward-over-reverse")
    if entry.kind not in SECOND_ORDER_KINDS:
        fixed = tuple(jnp.asarray(a) for a in args)
        if forward:
            return [_forward(_jax_pass(entry, True, fixed, out, tuple(jnp.asarray(t) for t in p.v)), p) for p in probes], "jax.jvp (forward mode, jitted)"
        return [_reverse(_jax_pass(entry, False, fixed, out, jnp.asarray(p.u)), p) for p in probes], "jax.vjp (jitted)"
    fw = jax.grad(_closure(entry, [jnp.asarray(a) for a in args]))
    w = (jnp.asarray(args[entry.wrt_tuple[0]]),)
    if forward:
        return [_forward(jax.jvp(fw, w, tuple(jnp.asarray(t) for t in p.v))[1], p) for p in probes], "jax.grad, then jax.jvp (forward mode)"
    values = []
    for p in probes:
        _, pullback = jax.vjp(fw, *w)
        values.append(_reverse(pullback(jnp.asarray(p.u)), p))
    return values, "jax.grad, then jax.vjp"


def _tensor(a):
    """A torch view of a numpy array, sharing its memory (a copy only if it is read-only)."""
    import torch

    a = np.asarray(a)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def _torch(entry: Identity, mode: str, args: tuple, probes: list[Probe]):
    """Forward mode on dual numbers (torch.func.jvp over torch.func.grad for a Hessian),
    or the torch.autograd tape (reverse: torch.func.vjp and the tape run the same
    engine, so projection mode checks it once)."""
    import torch

    fixed = [_tensor(a) for a in args]
    fw = _closure(entry, fixed)
    w = tuple(fixed[i] for i in entry.wrt_tuple)
    second = entry.kind in SECOND_ORDER_KINDS
    if mode in ("forward", "forward-over-reverse"):
        if second:
            fw, w = torch.func.grad(fw), w[:1]
            return [_forward(torch.func.jvp(fw, w, tuple(_tensor(t) for t in p.v))[1], p) for p in probes], "torch.func.grad, then torch.func.jvp"
        return [_forward(_dual_numbers(fw, w, tuple(_tensor(t) for t in p.v)), p) for p in probes], "torch.autograd.forward_ad (dual numbers)"
    values = []
    for p in probes:
        leaves = tuple(t.detach().requires_grad_() for t in (w[:1] if second else w))
        out = fw(*leaves)
        if second:
            (out,) = torch.autograd.grad(out, leaves, create_graph=True)
        pulled = torch.autograd.grad(out, leaves, grad_outputs=_tensor(p.u), allow_unused=True)
        values.append(_reverse(tuple(torch.zeros_like(t) if g is None else g for g, t in zip(pulled, leaves)), p))
    method = "torch.autograd.grad of the gradient (double backward, the tape)" if second else "torch.autograd.grad(grad_outputs=u) (the tape)"
    return values, method + "; torch.func.vjp runs the same engine, so no separate tape check"


def _dual_numbers(fw, w: tuple, tangents: tuple):
    """J v by torch's forward mode on dual numbers: the formulas torch.func.jvp uses,
    without its functional wrapping (half the time at 10⁶ inputs)."""
    import torch
    import torch.autograd.forward_ad as forward_ad

    with forward_ad.dual_level():
        primal, tangent = forward_ad.unpack_dual(fw(*(forward_ad.make_dual(a, t) for a, t in zip(w, tangents))))
        return torch.zeros_like(primal) if tangent is None else tangent


def _shifted(entry: Identity, args: tuple, directions, s):
    full = list(args)
    for i, t in zip(entry.wrt_tuple, directions):
        full[i] = args[i] + s * t
    return tuple(full)


def directional_derivative(entry: Identity, args: tuple, tangents: tuple):
    """D_v f(x) by central differences at h and h/2, Richardson-extrapolated to O(h⁴).

    h = FD_STEP · rms(x) / rms(v): large enough that rounding in f(x ± h v) stays near
    1e-10 of D_v f even for f summing 10⁶ terms, small enough that the O(h⁴) remainder
    does too. Returns the vector and |extrapolated − D(h/2)| (an upper error estimate)."""
    x_scale = max(rms(tuple(args[i] for i in entry.wrt_tuple)), 1e-3)
    h = FD_STEP * x_scale / max(rms(tangents), np.finfo(np.float64).tiny)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        levels = []
        for step in (h, h / 2):
            plus = _numpy(entry.function(*_shifted(entry, args, tangents, step)))
            minus = _numpy(entry.function(*_shifted(entry, args, tangents, -step)))
            levels.append((plus - minus) / (2 * step))
    best = (4 * levels[1] - levels[0]) / 3
    return best, float(np.max(np.abs(best - levels[1]))) if best.size else 0.0


def _fd_one(entry: Identity, spec_id: str, args: tuple, probe: Probe):
    tangents = tuple(_numpy(t) for t in probe.v)
    if spec_id == "cstep":
        h = 1e-20
        shifted = _shifted(entry, tuple(a.astype(np.complex128) if i in entry.wrt_tuple else a for i, a in enumerate(args)), tangents, 1j * h)
        jv = np.imag(np.asarray(entry.function(*shifted))) / h
        return inner(probe.u, jv), probe.rms_u * norm(jv), "complex step along v", None
    if entry.kind in SECOND_ORDER_KINDS:
        import scipy.differentiate as sd

        (i,) = entry.wrt_tuple
        x, u, v = args[i], _numpy(probe.u), tangents[0]

        def plane(points):  # scipy's convention: points (2, ...) -> values (...)
            flat = points.reshape(2, -1)
            values = [float(entry.function(*_replace(args, i, x + s * u + t * v))) for s, t in flat.T]
            return np.asarray(values).reshape(points.shape[1:])

        res = sd.hessian(plane, np.zeros(2), initial_step=entry.fd_step)
        ddf = np.asarray(res.ddf)
        spread = float(np.sqrt(abs(ddf[0, 0] * ddf[1, 1])))
        estimate = float(np.max(res.error)) / max(spread, abs(ddf[0, 1]), np.finfo(np.float64).tiny)
        return float(ddf[0, 1]), spread, "scipy.differentiate.hessian of f(x + s u + t v), the s-t entry", estimate
    jv, error = directional_derivative(entry, args, tangents)
    spread = probe.rms_u * norm(jv)
    estimate = probe.rms_u * error * np.sqrt(jv.size) / max(spread, np.finfo(np.float64).tiny)
    return inner(probe.u, jv), spread, "central differences along v, Richardson h, h/2", estimate


def _replace(args, i, value):
    args = list(args)
    args[i] = value
    return tuple(args)


def reference(entry: Identity, spec, args: tuple, probes: list[Probe], out=None):
    """([(⟨u, J v⟩, spread) per probe], method, worst oracle error estimate or None)."""
    if spec.framework == "fd":
        args = tuple(a.astype(np.float64, copy=False) if np.issubdtype(np.asarray(a).dtype, np.floating) else a for a in map(np.asarray, args))
        results = [_fd_one(entry, spec.id, args, p) for p in probes]
        estimates = [r[3] for r in results if r[3] is not None and np.isfinite(r[3])]
        return [r[:2] for r in results], results[0][2], max(estimates) if estimates else None
    if spec.framework == "jax":
        return (*_jax(entry, spec.mode, args, entry.function(*args) if out is None else out, probes), None)
    return (*_torch(entry, spec.mode, args, probes), None)


def projected_error(hand: float, ref: float, spread: float) -> float:
    return abs(hand - ref) / max(abs(ref), spread, np.finfo(np.float64).tiny)


def projected_specs(specs) -> list:
    """The checks run in projection mode: torch's tape is merged into torch.rev."""
    ids = {s.id for s in specs}
    return [s for s in specs if not (s.id == "torch.tape" and "torch.rev" in ids)]


def run_projected(entry: Identity, args: tuple, out, rng: np.random.Generator, specs, dtype: str, trial: int = 0, probes: int = PROBES):
    """Every check of ``specs`` on random (u, v): one CheckResult per check.

    ``probes`` pairs for the forward-mode and finite-difference checks, ``probes`` other
    pairs for the reverse-mode checks; the hand-coded side is computed once for all."""
    from .engine import CheckResult, _at, _one_line

    if probes < 1:
        raise ValueError(f"probes must be at least 1, not {probes}")
    specs = projected_specs(specs)
    forward_draws = [draw(entry, args, out, rng, dtype) for _ in range(probes)]
    reverse_draws = [draw(entry, args, out, rng, dtype) for _ in range(probes)]
    n, m = sizes(entry, args, out)

    def result(spec, **fields):
        tol = tolerance(spec.oracle, dtype, entry.tolerance)
        merged = spec.id == "torch.rev" or (spec.id == "torch.fwd" and entry.kind not in SECOND_ORDER_KINDS)
        backend = "torch.autograd" if merged else spec.backend  # see _torch
        return CheckResult(entry.name, spec.id, backend, f"{spec.mode}, projected", spec.oracle, None, tol, False, trial=trial, **fields)

    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            hand = hand_coded(entry, args, forward_draws + reverse_draws)
    except ComparisonError as exc:
        return [result(s, reason=f"hand-coded derivative: {exc}") for s in specs]
    except Exception as exc:
        return [result(s, reason=f"hand-coded derivative raised {_one_line(exc)}{_at(exc)}") for s in specs]
    hand_of = {"forward": hand[:probes], "reverse": hand[probes:]}
    results = []
    for spec in specs:
        r = result(spec)
        side = "forward" if spec.id in FORWARD_CHECKS else "reverse"
        draws = forward_draws if side == "forward" else reverse_draws
        try:
            refs, method, r.oracle_error_estimate = reference(entry, spec, args, draws, out)
            r.error = max(projected_error(h, _finite(ref, "reference"), spread) for h, (ref, spread) in zip(hand_of[side], refs))
            r.passed = r.error <= r.tolerance
            pairs = f"{probes} probe pair{'s' if probes > 1 else ''} ({side})"
            r.method = f"⟨u, J v⟩ with {method}; {pairs}, n={n}, m={m}"
        except ComparisonError as exc:
            r.reason = str(exc)
        except Exception as exc:
            r.reason = f"reference raised {_one_line(exc)}"
        results.append(r)
    return results
