"""Projection mode against torch.autograd.gradcheck and jax.test_util.check_grads.

    python -m benchmarks.projection [--quick] [--out DIR]

One function, f(x) = Σᵢ softplus(xᵢ xᵢ₊₁) (each input meets both neighbours), and its
hand-coded numpy gradient, at n = 10² … 10⁶ inputs. Each tool checks the same hand-coded
gradient: this suite's projection mode (verify.check(..., projection=True)) with all
backends, with torch and finite differences (the like-for-like comparison with
gradcheck, a torch-only tool that also differences numerically), and with torch only;
torch.autograd.gradcheck in its default (slow) mode and with fast_mode=True, the
gradient wrapped as the backward of a torch.autograd.Function; and
jax.test_util.check_grads(order=1, modes=("fwd", "rev")), the gradient wrapped as a
jax.custom_jvp rule (through jax.pure_callback).

Timing. At each n every tool first runs once (the "first run": JAX compiles for the
new shape, check_grads each primitive and this suite its jitted passes; torch warms its
caches); then the tools take turns, one run each per round in a shuffled order, for
REPEATS rounds, so that a change in machine load falls on all of them alike; each
timed run starts after a PAUSE_S idle pause (JAX's CPU threads spin on after a JAX call
and would slow the next tool). The table gives the median (steady state) and,
separately, the first run. torch.set_num_threads(1) for every tool. The load average before and after is recorded:
on a shared machine the absolute times move, the ratios from the same rounds much less.
Planted errors: the gradient times (1 + δ rᵢ), rᵢ = ±1 at random, for δ = 1e-2 … 1e-8,
and the gradient with the left-neighbour term dropped.
gradcheck's slow mode costs O(n²); it is skipped where its predicted time exceeds a budget.
On a mismatch, fast_mode re-runs slow mode just to print the Jacobians; the benchmark
stubs that message out (raise_exception=False discards it), else a rejection at 10⁶ never ends.
Writes DIR/projection.md and DIR/projection.json (default DIR: benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from unittest import mock

import numpy as np
from array_api_compat import array_namespace

SIZES = (10**2, 10**3, 10**4, 10**5, 10**6)
SLOW_BUDGET_S = 20.0  # per gradcheck slow-mode run, predicted from the last size as O(n²)
RELATIVE_ERRORS = (1e-2, 1e-4, 1e-6, 1e-8)
REPEATS = 7
PAUSE_S = 0.2  # idle time before each timed run (see timed)
VERIFY_TOOLS = ("verify projection", "verify projection (torch + fd)", "verify projection (torch only)")
TOOLS = (*VERIFY_TOOLS, "gradcheck slow", "gradcheck fast_mode", "jax check_grads")


def chain_energy(x):
    """f(x) = Σᵢ softplus(xᵢ xᵢ₊₁), written once against the array API."""
    xp = array_namespace(x)
    return xp.sum(xp.logaddexp(xp.zeros_like(x[1:]), x[1:] * x[:-1]))


def chain_energy_gradient(x, drop_left_neighbour=False):
    """∂f/∂xⱼ = σ(xⱼxⱼ₊₁) xⱼ₊₁ + σ(xⱼ₋₁xⱼ) xⱼ₋₁, hand-coded in numpy."""
    s = 1 / (1 + np.exp(-x[1:] * x[:-1]))
    g = np.zeros_like(x)
    g[:-1] += s * x[1:]
    if not drop_left_neighbour:
        g[1:] += s * x[:-1]
    return g


def planted_gradients(n: int, rng) -> dict:
    signs = rng.choice([-1.0, 1.0], size=n)
    plants = {"right": chain_energy_gradient}
    for delta in RELATIVE_ERRORS:
        plants[f"relative {delta:.0e}"] = lambda x, d=delta: chain_energy_gradient(x) * (1 + d * signs)
    plants["dropped term"] = lambda x: chain_energy_gradient(x, drop_left_neighbour=True)
    return plants


# --------------------------------------------------------------------------------------
# Each tool: check(gradient, x) -> True when the tool accepts the gradient
# --------------------------------------------------------------------------------------


def verify_check(gradient, x, backends=None) -> bool:
    import verify

    return verify.check(chain_energy, gradient, x, kind="gradient", projection=True, backends=backends).passed


def gradcheck(gradient, x, fast_mode: bool) -> bool:
    import torch

    from verify.sensitivity import hand_coded_torch_function

    apply = hand_coded_torch_function(chain_energy, gradient)
    leaf = torch.from_numpy(np.array(x, copy=True)).requires_grad_()
    torch.manual_seed(0)  # fast_mode draws its random vectors from torch's generator
    # On a mismatch, fast_mode re-runs slow mode (O(n²)) only to print the two Jacobians;
    # with raise_exception=False nobody reads them, so that message costs nothing here.
    with mock.patch("torch.autograd.gradcheck._run_slow_mode_and_get_error", return_value=""):
        return bool(torch.autograd.gradcheck(apply, (leaf,), fast_mode=fast_mode, raise_exception=False))


def check_grads(gradient, x) -> bool:
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads as jax_check_grads

    @jax.custom_jvp
    def f(t):
        return chain_energy(t)

    @f.defjvp
    def f_jvp(primals, tangents):
        (t,), (dt,) = primals, tangents
        g = jax.pure_callback(lambda a: gradient(np.asarray(a)), jax.ShapeDtypeStruct(t.shape, t.dtype), t)
        return f(t), jnp.vdot(g, dt)

    # check_grads seeds its own random directions (np.random.RandomState(0))
    try:
        jax_check_grads(f, (jnp.asarray(x),), order=1, modes=("fwd", "rev"))
        return True
    except AssertionError:
        return False


def tool_check(tool: str):
    return {
        "verify projection": lambda g, x: verify_check(g, x),
        "verify projection (torch + fd)": lambda g, x: verify_check(g, x, backends=("torch", "fd")),
        "verify projection (torch only)": lambda g, x: verify_check(g, x, backends=("torch",)),
        "gradcheck slow": lambda g, x: gradcheck(g, x, fast_mode=False),
        "gradcheck fast_mode": lambda g, x: gradcheck(g, x, fast_mode=True),
        "jax check_grads": check_grads,
    }[tool]


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def timed(fn) -> tuple[float, object]:
    """One run's wall time, after a pause: JAX's CPU threads keep spinning for tens of
    milliseconds after a JAX call and, on 2 cores, slow whatever runs next by up to 2×."""
    time.sleep(PAUSE_S)
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(sizes=SIZES, repeats: int = REPEATS, slow_budget: float = SLOW_BUDGET_S) -> list[dict]:
    import torch

    import verify.backends  # noqa: F401  (float64 in JAX, before any array exists)

    # One intra-op thread for every tool: on a shared CPU, torch's thread pool stalls
    # whenever one of its threads is descheduled, and the stalls swamp the times.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(sizes, repeats, slow_budget)
    finally:
        torch.set_num_threads(threads)


def _run(sizes, repeats: int, slow_budget: float) -> list[dict]:
    """One row per (n, tool): first-run and median times of the right gradient, the plants caught."""
    # warm up every framework once so the first size does not pay for imports and tracing
    warm = np.random.default_rng(0).standard_normal(10)
    for tool in TOOLS:
        tool_check(tool)(chain_energy_gradient, warm)
    rows, last_slow = [], None
    for n in sizes:
        rng = np.random.default_rng(n)
        x = rng.standard_normal(n)
        plants = planted_gradients(n, rng)
        tools, by_tool = [], {}
        for tool in TOOLS:
            row = {"n": n, "tool": tool}
            by_tool[tool] = row
            rows.append(row)
            if tool == "gradcheck slow" and last_slow and last_slow[1] * (n / last_slow[0]) ** 2 > slow_budget:
                row.update(seconds=None, skipped=f"predicted {last_slow[1] * (n / last_slow[0]) ** 2:.0f} s > {slow_budget:.0f} s budget")
                continue
            tools.append(tool)
            row["first run seconds"], _ = timed(lambda: tool_check(tool)(chain_energy_gradient, x))
            row["runs"] = []
        order = np.random.default_rng(0)
        for _ in range(repeats):  # rounds: each tool once per round, in a new order each round
            for tool in [tools[i] for i in order.permutation(len(tools))]:
                seconds, accepted = timed(lambda: tool_check(tool)(chain_energy_gradient, x))
                by_tool[tool]["runs"].append(seconds)
                by_tool[tool].setdefault("accepts right gradient", True)
                by_tool[tool]["accepts right gradient"] &= bool(accepted)
        for tool in tools:
            row = by_tool[tool]
            row["seconds"] = statistics.median(row["runs"])
            row["catches"] = {name: not tool_check(tool)(wrong, x) for name, wrong in plants.items() if name != "right"}
            if tool == "gradcheck slow":
                last_slow = (n, row["seconds"])
            print(f"n={n:>8} {tool:<32} {row['seconds']:9.4f} s  right accepted: {row['accepts right gradient']}  caught: "
                  f"{', '.join(k for k, v in row['catches'].items() if v) or 'none'}", flush=True)
    return rows


def markdown(rows: list[dict], repeats: int, load: dict | None = None) -> str:
    import jax
    import torch

    sizes = sorted({r["n"] for r in rows})
    by = {(r["n"], r["tool"]): r for r in rows}

    def seconds(n, tool, key="seconds"):
        r = by[(n, tool)]
        return "skipped (" + r["skipped"] + ")" if r["seconds"] is None else f"{r[key]:.4f}"

    load_text = ""
    if load:
        load_text = (f" Load average (1 min) {load['before'][0]:.2f} before and {load['after'][0]:.2f} after the run, "
                     f"on {os.cpu_count()} cores: the machine was {'busy' if max(load['before'][0], load['after'][0]) > 1 else 'quiet'}.")
    header = "| n | " + " | ".join(TOOLS) + " |"
    rule = "| ---: | " + " | ".join("---:" for _ in TOOLS) + " |"
    lines = [
        "# Projection mode against gradcheck and check_grads",
        "",
        "Generated by `python -m benchmarks.projection` (see its docstring for the setup): "
        f"f(x) = Σᵢ softplus(xᵢ xᵢ₊₁) and its hand-coded gradient; "
        f"Python {platform.python_version()}, torch {torch.__version__}, jax {jax.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs, torch.set_num_threads(1) for every tool."
        + load_text,
        "",
        "Each verify configuration runs one probe pair per mode and no block probes (verify/projection.py; the reverse-mode "
        "checks compare the whole gradient entrywise): f once in numpy, the hand-coded gradient once (run twice on copies: "
        "the nondeterminism verdict), one forward-mode and one reverse-mode pass per framework (JAX's two in one jitted call, compiled once per function and shape, which XLA runs while torch and the differences are computed), "
        "and for `fd` central differences along v at h and h/2 (four evaluations of f in numpy, Richardson-extrapolated, "
        "tolerance 1e-7). gradcheck fast_mode makes one two-point difference in torch, with rtol 1e-3; counted on this function, it calls f four times and the backward (the hand-coded gradient) four times: its reentrancy check runs the backward twice, like this suite's nondeterminism verdict.",
        "",
        "## Wall time of one check of the right gradient (seconds)",
        "",
        f"Steady state: the median of {repeats} runs, the tools taking turns (one run each per round, in a shuffled order, "
        f"each after a {PAUSE_S} s idle pause) after a first run at the same n. "
        "On a shared machine the absolute times move with the load; the ratios below come from the same rounds.",
        "",
        header,
        rule,
    ]
    for n in sizes:
        lines.append(f"| {n:.0e} | " + " | ".join(seconds(n, t) for t in TOOLS) + " |")
    lines += ["", "First run at each n, not in the medians above: JAX compiles for the new shape (check_grads each primitive, "
              "this suite its jitted jvp and vjp passes, cached per function and shape), caches warm.", "", header, rule]
    for n in sizes:
        lines.append(f"| {n:.0e} | " + " | ".join(seconds(n, t, "first run seconds") for t in TOOLS) + " |")
    lines += ["", "## Against the goals", "",
              "| n | " + " | ".join(f"{t} / fast_mode" for t in VERIFY_TOOLS) + " | " + " | ".join(f"slow mode / {t}" for t in VERIFY_TOOLS) + " |",
              "| ---: | " + " | ".join("---:" for _ in range(2 * len(VERIFY_TOOLS))) + " |"]
    for n in sizes:
        fast = by[(n, "gradcheck fast_mode")]["seconds"]
        slow = by[(n, "gradcheck slow")]["seconds"]
        mine = [by[(n, t)]["seconds"] for t in VERIFY_TOOLS]
        speedups = [f"{slow / m:.3g}×" if slow else "slow mode skipped" for m in mine]
        lines.append(f"| {n:.0e} | " + " | ".join(f"{m / fast:.2f}×" for m in mine) + " | " + " | ".join(speedups) + " |")
    lines += ["", "The same ratios to fast_mode within each round (a tool and fast_mode measured in the same round, seconds apart, "
              "under the same load): their median, and their min and max over the rounds.", "",
              "| n | " + " | ".join(f"{t} / fast_mode within a round" for t in VERIFY_TOOLS) + " |",
              "| ---: | " + " | ".join("---:" for _ in VERIFY_TOOLS) + " |"]
    for n in sizes:
        cells = []
        for t in VERIFY_TOOLS:
            within = within_rounds(by[(n, t)], by[(n, "gradcheck fast_mode")])
            cells.append(f"{statistics.median(within):.2f}× ({min(within):.2f} – {max(within):.2f})")
        lines.append(f"| {n:.0e} | " + " | ".join(cells) + " |")
    lines += ["", *verdicts(rows)]
    plants = [k for k in rows[0]["catches"]] if rows and "catches" in rows[0] else []
    lines += ["", "## Which planted errors each tool catches", "", "`yes`: the tool rejects the planted gradient; `no`: it accepts it.", ""]
    lines += ["| n | tool | right gradient accepted | " + " | ".join(plants) + " |", "| ---: | --- | --- | " + " | ".join("---" for _ in plants) + " |"]
    for r in rows:
        if r["seconds"] is None:
            continue
        cells = " | ".join("yes" if r["catches"][p] else "no" for p in plants)
        lines.append(f"| {r['n']:.0e} | {r['tool']} | {'yes' if r['accepts right gradient'] else 'NO'} | {cells} |")
    return "\n".join(lines) + "\n"


def within_rounds(tool: dict, reference: dict) -> list[float]:
    """tool / reference round by round: each round times every tool once (runs[i] is round i)."""
    return [t / r for t, r in zip(tool["runs"], reference["runs"], strict=True)]


def verdicts(rows: list[dict]) -> list[str]:
    """The issue's three goals, each met or missed by how much, from the measured rows."""
    by = {(r["n"], r["tool"]): r for r in rows}
    sizes = sorted({r["n"] for r in rows})
    out = []
    for tool in VERIFY_TOOLS:
        ratios = {n: by[(n, tool)]["seconds"] / by[(n, "gradcheck fast_mode")]["seconds"] for n in sizes}
        worst = max(ratios, key=ratios.get)
        verdict = f"met (worst {ratios[worst]:.2f}× at n = {worst:.0e})" if ratios[worst] <= 2 else f"missed: {ratios[worst]:.2f}× at n = {worst:.0e}"
        paired = max(sizes, key=lambda n: statistics.median(within_rounds(by[(n, tool)], by[(n, "gradcheck fast_mode")])))
        verdict += (f"; within a round, worst median {statistics.median(within_rounds(by[(paired, tool)], by[(paired, 'gradcheck fast_mode')])):.2f}× "
                    f"at n = {paired:.0e}")
        out.append(f"- Within 2× of gradcheck fast_mode at every n ({tool}, judged on the ratio of the medians): {verdict}.")
    if (10**4, "gradcheck slow") in by and by[(10**4, "gradcheck slow")]["seconds"]:
        for tool in VERIFY_TOOLS:
            speedup = by[(10**4, "gradcheck slow")]["seconds"] / by[(10**4, tool)]["seconds"]
            out.append(f"- ≥ 100× faster than slow mode at n = 1e4 ({tool}): {'met' if speedup >= 100 else 'missed'}, {speedup:.0f}×.")
    let_through = sorted({p for n in sizes for p, caught in by[(n, "gradcheck fast_mode")]["catches"].items() if not caught})
    for tool in VERIFY_TOOLS:
        caught = [p for p in let_through if all(by[(n, tool)]["catches"][p] for n in sizes)]
        out.append(f"- Planted errors fast_mode lets through at some n: {', '.join(let_through) or 'none'}; "
                   f"caught by {tool} at every n: {', '.join(caught) or 'none'}.")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.projection", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest n only, one timed run per tool")
    parser.add_argument("--out", default="benchmarks/results", help="folder for projection.md and projection.json")
    args = parser.parse_args(argv)
    sizes, repeats = (SIZES[:1], 1) if args.quick else (SIZES, REPEATS)
    load = {"before": os.getloadavg()}
    rows = run(sizes, repeats)
    load["after"] = os.getloadavg()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "projection.json").write_text(json.dumps({"repeats": repeats, "load average": load, "rows": rows}, indent=2) + "\n")
    (out / "projection.md").write_text(markdown(rows, repeats, load))
    print(f"wrote {out / 'projection.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
