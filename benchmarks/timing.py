"""The timing protocol: interleaved rounds, the minimum with its spread, and a load record.

A shared machine slows some calls down at random. Timing each method in one block (all of
method A, then all of B) lets a burst of foreign load land on one method and flip a
comparison. Here every (case, size) is timed as a whole:

1. each method is built, run once and checked against the hand-coded derivative (the first
   call is timed apart: for JAX it is the compilation);
2. each method's round is a loop of ``iterations`` calls lasting at least ``MIN_ROUND_S``
   (the timer's resolution), time per call = round time / iterations;
3. rounds are interleaved: round r runs every method once, in a fresh random order, so a
   burst of load falls on all methods alike; a slow method takes part in fewer rounds;
4. the statistic is the minimum over rounds (the cost of the work itself: interference
   only ever adds time), shown with its spread, the median; a comparison is judged only
   when the intervals [min, median] of the two sides do not overlap (``judge``).

Around each (case, size) the load is recorded: the 1-minute load average before and after,
and the CPU time that OTHER processes used meanwhile (all CPUs' busy time from /proc/stat
minus this process's own), in cores: a figure the benchmark's own threads do not inflate.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

MIN_ROUND_S = 2e-3  # a round repeats a fast call until it lasts this long
ROUND_BUDGET_S = 0.25  # time spent per method and size in the steady state (quick: one round)
MAX_ROUNDS, MIN_ROUNDS, SLOW_ROUNDS = 25, 7, 3  # slow calls (> SLOW_CALL_S) get SLOW_ROUNDS
SLOW_CALL_S = 0.2
BUSY_CORES = 0.25  # foreign CPU use above this many cores marks a measurement as disturbed
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")


def _clock_ticks() -> float:
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError, AttributeError):
        return 100.0


def _busy_cpu_seconds() -> float | None:
    """Busy CPU seconds of the whole machine since boot (all CPUs), from /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            fields = [float(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _clock_ticks()


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def thread_settings() -> dict:
    """What decides how many threads the libraries use, as this process sees it."""
    settings = {name: os.environ.get(name, "") for name in THREAD_VARIABLES}
    try:
        import torch

        settings["torch_threads"] = torch.get_num_threads()
        settings["torch_interop_threads"] = torch.get_num_interop_threads()
    except ImportError:  # pragma: no cover - torch is a dependency of the benchmarks
        pass
    settings["cpu_count"] = os.cpu_count()
    return settings


@dataclass
class LoadRecord:
    """The machine's load around one measurement."""

    loadavg_before: float
    loadavg_after: float = float("nan")
    foreign_cores: float | None = None  # average CPU cores used by other processes meanwhile
    threads_before: dict = field(default_factory=dict)
    threads_after: dict = field(default_factory=dict)
    _start: tuple = ()

    @classmethod
    def start(cls) -> "LoadRecord":
        record = cls(loadavg_before=os.getloadavg()[0], threads_before=thread_settings())
        record._start = (time.perf_counter(), _busy_cpu_seconds(), _own_cpu_seconds())
        return record

    def stop(self) -> "LoadRecord":
        wall0, busy0, own0 = self._start
        wall, busy, own = time.perf_counter() - wall0, _busy_cpu_seconds(), _own_cpu_seconds() - own0
        if busy is not None and busy0 is not None and wall > 0:
            self.foreign_cores = max(0.0, (busy - busy0 - own) / wall)
        self.loadavg_after = os.getloadavg()[0]
        self.threads_after = thread_settings()
        return self

    @property
    def busy(self) -> bool:
        return self.foreign_cores is not None and self.foreign_cores > BUSY_CORES

    def as_dict(self) -> dict:
        return {
            "loadavg_before": self.loadavg_before, "loadavg_after": self.loadavg_after,
            "foreign_cores": self.foreign_cores, "busy": self.busy,
            "threads_before": self.threads_before, "threads_after": self.threads_after,
        }


def iterations_for(seconds_per_call: float) -> int:
    return max(1, min(1000, int(MIN_ROUND_S / max(seconds_per_call, 1e-9))))


def rounds_for(seconds_per_call: float, iterations: int, quick: bool) -> int:
    if quick:
        return 1
    if seconds_per_call > SLOW_CALL_S:
        return SLOW_ROUNDS
    return max(MIN_ROUNDS, min(MAX_ROUNDS, int(ROUND_BUDGET_S / (seconds_per_call * iterations))))


def time_round(call, iterations: int) -> float:
    """Seconds per call over one round of ``iterations`` calls."""
    start = time.perf_counter()
    for _ in range(iterations):
        call()
    return (time.perf_counter() - start) / iterations


def interleaved(calls: dict, quick: bool, seed: int = 0) -> dict[str, dict]:
    """Time every method of one (case, size) in interleaved rounds.

    ``calls`` maps a method to (call, seconds of one call as first measured). Returns per
    method its list of seconds per call, one per round, and the iterations per round.
    """
    rng = np.random.default_rng(seed)
    plan = {}
    for method, (call, estimate) in calls.items():
        iterations = iterations_for(estimate)
        plan[method] = (call, iterations, rounds_for(estimate, iterations, quick))
    samples = {method: [] for method in plan}
    for r in range(max(rounds for _, _, rounds in plan.values())):
        present = [m for m, (_, _, rounds) in plan.items() if r < rounds]
        for index in rng.permutation(len(present)):
            method = present[index]
            call, iterations, _ = plan[method]
            samples[method].append(time_round(call, iterations))
    return {m: {"rounds": samples[m], "iterations": plan[m][1]} for m in plan}


def summary(rounds: list[float]) -> dict:
    """min, median, quartiles and the spread (median / min − 1) of one method's rounds."""
    values = np.asarray(rounds, float)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    low = float(values.min())
    return {"min": low, "median": float(median), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1),
            "max": float(values.max()), "rounds": len(values), "spread": float(median / low - 1) if low > 0 else 0.0}


def judge(low: tuple[float, float], high: tuple[float, float], factor: float = 1.0) -> str:
    """Is ``low`` ≤ factor · ``high``? Each side is its interval (min, median) of seconds.

    "yes" when even low's median is within factor × high's minimum, "no" when even low's
    minimum exceeds factor × high's median, "inconclusive" when the intervals overlap:
    then the noise of this run could flip the answer.
    """
    (low_min, low_median), (high_min, high_median) = low, high
    if low_median <= factor * high_min:
        return "yes"
    if low_min > factor * high_median:
        return "no"
    return "inconclusive"


def run_and_write(out_dir, name: str, run, report) -> None:
    """``rows = run()``, timed with the 1-minute load average before and after; writes
    OUT_DIR/NAME.md (``report(rows, seconds, load)``) and OUT_DIR/NAME.json, and prints the
    markdown: the skeleton of the custom-check benchmarks (power.py, vs_gradcheck.py)."""
    import json
    import platform
    from pathlib import Path

    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    rows = run()
    seconds = time.perf_counter() - start
    load = (load_before, os.getloadavg()[0])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(report(rows, seconds, load))
    (out / f"{name}.json").write_text(json.dumps({"rows": rows, "seconds": seconds, "load": load, "machine": platform.platform()}, indent=1))
    print((out / f"{name}.md").read_text())
