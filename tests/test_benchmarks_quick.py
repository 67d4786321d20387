"""The benchmarks never rot: the quick mode runs every method once, checked, and reports."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.problems import CASES, plan


def test_quick_benchmark_checks_every_method_and_writes_the_report(tmp_path, repo_root):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(tmp_path)],
        cwd=repo_root, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    timed = json.loads((tmp_path / "benchmark.json").read_text())["benchmarks"]
    expected = {(c.name, m, s) for c, m, s, runs in plan(quick=True) if runs}
    measured = {(b["extra_info"]["case"], b["extra_info"]["method"], b["extra_info"]["size"]) for b in timed}
    assert measured == expected  # every method of every case, each checked before it was timed
    assert all(b["stats"]["median"] > 0 for b in timed)

    report = (tmp_path / "report.md").read_text()
    for case in CASES:
        assert f"## {case.name}" in report
        png = tmp_path / f"{case.name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "cost(derivative) / cost(function)" in report
    assert "torch" in json.loads((tmp_path / "machine.json").read_text())["versions"]


def test_cuda_request_without_a_gpu_exits_2_with_a_message(repo_root, tmp_path):
    import torch

    if torch.cuda.is_available():  # a GPU machine: the option is accepted, nothing to refuse
        return
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--device", "cuda", "--out", str(tmp_path)],
        cwd=repo_root, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "no CUDA GPU" in done.stderr


def test_a_wrong_derivative_is_refused_before_it_is_timed():
    """A planted hand-coded gradient that misses the transpose fails every method's check."""
    import dataclasses

    import pytest

    from benchmarks.checks import WrongDerivative, checked_call
    from benchmarks.problems import BY_NAME

    right = BY_NAME["quadratic_form_gradient"]
    wrong = dataclasses.replace(right, hand=lambda x, A: 2 * (A @ x))  # (A + Aᵀ)x without the Aᵀ
    for method in ("jax_grad", "torch_func_grad", "fd_central"):
        checked_call(right, method, 10)
        with pytest.raises(WrongDerivative, match="is wrong"):
            checked_call(wrong, method, 10)
