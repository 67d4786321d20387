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

Probes. Each mode gets ``probes`` dense pairs (u, v uniform, PROBES = 1 by default; the
forward-mode checks and the finite differences share theirs, the reverse-mode checks draw
another, independent pair) and, where verify/strategy.py plans it, a family of B block
probes ("Block probes" below). The hand-coded derivative is called once for all backends
(once per distinct tangent, cotangent or vector for the jvp, vjp and hvp kinds; the engine
runs each call twice on copies for its nondeterminism verdict), the primal's inputs are
shared with torch without a copy, and each framework runs one forward-mode pass per v and
one reverse-mode pass per distinct u (a block family shares its u). In torch,
torch.func.vjp and the torch.autograd tape run the same autograd engine, so projection
mode merges them: its reverse-mode check ("torch.rev") runs on the tape, and there is no
separate "torch.tape" check; its forward-mode check ("torch.fwd") runs on
torch.autograd.forward_ad's dual numbers, the formulas under torch.func.jvp at half the
cost. JAX's jax.jvp and jax.vjp passes are jitted once per (function, wrt, shapes and
dtypes) and cached (eager dispatch costs milliseconds at small n; a Hessian's nested
passes stay eager). A cached trace keeps the values of globals the function read when
traced, so each pass also returns f(x), which is compared with the engine's numpy f(x):
when they differ beyond rounding (√ε relative), the trace is dropped and redone.

Entrywise reverse mode. A reverse pass returns the whole vector uᵀJ (n numbers), and every
kind but jvp gives the hand-coded uᵀJ without one call per input (a gradient, Jacobian,
Hessian or elementwise derivative contracted with u; a vjp called at u; an hvp called at u,
H being symmetric). The reverse-mode autodiff checks therefore also compare the two
vectors entrywise with the dense metric, max|uᵀJ_hand − uᵀJ_ref| / max|uᵀJ_ref|, at no
extra pass. For a gradient (m = 1, u = ±1) that is the dense check of the gradient itself.

Block probes. The n inputs are split at random into B blocks of equal size (± 1), with
random signs s: v_b = s on block b, 0 elsewhere, and u = ±1 at random. Each block is a
probe: its scalar ⟨u, J v_b⟩ is compared as every probe is (the metric below), with the
spread of a block's reverse reference taken exactly: ‖(uᵀJ)_S‖, the standard deviation of
⟨uᵀJ, v_b⟩ over the signs on block S.
The metric. ⟨u, J v⟩ is a sum of m terms of random sign: it can be small by cancellation,
so it is not its own scale. Each reference also returns the spread of the scalar over the
random draw: for a forward reference rms(u)·‖J v‖ (the standard deviation of ⟨u, J v⟩
over u with independent entries of mean 0 and variance 1: u and v are uniform on
[−√3, √3)), for a reverse one ‖uᵀJ‖·rms(v) (the same over v), for the
second-order finite difference √|uᵀHu · vᵀHv| (Cauchy–Schwarz when H is semi-definite),
all three from 17 evaluations of f (_plane_difference).
The error of a probe is |hand − ref| / max(|ref|, spread, tiny); a check reports its
largest probe error, and compares it with the same tolerance row as the dense check
(verify/tolerances.py).

What it catches. Write e for the error of one entry J_ij (hand − reference), r for the
rms entry of J (‖J‖_F / √(nm)), tol for the check's tolerance, p for a confidence.

- Entrywise reverse mode (every kind but jvp): uᵀJ_hand − uᵀJ_ref is u_i e at entry j,
  |u_i| = 1, so the check fails exactly when |e| > tol · max|uᵀJ_ref|: for a gradient,
  when |e| > tol · max|∇f| (probability 1; the dense check's power); an error of relative
  size δ in every entry gives δ exactly, caught when δ > tol (probability 1).
- Block probes, one entry: e lies in one block b; there hand − ref = u_i e s_j, of size |e|,
  and the denominator is max(|⟨u, J v_b⟩|, ‖J v_b‖) = ‖J v_b‖ · max(1, |z|), z = ⟨u, J v_b⟩ /
  ‖J v_b‖ about standard normal (a sum of many ± terms). E‖J v_b‖² = ‖J‖_F² / B over the
  random blocks and signs. So the block catches e when |e| > tol · max(1, |z|) · ‖J‖_F / √B,
  and with c_p = max(1, Φ⁻¹((1 + p)/2)) (1.96 at p = 0.95):

      an error of size ≥ δ₁ · r in any single entry is caught with probability ≥ p,
      δ₁ = c_p · tol · √(n m / B)        (block_power; ‖J v_b‖ taken at its mean square).

  A dense probe (B = 1) carries √(nm) there: a single entry among 25,600 weighs 160 times
  less than in a dense comparison, and B blocks win back √B of it.
- Block probes, every entry off by a relative δ: each block gives δ · min(1, |z_b|), the
  B blocks independently, so all miss with probability P(|z| < tol/δ)^B:

      every entry off by a relative ≥ δ_all is caught with probability ≥ p,
      δ_all = tol / min(1, a),  a = Φ⁻¹((1 + (1 − p)^(1/B)) / 2)      (block_power).

  (B = 16, p = 0.95: a = 1.37, δ_all = tol; B = 2: δ_all = 3.5 tol.) For a gradient the
  forward scalar is its own spread and every block gives δ exactly.
- The dense pairs. An error of relative size δ in every component (in a direction
  unrelated to the probes) shows up as an error of about δ·|z|: one pair misses it when
  |z| < tol/δ, with probability about 0.8·tol/δ, and the forward and reverse pairs are
  independent, so together they miss it with probability about (0.8·tol/δ)². An error in
  a single component of n is diluted to about δ/√n.

tests/test_power.py checks δ₁ and δ_all against a Monte-Carlo at n = 256 and n = 64, and
the entrywise statement at n = 512; benchmarks/power.py measures the smallest planted
errors caught at n = 10³ … 10⁶ against gradcheck's fast mode and check_grads. The API
states the numbers for each check in words (power_note).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import tolerances
from .frameworks import of_wrt
from .linalg import contract_jvp
from .registry import SECOND_ORDER_KINDS, Identity, UsageError
from .tolerances import ComparisonError, relative_error, tolerance

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


def _normal_quantile(q: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


def block_power(tol: float, n: int, m: int, blocks: int, p: float = 0.95) -> tuple[float, float]:
    """(δ₁, δ_all) of B = ``blocks`` block probes at confidence p ("Block probes" above):
    one entry off by δ₁ × the rms entry of J, or every entry by a relative δ_all, is caught
    with probability ≥ p (about: ‖J v_b‖ taken at its mean square ‖J‖_F²/B, z normal)."""
    c = max(1.0, _normal_quantile((1 + p) / 2))
    single = c * tol * np.sqrt(n * m / max(blocks, 1))
    a = _normal_quantile((1 + (1 - p) ** (1 / max(blocks, 1))) / 2)
    return float(single), float(tol / min(1.0, a))


def power_note(kind: str, n: int, m: int, blocks: int, fd_blocks: int, tolerances: dict, checks: set, p: float = 0.95) -> str:
    """The detection power of a projected check, in words (derivation: "What it catches")."""
    parts = []
    reverse = {"jax.rev", "torch.rev"} & checks
    if reverse and "autodiff" in tolerances:
        tol = tolerances["autodiff"]
        what = "the gradient" if kind == "gradient" else ("H u" if kind in SECOND_ORDER_KINDS else "uᵀJ")
        if kind == "jvp":
            pass
        elif kind == "gradient":
            parts.append(f"reverse mode compares the whole gradient entrywise: any entry off by more than {tol:.0e} × its largest entry, "
                         f"and a relative error above {tol:.0e} in every entry, are caught with probability 1")
        else:
            parts.append(f"reverse mode compares {what} (u = ±1 at random) entrywise: one entry of J off by more than {tol:.0e} × "
                         f"the largest entry of {what}, and a relative error above {tol:.0e} in every entry, are caught with probability 1")
    forward = {"jax.fwd", "torch.fwd"} & checks
    block_checks = [("forward mode", "autodiff", blocks)] if forward else []
    if kind == "jvp" and reverse:
        block_checks.append(("reverse mode", "autodiff", blocks))
    if "fd" in checks:
        block_checks.append(("finite differences", "finite_difference_2" if kind in SECOND_ORDER_KINDS else "finite_difference", fd_blocks))
    for label, oracle, count in block_checks:
        if count < 1 or oracle not in tolerances:
            continue
        single, every = block_power(tolerances[oracle], n, m, count, p)
        parts.append(f"{label} ({count} block probes): one entry off by ≥ {single:.1e} × the rms entry of J, or every entry by a "
                     f"relative ≥ {every:.1e}, is caught with probability ≥ {p:.2f}")
    if parts and blocks < 1 and fd_blocks < 1 and (forward or "fd" in checks) and kind != "jvp" and reverse:
        parts.append("forward mode and finite differences compare one random probe each, no block probes: the entrywise "
                     "comparison already gives that power (probes=k adds k block probes to every side)")
    return "detection power: " + "; ".join(parts) if parts else ""


# --------------------------------------------------------------------------------------
# Probes, inner products and the hand-coded side
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    u: np.ndarray  # shaped like f(x) (first order) or like x (second order)
    v: tuple  # one tangent per wrt argument
    rms_u: float
    rms_v: float
    sparse: bool = False  # a block probe: v is ±1 on one block of the inputs, 0 elsewhere


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


def _rademacher(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    return np.asarray(rng.integers(0, 2, size=shape) * 2.0 - 1.0).astype(dtype, copy=False)


def draw_blocks(entry: Identity, args: tuple, out, rng: np.random.Generator, dtype, blocks: int) -> tuple[list[Probe], list[Probe]]:
    """Block probes: the n inputs split at random into ``blocks`` blocks of equal size (± 1),
    random signs s; v_b = s on block b, 0 elsewhere. One forward family (a ±1 vector u_f
    shared by its blocks) and one reverse family (u_r, the same blocks): a block carries
    1/blocks of ⟨u, J v⟩'s variance, so an error in one of its entries weighs √blocks
    times more than in a dense probe (see "Block probes" above)."""
    shapes = [np.shape(args[i]) for i in entry.wrt_tuple]
    sizes_ = [int(np.prod(sh)) for sh in shapes]
    n = sum(sizes_)
    blocks = max(1, min(int(blocks), n))
    assign = np.empty(n, dtype=np.int64)
    assign[rng.permutation(n)] = np.arange(n) % blocks
    signs = _rademacher(rng, n, np.float64)
    u_shape = shapes[0] if entry.kind in SECOND_ORDER_KINDS else np.shape(out)
    tangents = []  # shared by both families: a jvp or hvp is called once per block
    for b in range(blocks):
        flat = np.where(assign == b, signs, 0.0)
        v, start = [], 0
        for shape, size in zip(shapes, sizes_):
            v.append(flat[start:start + size].reshape(shape).astype(dtype, copy=False))
            start += size
        tangents.append(tuple(v))
    families = []
    for _ in range(2):
        u = _rademacher(rng, u_shape, dtype)
        families.append([Probe(u, v, rms(u), rms(v), sparse=True) for v in tangents])
    return families[0], families[1]


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


def _moved_rms(tangents) -> float:
    """rms over the entries a tangent moves (its nonzero ones): a block probe moves 1/B of
    the inputs by ±1, and its difference step must be that of a dense probe, not √B larger."""
    parts = [_numpy(t).reshape(-1) for t in (tangents if isinstance(tangents, (tuple, list)) else (tangents,))]
    flat = parts[0] if len(parts) == 1 else np.concatenate(parts)
    # a dense tangent moves every entry: no mask to build (1.8 ms at 10⁶ entries, where it took 8)
    moved = flat if np.count_nonzero(flat) == flat.size else flat[flat != 0]
    return float(np.sqrt(np.mean(moved**2))) if moved.size else 0.0


def _finite(value: float, what: str) -> float:
    if not np.isfinite(value):
        raise ComparisonError(f"{what} contains NaN or Inf")
    return value


def hand_coded(entry: Identity, args: tuple, probes: list[Probe]) -> list[float]:
    """The hand-coded ⟨u, J v⟩ of every probe, from what the entry's kind returns."""
    return hand_side(entry, args, probes)[0]


def hand_side(entry: Identity, args: tuple, probes: list[Probe], pull: list | None = None) -> tuple[list[float], dict]:
    """(the hand-coded ⟨u, J v⟩ of every probe, {id(u): uᵀJ as a tuple of arrays} for each
    u of ``pull`` whose uᵀJ the kind gives without one call per input: every kind but jvp).

    A probed kind (jvp, vjp, hvp) is called once per distinct tangent, cotangent or vector
    (the block probes of a family share u); any other kind once."""
    kind, multiple = entry.kind, entry.multiple_wrt
    pull = pull or []
    calls: dict = {}

    def call(probe_value):
        key = id(probe_value[0]) if isinstance(probe_value, tuple) else id(probe_value)
        if key not in calls:
            calls[key] = entry.derivative(*args, probe_value)
        return calls[key]

    def one(r):
        return tuple(_numpy(t) for t in r) if isinstance(r, (tuple, list)) else (_numpy(r),)

    pulled: dict = {}
    if kind in ("jvp", "hvp"):
        scalars = [_finite(inner(p.u, call(p.v if multiple else p.v[0])), "hand-coded result") for p in probes]
        if kind == "hvp":  # H symmetric: uᵀH = (H u)ᵀ
            for u in pull:
                pulled[id(u)] = one(call(u))
        return scalars, pulled
    if kind == "vjp":
        scalars = [_finite(inner(one(call(p.u)), p.v), "hand-coded result") for p in probes]
        for u in pull:
            pulled[id(u)] = one(call(u))
        return scalars, pulled
    result = entry.derivative(*args)
    if kind == "derivative":
        d = _numpy(result)
        x = np.asarray(args[entry.wrt_tuple[0]])
        if d.shape != x.shape:
            raise ComparisonError(f"shape {d.shape} where f'(x) must be shaped like x {x.shape}")
        for u in pull:
            pulled[id(u)] = (_numpy(u) * d,)
        return [_finite(inner(p.u, d * _numpy(p.v[0])), "hand-coded result") for p in probes], pulled
    if kind == "gradient":  # J = ∇fᵀ, one row: ⟨u, J v⟩ = u ⟨∇f, v⟩
        grads = tuple(_numpy(g) for g in result) if multiple else (_numpy(result),)
        if len(grads) != len(probes[0].v):
            raise ComparisonError(f"{len(grads)} gradient(s) where {len(probes[0].v)} (one per wrt argument) are expected")
        for u in pull:
            pulled[id(u)] = tuple(float(u) * g for g in grads)
        return [_finite(float(p.u) * inner(grads, p.v), "hand-coded result") for p in probes], pulled
    blocks = tuple(_numpy(b) for b in result) if multiple else (_numpy(result),)
    expected = [np.shape(probes[0].u) + np.shape(t) for t in probes[0].v]
    if len(blocks) != len(expected):
        raise ComparisonError(f"{len(blocks)} block(s) where {len(expected)} (one per wrt argument) are expected")
    for block, shape in zip(blocks, expected):
        if block.shape != shape:
            raise ComparisonError(f"shape {block.shape} where the {kind} must be shaped {shape}")
    for u in pull:
        un = _numpy(u)
        pulled[id(u)] = tuple(np.tensordot(un, b, axes=un.ndim) for b in blocks)
    return [_finite(inner(p.u, contract_jvp(blocks, tuple(_numpy(t) for t in p.v))), "hand-coded result") for p in probes], pulled


# --------------------------------------------------------------------------------------
# References: per probe (⟨u, J v⟩, its spread), one framework pass per probe and mode
# --------------------------------------------------------------------------------------


def _closure(entry: Identity, fixed):
    return _closure_of(entry.function, entry.wrt_tuple, fixed)


def _closure_of(function, wrt: tuple, fixed):
    """f as a function of the wrt arguments only, the others fixed."""
    return of_wrt(function, fixed, wrt)


def _forward(jv, p: Probe):
    jv = _numpy(jv)  # one conversion (a view for torch) for both sums
    return inner(p.u, jv), p.rms_u * norm(jv)


def _reverse(pulled, p: Probe, record: dict | None = None):
    """(⟨uᵀJ, v⟩, its spread over v): ‖uᵀJ‖·rms(v) for a dense v of variance 1, and for a
    block probe (± 1 on block S) exactly ‖(uᵀJ)_S‖. ``record`` keeps uᵀJ by id(u)."""
    pulled = tuple(_numpy(g) for g in pulled) if isinstance(pulled, (tuple, list)) else (_numpy(pulled),)
    if record is not None:
        record[id(p.u)] = pulled
    if p.sparse:
        spread = float(np.sqrt(sum(np.einsum("i,i->", (w * (t != 0)).reshape(-1), w.reshape(-1)) for w, t in zip(pulled, (_numpy(t) for t in p.v)))))
        return inner(pulled, p.v), spread
    return inner(pulled, p.v), norm(pulled) * p.rms_v


def _once_per_u(probes: list[Probe], pull_back, record: dict | None = None) -> list:
    """_reverse of every probe, with one reverse pass per distinct u (a block family shares it)."""
    passes: dict = {}
    values = []
    for p in probes:
        if id(p.u) not in passes:
            passes[id(p.u)] = pull_back(p)
        values.append(_reverse(passes[id(p.u)], p, record))
    return values


_JAX_TRANSFORMS: dict = {}  # (function, wrt, mode, shapes and dtypes) -> jitted transform, None (eager) or _GUARDED
_JAX_TRANSFORMS_KEPT = 64
_GUARDED = "guarded"  # f holds a rule of its own: every pass through backends.jax_batch, which traces its derivatives each time


def _jax_transform(function, wrt: tuple, mode: str):
    """(all args, direction) -> (f(x), J v), (f(x), uᵀJ) or, for the "pair" mode and
    direction (v, u), (f(x), (J v, uᵀJ)): a jax.jvp pass, a jax.vjp pass, or both."""
    import jax

    def transform(args, direction):
        fw = _closure_of(function, wrt, args)
        w = tuple(args[i] for i in wrt)
        if mode == "forward":
            return jax.jvp(fw, w, direction)
        v, u = direction if mode == "pair" else (None, direction)
        primal, pullback = jax.vjp(fw, *w)
        return primal, (pullback(u) if v is None else (jax.jvp(fw, w, v)[1], pullback(u)))

    return transform


def _jax_pass(entry: Identity, mode: str, args: tuple, out, direction):
    """One JAX pass ("forward", "reverse"), or both in one call ("pair"; see
    _jax_transform), jitted once per (function, mode, shapes) and then reused: the value
    of _jax_dispatch's pass, waited for at once."""
    return _jax_dispatch(entry, mode, args, out, direction)()


def _jax_dispatch(entry: Identity, mode: str, args: tuple, out, direction, attempt: int = 0):
    """Starts one JAX pass and returns ``settle``: () -> its value. A jitted pass runs on
    XLA's threads while the caller goes on (JAX dispatches asynchronously); settle waits
    for it. Tracing, and so every call of the user's function, happens here, in the caller.

    A cached trace keeps the values of any global the function read when it was traced.
    The pass also returns f(x), which settle compares with the engine's numpy f(x): a
    mismatch (a global changed since) drops the trace and traces again. That guard sees
    what moves f's value; a derivative rule of the user's own (a custom_jvp or custom_vjp)
    or a callback can change the derivatives alone, so such a function's passes go through
    backends.jax_batch, which traces the derivatives at every pass (a few milliseconds)."""
    import jax

    from . import backends

    user_function = getattr(entry.function, "__wrapped__", entry.function)  # the engine's copying wrapper is new per call
    key = (user_function, entry.wrt_tuple, mode, tuple((np.shape(a), np.asarray(a).dtype.str) for a in args))
    if key not in _JAX_TRANSFORMS:
        while len(_JAX_TRANSFORMS) >= _JAX_TRANSFORMS_KEPT:
            _JAX_TRANSFORMS.pop(next(iter(_JAX_TRANSFORMS)))
        own_rules = backends.written_outside_jax(entry.function, args)
        _JAX_TRANSFORMS[key] = (_GUARDED if own_rules else
                                jax.jit(_jax_transform(entry.function, entry.wrt_tuple, mode), compiler_options=backends.compiler_options()))
    jitted = _JAX_TRANSFORMS[key]
    if jitted is None or jitted is _GUARDED:  # numpy arrays go into a jitted call as they are (30 µs, where device_put takes 70 each)
        args, direction = jax.tree_util.tree_map(backends.as_jax, (args, direction))
    if jitted is _GUARDED:
        def batch(kind, which, along):
            return backends.jax_batch(kind, (which,), entry.function, args, entry.wrt_tuple, along)[which][0]

        if mode == "pair":
            value = batch("jvp", "forward", direction[0]), batch("vjp", "reverse", direction[1])
        else:
            value = batch("jvp", "forward", direction) if mode == "forward" else batch("vjp", "reverse", direction)
        return lambda: value
    transform = _jax_transform(entry.function, entry.wrt_tuple, mode) if jitted is None else jitted
    try:
        primal, value = transform(args, direction)
    except Exception:
        if jitted is None:
            raise
        _JAX_TRANSFORMS[key] = None  # not traceable (value-dependent control flow ...): run eagerly
        args, direction = jax.tree_util.tree_map(backends.as_jax, (args, direction))
        value = _jax_transform(entry.function, entry.wrt_tuple, mode)(args, direction)[1]
        return lambda: value

    def settle():
        expected = _numpy(out)
        scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, np.finfo(np.float64).tiny)
        rtol = np.sqrt(np.finfo(np.asarray(primal).dtype).eps)  # rounding apart, a changed global moves f more
        if jitted is None or np.max(np.abs(_numpy(primal) - expected), initial=0.0) <= rtol * scale:
            return value
        _JAX_TRANSFORMS.pop(key, None)  # stale trace: trace again (once)
        return value if attempt else _jax_dispatch(entry, mode, args, out, direction, attempt + 1)()

    return settle


def _jax(entry: Identity, mode: str, args: tuple, out, probes: list[Probe], record: dict | None = None):
    """jax.jvp / jax.vjp: jitted and cached per function and shape (first order), eager
    for a Hessian or HVP (jax.grad, then jax.jvp or jax.vjp)."""
    import jax

    from .backends import as_jax

    forward = mode in ("forward", "forward-over-reverse")
    if entry.kind not in SECOND_ORDER_KINDS:  # numpy arrays: _jax_dispatch converts them where the pass is not jitted
        args = tuple(np.asarray(a) for a in args)
        if forward:
            return [_forward(_jax_pass(entry, "forward", args, out, tuple(map(np.asarray, p.v))), p) for p in probes], "jax.jvp (forward mode, jitted)"
        return _once_per_u(probes, lambda p: _jax_pass(entry, "reverse", args, out, np.asarray(p.u)), record), "jax.vjp (jitted)"
    fw = jax.grad(_closure(entry, [as_jax(a) for a in args]))
    w = (as_jax(args[entry.wrt_tuple[0]]),)
    if forward:
        return [_forward(jax.jvp(fw, w, tuple(as_jax(t) for t in p.v))[1], p) for p in probes], "jax.grad, then jax.jvp (forward mode)"
    def pull_back(p):
        _, pullback = jax.vjp(fw, *w)
        return pullback(as_jax(p.u))

    return _once_per_u(probes, pull_back, record), "jax.grad, then jax.vjp"


def _jax_paired(entry: Identity, specs, args: tuple, out, draws_of) -> dict:
    """{check id: record -> (references, method)} for JAX's forward and reverse checks of
    a first-order kind, computed in one jitted call where each has one probe (the default):
    f's primal once and one dispatch, 0.6 ms of 2.2 at n = 10⁴ and 27 of 91 ms at 10⁶.
    The call is started here and waited for when a check first reads it: run_projected
    computes the other checks' references meanwhile, on this thread, while XLA's threads
    run the pass. {} where that does not apply or the call cannot start; a pass that fails
    when waited for leaves each check to run, and report, its own (see reference)."""
    ids = {s.id: s for s in specs if s.framework == "jax" and getattr(s, "target", "function") != "reference"}
    if entry.kind in SECOND_ORDER_KINDS or not {"jax.fwd", "jax.rev"} <= ids.keys():
        return {}
    forward, reverse = draws_of(ids["jax.fwd"]), draws_of(ids["jax.rev"])
    if len(forward) != 1 or len({id(p.u) for p in reverse}) != 1:
        return {}
    try:  # numpy arrays: _jax_dispatch converts them where the pass is not jitted
        v, u = tuple(map(np.asarray, forward[0].v)), np.asarray(reverse[0].u)
        settle = _jax_dispatch(entry, "pair", tuple(np.asarray(a) for a in args), out, (v, u))
    except Exception:
        return {}
    settled: list = []

    def pair():
        if not settled:
            jv, pulled = settle()
            settled.append((_forward(jv, forward[0]), pulled))
        return settled[0]

    return {"jax.fwd": lambda record: ([pair()[0]], "jax.jvp (forward mode, jitted)"),
            "jax.rev": lambda record: (_once_per_u(reverse, lambda p: pair()[1], record), "jax.vjp (jitted)")}


def _tensor(a):
    """A torch view of a numpy array, sharing its memory (a copy only if it is read-only)."""
    import torch

    a = np.asarray(a)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def _torch(entry: Identity, mode: str, args: tuple, probes: list[Probe], record: dict | None = None):
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
    def pull_back(p):
        leaves = tuple(t.detach().requires_grad_() for t in (w[:1] if second else w))
        out = fw(*leaves)
        if second:
            (out,) = torch.autograd.grad(out, leaves, create_graph=True)
        pulled = torch.autograd.grad(out, leaves, grad_outputs=_tensor(p.u), allow_unused=True)
        return tuple(torch.zeros_like(t) if g is None else g for g, t in zip(pulled, leaves))

    values = _once_per_u(probes, pull_back, record)
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


def _on_fresh(entry: Identity, args: tuple, fresh):
    """f at ``args`` whose positions in ``fresh`` hold arrays made for this call alone (a
    shifted point): a guarded f (verify/engine.py's Guarded) takes them without the copy it
    makes of an input that other calls read."""
    on_fresh = getattr(entry.function, "on_fresh", None)
    return entry.function(*args) if on_fresh is None else on_fresh(args, fresh)


def _at_shifted(entry: Identity, args: tuple, directions, s):
    """f at x + s·v."""
    return _on_fresh(entry, _shifted(entry, args, directions, s), entry.wrt_tuple)


def directional_derivative(entry: Identity, args: tuple, tangents: tuple):
    """D_v f(x) by central differences at h and h/2, Richardson-extrapolated to O(h⁴).

    h = FD_STEP · rms(x) / rms(v over the inputs it moves): large enough that rounding in f(x ± h v) stays near
    1e-10 of D_v f even for f summing 10⁶ terms, small enough that the O(h⁴) remainder
    does too. Returns the vector and |extrapolated − D(h/2)| (an upper error estimate)."""
    x_scale = max(step_scale(tuple(args[i] for i in entry.wrt_tuple)), 1e-3)
    h = FD_STEP * x_scale / max(_moved_rms(tangents), np.finfo(np.float64).tiny)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        levels = []
        for step in (h, h / 2):
            plus = _numpy(_at_shifted(entry, args, tangents, step))
            minus = _numpy(_at_shifted(entry, args, tangents, -step))
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
        return _plane_difference(entry, args, _numpy(probe.u), tangents[0])
    jv, error = directional_derivative(entry, args, tangents)
    spread = probe.rms_u * norm(jv)
    estimate = probe.rms_u * error * np.sqrt(jv.size) / max(spread, np.finfo(np.float64).tiny)
    return inner(probe.u, jv), spread, "central differences along v, Richardson h, h/2", estimate


def _plane_difference(entry: Identity, args: tuple, u, v):
    """⟨u, H v⟩ = ∂²/∂s∂t f(x + s u + t v) at 0 by the four-point mixed difference at steps
    (h, k) and (h/2, k/2), Richardson-extrapolated (its error is even in h and k: O(h⁴));
    the spread √|uᵀHu · vᵀHv| from the second differences along u and v, extrapolated alike:
    17 evaluations of f. h = FD_STEP · rms(x) / rms(u over the inputs it moves), k alike."""
    (i,) = entry.wrt_tuple
    x = np.asarray(args[i], dtype=np.float64)
    x_scale = max(step_scale(x), 1e-3)
    h = FD_STEP * x_scale / max(_moved_rms(u), np.finfo(np.float64).tiny)
    k = FD_STEP * x_scale / max(_moved_rms(v), np.finfo(np.float64).tiny)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        f0 = float(entry.function(*_replace(args, i, x)))

        def F(s, t):
            return float(_on_fresh(entry, _replace(args, i, x + s * u + t * v), (i,)))

        def mixed(a, b):
            return (F(a, b) - F(a, -b) - F(-a, b) + F(-a, -b)) / (4 * a * b)

        def second(a, along_u):
            plus, minus = (F(a, 0.0), F(-a, 0.0)) if along_u else (F(0.0, a), F(0.0, -a))
            return (plus - 2 * f0 + minus) / a**2

        coarse, fine = mixed(h, k), mixed(h / 2, k / 2)
        uv = (4 * fine - coarse) / 3
        uu = (4 * second(h / 2, True) - second(h, True)) / 3
        vv = (4 * second(k / 2, False) - second(k, False)) / 3
    spread = float(np.sqrt(abs(uu * vv)))
    estimate = abs(uv - fine) / max(spread, abs(uv), np.finfo(np.float64).tiny)
    return uv, spread, "four-point mixed differences of f(x + s u + t v), Richardson h, h/2", estimate


def step_scale(values) -> float:
    """The inputs' scale for a finite-difference step: their rms, or their rms spread about
    each argument's mean where that is smaller (LayerNorm of values 1e6 + N(0, 1) is smooth
    on a scale of 1: a step of FD_STEP · 1e6 would leave the region the probes describe)."""
    parts = [np.asarray(v, dtype=np.float64).ravel() for v in (values if isinstance(values, (tuple, list)) else (values,))]
    parts = [p for p in parts if p.size]
    if not parts:
        return 0.0
    whole = rms(tuple(parts))
    spread = float(np.sqrt(sum(float(np.sum((p - p.mean()) ** 2)) for p in parts) / sum(p.size for p in parts)))
    return spread if 0.0 < spread < whole else whole


def _replace(args, i, value):
    args = list(args)
    args[i] = value
    return tuple(args)


def reference(entry: Identity, spec, args: tuple, probes: list[Probe], out=None, record: dict | None = None, paired=None):
    """([(⟨u, J v⟩, spread) per probe], method, worst oracle error estimate or None);
    a reverse-mode reference also puts each uᵀJ into ``record`` (by id(u)). ``paired``:
    the JAX reference computed with the other mode's (see _jax_paired)."""
    if paired is not None:
        try:
            return (*paired(record), None)
        except Exception:
            pass  # the paired pass failed when it was waited for: this check's own pass runs, and says why
    if getattr(spec, "target", "function") == "reference":  # the autodiff of the user's reference implementation
        from dataclasses import replace

        entry, out = replace(entry, function=entry.reference), None
    if spec.framework == "fd":
        args = tuple(a.astype(np.float64, copy=False) if np.issubdtype(np.asarray(a).dtype, np.floating) else a for a in map(np.asarray, args))
        results = [_fd_one(entry, spec.id, args, p) for p in probes]
        estimates = [r[3] for r in results if r[3] is not None and np.isfinite(r[3])]
        return [r[:2] for r in results], results[0][2], max(estimates) if estimates else None
    if spec.framework == "jax":
        return (*_jax(entry, spec.mode, args, entry.function(*args) if out is None else out, probes, record), None)
    return (*_torch(entry, spec.mode, args, probes, record), None)


def projected_error(hand: float, ref: float, spread: float) -> float:
    """|hand − ref| / max(|ref|, spread, tiny): the one metric (verify/tolerances.py) with the
    spread of the scalar over the random draw as its floor."""
    return relative_error(hand, ref, spread)


def _apply_rounding_floor(entry: Identity, spec, args: tuple, draws, hand, refs, r, dtype: str) -> None:
    """The dense path's rounding floor for ⟨u, J v⟩: T₁, the change of this check's reference
    when the inputs move by a relative ±√ε (verify/tolerances.py), per probe; the error is
    recomputed against max(|ref|, spread, floor) and r.scale_note says when the floor decided."""
    eta = tolerances.perturbation_size(dtype)
    try:
        signs = np.random.default_rng(0)
        with np.errstate(all="ignore"):
            plus, minus = (reference(entry, spec, tolerances.perturbed(args, signs, eta, d), draws)[0] for d in (1.0, -1.0))
    except Exception:
        return
    errors, floors = [], []
    for h, (ref, spread), (p, _), (m, _) in zip(hand, refs, plus, minus):
        size = tolerances.change_term_sizes(ref, p, m, eta)
        floor = tolerances.rounding_floor(size, r.tolerance, dtype)
        floors.append((floor, abs(ref), spread, size))
        errors.append(relative_error(h, ref, max(spread, floor)))
    error = max(errors)
    if error < r.error:
        r.error = error
        floor, top, spread, size = max(floors)
        if floor > max(top, spread):
            r.scale_note = (f"{tolerances.FLOOR_NOTE}: |⟨u, J v⟩| = {top:.2g} against terms of size {size:.2g}, "
                            f"errors measured against the rounding scale {floor:.2g}")


def _entrywise_with_floor(entry: Identity, spec, args: tuple, draws, hand_pulled: dict, record: dict, compared, r, dtype: str) -> float:
    """The entrywise uᵀJ error against max(max|uᵀJ|, floor), the floor from the change of
    this reverse reference when the inputs move by a relative ±√ε (verify/tolerances.py)."""
    eta = tolerances.perturbation_size(dtype)
    moved = []
    try:
        with np.errstate(all="ignore"):
            for direction in (1.0, -1.0):
                rec: dict = {}
                reference(entry, spec, tolerances.perturbed(args, np.random.default_rng(0), eta, direction), draws, None, rec)
                moved.append(rec)
    except Exception:
        return max(entrywise_error(hand_pulled[key], record[key]) for key in compared)
    worst = 0.0
    for key in compared:
        sizes = tolerances.change_term_sizes(record[key], moved[0].get(key, record[key]), moved[1].get(key, record[key]), eta)
        size = max(sizes, default=0.0) if isinstance(sizes, tuple) else sizes
        floor = tolerances.rounding_floor(size, r.tolerance, dtype)
        error = entrywise_error(hand_pulled[key], record[key], floor)
        if floor > max((float(np.max(np.abs(b))) for b in record[key] if np.size(b)), default=0.0) and error <= r.tolerance and not r.scale_note:
            r.scale_note = f"{tolerances.FLOOR_NOTE}: uᵀJ against terms of size {size:.2g}, errors measured against the rounding scale {floor:.2g}"
        worst = max(worst, error)
    return worst


def projected_specs(specs) -> list:
    """The checks run in projection mode: torch's tape is merged into torch.rev."""
    ids = {s.id for s in specs}
    return [s for s in specs if not (s.id == "torch.tape" and "torch.rev" in ids)]


def entrywise_error(hand: tuple, ref: tuple, floor: float = 0.0) -> float:
    """max|uᵀJ_hand − uᵀJ_ref| / max(max|uᵀJ_ref|, floor): the dense metric on the pulled-back
    vector (``floor``: the rounding floor where the reference is rounding noise)."""
    scale = max(max((float(np.max(np.abs(r))) for r in ref if np.size(r)), default=0.0), floor, np.finfo(np.float64).tiny)
    if len(hand) != len(ref):
        raise ComparisonError(f"{len(hand)} result(s) where {len(ref)} (one per wrt argument) are expected")
    worst = 0.0
    for h, r in zip(hand, ref):
        h, r = np.asarray(h, dtype=np.float64), np.asarray(r, dtype=np.float64)
        if h.shape != r.shape:
            raise ComparisonError(f"shape {h.shape} where shape {r.shape} is expected")
        if h.size:
            worst = max(worst, float(np.max(np.abs(h - r))))
    return _finite(worst / scale, "hand-coded result")


def run_projected(entry: Identity, args: tuple, out, rng: np.random.Generator, specs, dtype: str, trial: int = 0, probes: int = PROBES,
                  notes: list | None = None, blocks: int = 0, fd_blocks: int | None = None):
    """Every check of ``specs`` on random (u, v): one CheckResult per check.

    ``probes`` dense pairs for the forward-mode and finite-difference checks, ``probes``
    other pairs for the reverse-mode checks, and (``blocks`` > 0) a family of block probes
    for each side (``fd_blocks`` of them for the finite differences, default ``blocks``);
    the reverse-mode autodiff checks also compare each uᵀJ entrywise where the kind gives
    the hand-coded uᵀJ (every kind but jvp). The hand-coded side is computed once for all."""
    from .results import CheckResult, one_line as _one_line, raised_at as _at

    if probes < 1:
        raise ValueError(f"probes must be at least 1, not {probes}")
    specs = projected_specs(specs)
    forward_draws = [draw(entry, args, out, rng, dtype) for _ in range(probes)]
    reverse_draws = [draw(entry, args, out, rng, dtype) for _ in range(probes)]
    forward_blocks, reverse_blocks = draw_blocks(entry, args, out, rng, dtype, blocks) if blocks > 0 else ([], [])
    fd_blocks = len(forward_blocks) if fd_blocks is None else min(fd_blocks, len(forward_blocks))
    n, m = sizes(entry, args, out)
    reverse_all = reverse_draws + reverse_blocks
    pull = list({id(p.u): p.u for p in reverse_all}.values()) if entry.kind != "jvp" else []

    def result(spec, **fields):
        tol = tolerance(spec.oracle, dtype, entry.tolerance)
        merged = spec.id == "torch.rev" or (spec.id == "torch.fwd" and entry.kind not in SECOND_ORDER_KINDS)
        backend = "torch.autograd" if merged else spec.backend  # see _torch
        return CheckResult(entry.name, spec.id, backend, f"{spec.mode}, projected", spec.oracle, None, tol, False, trial=trial, **fields)

    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            hand, hand_pulled = hand_side(entry, args, forward_draws + forward_blocks + reverse_all, pull)
    except UsageError:
        raise  # the engine raises it or makes it every check's reason
    except ComparisonError as exc:
        return [result(s, reason=f"hand-coded derivative: {exc}") for s in specs]
    except Exception as exc:
        return [result(s, reason=f"hand-coded derivative raised {_one_line(exc)}{_at(exc)}") for s in specs]
    nf = len(forward_draws) + len(forward_blocks)
    hand_of = {"forward": hand[:nf], "reverse": hand[nf:]}
    kink_cache: dict = {}
    notes = [] if notes is None else notes
    results = []

    def side_of(spec):
        """(forward or reverse, the dense draws, the block family) of a check."""
        side = "forward" if spec.id in FORWARD_CHECKS else "reverse"
        family = forward_blocks if side == "forward" else reverse_blocks
        return side, forward_draws if side == "forward" else reverse_draws, family[:fd_blocks] if spec.framework == "fd" else family

    def draws_of(spec):
        _, dense, family = side_of(spec)
        return dense + family

    def computed(spec):
        """(record, the reference call's value or the exception it raised) of one check."""
        record: dict = {}
        try:
            return record, reference(entry, spec, args, draws_of(spec), out, record, paired.get(spec.id))
        except Exception as exc:
            return record, exc

    paired = _jax_paired(entry, specs, args, out, draws_of)
    # the other checks' references first, while the paired JAX pass runs on XLA's threads
    early = {spec.id: computed(spec) for spec in specs if spec.id not in paired}
    for spec in specs:
        r = result(spec)
        side, dense, family = side_of(spec)
        draws = dense + family
        hands = hand_of[side][:len(draws)]
        record, outcome = early[spec.id] if spec.id in early else computed(spec)
        try:
            if isinstance(outcome, Exception):
                raise outcome
            refs, method, r.oracle_error_estimate = outcome
            # a probe along which f does not move (Jv = 0: LayerNorm along a constant row) has a
            # reference and a spread of exactly 0: its scale is the rounding floor of the
            # largest spread of this check's probes (verify/tolerances.py), not 0
            widest = tolerances.rounding_floor(max((spread for _, spread in refs), default=0.0), r.tolerance, dtype)
            r.error = max(projected_error(h, _finite(ref, "reference"), max(spread, widest)) for h, (ref, spread) in zip(hands, refs))
            if r.error > r.tolerance:  # a scalar of rounding noise? (verify/tolerances.py: the rounding floor)
                _apply_rounding_floor(entry, spec, args, draws, hands, refs, r, dtype)
            compared = [key for key in record if key in hand_pulled]
            entrywise = max((entrywise_error(hand_pulled[key], record[key]) for key in compared), default=0.0)
            if entrywise > r.tolerance:  # uᵀJ of rounding noise? the dense path's floor, from the reference's change
                entrywise = _entrywise_with_floor(entry, spec, args, draws, hand_pulled, record, compared, r, dtype)
            r.error = max(r.error, entrywise)
            r.passed = r.error <= r.tolerance
            if r.passed and r.scale_note and not any(n.startswith(tolerances.FLOOR_NOTE) for n in notes):
                notes.append(r.scale_note)
            pairs = f"{probes} probe pair{'s' if probes > 1 else ''} ({side})"
            if family:
                pairs += f" and {len(family)} block probes"
            if compared:
                pairs += f"; uᵀJ compared entrywise for {len(compared)} u"
            r.method = f"⟨u, J v⟩ with {method}; {pairs}, n={n}, m={m}"
            if not r.passed and entry.kind not in SECOND_ORDER_KINDS and spec.id != "cstep":
                _judge_at_kinks(entry, spec, args, out, dense, hands[:len(dense)], r, kink_cache, notes)
        except ComparisonError as exc:
            r.reason = str(exc)
        except Exception as exc:
            r.reason = f"reference raised {_one_line(exc)}"
        results.append(r)
    return results


# --------------------------------------------------------------------------------------
# Kinks on the projected path: one-sided derivatives along v, output by output
# --------------------------------------------------------------------------------------

KINK_ROUNDING_FACTOR = 4.0  # a jump must exceed this many times the quotients' rounding
SINGLE_OUTPUT_PROBES = 8  # kinked outputs also judged one at a time, per probe
KINK_CLEAN_FACTOR = 100.0
"""A kink's jump must exceed this many times the one-sided quotients' change from h/2 to h:
0 on linear pieces (ReLU, max), O(h²) ≈ 1e-5 on curved ones, but O(h) and random in a sum
over outputs whose steps straddle jumps of f'' (a Huber loss), which is no kink and whose
autodiff checks must not be re-judged by an interval that wide."""


@dataclass(frozen=True)
class KinkAlong:
    """The outputs of f whose one-sided derivatives along v differ (f has a kink there
    along v), with the interval [lower, upper] of each: a valid subgradient row gᵢ has
    gᵢ·v in it (for a convex or concave fᵢ, exactly the values of gᵢ·v over its
    subgradients: f'ᵢ(x; v) = max g·v, −f'ᵢ(x; −v) = min g·v)."""

    kinked: np.ndarray  # boolean, shaped like f(x)
    near: np.ndarray  # kinked, or a kink within the steps (differences straddle it): no finite-difference judgement
    lower: np.ndarray
    upper: np.ndarray
    rounding: np.ndarray
    step: float
    error: np.ndarray  # max over the two sides of |quotient at h − quotient at h/2|: their own error estimate
    resolved: np.ndarray | None = None  # a kink near, not at, x along v: the quotients agree at a smaller step
    central: np.ndarray | None = None  # D_v f there, from central differences at that step (nan elsewhere)
    noise: np.ndarray | None = None  # the rounding of those differences


def kinks_along(entry: Identity, args: tuple, out, tangents: tuple) -> KinkAlong | None:
    """One-sided second-order quotients of f along v at steps h and h/2 (6 evaluations):
    an output whose left and right quotients differ by more than rounding, by at least
    half as much again at h/2 (a smooth f's gap shrinks like h³), has a kink along v, if
    they still differ when the step is shrunk (4 evaluations per smaller step, taken only
    while an output's quotients disagree). An output whose quotients agree at a smaller
    step s has its kink near x, not at it: ``resolved``, with D_v f from central
    differences at s (no kink within ±2s). None when no output has a kink at or near x."""
    from .oracles import KINK_TOLERANCE, shrink_steps

    x_scale = max(step_scale(tuple(args[i] for i in entry.wrt_tuple)), 1e-3)
    h = FD_STEP * x_scale / max(_moved_rms(tangents), np.finfo(np.float64).tiny)
    f0 = _numpy(out)
    with np.errstate(all="ignore"):
        values = {k: _numpy(entry.function(*_shifted(entry, args, tangents, k * h / 2))) for k in (-4, -2, -1, 1, 2, 4)}
    if not all(np.all(np.isfinite(v)) for v in values.values()):
        return None  # a step left the domain: not a kink
    right = (-3 * f0 + 4 * values[2] - values[4]) / (2 * h)
    left = (3 * f0 - 4 * values[-2] + values[-4]) / (2 * h)
    right_half = (-3 * f0 + 4 * values[1] - values[2]) / h
    left_half = (3 * f0 - 4 * values[-1] + values[-2]) / h
    size = np.maximum.reduce([np.abs(f0)] + [np.abs(v) for v in values.values()])
    rounding = 64 * np.finfo(np.float64).eps * size / h
    jump = np.abs(right - left)
    half_jump = np.abs(right_half - left_half)
    row_scale = np.maximum(np.abs(left), np.abs(right))
    # a kink: a jump above rounding that stays when the step is halved: a jump of at least
    # KINK_TOLERANCE of the row that keeps half its size, or a smaller one that keeps 95 % of
    # it (a near-tie of max-pooling jumps by |v₀ − v₁|, exactly, at every step). A smooth
    # row's gap shrinks 8-fold; a sum whose f'' jumps within the steps (a Huber loss) shrinks
    # by about 4 and stays below KINK_TOLERANCE of the row.
    above = jump > KINK_ROUNDING_FACTOR * rounding
    kinked = above & (((jump > KINK_TOLERANCE * row_scale) & (half_jump >= jump / 2)) | (half_jump >= 0.95 * jump))
    # ... and a jump well above the quotients' own uncertainty (their change from h/2 to h: 0 on
    # linear pieces, O(h²) on curved ones, O(h) and random where steps straddle jumps of f'')
    error = np.maximum(np.abs(right - right_half), np.abs(left - left_half))
    kinked &= jump > KINK_CLEAN_FACTOR * error
    near = kinked | ((jump > KINK_ROUNDING_FACTOR * rounding) & (jump > KINK_TOLERANCE * row_scale))
    near |= (half_jump > KINK_ROUNDING_FACTOR * 2 * rounding) & (half_jump > KINK_TOLERANCE * np.maximum(np.abs(left_half), np.abs(right_half)))
    if not np.any(near):
        return None
    # at x, or near it? Shrink the step where the quotients disagree (oracles.shrink_steps): a
    # kink at a distance d along v stops showing once 2s < d; a kink at x does not
    found = shrink_steps(lambda s: _quotients_along(entry, args, f0, tangents, s), h, near, np.maximum(row_scale, np.finfo(np.float64).tiny))
    resolved = near & np.isfinite(found.central)
    kinked &= found.kinked
    near &= ~resolved
    if not np.any(kinked) and not np.any(resolved):
        return None  # no kink, at most a jump in f'' within the steps (Huber): see _judge_at_kinks
    noise = np.where(resolved, 64 * np.finfo(np.float64).eps * size / np.where(resolved, found.free / 2, 1.0), 0.0)
    return KinkAlong(kinked, near, np.minimum(left, right), np.maximum(left, right), rounding, h, error, resolved, found.central, noise)


def _quotients_along(entry: Identity, args: tuple, f0, tangents: tuple, s: float):
    """One-sided second-order quotients of each output of f along v at step s, their
    rounding, and the Richardson central difference at s and 2s (oracles._one_sided, row by row)."""
    with np.errstate(all="ignore"):
        fp1, fp2, fm1, fm2 = (_numpy(entry.function(*_shifted(entry, args, tangents, k * s))) for k in (1, 2, -1, -2))
    right = (-3 * f0 + 4 * fp1 - fp2) / (2 * s)
    left = (3 * f0 - 4 * fm1 + fm2) / (2 * s)
    central = (4 * (fp1 - fm1) / (2 * s) - (fp2 - fm2) / (4 * s)) / 3
    size = np.maximum.reduce([np.abs(f0), np.abs(fp1), np.abs(fp2), np.abs(fm1), np.abs(fm2)])
    return left, right, 64 * np.finfo(np.float64).eps * size / s, central


def _richardson_spread(entry: Identity, args: tuple, p: Probe) -> float:
    """|⟨u, R(h, h/2) − R(h/2, h/4)⟩| / spread, R the Richardson-extrapolated central
    difference along v: O(h⁴) on a smooth f, but of the size of the error itself where f''
    jumps within the steps (a Huber loss with residuals at its threshold), where central
    differences are only O(h) accurate."""
    tangents = tuple(_numpy(t) for t in p.v)
    x_scale = max(step_scale(tuple(args[i] for i in entry.wrt_tuple)), 1e-3)
    h = FD_STEP * x_scale / max(_moved_rms(tangents), np.finfo(np.float64).tiny)
    with np.errstate(all="ignore"):
        levels = []
        for step in (h, h / 2, h / 4):
            plus = _numpy(_at_shifted(entry, args, tangents, step))
            minus = _numpy(_at_shifted(entry, args, tangents, -step))
            levels.append((plus - minus) / (2 * step))
    coarse, fine = (4 * levels[1] - levels[0]) / 3, (4 * levels[2] - levels[1]) / 3
    spread = max(p.rms_u * norm(fine), np.finfo(np.float64).tiny)
    value = abs(inner(p.u, coarse - fine)) / spread
    return float(value) if np.isfinite(value) else float("inf")


def _judge_at_kinks(entry: Identity, spec, args: tuple, out, draws: list, hands: list, r, cache: dict, notes: list) -> None:
    """Re-judge a failed projected check where f has kinks along the probe's v.

    Off the kinked outputs (u set to 0 there; for finite differences also the outputs whose
    steps straddle a kink), the check's own reference and tolerance. On them, Σᵢ wᵢ (J v)ᵢ of
    the hand-coded derivative must lie in the range that the one-sided intervals allow, for
    w = u, w = the sign of each interval's midpoint, and w = each of SINGLE_OUTPUT_PROBES
    kinked outputs alone. A value outside its interval at one output among thousands can
    still hide (a projection dilutes it, as it dilutes any single-entry error).

    Without a kink, a finite-difference check that fails where f is only C¹ (a Huber loss:
    f'' jumps within the steps, central differences are O(h)) passes within
    ORACLE_ESTIMATE_FACTOR times the change of its extrapolated value from steps (h, h/2)
    to (h/2, h/4), as the dense path widens by its oracle's estimate."""
    from .oracles import SUBGRADIENT_TOLERANCE
    from .tolerances import ORACLE_ESTIMATE_FACTOR

    worst_off, worst_outside, kinked_outputs, ranges = 0.0, 0.0, 0, []
    worst_noise, resolved_outputs = 0.0, 0
    found_any = False
    for p, hand in zip(draws, hands):
        key = id(p)
        if key not in cache:
            cache[key] = kinks_along(entry, args, out, tuple(_numpy(t) for t in p.v))
        found = cache[key]
        if found is None or (spec.framework != "fd" and not np.any(found.kinked)):
            continue  # autodiff does not step: kinks near x, not at it, are no excuse for it
        found_any = True
        u = _numpy(p.u)
        # finite differences straddle every kink within their steps, except where smaller
        # steps cleared it (``resolved``: D_v f from those steps); autodiff only the kinks themselves
        kept = np.where(found.near if spec.framework == "fd" else found.kinked, 0.0, u)
        masked = Probe(kept, p.v, rms(kept), p.rms_v)
        hand_off = hand_coded(entry, args, [masked])[0]
        if spec.framework == "fd" and np.any(found.resolved):
            jv, _ = directional_derivative(entry, args, tuple(_numpy(t) for t in p.v))
            jv = np.where(found.resolved, found.central, jv)
            ref_off, spread_off = inner(kept, jv), rms(kept) * norm(jv)
            noise = float(np.sqrt(np.sum((kept * found.noise) ** 2)))  # the shrunk steps' rounding, random in sign
            worst_noise = max(worst_noise, noise / max(spread_off, np.finfo(np.float64).tiny))
            resolved_outputs = max(resolved_outputs, int(np.count_nonzero(found.resolved)))
        else:
            (ref_off, spread_off), = reference(entry, spec, args, [masked], out)[0]
        worst_off = max(worst_off, projected_error(hand_off, ref_off, spread_off))
        if not np.any(found.kinked):
            continue
        # on the kinked outputs: the random u, and u = sign of each interval's midpoint, which
        # sums a value outside the intervals on the same side at many outputs into one excess
        # (the random u alone lets an interval's width hide it among random signs)
        k = found.kinked
        lower, upper = found.lower[k], found.upper[k]
        for weights in (u, np.sign(found.lower + found.upper)):
            on_u = np.where(k, weights, 0.0)
            on = hand_coded(entry, args, [Probe(on_u, p.v, rms(on_u), p.rms_v)])[0]  # Σ over the kinked outputs of uᵢ (J v)ᵢ, hand-coded
            wk = on_u[k]
            lo = float(np.sum(np.minimum(wk * lower, wk * upper)))
            hi = float(np.sum(np.maximum(wk * lower, wk * upper)))
            scale = float(np.sum(np.abs(wk) * np.maximum(np.abs(lower), np.abs(upper))))
            # exact on linear pieces (ReLU, max); where a step straddles a jump of f'' (a Huber
            # loss summed into one output) the quotients are O(h): twice their own change from h/2 to h
            slack = SUBGRADIENT_TOLERANCE * scale + float(np.sum(np.abs(wk) * (found.rounding[k] + 2 * found.error[k])))
            excess = max(lo - on, on - hi)
            if excess > slack:
                worst_outside = max(worst_outside, excess / max(scale, np.finfo(np.float64).tiny))
                ranges.insert(0, (on, lo, hi))
            else:
                ranges.append((on, lo, hi))
        # and a few kinked outputs one at a time (u = a unit vector): a sum over thousands of
        # outputs lets values outside their intervals on both sides cancel; one output cannot
        rows = np.flatnonzero(k.reshape(-1))
        for row in np.random.default_rng(rows.size).choice(rows, size=min(SINGLE_OUTPUT_PROBES, rows.size), replace=False):
            unit = np.zeros(k.size)
            unit[row] = 1.0
            unit = unit.reshape(k.shape)
            value = hand_coded(entry, args, [Probe(unit, p.v, rms(unit), p.rms_v)])[0]
            lo, hi = float(found.lower.flat[row]), float(found.upper.flat[row])
            slack = SUBGRADIENT_TOLERANCE * max(abs(lo), abs(hi)) + float(found.rounding.flat[row] + 2 * found.error.flat[row])
            excess = max(lo - value, value - hi)
            if excess > slack:
                worst_outside = max(worst_outside, excess / max(abs(lo), abs(hi), np.finfo(np.float64).tiny))
                ranges.insert(0, (value, lo, hi))
        kinked_outputs = max(kinked_outputs, int(np.count_nonzero(k)))
    if not found_any:
        if spec.framework == "fd":  # no kink: is f only C¹ within the steps (Huber)? Ask the differences themselves
            estimate = max(_richardson_spread(entry, args, p) for p in draws)
            r.oracle_error_estimate = estimate
            r.tolerance = max(r.tolerance, ORACLE_ESTIMATE_FACTOR * estimate)
            r.passed = r.error <= r.tolerance
            r.method += f"; its tolerance widened to {ORACLE_ESTIMATE_FACTOR:g} × the change of the extrapolated difference from steps (h, h/2) to (h/2, h/4)"
        return
    if resolved_outputs:
        r.method += (f"; at {resolved_outputs} outputs with a kink of f near x along v, steps shrunk until the one-sided "
                     f"quotients agree (D_v f from central differences there)")
        if worst_noise > 0:  # their rounding grows as the steps shrink: as the dense path, widen by the oracle's estimate
            r.oracle_error_estimate = max(r.oracle_error_estimate or 0.0, worst_noise)
            r.tolerance = max(r.tolerance, ORACLE_ESTIMATE_FACTOR * worst_noise)
    if not kinked_outputs:
        r.error, r.passed = worst_off, worst_off <= r.tolerance
        if not r.passed:
            r.reason = f"max relative error {worst_off:.2e} > tolerance {r.tolerance:.0e} (finite differences with steps shrunk near the kinks of f)"
        return
    where = f"{kinked_outputs} of {np.size(out)} outputs of f have one-sided derivatives along v that differ (kinks)"
    r.method += f"; {where}: judged off them by this reference, on them by the one-sided intervals"
    r.error = worst_off
    if worst_off > r.tolerance:
        r.reason = f"max relative error {worst_off:.2e} > tolerance {r.tolerance:.0e} away from the kinks of f ({where})"
    elif worst_outside > 0:
        on, lo, hi = ranges[0]
        r.reason = (f"not a valid subgradient at the kinks of f: over kinked outputs the hand-coded Σ wᵢ (J v)ᵢ is {on:.6g}, "
                    f"outside the range [{lo:.6g}, {hi:.6g}] that the one-sided derivatives allow ({where})")
    else:
        r.passed = True
        note = ("f has kinks at this input (outputs whose one-sided derivatives along the probe differ): "
                "the hand-coded values there are a valid subgradient")
        if note not in notes:
            notes.append(note)
