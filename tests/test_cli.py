"""The CLI: exit codes, filters, --list, --show, --json, usage errors; no traceback and no
silently ignored flag."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, cwd=ROOT)


def test_help_exits_zero():
    r = cli("--help")
    assert r.returncode == 0 and "--json" in r.stdout and "Exit status" in r.stdout


def test_filter_by_name_runs_one_row_and_exits_zero(capsys):
    code, out, _ = run(capsys, "sigmoid", "logsumexp")  # in process: the subprocess tests here pay the imports
    assert code == 0, out
    lines = [l for l in out.splitlines() if l.endswith("PASS")]
    assert [l.split()[0] for l in lines] == ["sigmoid", "logsumexp"]
    assert "2 identities" in out


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


def test_show_prints_statement_derivation_source_and_checks(capsys):
    code, out, _ = run(capsys, "--show", "sigmoid")
    assert code == 0
    for text in ["σ'(x) = σ(x)(1 − σ(x))", "derivations/01_single_variable_derivatives/sigmoid.md", "def sigmoid_derivative", "sigmoid [jax, reverse]: ok"]:
        assert text in out, text


def test_json_report_content_and_determinism(tmp_path, capsys):
    """Two runs, one in a process of its own, give the same bytes (tests/test_determinism.py:
    two processes, more identities)."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli("--json", str(a), "--seed", "7", "logsumexp", "sigmoid").returncode == 0
    assert run(capsys, "--json", str(b), "--seed", "7", "logsumexp", "sigmoid")[0] == 0
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(a.read_text())
    assert doc["seed"] == 7 and set(doc["versions"]) >= {"numpy", "jax", "torch"}
    assert [i["name"] for i in doc["identities"]] == ["sigmoid", "logsumexp"]
    check = doc["identities"][1]["checks"][0]
    assert {"check", "backend", "mode", "error", "tolerance", "passed"} <= set(check)
    assert doc["summary"]["passed"] is True


def test_backend_filter_and_float32():
    r = cli("--backend", "fd,cstep", "--dtype", "float32", "--json", "-", "exponential")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    checks = {c["check"] for c in doc["identities"][0]["checks"]}
    assert checks == {"fd", "cstep"}
    assert doc["identities"][0]["checks"][0]["tolerance"] == 1e-4
    assert doc["schema_version"] == 1 and doc["backends"] == ["fd", "cstep"]


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
    assert "1 identity FAIL" in out


# --------------------------------------------------------------------------------------
# In process (fast): every usage error is one line on stderr and exit 2, never a traceback
# --------------------------------------------------------------------------------------


def run(capsys, *argv):
    from verify.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err
    return code, out, err


def usage_error(capsys, *argv) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("python -m verify: error:"), err
    assert "identity  " not in out  # refused before any check ran
    return err


def test_show_a_chapter_shows_every_identity_of_it(capsys):
    from verify.identities import REGISTRY

    code, out, _ = run(capsys, "--show", "03", "--backend", "fd")
    assert code == 0
    names = [e.name for e in REGISTRY if e.chapter == "03_directional_derivatives"]
    assert len(names) >= 3
    for name in names:
        assert f"{name}  (03_directional_derivatives, " in out, name
    assert f"{len(names)} identities" in out


def test_show_two_names_shows_both_with_the_primal(capsys):
    code, out, _ = run(capsys, "--show", "sigmoid", "softplus", "--backend", "fd")
    assert code == 0
    assert "sigmoid  (01_single_variable_derivatives, derivative)" in out and "softplus  (01_single_variable_derivatives" in out
    assert "primal:" in out and "def sigmoid_derivative" in out
    assert "2 identities" in out


def test_show_and_list_write_json(tmp_path, capsys):
    shown, listed = tmp_path / "show.json", tmp_path / "list.json"
    assert run(capsys, "--show", "sigmoid", "--backend", "fd", "--json", str(shown))[0] == 0
    doc = json.loads(shown.read_text())
    assert doc["schema_version"] == 1 and [i["name"] for i in doc["identities"]] == ["sigmoid"]
    assert run(capsys, "--list", "sigmoid", "04", "--json", str(listed))[0] == 0
    names = [i["name"] for i in json.loads(listed.read_text())["identities"]]
    assert names[0] == "sigmoid" and "log_determinant" in names


def test_curriculum_filters(capsys):
    code, out, _ = run(capsys, "--curriculum", "sigmoid", "log_determinant")
    assert code == 0
    rows = [l for l in out.splitlines() if l.startswith("| 0")]
    assert [r.split("`")[1] for r in rows] == ["sigmoid", "log_determinant"]


def test_chapter_number_selects_the_chapter(capsys):
    by_number = run(capsys, "--list", "04")[1]
    by_folder = run(capsys, "--list", "04_matrix_calculus")[1]
    assert by_number == by_folder and "log_determinant" in by_number


def test_names_are_never_cut(capsys):
    code, out, _ = run(capsys, "rosenbrock_directional_derivative", "sigmoid", "--backend", "fd")
    assert code == 0
    row = next(l for l in out.splitlines() if l.startswith("rosenbrock_directional"))
    assert row.split()[0] == "rosenbrock_directional_derivative"
    header = out.splitlines()[0]
    assert header.index("statement") == len("rosenbrock_directional_derivative") + 1
    assert "…" not in row.split()[0]


def test_every_column_name_is_a_backend(capsys, tmp_path):
    path = tmp_path / "r.json"
    for name, expected in [("tape", {"torch.tape"}), ("jax-fwd", {"jax.fwd"}), ("torch", {"torch.fwd", "torch.rev", "torch.tape"}),
                           ("fd", {"fd"}), ("cstep", {"cstep"}), ("jax fwd,tape", {"jax.fwd", "torch.tape"})]:
        code, out, _ = run(capsys, "power_rule", "--backend", name, "--json", str(path))
        assert code == 0, (name, out)
        assert {c["check"] for c in json.loads(path.read_text())["identities"][0]["checks"]} == expected, name


def test_cstep_only_skips_identities_without_it(capsys):
    code, out, _ = run(capsys, "power_rule", "sigmoid", "--backend", "cstep")
    assert code == 0 and "1 selected identities have no cstep check and were not run: sigmoid" in out
    assert "no selected identity has a cstep check" in usage_error(capsys, "sigmoid", "--backend", "cstep")


def test_summary_states_the_configuration(capsys):
    code, out, _ = run(capsys, "limit_definition", "sigmoid", "--dtype", "float32", "--trials", "2", "--backend", "tape,fd")
    assert code == 0
    summary = out.strip().splitlines()[-1]
    assert "(float32; claims run in float64, 2 trials, each check reports its worst, tape+fd, " in summary, summary


def test_json_keeps_notes_and_the_trials_policy(tmp_path, capsys):
    module = tmp_path / "np_only.py"
    module.write_text(
        "import numpy as np\n"
        "def softplus_sum(x):\n    return float(np.sum(np.log1p(np.exp(x))))\n"
        "def softplus_sum_gradient(x):\n    return 1 / (1 + np.exp(-x))\n"
        "CHECKS = [dict(function=softplus_sum, derivative=softplus_sum_gradient, kind='gradient', args=(np.array([0.3, -1.2, 2.0]),))]\n"
    )
    path = tmp_path / "r.json"
    assert run(capsys, "--module", str(module), "--json", str(path), "--trials", "3")[0] == 0
    doc = json.loads(path.read_text())
    assert doc["identities"][0]["notes"] == ["softplus_sum does not run on JAX and torch arrays: checked without JAX and torch"]
    assert "worst trial" in doc["trials_policy"] and doc["trials"] == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sigmoid", "--seed", "-1"], "--seed must be an integer from 0"),
        (["sigmoid", "--trials", "0"], "--trials must be from 1"),
        (["sigmoid", "--backend", "tensorflow"], "unknown backend 'tensorflow'"),
        (["sigmoid", "--backend", ","], "unknown backend ''"),
        (["--show", "04_matrix_calculuss"], "did you mean 04_matrix_calculus"),
        (["--curriculum", "--json", "x.json"], "--json has no effect with --curriculum"),
        (["--curriculum", "--module", "x.py"], "--module has no effect with --curriculum"),
        (["--list", "--seed", "3"], "--seed has no effect with --list"),
        (["--list", "--show", "sigmoid"], "--list and --show exclude each other"),
        (["--show", "sigmoid", "-q"], "-q/--quiet has no effect with --show"),
        (["sigmoid", "--json", "/nonexistent_dir/x.json"], "the folder /nonexistent_dir does not exist"),
        (["sigmoid", "--json", "."], "is not a file path"),
        (["--module", "no_such_file.py"], "no such file"),
        (["99"], "no identity or chapter named '99'"),
    ],
)
def test_usage_errors_are_one_line(capsys, argv, message):
    assert message in usage_error(capsys, *argv)


def test_module_with_curriculum_is_a_usage_error_not_a_keyerror(tmp_path, capsys):
    module = tmp_path / "m.py"
    module.write_text("import numpy as np\nCHECKS = [dict(function=np.sin, derivative=np.cos, kind='derivative', args=(np.array([0.5]),))]\n")
    assert "--module has no effect with --curriculum" in usage_error(capsys, "--module", str(module), "--curriculum")


def test_without_the_packages_one_line_says_how_to_get_them(tmp_path):
    """python -S: no site-packages, as with a system python that lacks numpy."""
    for module in ("verify", "verify.sensitivity"):
        r = subprocess.run([sys.executable, "-S", "-m", module, "sigmoid"], capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "is not installed" in r.stderr and "make verify" in r.stderr and ".venv" in r.stderr


def test_sensitivity_cli_usage_errors(capsys):
    from verify.sensitivity import main

    assert main(["--seed", "-1"]) == 2
    assert main(["--seed", "x"]) == 2
    assert main(["--help"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--seed must be an integer from 0" in err


def test_show_a_claim_names_each_fact_once(capsys):
    code, out, _ = run(capsys, "--show", "limit_definition")
    assert code == 0
    facts = [l for l in out.splitlines() if ": ok: measured" in l]
    assert len(facts) == 4 and facts[0].count("forward quotient is O(h)") == 1


def test_a_run_turns_full_collections_off_and_restores_the_thresholds(monkeypatch):
    """verify/cli.py FULL_COLLECTIONS_OFF: during a run only; a test process calling main()
    gets its own thresholds back."""
    import gc

    from verify import cli as cli_module

    seen = []
    monkeypatch.setattr(cli_module, "_run", lambda args: seen.append(gc.get_threshold()) or 0)
    before = gc.get_threshold()
    assert cli_module.main(["sigmoid"]) == 0
    assert seen == [(before[0], before[1], cli_module.FULL_COLLECTIONS_OFF)] and gc.get_threshold() == before
