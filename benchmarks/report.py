"""Turn ``benchmark.json`` (pytest-benchmark) and ``plan.json`` into the report.

    python -m benchmarks.report DIR

writes into DIR: ``report.md`` (the machine; one table per case with the median, IQR and
ratio to the hand-coded derivative of every method and size; cost(gradient)/cost(function)
against the cheap-gradient bound; the project's own bars) and one log-log plot per case,
``<case>.png``, with the scaling exponent of each method fitted over its largest sizes.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

CHEAP_GRADIENT_BOUND = 3.0  # Baur–Strassen: a gradient costs at most ~3x the function's multiplications
FIT_POINTS = 3  # the exponent is fitted over each method's largest sizes: the asymptotic regime
NOT_AUTODIFF = ("hand", "fd_central")


def load(out: Path):
    data = json.loads((out / "benchmark.json").read_text())
    plan = json.loads((out / "plan.json").read_text())
    times = {}
    for bench in data["benchmarks"]:
        info, stats = bench["extra_info"], bench["stats"]
        times[(info["case"], info["method"], info["size"])] = {**stats, **info}
    return data["machine_info"], plan, times


def seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def fitted_exponent(sizes, medians) -> float | None:
    if len(sizes) < 2:
        return None
    sizes, medians = np.asarray(sizes[-FIT_POINTS:], float), np.asarray(medians[-FIT_POINTS:], float)
    return float(np.polyfit(np.log(sizes), np.log(medians), 1)[0])


def case_table(case, methods, sizes, status, times) -> list[str]:
    lines = [
        "| method | " + " | ".join(f"{case.size_label} = {s}" for s in sizes) + " | exponent |",
        "| --- | " + " | ".join("---" for _ in sizes) + " | --- |",
    ]
    for method in methods:
        cells, measured = [], []
        for size in sizes:
            row = times.get((case.name, method, size))
            if row is None:
                cells.append(status.get((case.name, method, size), "not run"))
                continue
            hand = times.get((case.name, "hand", size))
            ratio = f" ×{row['median'] / hand['median']:.3g}" if hand and method != "hand" else ""
            cells.append(f"{seconds(row['median'])} (IQR {seconds(row['iqr'])}){ratio}")
            measured.append((size, row["median"]))
        exponent = fitted_exponent(*zip(*measured)) if len(measured) >= 2 else None
        exponent_cell = f"{exponent:.2f}" if exponent is not None else "–"
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {exponent_cell} |")
    return lines


def plot_case(case, methods, sizes, times, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 6))
    colors = plt.cm.tab20(np.linspace(0, 1, 20))
    for index, method in enumerate(methods):
        measured = [(s, times[(case.name, method, s)]["median"]) for s in sizes if (case.name, method, s) in times]
        if not measured:
            continue
        xs, ys = zip(*measured)
        exponent = fitted_exponent(xs, ys)
        label = f"{method} (slope {exponent:.2f})" if exponent is not None else method
        style = "-" if method.startswith(("jax", "hand")) else "--" if method.startswith("torch") else ":"
        ax.loglog(xs, ys, style, marker="os^vD<>p"[index % 8], color=colors[index % 20],
                  lw=3 if method == "hand" else 1.2, label=label)
    # Theory: reference lines of the predicted slopes through the largest size, the lowest
    # slope through the hand-coded point, steeper ones through the median of the other
    # methods there; a method running parallel to a line scales as the theory says.
    at_largest = [r["median"] for (n, m, s), r in times.items() if n == case.name and s == sizes[-1] and m != "hand"]
    hand_largest = times.get((case.name, "hand", sizes[-1]))
    if hand_largest and at_largest:
        xs = np.array([sizes[0], sizes[-1]], float)
        lowest = min(case.theory_slopes.values(), default=0)
        for (label, slope), dash in zip(case.theory_slopes.items(), ((0, (4, 2)), (0, (1, 2)), (0, (6, 3, 1, 3)))):
            y_end = hand_largest["median"] if slope == lowest else float(np.median(at_largest))
            ax.loglog(xs, y_end * (xs / xs[-1]) ** slope, color="black", lw=0.8, linestyle=dash,
                      label=f"theory: {label} (slope {slope:g})")
    ax.set_xlabel(case.size_label)
    ax.set_ylabel("median time per call [s]")
    ax.set_title(f"{case.name}\ntheory: {case.theory}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def gradient_cost_table(cases, times) -> list[str]:
    """cost(derivative)/cost(function) per approach, the function timed in the same framework."""
    lines = [
        f"| case | method | size | derivative | function | ratio | within {CHEAP_GRADIENT_BOUND:g}× |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    function_of = {"numpy": "numpy_function", "jax": "jax_function", "torch": "torch_function"}
    for case in cases:
        if case.kind not in ("gradient", "hvp"):
            continue
        for (name, method, size), row in sorted(times.items(), key=lambda kv: (kv[0][1], kv[0][2])):
            if name != case.name or method.endswith("_function"):
                continue
            function = next(
                (r for (n, m, s), r in times.items()
                 if m == function_of[row["framework"]] and s == size and r["problem"] == case.problem),
                None,
            )
            if function is None:
                continue
            ratio = row["median"] / function["median"]
            within = "yes" if ratio <= CHEAP_GRADIENT_BOUND else "no"
            lines.append(
                f"| {case.name} | {method} | {size} | {seconds(row['median'])} | "
                f"{seconds(function['median'])} | {ratio:.2f} | {within} |"
            )
    return lines


def bars(cases, times) -> tuple[list[str], list[str]]:
    """The project's bars: hand-coded ≤ fastest autodiff; hand-coded gradient ≤ 3× function."""
    lines = ["| case | size | hand-coded | fastest autodiff | hand / fastest | bar met |", "| --- | --- | --- | --- | --- | --- |"]
    failures = []
    for case in cases:
        for size in case.sizes:
            hand = times.get((case.name, "hand", size))
            autodiff = [(r["median"], m) for (n, m, s), r in times.items()
                        if n == case.name and s == size and m not in NOT_AUTODIFF and not m.endswith("_function")]
            if hand is None or not autodiff:
                continue
            fastest, winner = min(autodiff)
            met = hand["median"] <= fastest
            if not met:
                failures.append(f"{case.name} at {size}: hand {seconds(hand['median'])} > {winner} {seconds(fastest)}")
            lines.append(f"| {case.name} | {size} | {seconds(hand['median'])} | {winner} {seconds(fastest)} | "
                         f"{hand['median'] / fastest:.2f} | {'yes' if met else 'NO'} |")
        if case.kind == "gradient":
            for size in case.sizes:
                hand, function = times.get((case.name, "hand", size)), times.get((case.name, "numpy_function", size))
                if hand and function and hand["median"] > CHEAP_GRADIENT_BOUND * function["median"]:
                    failures.append(f"{case.name} at {size}: hand-coded gradient is "
                                    f"{hand['median'] / function['median']:.2f}× the function")
    return lines, failures


def machine_lines(machine: dict, wall_s: float | None) -> list[str]:
    versions = machine.get("versions", {})
    lines = [
        f"- CPU: {machine.get('cpu_model')} ({machine.get('cpu_count')} logical cores), {machine.get('system')} {machine.get('release')}",
        f"- threads: torch {machine.get('torch_threads')} intra-op / {machine.get('torch_interop_threads')} inter-op; "
        f"numpy OpenBLAS {machine.get('openblas_threads')}; "
        f"JAX devices {machine.get('jax_devices')}; XLA_FLAGS '{machine.get('xla_flags')}'",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- device option: {machine.get('device_option')}; quick: {machine.get('quick')}",
    ]
    if wall_s is not None:
        lines.append(f"- wall time of the benchmark run: {wall_s:.1f} s")
    return lines


def write_report(out: Path, wall_s: float | None = None) -> list[Path]:
    from benchmarks.problems import BY_NAME

    out = Path(out)
    machine, plan, times = load(out)
    if wall_s is None and (out / "run.json").exists():
        wall_s = json.loads((out / "run.json").read_text())["wall_s"]
    status = {(p["case"], p["method"], p["size"]): p["status"] for p in plan}
    case_names = list(dict.fromkeys(p["case"] for p in plan))
    cases = [BY_NAME[name] for name in case_names]
    lines = ["# Derivative benchmarks", "", "## Machine", "", *machine_lines(machine, wall_s), ""]
    lines += [
        "Cells: median time per call (IQR) ×ratio to the hand-coded derivative in the same run. ",
        f"Exponent: the slope of log(time) against log(size) over each method's largest {FIT_POINTS} sizes. ",
        "Every timed result was first checked against the hand-coded derivative. "
        "First-call times (JAX compilation) are in benchmark.json as `first_call_s`.",
        "",
    ]
    written = []
    for case in cases:
        sizes = sorted({p["size"] for p in plan if p["case"] == case.name})
        methods = [m for m in case.methods if any(p["case"] == case.name and p["method"] == m for p in plan)]
        lines += [f"## {case.name}", "", f"Kind: {case.kind}; hand-coded: {case.hand_label}; theory: {case.theory}.", ""]
        lines += case_table(case, methods, sizes, status, times)
        png = out / f"{case.name}.png"
        plot_case(case, methods, sizes, times, png)
        written.append(png)
        lines += ["", f"![{case.name}]({png.name})", ""]
    lines += ["## cost(derivative) / cost(function)", "",
              f"The function is timed in the same framework; the cheap-gradient bound is {CHEAP_GRADIENT_BOUND:g}× "
              "(Baur–Strassen, in multiplications; wall time adds memory traffic and overhead).", ""]
    lines += gradient_cost_table(cases, times)
    bar_lines, failures = bars(cases, times)
    lines += ["", "## Bars on the hand-coded derivatives", ""] + bar_lines + [""]
    lines += ["Bars not met:", *(f"- {f}" for f in failures)] if failures else ["Every bar is met."]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    (out / "machine.json").write_text(json.dumps(machine, indent=1))
    return [report, out / "machine.json", *written]


if __name__ == "__main__":
    for path in write_report(Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results")):
        print(path)
