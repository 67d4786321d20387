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
runs = []
real_all, real_grouped = parallel.run_all, parallel.GroupedRun
def run_all(items, run_one, jobs, init=None):
    runs.append({"split": "by identity", "jobs": jobs, "torch._dynamo before the fork": "torch._dynamo" in sys.modules})
    return real_all(items, run_one, jobs, init)
class GroupedRun(real_grouped):
    def __init__(self, items, groups, run_task, prepare, jobs):
        if groups != ("all",):  # run_all's one group is recorded above
            runs.append({"split": "by framework", "jobs": jobs, "imported before the fork": [m for m in ("jax", "torch") if m in sys.modules]})
        super().__init__(items, groups, run_task, prepare, jobs)
parallel.run_all, parallel.GroupedRun = run_all, GroupedRun
found = []
real_available = cli._available
def available(args, checks, frameworks, answers=None):
    found.append(sorted(answers) if answers is not None else None)
    return real_available(args, checks, frameworks, answers)
cli._available = available
codes = [cli.main(sys.argv[1:]), cli.main(["-q", "--backend", "jax,fd", "power_rule", "quadratic_form"]),
         cli.main([*sys.argv[1:], "--backend", "torch,fd"])]  # last: it imports torch here, and no later run forks
print(json.dumps({"codes": codes, "runs": runs, "frameworks the workers imported": found}))
"""


def test_a_cli_run_uses_the_worker_processes_and_each_imports_only_its_framework():
    """A run of every backend is split by framework (cli.GROUPS): the workers are forked
    before JAX or torch is imported, each imports its own. A run of torch and the
    differences alone is split by identity: torch is imported before the fork (asking
    whether the claim's torch imports starts no thread; that question used to send every
    run to one process), and torch._dynamo, which torch.func's reverse mode imports, too
    (backends.preload), once, not once per worker. A run of JAX and the differences on
    identities without a claim imports no torch at all."""
    proc = subprocess.run([sys.executable, "-c", RECORD_JOBS, "-q", *FEW], cwd=ROOT, capture_output=True, text=True,
                          env=_env(CALCULUS_FOR_ML_JOBS="2"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome == {"codes": [0, 0, 0], "runs": [{"split": "by framework", "jobs": 2, "imported before the fork": []},
                                                    {"split": "by framework", "jobs": 2, "imported before the fork": []},
                                                    {"split": "by identity", "jobs": 2, "torch._dynamo before the fork": True}],
                       # without a claim, and torch left out by --backend, no torch at all
                       "frameworks the workers imported": [["jax", "torch"], ["jax"], None]}, outcome


def test_profile_times_the_imports_in_a_fresh_process():
    """The imports are timed where they happen: asking which frameworks import imports
    them, and a profile that started after that question showed 0.00 s for each."""
    run = _verify(["-q", "--profile", "--backend", "torch", "power_rule"], CALCULUS_FOR_ML_JOBS="1")
    assert run.returncode == 0, run.stderr
    rows = {line.split("  ")[1].strip(): float(line.split()[-4]) for line in run.stdout.splitlines()
            if line.startswith("  import")}
    assert set(rows) == {"import torch", "import torch._dynamo (torch.func's reverse mode)", "import scipy (finite differences)"}, rows
    assert rows["import torch"] > 0.05, rows  # torch takes a second or more to import in a fresh process
    # over workers split by framework: the imports once, not copied into each worker's profile
    run = _verify(["-q", "--profile", "power_rule", "sigmoid"], CALCULUS_FOR_ML_JOBS="2")
    assert run.returncode == 0, run.stderr
    wall = float(run.stdout.split("wall time of the run ")[1].split(" s")[0])
    rows = {line.split("  ")[1].strip(): float(line.split()[-4]) for line in run.stdout.splitlines() if line.startswith("  import")}
    assert set(rows) == {"import jax", "import torch", "import torch._dynamo (torch.func's reverse mode)", "import scipy (finite differences)"}, rows
    assert sum(rows.values()) < wall, (rows, wall)


# --------------------------------------------------------------------------------------
# The split by framework (cli.GROUPS, parallel.GroupedRun)
# --------------------------------------------------------------------------------------


def _as_dicts(result):
    import dataclasses

    return [dataclasses.asdict(c) for c in result.checks], result.notes


@pytest.mark.parametrize("name", ["sigmoid", "log_determinant", "softmax_jacobian", "rosenbrock_directional_derivative",
                                  "linear_layer_vjp", "quadratic_form_hessian", "rosenbrock_hvp", "mlp_training_loop"])  # every kind, a claim
@pytest.mark.parametrize("planted", [False, True])
def test_an_identity_split_by_framework_merges_to_its_result_in_one_run(name, planted):
    """What GROUPS relies on: an identity's JAX checks, and its torch and difference
    checks, give the same results run apart as together; merged (``cli._merged``), they are
    its result, failed checks (diagnosis, location, notes) included."""
    import dataclasses

    from verify.engine import run_entry
    from verify.identities import BY_NAME
    from verify.registry import Claim

    entry = BY_NAME[name]
    if planted and not isinstance(entry, Claim):
        wrong = entry.derivative
        entry = dataclasses.replace(entry, derivative=lambda *a: _scaled(wrong(*a), 1 + 1e-5))
    checks = cli.ALL_CHECKS
    whole = run_entry(entry, seed=3)
    groups = cli._groups_of(entry, ("jax", "torch", "fd"), checks)
    assert groups == (("rest",) if isinstance(entry, Claim) else ("jax", "rest"))
    parts = [run_entry(entry, seed=3, frameworks=tuple(fw for fw in ("jax", "torch", "fd") if fw in cli.GROUPS[g])) for g in groups]
    merged = cli._merged(entry, parts)
    assert _as_dicts(merged) == _as_dicts(whole)
    assert merged.passed == whole.passed == (not planted or isinstance(entry, Claim))


# --------------------------------------------------------------------------------------
# XLA's compile options for the CPU (backends.CPU_COMPILER_OPTIONS)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, args", [("tanh", ([-20.0, -7.5, 0.3, 9.0, 19.0],)),  # saturated: 1 − tanh² at the rounding floor
                                        ("softmax_jacobian", None), ("log_determinant", None), ("mlp_gradients", None),
                                        ("two_layer_tanh_network_jacobian", None), ("quadratic_form_hessian", None), ("logistic_loss_hvp", None)])
def test_jax_references_compiled_with_the_cpu_options_are_those_of_xla_defaults(name, args, monkeypatch):
    """The options make compilation cheaper and must not move a result: every JAX check of
    these identities (each kind, saturated tanh) has the same error, to the bit, when its
    references are compiled again with XLA's defaults."""
    import numpy as np

    from verify import backends
    from verify.engine import run_entry
    from verify.identities import BY_NAME

    jax = backends._jax()
    assert backends.compiler_options() == (backends.CPU_COMPILER_OPTIONS if jax.default_backend() == "cpu" else {})
    entry = BY_NAME[name]
    args = None if args is None else tuple(np.asarray(a) for a in args)
    monkeypatch.setattr(backends, "_JAX_REFERENCES", {})
    tuned = run_entry(entry, seed=5, frameworks=("jax",), args=args)
    monkeypatch.setattr(backends, "_COMPILER_OPTIONS", [{}])
    monkeypatch.setattr(backends, "_JAX_REFERENCES", {})  # compiled again, with the defaults
    default = run_entry(entry, seed=5, frameworks=("jax",), args=args)
    assert tuned.passed and len(tuned.checks) >= 2
    assert _as_dicts(tuned) == _as_dicts(default)


def test_an_xla_without_the_options_compiles_with_its_defaults(monkeypatch):
    from verify import backends
    from verify.engine import run_entry
    from verify.identities import BY_NAME

    monkeypatch.setattr(backends, "CPU_COMPILER_OPTIONS", {"xla_cpu_no_such_option_for_this_test": False})
    monkeypatch.setattr(backends, "_COMPILER_OPTIONS", [])
    monkeypatch.setattr(backends, "_JAX_REFERENCES", {})
    assert backends.compiler_options() == {}
    assert run_entry(BY_NAME["sigmoid"], frameworks=("jax",)).passed


def _scaled(value, factor):
    if isinstance(value, (tuple, list)):
        return type(value)(_scaled(v, factor) for v in value)
    return value * factor


GROUPED_RUNS = """
import json, os, sys, time
from verify import parallel

def square(item, group):
    if item == "raise":
        raise ValueError("planted")
    if item == "exit":
        os._exit(7)
    time.sleep(0.005)
    return item * item, group, os.getpid()

def scenario(items, submitted, steal_min, prepare=lambda group: {"group": group}):
    run = parallel.GroupedRun(items, ("a", "b"), square, prepare, jobs=2, steal_min=steal_min)
    finished = False
    try:
        ready = [run.ready("a"), run.ready("b")]
        for index, group in submitted:
            run.submit(index, group)
        got = [[i, {g: list(v) for g, v in parts.items()}] for i, parts in run.results(sorted({i for i, _ in submitted}))]
        finished = True
        return {"ready": ready, "results": got}
    except RuntimeError as exc:
        return {"error": str(exc)}
    finally:
        run.shutdown(finished)

both = [(i, "a") for i in range(12)] + [(i, "b") for i in range(0, 12, 3)]
print(json.dumps({
    "two groups": scenario(list(range(12)), both, {"a": 99, "b": 99}),
    "one long group": scenario(list(range(40)), [(i, "a") for i in range(40)], {"a": 5}),
    "a task raises": scenario([1, "raise"], [(0, "a"), (1, "b")], {}),
    "a worker dies": scenario([1, "exit"], [(0, "a"), (1, "b")], {}),
}))
"""


def test_grouped_run_gives_every_task_in_order_steals_a_long_queue_and_names_a_failure():
    """parallel.GroupedRun in a process of its own (forking this one, which has JAX's threads,
    is what jobs_for refuses)."""
    proc = subprocess.run([sys.executable, "-c", GROUPED_RUNS], cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    two = runs["two groups"]
    assert two["ready"] == [{"group": "a"}, {"group": "b"}]
    assert [i for i, _ in two["results"]] == list(range(12))  # in the order asked
    for i, parts in two["results"]:
        assert set(parts) == ({"a", "b"} if i % 3 == 0 else {"a"})
        assert all(value == i * i and group == g for g, (value, group, _) in parts.items())
    pids = {g: {parts[g][2] for _, parts in two["results"] if g in parts} for g in ("a", "b")}
    assert len(pids["a"]) == len(pids["b"]) == 1 and pids["a"] != pids["b"]  # each group in its worker: no queue was long enough to take from
    one = runs["one long group"]
    assert [i for i, _ in one["results"]] == list(range(40))
    assert len({parts["a"][2] for _, parts in one["results"]}) == 2  # the worker of "b" took "a"'s tasks
    assert "failed on 'raise' (b)" in runs["a task raises"]["error"] and "ValueError: planted" in runs["a task raises"]["error"]
    assert "a worker process died (exit code 7)" in runs["a worker dies"]["error"]


@pytest.mark.parametrize("split", [[], ["--backend", "torch,fd"]], ids=["by framework", "by identity"])
def test_ctrl_c_stops_the_workers_with_one_line_and_no_traceback(split):
    """SIGINT reaches the whole process group, workers included: they ignore it, and the CLI
    stops them and says "interrupted" (exit status 130), whenever the signal lands."""
    import signal
    import time

    # a process group of its own, like a shell's job (verify/__main__.py sets its own SIGINT handler,
    # whatever this process passes on)
    proc = subprocess.Popen([sys.executable, "-m", "verify", "-q", "--trials", "3", *split], cwd=ROOT, env=_env(CALCULUS_FOR_ML_JOBS="2"),
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(3)  # the workers are checking: three trials of the registry take over ten seconds
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "interrupted\n", err
    with pytest.raises(ProcessLookupError):  # no worker is left behind
        os.killpg(proc.pid, 0)


def test_grouped_run_takes_the_other_groups_tasks_by_their_import_cost():
    """GroupedRun._next_task alone (no process): nothing of the other group before close;
    after it, the other group's task only while STEAL_MIN of them wait, unless the worker
    has prepared (imported) that group already; a group no running worker prefers, always."""
    from collections import deque

    from verify import parallel

    run = object.__new__(parallel.GroupedRun)
    run.groups, run.steal_min, run.closed = ("jax", "rest"), {"jax": 3}, False
    run.queues = {"jax": deque([4, 5]), "rest": deque()}
    run.workers = [parallel._Worker(None, None, "jax", "busy", {"jax"}), parallel._Worker(None, None, "rest", "idle", {"rest"})]
    assert run._next_task("rest", {"rest"}) == "wait"  # before close
    run.closed = True
    assert run._next_task("rest", {"rest"}) is None  # 2 wait, fewer than 3, and JAX not imported: stop
    assert run._next_task("rest", {"rest", "jax"}) == (4, "jax")  # imported already: any task
    run.queues["jax"].extend([6, 7])
    assert run._next_task("rest", {"rest"}) == (5, "jax")  # 3 wait: worth the import
    run.workers[0].state = "stopped"
    run.queues["jax"] = deque([8])
    assert run._next_task("rest", {"rest"}) == (8, "jax")  # nobody else will: taken
