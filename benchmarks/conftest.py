"""Options of the benchmark suite and the machine description stored in its JSON."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pytest_addoption(parser):
    group = parser.getgroup("derivative benchmarks")
    group.addoption("--bench-quick", action="store_true", help="every method once, at the smallest size")
    group.addoption("--bench-device", default="cpu", choices=("cpu", "cuda"), help="where JAX and torch run")
    group.addoption("--bench-problem", default=None, help="one case or problem name")


def pytest_generate_tests(metafunc):
    if "bench_row" not in metafunc.fixturenames:
        return
    from benchmarks.problems import plan

    config = metafunc.config
    rows = [
        (case, method, size)
        for case, method, size, runs in plan(config.getoption("--bench-quick"), config.getoption("--bench-problem"))
        if runs
    ]
    metafunc.parametrize("bench_row", rows, ids=[f"{c.name}-{m}-{s}" for c, m, s in rows])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pytest_benchmark_update_machine_info(config, machine_info):
    import array_api_compat
    import jax
    import numpy
    import pytest_benchmark
    import torch

    machine_info.update(
        cpu_model=cpu_model(),
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        jax_devices=[str(d) for d in jax.devices()],
        torch_cuda=torch.cuda.is_available(),
        device_option=config.getoption("--bench-device"),
        quick=config.getoption("--bench-quick"),
        xla_flags=os.environ.get("XLA_FLAGS", ""),
        openblas_threads=os.environ.get("OPENBLAS_NUM_THREADS", "default (all cores)"),
        versions={
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "jax": jax.__version__,
            "torch": torch.__version__,
            "array_api_compat": array_api_compat.__version__,
            "pytest_benchmark": pytest_benchmark.__version__,
        },
    )
