"""``python -m verify --profile``: where a run's time went.

The profile times, in every process that runs entries:
- the imports of JAX, torch and scipy (made up front, each timed by itself), and of
  torch._dynamo, which torch.func's reverse transforms import on their first call,
- every check by its backend (JAX, torch.func, the torch.autograd tape, the finite
  differences, the complex step), by wrapping the engine's reference call,
- within the JAX checks, the tracing, the lowering to MLIR and the XLA compilation (or
  the load of a compiled executable from the persistent cache), from JAX's monitoring
  events, and how many XLA compilations ran,
- the hand-coded derivatives, the checks of large inputs (projected), and the claims.

Under --profile the imports happen once, in the CLI's process, before the workers are
forked (a run without it forks first and each worker imports only the framework of its
group: verify/parallel.py; the profiled run is then slower by about the torch import);
over several workers the seconds of the checks are summed over the workers, next to the
run's wall time.
"""

from __future__ import annotations

import time
from collections import defaultdict

# the rows of the table, in order: (key, label)
ROWS = (
    ("import jax", "import jax"),
    ("import torch", "import torch"),
    ("import torch._dynamo", "import torch._dynamo (torch.func's reverse mode)"),
    ("import scipy", "import scipy (finite differences)"),
    ("jax", "JAX checks (jax fwd, jax rev)"),
    ("jax trace", "  of which tracing to jaxprs"),
    ("jax lower", "  of which lowering to MLIR"),
    ("jax compile", "  of which XLA compilation or cache load"),
    ("torch.func", "torch.func checks (torch fwd, torch rev)"),
    ("torch.autograd", "torch.autograd tape checks"),
    ("fd", "finite differences (scipy)"),
    ("cstep", "complex step"),
    ("hand-coded", "hand-coded derivatives"),
    ("projection", "large inputs, projected checks (every backend)"),
    ("claims", "claims (measured facts)"),
)

_JAX_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "jax trace",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "jax lower",
    "/jax/core/compile/backend_compile_duration": "jax compile",
}


class Profile:
    """Seconds per part of a run, and counts of XLA compilations and cache loads."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, key: str, seconds: float) -> None:
        self.seconds[key] += seconds

    def take(self) -> dict:
        """The totals so far, and reset them (a worker sends them with each entry)."""
        snapshot = {"seconds": dict(self.seconds), "counts": dict(self.counts)}
        self.seconds.clear()
        self.counts.clear()
        return snapshot

    def merge(self, snapshot: dict) -> None:
        for key, value in snapshot["seconds"].items():
            self.seconds[key] += value
        for key, value in snapshot["counts"].items():
            self.counts[key] += value


_ACTIVE: Profile | None = None
_LISTENING = False  # JAX's listeners are registered once per process


def active() -> Profile | None:
    return _ACTIVE


def _timed(key_of, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            if _ACTIVE is not None:
                _ACTIVE.add(key_of(*args, **kwargs), time.perf_counter() - start)

    wrapper.__wrapped__ = fn
    return wrapper


def _reference_key(entry, spec, *args, **kwargs) -> str:
    if spec.framework == "jax":
        return "jax"
    if spec.framework == "torch":
        return "torch.autograd" if spec.id == "torch.tape" else "torch.func"
    return "cstep" if spec.id == "cstep" else "fd"


def install() -> Profile:
    """Start profiling this process (the workers forked later inherit it)."""
    global _ACTIVE
    from . import engine, projection

    if _ACTIVE is None:
        _ACTIVE = Profile()
        engine._reference = _timed(_reference_key, engine._reference)
        engine.call_hand_coded = _timed(lambda *a, **k: "hand-coded", engine.call_hand_coded)
        engine.run_claim = _timed(lambda *a, **k: "claims", engine.run_claim)
        projection.run_projected = _timed(lambda *a, **k: "projection", projection.run_projected)
    return _ACTIVE


def import_backends(frameworks) -> None:
    """Import what the run will use, each import timed, and listen to JAX's compile events."""
    profile = _ACTIVE
    if profile is None:
        return
    from . import backends

    start = time.perf_counter()
    import scipy.differentiate  # noqa: F401

    profile.add("import scipy", time.perf_counter() - start)
    if "torch" in frameworks:
        start = time.perf_counter()
        if not backends.unavailable(("torch",)):  # imports it (a failure is remembered for the run's note)
            profile.add("import torch", time.perf_counter() - start)
            # torch.func's reverse transforms import torch._dynamo on their first call (1–2 s):
            # timed here, where it would otherwise count as the first torch.func check's time
            start = time.perf_counter()
            import torch._dynamo  # noqa: F401

            profile.add("import torch._dynamo", time.perf_counter() - start)
    if "jax" in frameworks:
        start = time.perf_counter()
        if backends.unavailable(("jax",)):
            return
        jax = backends._jax()
        import jax.numpy  # noqa: F401

        profile.add("import jax", time.perf_counter() - start)

        def on_duration(event, duration, **kwargs):
            key = _JAX_EVENTS.get(event)
            if key is not None and _ACTIVE is not None:
                _ACTIVE.add(key, duration)
                if key == "jax compile":
                    _ACTIVE.counts["XLA compilations or cache loads"] += 1

        def on_event(event, **kwargs):
            if event == "/jax/compilation_cache/cache_hits" and _ACTIVE is not None:
                _ACTIVE.counts["of which loaded from the persistent cache"] += 1

        global _LISTENING
        if not _LISTENING:
            jax.monitoring.register_event_duration_secs_listener(on_duration)
            jax.monitoring.register_event_listener(on_event)
            _LISTENING = True


def table(profile: Profile, wall: float, processes: int) -> str:
    """The profile as text: one line per part, its seconds and its share."""
    where = "in one process" if processes == 1 else f"the imports before the fork, the checks summed over {processes} worker processes"
    parts = [k for k, _ in ROWS if k in profile.seconds and k not in _JAX_EVENTS.values()]
    total = sum(profile.seconds[k] for k in parts)
    other = profile.seconds.get("entries", 0.0) - sum(profile.seconds[k] for k in parts if not k.startswith("import"))
    lines = [f"profile ({where}; wall time of the run {wall:.1f} s):"]
    for key, label in ROWS:
        if key not in profile.seconds:
            continue
        seconds = profile.seconds[key]
        share = f"{100 * seconds / total:5.1f} %" if total > 0 and key in parts else "       "
        lines.append(f"  {label:<48} {seconds:7.2f} s  {share}")
    for key in ("XLA compilations or cache loads", "of which loaded from the persistent cache"):
        if key in profile.counts:
            lines.append(f"  {key:<48} {profile.counts[key]:7d}")
    lines.append(f"  {'the rest (inputs, primals, comparisons)':<48} {max(other, 0.0):7.2f} s")
    lines.append(f"  {'total':<48} {total + max(other, 0.0):7.2f} s")
    return "\n".join(lines)
