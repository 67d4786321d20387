"""The CLI: exit codes, filters, --list, --show, --json, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, cwd=ROOT)


def test_help_exits_zero():
    r = cli("--help")
    assert r.returncode == 0 and "--json" in r.stdout and "Exit status" in r.stdout


def test_filter_by_name_runs_one_row_and_exits_zero():
    r = cli("sigmoid", "logsumexp")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [l for l in r.stdout.splitlines() if l.endswith("PASS")]
    assert [l.split()[0] for l in lines] == ["sigmoid", "logsumexp"]
    assert "2 identities" in r.stdout


def test_filter_by_chapter_and_list():
    r = cli("--list", "01_single_variable_derivatives")
    assert r.returncode == 0
    names = [l.split()[0] for l in r.stdout.splitlines()]
    assert "limit_definition" in names and "binary_cross_entropy" in names
    assert all("01_single_variable_derivatives" in l for l in r.stdout.splitlines())


def test_unknown_filter_is_a_usage_error_with_a_suggestion():
    r = cli("sigmod")
    assert r.returncode == 2
    assert "did you mean sigmoid" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_option_values_are_usage_errors():
    assert cli("--dtype", "float16").returncode == 2
    assert cli("--trials", "0", "sigmoid").returncode == 2
    r = cli("--backend", "tensorflow", "sigmoid")
    assert r.returncode == 2 and "unknown backend" in r.stderr


def test_show_prints_statement_derivation_source_and_checks():
    r = cli("--show", "sigmoid")
    assert r.returncode == 0
    for text in ["σ'(x) = σ(x)(1 − σ(x))", "derivations/01_single_variable_derivatives/sigmoid.md", "def sigmoid_derivative", "sigmoid [jax, reverse]: ok"]:
        assert text in r.stdout, text


def test_json_report_content_and_determinism(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli("--json", str(a), "--seed", "7", "logsumexp", "sigmoid").returncode == 0
    assert cli("--json", str(b), "--seed", "7", "logsumexp", "sigmoid").returncode == 0
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(a.read_text())
    assert doc["seed"] == 7 and set(doc["versions"]) >= {"numpy", "jax", "torch"}
    assert [i["name"] for i in doc["identities"]] == ["sigmoid", "logsumexp"]
    check = doc["identities"][1]["checks"][0]
    assert {"check", "backend", "mode", "error", "tolerance", "passed"} <= set(check)
    assert doc["summary"]["passed"] is True


def test_backend_filter_and_float32():
    r = cli("--backend", "fd", "--dtype", "float32", "--json", "-", "exponential")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    checks = {c["check"] for c in doc["identities"][0]["checks"]}
    assert checks == {"fd", "cstep"}
    assert doc["identities"][0]["checks"][0]["tolerance"] == 1e-4


def test_exit_one_when_a_check_fails(monkeypatch, capsys):
    import dataclasses

    import verify.identities
    from verify.cli import main

    entry = verify.identities.BY_NAME["exponential"]
    wrong = dataclasses.replace(entry, derivative=lambda x: entry.derivative(x) * (1 + 1e-6))
    monkeypatch.setattr(verify.identities, "REGISTRY", [wrong])
    assert main(["exponential"]) == 1
    out = capsys.readouterr().out
    assert "exponential [jax, forward]: FAIL: max relative error" in out
    assert "1 identities FAIL" in out
