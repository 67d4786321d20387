"""Run the derivative benchmarks and write the report.

    python -m benchmarks.run [--quick] [--out DIR] [--device cpu|cuda] [--problem NAME]

pytest-benchmark is the timing engine: this runs ``benchmarks/test_bench_derivatives.py``
(one line of progress per benchmark), stores its JSON in ``DIR/benchmark.json`` and the
plan (including the sizes skipped as over budget) in ``DIR/plan.json``, then
``benchmarks.report`` turns both into markdown tables and log-log plots in DIR.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every method once at the smallest size")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="output folder")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where JAX and torch run")
    parser.add_argument("--problem", default=None, help="one case or problem name (default: all)")
    return parser.parse_args(argv)


def write_plan(out: Path, quick: bool, problem: str | None) -> int:
    from benchmarks.problems import plan

    rows = plan(quick, problem)
    if not rows:
        raise SystemExit(f"no benchmark case or problem is named {problem!r}")
    (out / "plan.json").write_text(
        json.dumps(
            [
                {"case": c.name, "method": m, "size": s, "status": "run" if runs else "skipped: > budget"}
                for c, m, s, runs in rows
            ],
            indent=1,
        )
    )
    return sum(runs for *_, runs in rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == "cuda":
        from benchmarks.methods import cuda_status

        status = cuda_status()
        if not any(status.values()):
            print(
                "--device cuda: no CUDA GPU is visible to JAX or torch on this machine "
                f"(jax sees {status['jax']}, torch.cuda.is_available() is {status['torch']}); "
                "run without --device, or on a machine with a GPU and CUDA builds of jax/torch.",
                file=sys.stderr,
            )
            return 2
        for framework, seen in status.items():
            if not seen:
                print(f"--device cuda: {framework} sees no GPU; its methods run on the CPU.", file=sys.stderr)

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    count = write_plan(out, args.quick, args.problem)
    print(f"{count} benchmarks ({'quick' if args.quick else 'full'} run, device {args.device}) -> {out}", flush=True)
    pytest_args = [
        sys.executable, "-m", "pytest", str(ROOT / "benchmarks" / "test_bench_derivatives.py"),
        "-v", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
        f"--benchmark-json={out / 'benchmark.json'}",
        "--benchmark-columns=median,iqr,rounds,iterations",
        "--benchmark-sort=name",
        f"--bench-device={args.device}",
    ]
    if args.quick:
        pytest_args.append("--bench-quick")
    if args.problem:
        pytest_args.append(f"--bench-problem={args.problem}")
    start = time.perf_counter()
    # Every library uses every core by default (numpy's OpenBLAS, torch's intra-op pool,
    # XLA's): on a quiet 2-core machine A@x at n = 2000 takes 0.34 ms on two threads and
    # 0.69 ms on one. On a loaded machine, threads that wait for a busy core can be far
    # slower than one thread: set OPENBLAS_NUM_THREADS=1 yourself there; the machine
    # section of the report records the setting.
    code = subprocess.run(pytest_args, cwd=ROOT).returncode  # its own process: progress streams
    wall_s = time.perf_counter() - start
    print(f"benchmarks ran in {wall_s:.1f} s", flush=True)
    if code != 0:
        print("some benchmark failed its correctness check or errored; no report written", file=sys.stderr)
        return int(code)

    from benchmarks.report import write_report

    (out / "run.json").write_text(json.dumps({"wall_s": wall_s, "quick": args.quick, "device": args.device}))
    written = write_report(out, wall_s=wall_s)
    print("report:", *(str(p) for p in written), sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
