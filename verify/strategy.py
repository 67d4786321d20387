"""Which checks run dense and which on random projections: a choice by predicted cost.

A dense check builds whole Jacobians (or Hessians); a projected one compares ⟨u, J v⟩ on a
few probes (verify/projection.py). Their costs differ by orders of magnitude, and which
is affordable depends on the function, not only on n: ``plan`` times the primal (t_f: the
engine's own call where every t_f from a tenth of it to twice it gives the same choice
(``settled``); else the faster of that call and one more, with the copying guard, and a
few more where a call takes under a millisecond) and, where torch can run the function and
the choice depends on it (``settled``), one torch reverse pass (t_g: the second after a
first; else t_g = 3 t_f), then predicts, for n
differentiated inputs and m outputs (a forced strategy times nothing more: t_f is the
engine's call, t_g = 3 t_f, and they only feed the note):

- dense autodiff, per framework: n forward passes (jacfwd) and m reverse passes (jacrev),
  batched, at 3 (t_f − CALL_OVERHEAD) each (the arithmetic, not the call); 1 pass where the
  kind needs one (a gradient's reverse, a jvp's forward, a vjp's reverse, every hvp pass);
  the torch.autograd tape loops its m passes at t_g each; DISPATCH for tracing; a Hessian's
  passes cost twice as much; and no dense autodiff at all where a batch would hold more
  than MAX_BATCHED_ENTRIES numbers (memory, not arithmetic, then sets the time);
- dense finite differences: FD_EVALUATIONS points per input (scipy.differentiate's
  order-8 stencil over two iterations, 11 per input, and scipy's bookkeeping: 15, measured
  at n = 100 to 1000), each costing t_f, or, for a framework-native f that its framework
  vectorises (frameworks.Adapter.batched, vmap), t_p: a batch of BATCH_PROBE points
  timed, divided by their number; a Hessian's FD2_EVALUATIONS per pair of inputs; an
  HVP's HVP_EVALUATIONS = 16 per input (oracles.hvp_by_differences, no Hessian); a jvp's
  FD_EVALUATIONS along its tangent;
- projected: per probe, one forward pass per framework, one reverse pass per distinct u
  (a block family shares it), 4 calls of f for a first-order difference along v and
  PLANE_EVALUATIONS = 17 for a second-order one (projection._plane_difference).

The budget is twice torch.autograd.gradcheck's predicted time in its default mode ((n + m)
t_g: 2n evaluations of f in torch, half a reverse pass each, and m reverse passes; for the
second-order kinds gradgradcheck's 2n gradients and n double-backward passes, 4n t_g) where
that is at most GRADCHECK_FEASIBLE seconds, else twice its fast mode (2 t_g), and never
below MIN_BUDGET: the fixed costs of five checks in two frameworks (tracing, copies,
dispatch) are about that much whatever n is. The autodiff checks run dense when their
predicted time fits the budget, then the finite differences when theirs fits what is left;
what does not fit is projected. Block probes (verify/projection.py) run only where no
reverse-mode autodiff check compares uᵀJ entrywise (a jvp, or a layer whose own backward
is the derivative under test): the entrywise comparison already gives a projected check
the dense check's single-entry power at the cost of one pass, and blocks would only
multiply the forward passes and the finite differences. Where they run, as many as the
rest of the budget pays for (MIN_BLOCKS to DEFAULT_BLOCKS, the autodiff checks first).
The result says which ran and why (``Plan.note``); ``strategy="dense" | "projected"``
forces one, and ``probes=k`` fixes the number of block probes (on every side).

Measured (benchmarks/results/vs_gradcheck.md, shared machine): at n = 10² a check takes
0.6–2.4× gradcheck's default mode with every backend, 0.6–1.6× with backends=("torch",
"fd"); from n = 10³ on 0.002–1.2×; where only gradcheck's fast mode is feasible
(milliseconds; the MIN_BUDGET floor then rules the dense-or-projected choice, not the
cost), 1.6× for a vjp and 4.9× for an HVP at n = 10⁴ (1.7× and 3.3× without JAX; the HVP
calls f 25 times, 0.4 ms each: 17 for the second-order finite differences, 5 in the
frameworks' passes, 3 to learn how f runs; gradcheck's fast mode calls the hand-coded
gradient four times and the HVP four times, counted, and differentiates nothing). The
custom layers of benchmarks/results/layer_study.md: 2.3× gradcheck (median).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .registry import SECOND_ORDER_KINDS, Identity

STRATEGIES = ("auto", "dense", "projected")
MIN_BUDGET = 0.5  # seconds: below this, dense checks run whatever gradcheck would take
GRADCHECK_FEASIBLE = 10.0  # seconds of gradcheck's default mode above which only its fast mode is a fair yardstick
FD_EVALUATIONS = 15  # points per input, dense first-order finite differences: 11 scipy, and its bookkeeping (measured 12–16 at n = 100 to 1000)
BATCH_PROBE = 16  # points in the batch timed for t_p
FD2_EVALUATIONS = 6  # calls of f per pair of inputs, oracles.fd_hessian_flat (measured 4–6 at n = 5 to 50)
HVP_EVALUATIONS = 16  # calls of f per input, oracles.hvp_by_differences
PLANE_EVALUATIONS = 17  # calls of f per probe, a second-order difference in the (u, v) plane (projection._plane_difference)
DEFAULT_BLOCKS = 16
MIN_BLOCKS = 4
FORWARD_WORK = 3.0  # a batched forward or reverse pass costs about this many primal calls' arithmetic
CALL_OVERHEAD = 3e-5  # seconds of a guarded numpy call that are copies and checks, not arithmetic
DISPATCH = 0.02  # seconds of tracing and dispatch per dense autodiff framework
MAX_BATCHED_ENTRIES = 10_000_000
"""A batched dense Jacobian (jacfwd, jacrev, vmap) holds passes × (n + m) numbers in each
intermediate: above this many (80 MB in float64) memory, not arithmetic, sets its time
(a gradient's jacfwd at n = 10⁴ took 60 s on 2 cores), so the autodiff checks are projected."""


@dataclass
class Plan:
    autodiff: str  # "dense" | "projected"
    fd: str  # "dense" | "projected"
    blocks: int  # block probes per side where projected (0: none)
    fd_blocks: int
    predicted: dict = field(default_factory=dict)  # seconds
    note: str = ""

    @property
    def strategy(self) -> str:
        return self.autodiff if self.autodiff == self.fd else "mixed"

    def projected(self, spec) -> bool:
        return (self.fd if spec.framework == "fd" else self.autodiff) == "projected"


def normalize(strategy, projection=None) -> str:
    """The strategy from ``strategy`` and its older alias ``projection`` (True, False, "auto")."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if projection is None or projection == "auto":
        return strategy
    if projection is True:
        return "projected"
    if projection is False:
        return "dense"
    raise ValueError(f"projection must be one of ('auto', True, False), not {projection!r}")


def _seconds(call, *args) -> float:
    start = time.perf_counter()
    call(*args)
    return time.perf_counter() - start


QUICK_CALL = 1e-3  # seconds: calls faster than this are timed a few more times (their noise is their size)


def time_primal(primal, args: tuple, first: float | None = None) -> float:
    """t_f: the faster of ``first`` (the engine's own call) and one more call, and of up
    to three more where a call takes under QUICK_CALL (the timing costs at most one call
    of f, or 3 ms)."""
    best = _seconds(primal, *args) if first is None else first
    best = min(best, _seconds(primal, *args))  # the first call may have paid for imports and caches
    for _ in range(3):
        if best >= QUICK_CALL:
            break
        best = min(best, _seconds(primal, *args))
    return max(best, 1e-7)


def time_reverse(entry: Identity, args: tuple, out) -> float | None:
    """t_g: one torch reverse pass of f (the second call; the faster of the second and
    third under QUICK_CALL), or None where torch cannot run it."""
    try:
        import torch

        from .projection import _closure

        def once():
            leaves = [torch.from_numpy(np.array(args[i], dtype=np.float64)).requires_grad_() for i in entry.wrt_tuple]
            fixed = [torch.from_numpy(np.array(a)) if isinstance(a, np.ndarray) else a for a in args]
            value = _closure(entry, fixed)(*leaves)
            if not isinstance(value, torch.Tensor):
                raise TypeError("not a torch result")
            if entry.kind in SECOND_ORDER_KINDS:
                (g,) = torch.autograd.grad(value, leaves[:1], create_graph=True)
                torch.autograd.grad((g * g).sum(), leaves[:1])
            else:
                torch.autograd.grad(value, leaves, grad_outputs=torch.ones_like(value), allow_unused=True)

        once()
        best = _seconds(once)
        if best < QUICK_CALL:
            best = min(best, _seconds(once))
        return max(best, 1e-7)
    except Exception:
        return None


def _autodiff_passes(kind: str, n: int, m: int) -> tuple[float, float, float]:
    """(batched forward passes, batched reverse passes, looped tape passes) of one framework."""
    fwd = {"jvp": 1, "hvp": 1}.get(kind, n)
    rev = {"gradient": 1, "vjp": 1, "hvp": 1, "hessian": n}.get(kind, m)
    tape = {"jvp": 2, "vjp": 1, "hvp": 1, "hessian": n}.get(kind, m)
    return fwd, rev, tape


def time_batched_point(primal, entry: Identity, args: tuple) -> float | None:
    """t_p: the time of a batch of BATCH_PROBE points of f through its framework's vmap,
    divided by their number (the second of two batches), or None where f has no batched
    evaluation or it fails (the finite differences then call f once per point)."""
    batched = getattr(primal, "batched", None)
    if batched is None:
        return None
    try:
        i = entry.wrt_tuple[0]
        x = np.asarray(args[i], dtype=np.float64)
        stack = np.repeat(x[None], BATCH_PROBE, axis=0)
        from .oracles import is_real_float

        full = tuple(np.asarray(a, dtype=np.float64) if is_real_float(a) else a for a in args)  # as the differences call it
        batched(i, stack, full)
        return max(_seconds(batched, i, stack, full), 1e-9) / BATCH_PROBE
    except Exception:
        return None


def predict(kind: str, n: int, m: int, t_f: float, t_g: float, frameworks: set, blocks: int, fd_blocks: int, probes: int = 1,
            t_p: float | None = None) -> dict:
    """Predicted seconds of each part (see the module docstring); ``t_p``: one point of a
    batched evaluation of f, or None (one call per point, t_f)."""
    work = max(t_f - CALL_OVERHEAD, 0.0)  # a batched pass pays the arithmetic, not the call
    second = 2.0 if kind in SECOND_ORDER_KINDS else 1.0
    fwd, rev, tape = _autodiff_passes(kind, n, m)
    per_framework = second * (fwd + rev) * FORWARD_WORK * work + DISPATCH
    ad_dense = per_framework * len(frameworks & {"jax", "torch"}) + (second * tape * t_g if "torch" in frameworks else 0.0)
    passes = probes + blocks + probes + 1  # forward: one per probe; reverse: one per u
    ad_projected = second * passes * t_g * len(frameworks & {"jax", "torch"})
    if kind == "hessian":
        fd_dense = FD2_EVALUATIONS * n * n * t_f
    elif kind == "hvp":
        fd_dense = HVP_EVALUATIONS * n * t_f
    elif kind == "jvp":
        fd_dense = FD_EVALUATIONS * t_f
    else:
        fd_dense = FD_EVALUATIONS * n * (t_f if t_p is None else min(t_p, t_f))
    per_probe = PLANE_EVALUATIONS if kind in SECOND_ORDER_KINDS else 4
    fd_projected = per_probe * (probes + fd_blocks) * t_f
    if "fd" not in frameworks:
        fd_dense = fd_projected = 0.0
    if kind in SECOND_ORDER_KINDS:  # gradgradcheck: 2n gradients numerically, n double-backward passes
        gradcheck, fast = 2 * n * t_g + 2 * n * t_g, 4 * t_g
    else:  # gradcheck: 2n evaluations of f in torch (half a reverse pass each) and m reverse passes
        gradcheck, fast = (n + m) * t_g, 2 * t_g
    return {"autodiff dense": ad_dense, "autodiff projected": ad_projected, "fd dense": fd_dense, "fd projected": fd_projected,
            "gradcheck": gradcheck, "gradcheck fast": fast}


def _words(seconds: float) -> str:
    if seconds >= 100:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.1f} s"
    if seconds >= 0.01:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def plan(entry: Identity, args: tuple, out, specs, strategy: str = "auto", probes: int | None = None, primal=None,
         primal_seconds: float | None = None) -> Plan:
    """The plan for one check: t_f and t_g measured here, then ``decide``."""
    from .projection import sizes

    n, m = sizes(entry, args, out)
    frameworks = {s.framework for s in specs}
    entrywise = compares_entrywise(entry.kind, specs)
    if strategy != "auto":  # forced: the timings only feed the note's predictions; no extra call pays for them
        t_f = max(primal_seconds, 1e-7) if primal_seconds is not None else time_primal(primal or entry.function, args)
        t_g = t_p = None
    else:
        t_p = time_batched_point(primal or entry.function, entry, args) if "fd" in frameworks else None
        first = primal_seconds is not None and settled(entry.kind, n, m, primal_seconds, frameworks, probes, entrywise, t_p,
                                                       primal_range=SETTLED_FIRST_CALL)
        t_f = max(primal_seconds, 1e-7) if first else time_primal(primal or entry.function, args, primal_seconds)
        needed = not first and "torch" in frameworks and not settled(entry.kind, n, m, t_f, frameworks, probes, entrywise, t_p)
        t_g = time_reverse(entry, args, out) if needed else None
    return decide(entry.kind, n, m, t_f, t_g, frameworks, strategy, probes, t_p, entrywise=entrywise)


SETTLED_PRIMAL = (0.5, 2.0)  # t_f's noise, as a multiple of the time measured
SETTLED_FIRST_CALL = (0.1, 2.0)  # t_f as a multiple of the engine's first call, which may have paid for caches
SETTLED_REVERSE = (0.5, 30.0)  # t_g as a multiple of t_f (1.4 to 25 in benchmarks/results/vs_gradcheck.md, largest where f is fast)


def settled(kind: str, n: int, m: int, t_f: float, frameworks: set, probes: int | None, entrywise: bool, t_p: float | None = None,
            primal_range: tuple = SETTLED_PRIMAL) -> bool:
    """Whether ``decide`` makes the same choice for every t_f in ``primal_range`` (multiples
    of ``t_f``) and every t_g in SETTLED_REVERSE (multiples of that t_f).

    ``plan`` asks it twice. First of the engine's own call of f, over SETTLED_FIRST_CALL:
    where that settles the choice, f is not timed again (time_primal's one to four more
    calls: 1.4 ms of a 9 ms vjp check at n = 10⁴, torch only) nor torch's reverse pass,
    and the note gives that call's time. Else of time_primal's t_f, over SETTLED_PRIMAL:
    where that settles it, torch's reverse pass is not timed (three passes: 2.6 ms of a
    24 ms vjp check at n = 10⁴ under cProfile, where dense would take a minute) and the
    note gives t_f only."""
    choices = {(p.autodiff, p.fd, p.blocks, p.fd_blocks)
               for a in primal_range for b in SETTLED_REVERSE
               for p in [decide(kind, n, m, a * t_f, b * a * t_f, frameworks, "auto", probes, t_p, entrywise)]}
    return len(choices) == 1


def compares_entrywise(kind: str, specs) -> bool:
    """Whether a reverse-mode autodiff check compares the whole uᵀJ entrywise when projected
    (every kind but jvp; verify/projection.py, "Entrywise reverse mode"): its single-entry
    power is then the dense check's, and block probes add none."""
    return kind != "jvp" and any(s.id in ("jax.rev", "torch.rev", "torch.tape") for s in specs)


def decide(kind: str, n: int, m: int, t_f: float, t_g: float | None, frameworks: set, strategy: str = "auto",
           probes: int | None = None, t_p: float | None = None, entrywise: bool | None = None) -> Plan:
    """Which parts run dense, how many block probes, and the note that says why (module
    docstring). ``entrywise``: a reverse-mode autodiff check compares uᵀJ entrywise
    (compares_entrywise; default: kind is not jvp and JAX or torch runs), and then no
    block probes run unless ``probes`` asks for them."""
    measured_g = t_g is not None
    t_g = t_g if measured_g else FORWARD_WORK * t_f
    if entrywise is None:
        entrywise = kind != "jvp" and bool(set(frameworks) & {"jax", "torch"})
    blocks = (0 if entrywise else DEFAULT_BLOCKS) if probes is None else int(probes)
    costs = predict(kind, n, m, t_f, t_g, frameworks, blocks, blocks, t_p=t_p)
    feasible = costs["gradcheck"] <= GRADCHECK_FEASIBLE
    yardstick = "default mode" if feasible else "fast mode"
    budget = max(2 * (costs["gradcheck"] if feasible else costs["gradcheck fast"]), MIN_BUDGET)
    if strategy == "dense":
        autodiff = fd = "dense"
    elif strategy == "projected":
        autodiff = fd = "projected"
    else:
        fwd, rev, _ = _autodiff_passes(kind, n, m)
        batched = max(fwd, rev) * (n + m)
        autodiff = "dense" if costs["autodiff dense"] <= budget and batched <= MAX_BATCHED_ENTRIES else "projected"
        spent = costs["autodiff dense"] if autodiff == "dense" else costs["autodiff projected"]
        fd = "dense" if spent + costs["fd dense"] <= budget else "projected"
    fd_blocks = blocks
    if probes is None and strategy == "auto" and "projected" in (autodiff, fd) and not entrywise:
        # as many block probes as the budget pays for: autodiff first, then finite differences
        def total(b, fb):
            c = predict(kind, n, m, t_f, t_g, frameworks, b, fb, t_p=t_p)
            return (c["autodiff dense"] if autodiff == "dense" else c["autodiff projected"]) + (c["fd dense"] if fd == "dense" else c["fd projected"])

        while blocks > MIN_BLOCKS and autodiff == "projected" and total(blocks, MIN_BLOCKS) > budget:
            blocks -= 1
        fd_blocks = blocks
        while fd_blocks > MIN_BLOCKS and fd == "projected" and total(blocks, fd_blocks) > budget:
            fd_blocks -= 1
    costs = predict(kind, n, m, t_f, t_g, frameworks, blocks, fd_blocks, t_p=t_p)
    chosen = (costs["autodiff dense"] if autodiff == "dense" else costs["autodiff projected"]) + (costs["fd dense"] if fd == "dense" else costs["fd projected"])
    dense_total = costs["autodiff dense"] + costs["fd dense"]
    projected_total = costs["autodiff projected"] + costs["fd projected"]
    costs.update({"chosen": chosen, "dense": dense_total, "projected": projected_total, "budget": budget, "t_f": t_f, "t_g": t_g, "t_p": t_p})
    timing = (f"one call of f took {_words(t_f)}" + (f", one torch reverse pass {_words(t_g)}" if measured_g else "")
              + (f", one point of a batched call {_words(t_p)}" if t_p is not None else ""))
    size = f"n = {n}" + (f", m = {m}" if m != n and m != 1 else "")
    twice = 2 * (costs["gradcheck"] if feasible else costs["gradcheck fast"])
    yard = f"twice torch.autograd.gradcheck's predicted {yardstick}"
    floor = f"the floor for a check's fixed costs, above {yard}, {_words(twice)}"
    why = {"dense": "forced", "projected": "forced", "auto": f"budget {_words(budget)}: {yard if twice >= MIN_BUDGET else floor}"}[strategy]
    result = Plan(autodiff, fd, blocks if "projected" in (autodiff, fd) else 0, fd_blocks, costs)
    if result.strategy == "dense":
        result.note = (f"strategy dense ({why}): predicted {_words(dense_total)} ({size}); projected would be "
                       f"{_words(projected_total)} with lower power ({timing})")
    elif result.strategy == "projected":
        result.note = (f"strategy projected ({why}): dense would take ~{_words(dense_total)} ({size}), projected "
                       f"{_words(projected_total)} ({timing})")
    else:
        result.note = (f"strategy mixed ({why}): dense autodiff (predicted {_words(costs['autodiff dense'])}), finite differences "
                       f"projected (dense would take ~{_words(costs['fd dense'])}, {size}; projected {_words(costs['fd projected'])}) ({timing})")
    return result
