"""What the speedups of a verify run must not change (never their timing): the JSON report
over worker processes is the report of one process, byte for byte; a finite-differences run
imports neither JAX nor torch and still reports their versions; ``--profile`` reports the
parts that ran, and only those."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verify import cli

ROOT = Path(__file__).resolve().parents[1]
# a derivative, a gradient and the claim that compares with torch
FEW = ["power_rule", "quadratic_form", "mlp_training_loop"]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_") and k != "CALCULUS_FOR_ML_JOBS"}
    env.update(extra)
    return env


def _verify(args, **env):
    return subprocess.run([sys.executable, "-m", "verify", *args], cwd=ROOT, capture_output=True, text=True, env=_env(**env), timeout=300)


def _in_process(args, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setenv("CALCULUS_FOR_ML_JOBS", "1")
    code = cli.main(args)
    return code, capsys.readouterr().out


def test_report_over_worker_processes_is_the_report_of_one_process(tmp_path, monkeypatch, capsys):
    parallel = _verify(["-q", "--json", str(tmp_path / "workers.json"), *FEW], CALCULUS_FOR_ML_JOBS="2")
    assert parallel.returncode == 0, parallel.stderr
    code, _ = _in_process(["-q", "--json", str(tmp_path / "one.json"), *FEW], monkeypatch, capsys)
    assert code == 0
    workers, one = (tmp_path / "workers.json").read_bytes(), (tmp_path / "one.json").read_bytes()
    assert [e["name"] for e in json.loads(workers)["identities"]] == FEW  # registry order kept
    assert workers == one
    # the comparison is fine enough to see a changed draw: another seed gives other bytes
    code, _ = _in_process(["-q", "--seed", "1", "--json", str(tmp_path / "seed1.json"), *FEW], monkeypatch, capsys)
    assert code == 0
    assert (tmp_path / "seed1.json").read_bytes() != one


def test_worker_processes_only_from_a_process_without_jax_or_torch(monkeypatch):
    from verify import parallel

    monkeypatch.setenv("CALCULUS_FOR_ML_JOBS", "2")
    import torch  # noqa: F401  (this test process has them: it must not fork)

    assert parallel.jobs_for(10) == 1
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.delitem(sys.modules, "jax", raising=False)
    assert parallel.jobs_for(10) == 2
    assert parallel.jobs_for(1) == 1


@pytest.mark.parametrize("value", ["0", "two", "-3"])
def test_a_bad_number_of_processes_is_a_usage_error(value, monkeypatch, capsys):
    monkeypatch.setenv("CALCULUS_FOR_ML_JOBS", value)
    assert cli.main(["-q", "--backend", "fd", "power_rule"]) == cli.EXIT_USAGE
    assert "CALCULUS_FOR_ML_JOBS" in capsys.readouterr().err


PROBE = """
import json, sys
from verify import backends, cli
code = cli.main(sys.argv[1:])
print(json.dumps({"code": code, "jax": "jax" in sys.modules, "torch": "torch" in sys.modules,
                  "versions": backends.versions()}))
"""


def _imports(args, tmp_path) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                          env=_env(CALCULUS_FOR_ML_JOBS="1"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_finite_difference_run_imports_neither_jax_nor_torch(tmp_path):
    fd = _imports(["-q", "--backend", "fd", "power_rule", "quadratic_form"], tmp_path)
    assert fd["code"] == 0 and not fd["jax"] and not fd["torch"]
    # the probe sees an import where one happens: a JAX run imports JAX
    jax_run = _imports(["-q", "--backend", "jax", "power_rule"], tmp_path)
    assert jax_run["code"] == 0 and jax_run["jax"] and not jax_run["torch"]
    # the versions in the report are the same whether or not the packages were imported
    import jax
    import torch  # noqa: F401

    from verify import backends

    assert fd["versions"] == jax_run["versions"] == backends.versions()
    assert fd["versions"]["jax"] == jax.__version__


def test_profile_reports_the_parts_that_ran(monkeypatch, capsys):
    from verify import backends

    monkeypatch.setattr(backends, "_JAX_REFERENCES", {})  # traces kept from earlier tests in this process would compile nothing
    code, out = _in_process(["-q", "--profile", "power_rule", "softmax_jacobian"], monkeypatch, capsys)
    assert code == 0
    table = out[out.index("profile ("):]
    for label in ("import jax", "import torch", "import scipy", "JAX checks", "of which XLA compilation",
                  "torch.func checks", "torch.autograd tape checks", "finite differences", "hand-coded derivatives"):
        assert label in table, label
    seconds = {line.split("  ")[1].strip(): float(line.split()[-4]) for line in table.splitlines()[1:]
               if line.rstrip().endswith("%")}
    assert seconds["JAX checks (jax fwd, jax rev)"] > 0 and seconds["finite differences (scipy)"] > 0
    # and only those: a finite-difference run has no JAX or torch row
    code, out = _in_process(["-q", "--profile", "--backend", "fd", "power_rule"], monkeypatch, capsys)
    assert code == 0
    table = out[out.index("profile ("):]
    assert "finite differences" in table
    assert "JAX checks" not in table and "torch.func" not in table and "import jax" not in table


def test_profile_is_refused_where_nothing_runs(capsys):
    assert cli.main(["--list", "--profile"]) == cli.EXIT_USAGE
    assert "--profile has no effect" in capsys.readouterr().err


RECORD_JOBS = """
import json, sys
from verify import cli, parallel
seen, imported = [], []
real = parallel.run_all
def run_all(items, run_one, jobs, init=None):
    seen.append(jobs)
    imported.append("torch._dynamo" in sys.modules)  # before the fork, or each worker imports it
    return real(items, run_one, jobs, init)
parallel.run_all = run_all
code = cli.main(sys.argv[1:])
print(json.dumps({"code": code, "jobs": seen, "torch._dynamo before the fork": imported}))
"""


def test_a_cli_run_uses_the_worker_processes_even_after_asking_whether_torch_imports():
    """Whether the claim's torch can be imported is asked (and torch imported) before the
    run: that import starts no thread, and used to send every run to one process. And
    torch._dynamo, which torch.func's reverse mode imports, is imported before the fork
    (backends.preload), once, not once per worker."""
    proc = subprocess.run([sys.executable, "-c", RECORD_JOBS, "-q", *FEW], cwd=ROOT, capture_output=True, text=True,
                          env=_env(CALCULUS_FOR_ML_JOBS="2"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 0, "jobs": [2], "torch._dynamo before the fork": [True]}, outcome


def test_profile_times_the_imports_in_a_fresh_process():
    """The imports are timed where they happen: asking which frameworks import imports
    them, and a profile that started after that question showed 0.00 s for each."""
    run = _verify(["-q", "--profile", "--backend", "torch", "power_rule"], CALCULUS_FOR_ML_JOBS="1")
    assert run.returncode == 0, run.stderr
    rows = {line.split("  ")[1].strip(): float(line.split()[-4]) for line in run.stdout.splitlines()
            if line.startswith("  import")}
    assert set(rows) == {"import torch", "import torch._dynamo (torch.func's reverse mode)", "import scipy (finite differences)"}, rows
    assert rows["import torch"] > 0.05, rows  # torch takes a second or more to import in a fresh process
