"""One benchmark per (case, method, size): check the result, then time it.

``checked_call`` compares each method's result with the hand-coded numpy derivative
(shape and value) and raises before anything is timed if it differs. The first call is
timed apart (for JAX it is the jit compilation) and stored as ``first_call_s``;
pytest-benchmark then times the steady state.
"""

from __future__ import annotations

import time

from benchmarks.checks import checked_call
from benchmarks.methods import framework_device, framework_of

ROUND_TARGET_S = 0.3  # steady-state time per benchmark, spread over the rounds
MIN_ROUND_S = 2e-3  # a round repeats a fast call until it lasts this long (timer resolution)
SLOW_CALL_S = 0.3  # calls slower than this get the minimum of 3 rounds


def schedule(seconds_per_call: float, quick: bool) -> tuple[int, int]:
    """(rounds, iterations per round) for a call that takes this long."""
    if quick:
        return 1, 1
    iterations = max(1, min(1000, int(MIN_ROUND_S / max(seconds_per_call, 1e-9))))
    rounds = int(ROUND_TARGET_S / (seconds_per_call * iterations))
    return (max(7, min(rounds, 40)) if seconds_per_call < 0.1 else 3), iterations


def test_derivative(benchmark, bench_row, request):
    case, method, size = bench_row
    quick = request.config.getoption("--bench-quick")
    device = request.config.getoption("--bench-device")
    call, first_call_s, error = checked_call(case, method, size, device)

    if first_call_s > SLOW_CALL_S:  # slow already: the first call is estimate enough
        seconds_per_call = first_call_s
    else:
        start = time.perf_counter()
        call()
        seconds_per_call = time.perf_counter() - start
    rounds, iterations = schedule(seconds_per_call, quick)
    framework = framework_of(method)
    benchmark.group = case.name
    benchmark.extra_info.update(
        case=case.name, problem=case.problem, kind=case.kind, method=method, framework=framework,
        size=size, first_call_s=first_call_s, relative_error=error,
        device=framework_device(framework, device) if framework != "numpy" else "cpu",
    )
    benchmark.pedantic(call, rounds=rounds, iterations=iterations, warmup_rounds=0)
