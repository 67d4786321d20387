"""Detection power: the smallest planted gradient errors each tool catches 95 % of the time.

    python -m benchmarks.power [--quick] [--out DIR]

One function, f(x) = Σᵢ softplus(xᵢ xᵢ₊₁) (benchmarks/projection.py), its hand-coded numpy
gradient, and two planted errors: ONE entry j (at random) scaled by (1 + δ), and ALL entries
scaled by (1 + δ). The tools: verify.check(kind="gradient") with its default strategy (all
backends: dense, mixed or projected by predicted cost), torch.autograd.gradcheck with
fast_mode=True and jax.test_util.check_grads(order=1, modes=("fwd", "rev")), each wrapping the
same hand-coded gradient (benchmarks/projection.py: gradcheck, check_grads).

Each of SEEDS runs draws its own x (standard normal) and, for the single entry, its own j.
- verify.check: every check's error is linear in δ (|hand − ref| is δ times a fixed
  vector; the reference does not depend on the hand-coded side), so one run at δ₀ gives the
  run's threshold δ* = min over checks of δ₀ · tolerance / error: the run catches every
  δ > δ* and no smaller one. The table gives the 95th percentile of δ* over the runs.
- gradcheck and check_grads do not return their error: each run is repeated on a decade
  grid δ = 10, 1, 0.1, …, going down while at least 95 % of the runs catch it; the table
  gives the last δ of the grid caught by ≥ 95 % of the runs ("> 10" when none is).
Time: the median over the runs of one check of the right gradient (its first run apart).
Writes DIR/power.md and DIR/power.json (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.projection import chain_energy, chain_energy_gradient, check_grads, gradcheck
from benchmarks.timing import run_and_write

SIZES = (10**3, 10**4, 10**5, 10**6)
SEEDS = 20
DELTA0 = {"single entry": 1e-3, "all entries": 1e-6}
GRID = tuple(10.0 ** k for k in range(1, -13, -1))
TOOLS = ("verify.check", "gradcheck fast_mode", "jax check_grads")


def planted(kind: str, delta: float, j: int):
    if kind == "single entry":
        def wrong(x):
            g = chain_energy_gradient(x)
            g[j] *= 1 + delta
            return g
        return wrong
    return lambda x: chain_energy_gradient(x) * (1 + delta)


def verify_threshold(x, wrong, seed: int) -> tuple[float, float]:
    """(δ* of this run, seconds) for a plant at DELTA0: see the module docstring."""
    import verify

    start = time.perf_counter()
    result = verify.check(chain_energy, wrong, x, kind="gradient", seed=seed)
    seconds = time.perf_counter() - start
    ratios = [c.error / c.tolerance for c in result.checks if c.error is not None and c.tolerance]
    return (1.0 / max(ratios)) if ratios and max(ratios) > 0 else float("inf"), seconds


def tool_accepts(tool: str, gradient, x) -> bool:
    return gradcheck(gradient, x, fast_mode=True) if tool == "gradcheck fast_mode" else check_grads(gradient, x)


def run(sizes=SIZES, seeds: int = SEEDS) -> list[dict]:
    import torch

    import verify.backends  # noqa: F401  (float64 in JAX)

    torch.set_num_threads(1)
    warm = np.random.default_rng(0).standard_normal(10)
    for tool in TOOLS[1:]:
        tool_accepts(tool, chain_energy_gradient, warm)
    import verify

    verify.check(chain_energy, chain_energy_gradient, warm, kind="gradient")
    rows = []
    for n in sizes:
        draws = []
        for seed in range(seeds):
            rng = np.random.default_rng([n, seed])
            draws.append((rng.standard_normal(n), int(rng.integers(n))))
        for tool in TOOLS:
            row = {"n": n, "tool": tool, "runs": seeds}
            times = []
            if tool == "verify.check":
                for kind, delta0 in DELTA0.items():
                    thresholds = []
                    for seed, (x, j) in enumerate(draws):
                        threshold, seconds = verify_threshold(x, planted(kind, delta0, j), seed)
                        thresholds.append(threshold * delta0)
                        times.append(seconds)
                    row[kind] = float(np.percentile(thresholds, 95))
            else:
                for kind in DELTA0:
                    caught_at = None
                    for delta in GRID:
                        caught = 0
                        for x, j in draws:
                            start = time.perf_counter()
                            caught += not tool_accepts(tool, planted(kind, delta, j), x)
                            times.append(time.perf_counter() - start)
                        if caught < 0.95 * seeds:
                            break
                        caught_at = delta
                    row[kind] = caught_at
            right = []
            for x, _ in draws[: min(5, seeds)]:
                start = time.perf_counter()
                if tool == "verify.check":
                    verify.check(chain_energy, chain_energy_gradient, x, kind="gradient")
                else:
                    tool_accepts(tool, chain_energy_gradient, x)
                right.append(time.perf_counter() - start)
            row["seconds"] = statistics.median(right)
            row["seconds spread"] = [min(right), max(right)]
            rows.append(row)
            print(row, flush=True)
    return rows


def _delta(value) -> str:
    if value is None:
        return "> 10 (none)"
    return f"{value:.1e}"


def report(rows: list[dict], seconds: float, load: tuple) -> str:
    lines = [
        "# Detection power: smallest planted gradient error caught in 95 % of runs",
        "",
        "Generated by `python -m benchmarks.power` (benchmarks/power.py; the method is in its docstring).",
        f"f(x) = Σᵢ softplus(xᵢ xᵢ₊₁), float64, CPU, {rows[0]['runs'] if rows else 0} runs per size "
        "(each its own x and planted entry). δ: the relative size of the planted error, one entry "
        "scaled by (1 + δ) or all entries scaled by (1 + δ). Time: the median of one check of the right gradient "
        "(5 runs; min and max in brackets).",
        "",
        ("**Caveat: measured on a shared machine** " if max(load) > 0.75 * (os.cpu_count() or 1) else "Measured on a quiet machine ")
        + f"({os.cpu_count()} cores, load average {load[0]:.1f} before, {load[1]:.1f} after; the "
        f"whole run took {seconds:.0f} s). The times move with the load; the δ columns do not depend on it.",
        "",
        "| n | tool | single entry δ (95 %) | all entries δ (95 %) | seconds per check |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['n']:.0e} | {r['tool']} | {_delta(r['single entry'])} | {_delta(r['all entries'])} | "
                     f"{r['seconds']:.3f} [{r['seconds spread'][0]:.3f}, {r['seconds spread'][1]:.3f}] |")
    lines += [
        "",
        "How to read it. verify.check's thresholds come from the error each of its checks reports (linear in δ);",
        "a single entry's threshold depends on the entry's size: its reverse-mode checks compare the whole gradient",
        "entrywise against a tolerance of 1e-10 of the largest entry, so an entry j is caught once δ·|g_j| > 1e-10·max|g|,",
        "and the 95th percentile over random j is set by the smaller entries. gradcheck's fast mode and check_grads",
        "compare one or two scalars ⟨u, J v⟩ with tolerances of about 1e-3 relative (gradcheck: atol 1e-5, rtol 1e-3;",
        "check_grads: its float64 tolerance scaled by the size), and a single entry's share of that scalar falls like 1/√n.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1e3 and 1e4, 5 runs")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    sizes, seeds = ((10**3, 10**4), 5) if args.quick else (SIZES, SEEDS)
    run_and_write(args.out, "power", lambda: run(sizes, seeds), report)


if __name__ == "__main__":
    main()
