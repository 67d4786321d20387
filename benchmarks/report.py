"""Turn ``benchmark.json`` and ``plan.json`` (written by benchmarks.run) into the report.

    python -m benchmarks.report [DIR]

writes into DIR (default benchmarks/results): ``report.md`` (the machine and its load during
the run; one table per case with the minimum time per call, its spread and the ratio to the
hand-coded derivative; cost(derivative)/cost(function) against the cheap-gradient bound; the
project's bars, each judged yes / no / inconclusive) and one log-log plot per case,
``<case>.png``, in panels by method family, with the scaling exponent of each method fitted
over the same sizes for every method of the case.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.timing import BUSY_CORES, judge

CHEAP_GRADIENT_BOUND = 3.0  # Baur–Strassen: a gradient costs at most ~3x the function's multiplications
FIT_POINTS = 3  # an exponent is fitted over a case's largest FIT_POINTS sizes, never fewer
SLOPE_TOLERANCE = 0.5  # a fitted slope this far from every theory slope gets an explanation
NOT_AUTODIFF = ("hand", "fd_central")
FAMILIES = (  # one panel each: at most eight series per panel
    ("numpy: hand-coded and finite differences", ("hand", "fd_central", "numpy_function")),
    ("JAX", ("jax_",)),
    ("torch.func", ("torch_func_", "torch_function")),
    ("torch.autograd", ("torch_autograd_",)),
)


def load(out: Path):
    data = json.loads((Path(out) / "benchmark.json").read_text())
    plan = json.loads((Path(out) / "plan.json").read_text())
    blocks = data.get("blocks", [])
    busy = {(b["case"], b["size"]) for b in blocks if b["load"]["busy"]}
    times = {}
    for bench in data["benchmarks"]:
        info, stats = bench["extra_info"], bench["stats"]
        times[(info["case"], info["method"], info["size"])] = {**stats, **info, "busy": (info["case"], info["size"]) in busy}
    return data["machine_info"], plan, times, blocks


def seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def fit_range(sizes) -> tuple:
    """The sizes every exponent of a case is fitted over: its largest FIT_POINTS sizes."""
    return tuple(sorted(sizes)[-FIT_POINTS:]) if len(sizes) >= FIT_POINTS else ()


def fitted_exponent(case_name, method, fit_sizes, times) -> float | None:
    """Slope of log(min time) against log(size) over ``fit_sizes``; None unless all are measured."""
    if len(fit_sizes) < FIT_POINTS or any((case_name, method, s) not in times for s in fit_sizes):
        return None
    mins = [times[(case_name, method, s)]["min"] for s in fit_sizes]
    return float(np.polyfit(np.log(fit_sizes), np.log(mins), 1)[0])


def slope_note(case, method, slope, fit_sizes, times) -> str | None:
    """Why a fitted slope contradicts every theory slope of the case, in one phrase."""
    if slope is None or not case.theory_slopes or method.endswith("_function"):
        return None
    nearest = min(case.theory_slopes.values(), key=lambda t: abs(t - slope))
    if abs(slope - nearest) <= SLOPE_TOLERANCE:
        return None
    growth = times[(case.name, method, fit_sizes[-1])]["min"] / times[(case.name, method, fit_sizes[0])]["min"]
    span = fit_sizes[-1] / fit_sizes[0]
    if slope < nearest:
        return (f"{method}: slope {slope:.2f} below the theory's {nearest:g}: its time grows only {growth:.3g}× while the "
                f"size grows {span:g}×, so fixed per-call overhead, not the arithmetic, dominates at these sizes")
    return (f"{method}: slope {slope:.2f} above the theory's {nearest:g}: its time grows {growth:.3g}× while the size "
            f"grows {span:g}×: memory traffic (caches, allocation) grows faster than the operation count here")


def cell(row, hand) -> str:
    ratio = f" ×{row['min'] / hand['min']:.3g}" if hand and row["method"] != "hand" else ""
    return f"{seconds(row['min'])} (+{100 * row['spread']:.0f}%){ratio}"


def case_table(case, methods, sizes, status, times) -> tuple[list[str], list[str]]:
    fit_sizes = fit_range(sizes)
    span = f"{fit_sizes[0]}…{fit_sizes[-1]}" if fit_sizes else "–"
    lines = [
        "| method | " + " | ".join(f"{case.size_label} = {s}" for s in sizes) + f" | exponent ({span}) |",
        "| --- | " + " | ".join("---" for _ in sizes) + " | --- |",
    ]
    notes = []
    for method in methods:
        cells = []
        for size in sizes:
            row = times.get((case.name, method, size))
            cells.append(cell(row, times.get((case.name, "hand", size))) if row else status.get((case.name, method, size), "not run"))
        slope = fitted_exponent(case.name, method, fit_sizes, times)
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {'–' if slope is None else f'{slope:.2f}'} |")
        note = slope_note(case, method, slope, fit_sizes, times)
        if note:
            notes.append(note)
    return lines, notes


def family_of(method: str) -> int:
    for index, (_, prefixes) in enumerate(FAMILIES):
        if method.startswith(prefixes) or method in prefixes:
            return index
    return 0


def plot_case(case, methods, sizes, times, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullFormatter

    fit_sizes = fit_range(sizes)
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), sharex=True, sharey=True)
    measured_all = [times[k]["min"] for k in times if k[0] == case.name]
    low, high = min(measured_all) / 1.5, max(measured_all) * 1.5
    hand = [(s, times[(case.name, "hand", s)]["min"]) for s in sizes if (case.name, "hand", s) in times]
    for index, ((title, _), ax) in enumerate(zip(FAMILIES, axes.ravel())):
        members = [m for m in methods if family_of(m) == index]
        for k, method in enumerate(members):
            measured = [(s, times[(case.name, method, s)]["min"]) for s in sizes if (case.name, method, s) in times]
            if not measured:
                continue
            xs, ys = zip(*measured)
            slope = fitted_exponent(case.name, method, fit_sizes, times)
            label = f"{method} (slope {slope:.2f})" if slope is not None else f"{method} (no slope: < {FIT_POINTS} sizes)"
            note = slope_note(case, method, slope, fit_sizes, times)
            if note:  # the plot says why it contradicts its title's theory
                label = label[:-1] + ("; below theory: per-call overhead)" if "below" in note else "; above theory: memory traffic)")
            ax.loglog(xs, ys, "-", marker="os^vD<>p"[k % 8], color=plt.cm.tab10(k % 10),
                      lw=2.5 if method == "hand" else 1.3, label=label)
        if hand and index != 0:  # the hand-coded derivative as the reference in every panel
            xs, ys = zip(*hand)
            ax.loglog(xs, ys, color="0.55", lw=4, alpha=0.5, zorder=0, label="hand (reference)")
        # Theory lines through the hand-coded time at the largest size, drawn inside the
        # data's range: they show a slope, they never stretch the axes.
        if hand:
            xs = np.array([sizes[0], sizes[-1]], float)
            for (label, slope), dash in zip(case.theory_slopes.items(), ((0, (4, 2)), (0, (1, 2)), (0, (6, 3, 1, 3)))):
                ax.loglog(xs, hand[-1][1] * (xs / xs[-1]) ** slope, color="black", lw=0.8, linestyle=dash,
                          label=f"theory: {label}")
        ax.set_ylim(low, high)
        ax.set_title(title, fontsize=10)
        if index >= 2:  # the axes are shared: the size below the bottom row, the time left of the left column
            ax.set_xlabel(case.size_label)
        if index % 2 == 0:
            ax.set_ylabel("time per call [s] (min over rounds)")
        for axis in (ax.xaxis, ax.yaxis):  # minor grid lines at 2 and 5 per decade, unlabelled (see below)
            axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
            axis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    span = f"; slopes fitted over {case.size_label.split(' ')[0]} = {fit_sizes[0]}…{fit_sizes[-1]}" if fit_sizes else ""
    fig.suptitle(f"{case.name}\ntheory: {case.theory}{span}", fontsize=10)
    # Fixed margins, not tight_layout: matplotlib builds every tick of a log axis to lay it out
    # and again to draw it, and eight minor ticks per decade made a figure cost about 2 s of
    # the report's time; two per decade and fixed margins halve it.
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.07, top=0.9, wspace=0.08, hspace=0.14)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


MIN_JUDGED_ROUNDS = 3  # fewer rounds (the quick mode's one) show no spread: nothing is judged


def verdict(low_row, high_row, factor: float = 1.0) -> str:
    """``judge`` on two rows' [min, median] intervals; inconclusive with too few rounds, or
    when either side was measured while other processes kept the machine busy.

    Interleaving and the minimum resist bursts of load, but not a core that stays busy for
    the whole measurement: then multi-threaded numpy (OpenBLAS) waits for the busy core in
    every round, its minimum too, and a comparison with a framework that copes better would
    flip. The load record sees it (``LoadRecord.busy``), so no conclusion is drawn there.
    """
    if min(low_row["rounds"], high_row["rounds"]) < MIN_JUDGED_ROUNDS or low_row.get("busy") or high_row.get("busy"):
        return "inconclusive"
    return judge((low_row["min"], low_row["median"]), (high_row["min"], high_row["median"]), factor)


def gradient_cost_table(cases, times, judged: dict | None = None) -> list[str]:
    """cost(derivative)/cost(function) per approach, the function timed in the same framework;
    each verdict also goes into ``judged`` (statement -> yes / no / inconclusive) if given."""
    lines = [
        f"| case | method | size | derivative | function | ratio (min; median) | within {CHEAP_GRADIENT_BOUND:g}× |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    function_of = {"numpy": "numpy_function", "jax": "jax_function", "torch": "torch_function"}
    for case in cases:
        if case.kind not in ("gradient", "hvp"):
            continue
        for (name, method, size), row in sorted(times.items(), key=lambda kv: (kv[0][1], kv[0][2])):
            if name != case.name or method.endswith("_function"):
                continue
            function = next((r for (n, m, s), r in times.items()
                             if m == function_of[row["framework"]] and s == size and r["problem"] == case.problem), None)
            if function is None:
                continue
            outcome = verdict(row, function, CHEAP_GRADIENT_BOUND)
            if judged is not None:
                judged[f"cost ≤ {CHEAP_GRADIENT_BOUND:g}× function: {case.name} {method} at {size}"] = outcome
            lines.append(
                f"| {case.name} | {method} | {size} | {seconds(row['min'])} | {seconds(function['min'])} | "
                f"{row['min'] / function['min']:.2f}; {row['median'] / function['median']:.2f} | {outcome} |"
            )
    return lines


def bars(cases, times, judged: dict | None = None) -> tuple[list[str], list[str], list[str]]:
    """The project's bars, each judged on intervals: hand ≤ fastest autodiff; hand gradient ≤ 3× f.
    The first kind's verdicts also go into ``judged`` if given."""
    lines = ["| case | size | hand-coded | fastest autodiff | hand / fastest (min; median) | bar met |",
             "| --- | --- | --- | --- | --- | --- |"]
    failures, inconclusive = [], []
    for case in cases:
        for size in case.sizes:
            hand = times.get((case.name, "hand", size))
            autodiff = [(r["min"], m) for (n, m, s), r in times.items()
                        if n == case.name and s == size and m not in NOT_AUTODIFF and not m.endswith("_function")]
            if hand is None or not autodiff:
                continue
            _, winner = min(autodiff)
            fastest = times[(case.name, winner, size)]
            outcome = verdict(hand, fastest)
            if judged is not None:
                judged[f"hand ≤ fastest autodiff: {case.name} at {size}"] = outcome
            text = f"{case.name} at {size}: hand {seconds(hand['min'])} vs {winner} {seconds(fastest['min'])}"
            (failures if outcome == "no" else inconclusive if outcome == "inconclusive" else []).append(text)
            lines.append(f"| {case.name} | {size} | {seconds(hand['min'])} | {winner} {seconds(fastest['min'])} | "
                         f"{hand['min'] / fastest['min']:.2f}; {hand['median'] / fastest['median']:.2f} | {outcome} |")
        if case.kind == "gradient":
            for size in case.sizes:
                hand, function = times.get((case.name, "hand", size)), times.get((case.name, "numpy_function", size))
                if not (hand and function):
                    continue
                outcome = verdict(hand, function, CHEAP_GRADIENT_BOUND)
                text = (f"{case.name} at {size}: hand-coded gradient is {hand['min'] / function['min']:.2f}× "
                        f"the function (≤ {CHEAP_GRADIENT_BOUND:g}×)")
                (failures if outcome == "no" else inconclusive if outcome == "inconclusive" else []).append(text)
    return lines, failures, inconclusive


def load_lines(blocks) -> tuple[list[str], list[str]]:
    """The load record: one line of figures, and a warning per disturbed measurement."""
    if not blocks:
        return ["- no load record in this run"], []
    foreign = [b["load"]["foreign_cores"] for b in blocks if b["load"]["foreign_cores"] is not None]
    loads = [b["load"]["loadavg_before"] for b in blocks] + [b["load"]["loadavg_after"] for b in blocks]
    changed = [f"{b['case']} at {b['size']}" for b in blocks if b["load"]["threads_before"] != b["load"]["threads_after"]]
    lines = [
        f"- load average (1 min) around the measurements: {min(loads):.2f} … {max(loads):.2f}",
        (f"- CPU used by other processes during the measurements: median {np.median(foreign):.2f} cores, "
         f"max {max(foreign):.2f} cores (a measurement counts as disturbed above {BUSY_CORES:g} cores)") if foreign
        else "- CPU used by other processes: not measurable on this system (/proc/stat missing)",
        "- thread settings: unchanged during the run" if not changed else f"- thread settings CHANGED during: {', '.join(changed)}",
    ]
    busy = [f"{b['case']} at {b['size']}: other processes used {b['load']['foreign_cores']:.2f} cores" for b in blocks if b["load"]["busy"]]
    return lines, busy


def write_report(out: Path, wall_s: float | None = None) -> list[Path]:
    from benchmarks.problems import BY_NAME

    out = Path(out)
    machine, plan, times, blocks = load(out)
    run = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    if wall_s is None:
        wall_s = run.get("wall_s")
    status = {(p["case"], p["method"], p["size"]): p["status"] for p in plan}
    cases = [BY_NAME[name] for name in dict.fromkeys(p["case"] for p in plan)]
    load_figures, busy = load_lines(blocks)
    lines = ["# Derivative benchmarks", "", "## Machine", "", *machine_lines(machine, wall_s), *load_figures]
    if run.get("busy_core"):
        lines.append(f"- one core was kept busy on purpose by a process of this run (pid {run.get('busy_core_pid')}), "
                     "ended when the run ended")
    lines.append("")
    if busy:
        lines += [f"**Warning: the machine was busy during {len(busy)} of {len(blocks)} measurements**; their "
                  "minimums still bound the cost of the work, but read their comparisons with care:", "",
                  *(f"- {b}" for b in busy), ""]
    lines += [
        "Protocol: for each case and size, every method is checked against the hand-coded derivative, then all "
        "methods are timed in interleaved rounds (a fresh random order per round). Cells: the minimum time per "
        "call over the rounds, (+spread: how much the median exceeds it), ×ratio of minimums to the hand-coded "
        "derivative. A bar is judged on the intervals [min, median] of both sides: yes / no when they do not "
        "overlap, inconclusive when they do or when the load record marks either side's measurement as disturbed. "
        f"Exponent: the slope of log(min time) against log(size) over the case's largest {FIT_POINTS} sizes, the "
        "same sizes for every method; none where a method lacks one of them. First-call times (JAX compilation) "
        "are in benchmark.json as `first_call_s`, every round in `stats.data`.",
        "",
    ]
    written = []
    for case in cases:
        sizes = sorted({p["size"] for p in plan if p["case"] == case.name})
        methods = [m for m in case.methods if any(p["case"] == case.name and p["method"] == m for p in plan)]
        table, notes = case_table(case, methods, sizes, status, times)
        lines += [f"## {case.name}", "", f"Kind: {case.kind}; hand-coded: {case.hand_label}; theory: {case.theory}.", "", *table]
        if notes:
            lines += ["", "Slopes that contradict the theory:", *(f"- {n}" for n in notes)]
        png = out / f"{case.name}.png"
        plot_case(case, methods, sizes, times, png)
        written.append(png)
        lines += ["", f"![{case.name}]({png.name})", ""]
    lines += ["## cost(derivative) / cost(function)", "",
              f"The function is timed in the same framework; the cheap-gradient bound is {CHEAP_GRADIENT_BOUND:g}× "
              "(Baur–Strassen, in multiplications; wall time adds memory traffic and overhead).", ""]
    lines += gradient_cost_table(cases, times)
    bar_lines, failures, inconclusive = bars(cases, times)
    lines += ["", "## Bars on the hand-coded derivatives", "", *bar_lines, ""]
    lines += ["Bars not met:", *(f"- {f}" for f in failures)] if failures else ["No bar is clearly missed."]
    lines += ["", "Inconclusive (the spread of this run allows either answer):", *(f"- {f}" for f in inconclusive)] if inconclusive else []
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    (out / "machine.json").write_text(json.dumps(machine, indent=1))
    return [report, out / "machine.json", *written]


def conclusions(out: Path) -> dict[str, str]:
    """Every judged statement of a run (bars and cost ratios) -> yes / no / inconclusive."""
    from benchmarks.problems import BY_NAME

    _, plan, times, _ = load(out)
    cases = [BY_NAME[name] for name in dict.fromkeys(p["case"] for p in plan)]
    judged = {}
    bars(cases, times, judged)
    gradient_cost_table(cases, times, judged)
    return judged


def summary_lines(out: Path) -> list[str]:
    """The compact summary printed at the end of a run (the report has everything)."""
    _, plan, times, blocks = load(out)
    from benchmarks.problems import BY_NAME

    cases = [BY_NAME[name] for name in dict.fromkeys(p["case"] for p in plan)]
    _, failures, inconclusive = bars(cases, times)
    _, busy = load_lines(blocks)
    skipped = sum(1 for p in plan if p["status"] != "run")
    lines = [f"{len(times)} timings over {len(cases)} cases ({skipped} cells skipped over budget)",
             f"bars: {len(failures)} not met, {len(inconclusive)} inconclusive"]
    lines += [f"  not met: {f}" for f in failures]
    if busy:
        lines.append(f"warning: the machine was busy during {len(busy)} of {len(blocks)} measurements (see the report)")
    return lines


def machine_lines(machine: dict, wall_s: float | None) -> list[str]:
    versions = machine.get("versions", {})
    lines = [
        f"- CPU: {machine.get('cpu_model')} ({machine.get('cpu_count')} logical cores), {machine.get('system')} {machine.get('release')}",
        f"- threads: torch {machine.get('torch_threads')} intra-op / {machine.get('torch_interop_threads')} inter-op; "
        f"numpy OpenBLAS {machine.get('openblas_threads')}; JAX devices {machine.get('jax_devices')}; "
        f"XLA_FLAGS '{machine.get('xla_flags')}'",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- device option: {machine.get('device_option')}; quick: {machine.get('quick')}",
    ]
    if machine.get("gpu"):
        lines.insert(1, f"- GPU: {machine['gpu']}")
    if wall_s is not None:
        lines.append(f"- wall time of the benchmark run: {wall_s:.1f} s")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="benchmarks/results", help="a folder written by benchmarks.run")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    missing = [name for name in ("benchmark.json", "plan.json") if not (folder / name).is_file()]
    if missing:
        print(f"error: {folder} has no {' or '.join(missing)}: run `python -m benchmarks.run --out {folder}` first",
              file=sys.stderr)
        return 2
    try:
        paths = write_report(folder)
    except (KeyError, ValueError) as exc:
        print(f"error: {folder}/benchmark.json is not a report of this version of benchmarks.run ({exc!r})", file=sys.stderr)
        return 2
    print(*paths, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
