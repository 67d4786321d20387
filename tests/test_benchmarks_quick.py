"""The benchmarks never rot, and no busy machine flips their conclusions silently.

The quick mode runs every method once, checked, and reports; the timing protocol's
judgement, the load record, the exponent fits and the command lines are tested apart on
small inputs, without timing anything that a test would have to trust.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time

import pytest

from benchmarks import compare, report, run, timing
from benchmarks.problems import BY_NAME, CASES, plan


def test_quick_benchmark_checks_every_method_and_writes_the_report(tmp_path, repo_root):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(tmp_path)],
        cwd=repo_root, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    # progress: one line per (case, size); a compact summary instead of a 900-line table
    assert done.stdout.count("checked and timed") == len(CASES)
    assert len(done.stdout.splitlines()) < 3 * len(CASES) + 15

    data = json.loads((tmp_path / "benchmark.json").read_text())
    expected = {(c.name, m, s) for c, m, s, runs in plan(quick=True) if runs}
    measured = {(b["extra_info"]["case"], b["extra_info"]["method"], b["extra_info"]["size"]) for b in data["benchmarks"]}
    assert measured == expected  # every method of every case, each checked before it was timed
    assert all(b["stats"]["min"] > 0 and b["stats"]["rounds"] == 1 for b in data["benchmarks"])
    for block in data["blocks"]:  # the load and thread record around every measurement
        load = block["load"]
        assert load["loadavg_before"] >= 0 and load["loadavg_after"] >= 0
        assert load["threads_before"]["torch_threads"] >= 1 and "OPENBLAS_NUM_THREADS" in load["threads_after"]

    text = (tmp_path / "report.md").read_text()
    for case in CASES:
        assert f"## {case.name}" in text
        assert (tmp_path / f"{case.name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "cost(derivative) / cost(function)" in text and "load average" in text
    # one round shows no spread: the quick mode judges no bar
    assert set(report.conclusions(tmp_path).values()) == {"inconclusive"}


def test_quick_mode_never_writes_into_the_committed_results():
    assert run.QUICK_OUT != run.FULL_OUT and run.FULL_OUT not in run.QUICK_OUT.parents
    assert run.output_folder(run.parse_args(["--quick"])) == run.QUICK_OUT
    assert run.output_folder(run.parse_args([])) == run.FULL_OUT
    assert run.output_folder(run.parse_args(["--problem", "softmax"])) == run.PARTIAL_OUT  # a partial run too
    assert run.output_folder(run.parse_args(["--quick", "--out", "x"])).name == "x"  # unless told otherwise


def test_an_unknown_problem_exits_2_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    assert run.main(["--problem", "nope", "--out", str(out)]) == 2
    assert not out.exists()
    assert "choose from" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--out"], ["--device", "tpu"], ["--bogus"]])
def test_bad_flags_exit_2(argv):
    with pytest.raises(SystemExit) as exit_:
        run.main(argv)
    assert exit_.value.code == 2


def test_report_command_help_and_missing_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        report.main(["--help"])
    assert exit_.value.code == 0
    assert report.main([str(tmp_path)]) == 2
    assert "benchmarks.run --out" in capsys.readouterr().err


def test_judge_concludes_only_when_the_intervals_do_not_overlap():
    assert timing.judge((1.0, 1.1), (2.0, 2.2)) == "yes"
    assert timing.judge((2.0, 2.2), (1.0, 1.1)) == "no"
    assert timing.judge((1.0, 1.5), (1.2, 1.3)) == "inconclusive"  # a spread that allows both answers
    assert timing.judge((2.9, 3.0), (1.0, 1.1), factor=3.0) == "yes"  # cost ≤ 3× function
    assert timing.judge((3.4, 3.6), (1.0, 1.1), factor=3.0) == "no"


def test_a_disturbance_on_one_round_does_not_move_the_minimum():
    rounds = [1.00, 1.02, 5.0, 1.01, 0.99, 1.03, 1.0]  # one round hit by a burst of load
    stats = timing.summary(rounds)
    assert stats["min"] == 0.99 and stats["median"] == 1.01 and stats["spread"] < 0.05


def test_interleaved_rounds_alternate_the_methods():
    order = []
    calls = {m: ((lambda m=m: order.append(m)), 0.01) for m in ("a", "b", "c")}
    timed = timing.interleaved(calls, quick=False, seed=1)
    rounds = len(timed["a"]["rounds"])
    assert rounds >= timing.MIN_ROUNDS and all(len(t["rounds"]) == rounds for t in timed.values())
    iterations = timed["a"]["iterations"]
    blocks = [order[i:i + iterations] for i in range(0, len(order), iterations)]
    firsts = [b[0] for b in blocks[::3]]  # the method that opened each round
    assert len(set(firsts)) > 1  # a fresh random order per round, not a, b, c every time


def test_the_load_record_sees_a_busy_core_of_another_process():
    burner = run.start_busy_core()
    try:
        time.sleep(0.3)
        record = timing.LoadRecord.start()
        time.sleep(1.0)
        record.stop()
    finally:
        run.stop_busy_core(burner)
    assert record.foreign_cores is not None and record.foreign_cores > 0.5 and record.busy
    with pytest.raises(ProcessLookupError):  # ended by its id
        os.kill(burner.pid, 0)


def _times(case, table):
    return {(case, m, s): {"min": t, "median": t * 1.05, "rounds": 7, "method": m, "spread": 0.05}
            for (m, s), t in table.items()}


def test_exponents_share_one_size_range_and_never_fit_two_points():
    sizes = (10, 100, 1000, 2000)
    assert report.fit_range(sizes) == (100, 1000, 2000) and report.fit_range((10, 100)) == ()
    times = _times("c", {("a", s): 1e-6 * s**2 for s in sizes} | {("b", s): 1e-6 * s for s in (10, 100, 1000)})
    assert report.fitted_exponent("c", "a", report.fit_range(sizes), times) == pytest.approx(2.0)
    assert report.fitted_exponent("c", "b", report.fit_range(sizes), times) is None  # lacks n = 2000


def test_a_slope_against_the_theory_is_explained():
    case = BY_NAME["quadratic_form_gradient"]
    sizes = (500, 1000, 2000)
    times = _times(case.name, {("torch_func_grad", s): 1e-4 * (1 + s / 1e5) for s in sizes})
    note = report.slope_note(case, "torch_func_grad", 0.05, sizes, times)
    assert note and "overhead" in note
    assert report.slope_note(case, "torch_func_grad", 2.1, sizes, times) is None  # as the theory says


def test_no_panel_has_more_than_eight_series():
    for case in CASES:
        for index, _ in enumerate(report.FAMILIES):
            members = [m for m in case.methods if report.family_of(m) == index]
            extra = (1 if index else 0) + len(case.theory_slopes)  # the hand reference and the theory lines
            assert len(members) + extra <= 9, (case.name, index, members)


def test_compare_flags_a_flipped_conclusion_and_tolerates_inconclusive():
    a = {"x": "yes", "y": "no", "z": "yes"}
    b = {"x": "yes", "y": "inconclusive", "z": "no"}
    flipped, pairs = compare.compare(a, b)
    assert flipped == ["z"] and pairs[("no", "inconclusive")] == 1


def test_a_wrong_derivative_is_refused_before_it_is_timed():
    """A planted hand-coded gradient that misses the transpose fails every method's check."""
    from benchmarks.checks import WrongDerivative, checked_call

    right = BY_NAME["quadratic_form_gradient"]
    wrong = dataclasses.replace(right, hand=lambda x, A: 2 * (A @ x))  # (A + Aᵀ)x without the Aᵀ
    for method in ("jax_grad", "torch_func_grad", "fd_central"):
        checked_call(right, method, 10)
        with pytest.raises(WrongDerivative, match="is wrong"):
            checked_call(wrong, method, 10)


def test_cuda_request_without_a_gpu_exits_2_with_a_message(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():  # a GPU machine: the option is accepted, nothing to refuse
        return
    assert run.main(["--device", "cuda", "--out", str(tmp_path / "x")]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_no_conclusion_is_drawn_from_a_measurement_of_a_busy_machine():
    fast = {"min": 1.0, "median": 1.05, "rounds": 7}
    slow = {"min": 3.0, "median": 3.1, "rounds": 7}
    assert report.verdict(fast, slow) == "yes" and report.verdict(slow, fast) == "no"
    assert report.verdict({**fast, "busy": True}, slow) == "inconclusive"
    assert report.verdict(slow, {**fast, "busy": True}) == "inconclusive"


def test_the_committed_busy_core_run_flips_no_conclusion_of_the_quiet_run(repo_root):
    results = repo_root / "benchmarks" / "results"
    quiet, busy = report.conclusions(results), report.conclusions(results / "busy_core")
    flipped, pairs = compare.compare(quiet, busy)
    assert not flipped and sum(pairs.values()) > 100
    assert json.loads((results / "busy_core" / "run.json").read_text())["busy_core"]
