"""Run the derivative benchmarks and write the report.

    python -m benchmarks.run [--quick] [--out DIR] [--device cpu|cuda] [--problem NAME] [--busy-core]

For every case and size of the plan (benchmarks/problems.py), every method is built, run
once and checked against the hand-coded derivative, then all methods are timed together in
interleaved rounds with the load recorded around them (benchmarks/timing.py). One progress
line per (case, size); at the end a compact summary. The full data goes to
``DIR/benchmark.json``, the plan (with the sizes skipped as over budget) to ``DIR/plan.json``,
and ``benchmarks.report`` turns them into ``DIR/report.md`` and one plot per case.

A full run writes into benchmarks/results/ (the committed run); ``--quick`` (every method
once, at the smallest size) writes into out/bench-quick/ and ``--problem NAME`` into
out/bench-partial/ unless ``--out`` says otherwise, so a partial try never overwrites the
committed full run.

Exit status: 0 done, 1 a method failed its correctness check, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL_OUT = ROOT / "benchmarks" / "results"
QUICK_OUT = ROOT / "out" / "bench-quick"
PARTIAL_OUT = ROOT / "out" / "bench-partial"
SCHEMA_VERSION = 2


class UsageError(Exception):
    pass


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0],
        epilog="Exit status: 0 done, 1 a method failed its correctness check, 2 usage error.",
    )
    parser.add_argument("--quick", action="store_true", help="every method once, at the smallest size of each case")
    parser.add_argument("--out", default=None,
                        help=f"output folder (default: {FULL_OUT.relative_to(ROOT)}; {QUICK_OUT.relative_to(ROOT)} with --quick, "
                             f"{PARTIAL_OUT.relative_to(ROOT)} with --problem)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where JAX and torch run")
    parser.add_argument("--problem", default=None, help="one case or problem name (default: all)")
    parser.add_argument("--busy-core", action="store_true",
                        help="keep one core busy with a process of our own during the run (a robustness test "
                             "of the conclusions); it is ended by its id when the run ends")
    return parser.parse_args(argv)


def output_folder(args) -> Path:
    """Where a run writes: --out if given, else the committed folder for a full run of every
    case, and out/bench-quick (--quick) or out/bench-partial (--problem) otherwise: a partial
    run never replaces the committed one unless told to."""
    if args.out:
        return Path(args.out).resolve()
    if args.quick:
        return QUICK_OUT
    return PARTIAL_OUT if args.problem else FULL_OUT


def _plan(quick: bool, problem: str | None):
    from benchmarks.problems import BY_NAME, CASES, plan

    rows = plan(quick, problem)
    if not rows:
        known = sorted({c.name for c in CASES} | {c.problem for c in CASES})
        raise UsageError(f"no benchmark case or problem is named {problem!r}; choose from {', '.join(known)}")
    return rows, BY_NAME


def _check_device(device: str) -> None:
    if device != "cuda":
        return
    from benchmarks.methods import cuda_status

    status = cuda_status()
    if not any(status.values()):
        raise UsageError(
            "--device cuda: no CUDA GPU is visible to JAX or torch on this machine "
            f"(jax sees {status['jax']}, torch.cuda.is_available() is {status['torch']}); "
            "run without --device, or on a machine with a GPU and CUDA builds of jax/torch."
        )
    for framework, seen in status.items():
        if not seen:
            print(f"--device cuda: {framework} sees no GPU; its methods run on the CPU.", file=sys.stderr)


def start_busy_core() -> subprocess.Popen:
    """A process of our own that keeps one core busy until it is ended by its id."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)


def stop_busy_core(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


def measure(rows, device: str, quick: bool, progress=print) -> tuple[list[dict], list[dict]]:
    """Check and time every runnable (case, method, size); returns (benchmarks, blocks)."""
    from benchmarks.checks import checked_call
    from benchmarks.methods import framework_device, framework_of
    from benchmarks.timing import SLOW_CALL_S, LoadRecord, interleaved, summary

    blocks_todo: dict[tuple, list[str]] = {}
    cases = {}
    for case, method, size, runs in rows:
        if runs:
            cases[case.name] = case
            blocks_todo.setdefault((case.name, size), []).append(method)
    benchmarks, blocks = [], []
    start = time.perf_counter()
    for index, ((name, size), methods) in enumerate(blocks_todo.items(), 1):
        case = cases[name]
        load = LoadRecord.start()
        checked = {}
        for method in methods:
            call, first_call_s, error = checked_call(case, method, size, device)
            estimate = first_call_s
            if first_call_s < SLOW_CALL_S:  # a second call estimates the steady state (after JAX's compile)
                again = time.perf_counter()
                call()
                estimate = time.perf_counter() - again
            checked[method] = (call, first_call_s, error, estimate)
        timed = interleaved({m: (c[0], c[3]) for m, c in checked.items()}, quick, seed=index)
        load.stop()
        blocks.append({"case": case.name, "size": size, "methods": methods, "load": load.as_dict()})
        for method, (call, first_call_s, error, _) in checked.items():
            framework = framework_of(method)
            benchmarks.append({
                "name": f"{case.name}-{method}-{size}",
                "group": case.name,
                "stats": {**summary(timed[method]["rounds"]), "iterations": timed[method]["iterations"],
                          "data": timed[method]["rounds"]},
                "extra_info": {
                    "case": case.name, "problem": case.problem, "kind": case.kind, "method": method,
                    "framework": framework, "size": size, "first_call_s": first_call_s, "relative_error": error,
                    "device": framework_device(framework, device) if framework != "numpy" else "cpu",
                },
            })
        busy = f", machine busy: other processes used {load.foreign_cores:.2f} cores" if load.busy else ""
        progress(f"[{index}/{len(blocks_todo)}] {case.name} {case.size_label.split(' ')[0]}={size}: "
                 f"{len(methods)} methods checked and timed, {time.perf_counter() - start:.0f} s{busy}")
    return benchmarks, blocks


def machine_info(device: str, quick: bool) -> dict:
    import platform

    import array_api_compat
    import jax
    import numpy
    import torch

    from benchmarks.timing import thread_settings

    return {
        "cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "system": platform.system(),
        "release": platform.release(), "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(), "jax_devices": [str(d) for d in jax.devices()],
        "torch_cuda": torch.cuda.is_available(), "device_option": device, "quick": quick,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default (all cores)"),
        "threads": thread_settings(),
        "versions": {"python": platform.python_version(), "numpy": numpy.__version__, "jax": jax.__version__,
                     "torch": torch.__version__, "array_api_compat": array_api_compat.__version__},
    }


def cpu_model() -> str:
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        rows, _ = _plan(args.quick, args.problem)
        _check_device(args.device)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = output_folder(args)
    out.mkdir(parents=True, exist_ok=True)
    from benchmarks.checks import WrongDerivative
    from benchmarks.timing import MIN_ROUND_S, ROUND_BUDGET_S

    (out / "plan.json").write_text(json.dumps(
        [{"case": c.name, "method": m, "size": s, "status": "run" if runs else "skipped: > budget"} for c, m, s, runs in rows],
        indent=1))
    count = sum(runs for *_, runs in rows)
    print(f"{count} benchmarks ({'quick' if args.quick else 'full'} run, device {args.device}"
          f"{', one core kept busy' if args.busy_core else ''}) -> {out}", flush=True)
    burner = start_busy_core() if args.busy_core else None
    start = time.perf_counter()
    try:
        benchmarks, blocks = measure(rows, args.device, args.quick, progress=lambda line: print(line, flush=True))
    except WrongDerivative as exc:
        print(f"error: {exc}; no report written", file=sys.stderr)
        return 1
    finally:
        if burner is not None:
            stop_busy_core(burner)
    wall_s = time.perf_counter() - start
    (out / "benchmark.json").write_text(json.dumps({
        "schema_version": SCHEMA_VERSION,
        "protocol": {"interleaved": True, "statistic": "min over rounds, spread = median/min - 1",
                     "min_round_s": MIN_ROUND_S, "round_budget_s": ROUND_BUDGET_S},
        "machine_info": machine_info(args.device, args.quick),
        "benchmarks": benchmarks, "blocks": blocks,
    }, indent=1))
    (out / "run.json").write_text(json.dumps({"wall_s": wall_s, "quick": args.quick, "device": args.device,
                                              "busy_core": bool(args.busy_core),
                                              "busy_core_pid": burner.pid if burner else None}))

    from benchmarks.report import summary_lines, write_report

    written = write_report(out, wall_s=wall_s)
    print(f"benchmarks ran in {wall_s:.1f} s", *summary_lines(out), "report:", *(f"  {p}" for p in written[:1]),
          sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
