"""The speed of ``python -m verify`` (and optionally of the test suite): a reference commit
against this checkout, measured side by side in one run.

    python benchmarks/speed.py [--base DIR | --base-commit 4aea328] [--rounds 3] [--pytest]
    python benchmarks/speed.py --pytest-only    # the test suites alone, added to speed.json

The reference commit's code is checked out in a temporary git worktree (or ``--base``
names one) and run with this checkout's Python, each side from its own folder so that it
imports its own code, on the identities both registries have (the reference's whole
registry where the new one keeps it: the same checks on both sides). Each round runs,
alternating which side goes first:
- cold: ``python -m verify -q NAME...`` with an empty JAX compilation cache
  (CALCULUS_FOR_ML_JAX_CACHE pointing at a new temporary folder),
- warm: the same command again on that now filled cache.
The medians, the spread (min and max), the ratios new/old of the medians and the
median of the ratios within each round go to benchmarks/results/speed.md and speed.json, with the machine's load average during the
runs: the machine may be shared, so only runs interleaved like these compare.

The report of the new code is also compared byte for byte with itself run in one process
(CALCULUS_FOR_ML_JOBS=1: no worker processes), the run its speedups must not change.

``--pytest`` also times the test suites: the reference's ``python -m pytest`` against this
checkout's ``python -m pytest -n auto`` (what ``make test`` runs), whole, on the test
files both have, and on the test ids both collect (the same tests, each in its own suite's
version); ``--pytest-only`` runs only those, against the commit speed.json names, and adds
them to it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PY = sys.executable


def _env(cache: str | None = None, jobs: str | None = None) -> dict:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("JAX_"):  # a parent's JAX configuration must not leak in
            del env[name]
    env.pop("CALCULUS_FOR_ML_JOBS", None)
    if cache is not None:
        env["CALCULUS_FOR_ML_JAX_CACHE"] = cache
    if jobs is not None:
        env["CALCULUS_FOR_ML_JOBS"] = jobs
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd, cwd, env) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, 1-minute load average at the end, the process); the process's CPU
    seconds (its own and its children's, user + system) in ``proc.cpu_seconds``, and the
    cores that other processes (and the hypervisor: steal time) kept busy meanwhile, from
    /proc/stat, in ``proc.foreign_cores``."""
    from benchmarks.timing import LoadRecord

    record = LoadRecord.start()
    start, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    proc.cpu_seconds = _cpu() - cpu
    proc.foreign_cores = record.stop().foreign_cores
    if proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} in {cwd} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds, os.getloadavg()[0], proc


def identity_names(code: Path) -> list[str]:
    """The identities and claims a checkout's registry declares, in its order."""
    proc = subprocess.run([PY, "-m", "verify", "--list"], cwd=code, env=_env(), capture_output=True, text=True, check=True)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def verify_round(side: str, code: Path, samples: dict, loads: list, foreign: list, names: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix=f"jax-cache-{side}-") as cache:
        for phase in ("cold", "warm"):
            seconds, load, proc = timed([PY, "-m", "verify", "-q", *names], code, _env(cache))
            samples[f"{side} {phase}"].append(seconds)
            samples[f"{side} {phase} cpu"].append(proc.cpu_seconds)
            loads.append(load)
            others = ""
            if proc.foreign_cores is not None:
                foreign.append(proc.foreign_cores)
                others = f", other processes {proc.foreign_cores:.2f} cores"
            print(f"  {side:<3} {phase}: {seconds:6.2f} s wall, {proc.cpu_seconds:6.2f} s CPU (load {load:.2f}{others})", flush=True)


def same_report() -> dict:
    """The JSON report of this checkout over worker processes and in one process."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for label, jobs in (("workers", None), ("one process", "1")):
            path = Path(tmp) / f"{label.replace(' ', '_')}.json"
            timed([PY, "-m", "verify", "-q", "--json", str(path)], ROOT, _env(str(Path(tmp) / "cache"), jobs))
            paths[label] = path.read_bytes()
        return {"identical": paths["workers"] == paths["one process"], "bytes": len(paths["workers"])}


def same_verdicts(base: Path, names: list[str]) -> dict:
    """Both sides' JSON reports on the same identities: how many identities and checks each
    ran, whether every (identity, check) has the same verdict, and how many errors are equal."""
    with tempfile.TemporaryDirectory() as tmp:
        reports = {}
        for side, code in (("old", base), ("new", ROOT)):
            path = Path(tmp) / f"{side}.json"
            timed([PY, "-m", "verify", "-q", "--json", str(path), *names], code, _env(str(Path(tmp) / f"cache-{side}")))
            doc = json.loads(path.read_text(encoding="utf-8"))
            reports[side] = {(c["identity"], c["check"]): c for e in doc["identities"] for c in e["checks"]}
    old, new = reports["old"], reports["new"]
    shared = old.keys() & new.keys()
    return {
        "identities": len(names), "checks": {"old": len(old), "new": len(new), "both": len(shared)},
        "same_verdicts": sum(old[k]["passed"] == new[k]["passed"] for k in shared),
        "same_errors": sum(old[k]["error"] == new[k]["error"] for k in shared),
    }


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def ratio(new: dict, old: dict) -> dict:
    """new/old of the medians, and the range it spans from the extremes of each side."""
    return {"median": new["median"] / old["median"], "low": new["min"] / old["max"], "high": new["max"] / old["min"]}


def paired(new: dict, old: dict) -> dict:
    """new/old within each round (the two sides run back to back, under the same load):
    the median, min and max over the rounds."""
    return stats([n / o for n, o in zip(new["runs"], old["runs"], strict=True)])


def test_files(folder: Path) -> set[str]:
    return {p.name for p in (folder / "tests").glob("test_*.py")}


def worktree(commit: str) -> Path:
    """A temporary git worktree of ``commit``, with this checkout's .venv."""
    made = Path(tempfile.mkdtemp(prefix="speed-base-")) / "base"
    subprocess.run(["git", "worktree", "add", "--detach", str(made), commit], cwd=ROOT, check=True, capture_output=True)
    venv = made / ".venv"
    if not venv.exists() and (ROOT / ".venv").exists():
        venv.symlink_to((ROOT / ".venv").resolve())
    return made


def remove_worktree(made: Path | None) -> None:
    """Remove a worktree that ``worktree`` made (None: none was made)."""
    if made is not None:
        subprocess.run(["git", "worktree", "remove", "--force", str(made)], cwd=ROOT, capture_output=True)


def _kept_suites(commit: str) -> dict | None:
    """The test suites' times in speed.json, timed by a run of their own (--pytest-only)
    against the same reference commit: kept when a run without --pytest rewrites the file."""
    try:
        doc = json.loads((RESULTS / "speed.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    suites = doc.get("pytest")
    return suites if suites and "load_average_1min" in suites and doc.get("old") == commit else None


def test_ids(code: Path) -> list[str]:
    """The test ids (file::test[parameters]) a checkout's suite collects, in its order."""
    proc = subprocess.run([PY, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=code, env=_env(),
                          capture_output=True, text=True)
    return [line.strip() for line in proc.stdout.splitlines() if "::" in line]


def time_suites(base: Path, loads: list) -> dict:
    """One run each of the reference's ``python -m pytest`` and this checkout's ``python -m
    pytest -n auto``: whole, on the test files both have, and on the test ids both collect
    (seconds, exit status, summary)."""
    common = sorted(test_files(base) & test_files(ROOT))
    new_ids = set(test_ids(ROOT))
    same = [i for i in test_ids(base) if i in new_ids]
    suites = {}
    runs = {
        "old, whole suite": ([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"], base),
        "new, whole suite": ([PY, "-m", "pytest", "-n", "auto", "-q", "-p", "no:cacheprovider"], ROOT),
        "old, common files": ([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", *[f"tests/{f}" for f in common]], base),
        "new, common files": ([PY, "-m", "pytest", "-n", "auto", "-q", "-p", "no:cacheprovider", *[f"tests/{f}" for f in common]], ROOT),
        "old, same tests": ([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", *same], base),
        "new, same tests": ([PY, "-m", "pytest", "-n", "auto", "-q", "-p", "no:cacheprovider", *same], ROOT),
    }
    for label, (cmd, cwd) in runs.items():
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
        seconds = time.perf_counter() - start
        loads.append(os.getloadavg()[0])
        tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        suites[label] = {"seconds": seconds, "exit": proc.returncode, "summary": tail}
        print(f"  {label}: {seconds:.1f} s, exit {proc.returncode}: {tail}", flush=True)
    suites["common files"] = common
    suites["same tests"] = len(same)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    suites["new commit"] = head + (" with uncommitted changes" if dirty else "")
    return suites


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="a checkout of the reference commit (default: a temporary git worktree of --base-commit)")
    parser.add_argument("--base-commit", default="4aea328")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pytest", action="store_true", help="also time the test suites (minutes)")
    parser.add_argument("--from-json", action="store_true", help="only rewrite speed.md from the measurements in speed.json")
    parser.add_argument("--pytest-only", action="store_true",
                        help="only time the test suites (the reference: the commit speed.json names) and add them to speed.json")
    args = parser.parse_args(argv)
    if args.from_json or args.pytest_only:
        doc = json.loads((RESULTS / "speed.json").read_text(encoding="utf-8"))
        if args.pytest_only:
            base, made = args.base, None
            if base is None:
                base = made = worktree(doc["old"])
            try:
                loads = [os.getloadavg()[0]]
                doc["pytest"] = time_suites(base, loads)
                doc["pytest"]["load_average_1min"] = {"min": min(loads), "max": max(loads)}
            finally:
                remove_worktree(made)
            (RESULTS / "speed.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        (RESULTS / "speed.md").write_text(markdown(doc), encoding="utf-8")
        return 0

    made = None
    base = args.base
    if base is None:
        base = made = worktree(args.base_commit)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=base, capture_output=True, text=True).stdout.strip()
    new_commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    try:
        new_names = identity_names(ROOT)
        old_names = set(identity_names(base))
        names = [n for n in new_names if n in old_names]  # the reference's whole registry, where this one keeps it
        print(f"{len(names)} identities and claims in both registries ({len(new_names) - len(names)} only in the new one, not run)", flush=True)
        samples = {f"{s} {p}{c}": [] for s in ("old", "new") for p in ("cold", "warm") for c in ("", " cpu")}
        loads, foreign = [os.getloadavg()[0]], []
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", flush=True)
            order = [("old", base), ("new", ROOT)]
            for side, code in (order if r % 2 == 0 else order[::-1]):
                verify_round(side, code, samples, loads, foreign, names)
        verify = {k: stats(v) for k, v in samples.items()}
        ratios = {phase: {**ratio(verify[f"new {phase}"], verify[f"old {phase}"]), "within_rounds": paired(verify[f"new {phase}"], verify[f"old {phase}"])}
                  for phase in ("cold", "warm", "cold cpu", "warm cpu")}
        report = same_report()
        verdicts = same_verdicts(base, names)
        verdicts["only_new"] = [n for n in new_names if n not in old_names]
        suites = time_suites(base, loads) if args.pytest else _kept_suites(commit)
    finally:
        remove_worktree(made)

    doc = {
        "old": commit, "new": new_commit, "rounds": args.rounds, "python": platform.python_version(),
        "cores": os.cpu_count(), "load_average_1min": {"min": min(loads), "median": statistics.median(loads), "max": max(loads)},
        "foreign_cores": stats(foreign) if foreign else None,
        "verify": verify, "ratios": ratios, "same_report_in_one_process": report, "same_checks": verdicts, "pytest": suites,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "speed.md").write_text(markdown(doc), encoding="utf-8")
    print(markdown(doc))
    return 0


def _load_sentence(doc: dict) -> str:
    """Whether other processes used the machine during the runs: from /proc/stat (the cores
    busy beyond the runs' own CPU time, steal time included) where recorded; the 1-minute
    load average alone cannot tell, since the new code's own two workers raise it."""
    load, foreign = doc["load_average_1min"], doc.get("foreign_cores")
    average = f"the 1-minute load average was {load['min']:.2f} to {load['max']:.2f} (median {load['median']:.2f}) on {doc['cores']} cores"
    if foreign is None:
        return f"The machine's load was not recorded beyond its load average: {average}, the runs' own included."
    cores = f"{foreign['median']:.2f} cores (median; {foreign['min']:.2f} to {foreign['max']:.2f})"
    if foreign["median"] > 0.25:
        return (f"**The machine was shared while this ran**: other processes (or the hypervisor) kept {cores} busy "
                f"beyond the runs' own CPU time, and {average}. The runs competed for the cores; read the spread below.")
    cpu = doc["verify"].get("old warm cpu")
    varied = ""
    if cpu and cpu["min"] > 0:
        varied = (f" What this machine cannot see is the host beneath it: the old code's warm run, the same work each round, "
                  f"took {cpu['min']:.1f} to {cpu['max']:.1f} s of CPU time ({cpu['max'] / cpu['min']:.2f}×), "
                  "which points to a CPU slowed from outside (other guests of the host).")
    return f"Other processes kept {cores} busy beyond the runs' own CPU time; {average}, the runs' own included.{varied}"


def markdown(doc: dict) -> str:
    v, r = doc["verify"], doc["ratios"]
    lines = [
        "# Speed: `python -m verify`, before and after",
        "",
        f"Written by `python benchmarks/speed.py`: commit {doc['old']} (old) against {doc['new']} (new), "
        f"{doc['rounds']} interleaved rounds on a {doc['cores']}-core machine (Python {doc['python']}). "
        "Each round runs `python -m verify -q` cold (an empty JAX compilation cache) and then warm (the cache the cold run filled), "
        "alternating which side goes first. Both sides run the same identities: every one the old registry has "
        "(the new code's additions are left out, so that both run the same checks).",
        "",
        _load_sentence(doc),
        "",
        "Wall time is what a user waits; CPU time (user + system, the process and its workers) is what the run costs the machine, "
        "and is less sensitive to the other load. The range of a ratio goes from the new side's fastest over the old side's "
        "slowest to the new side's slowest over the old side's fastest. The last column pairs the two sides within each round "
        "(run back to back, under the same load; the host's slowdowns come and go between rounds) and gives the median of "
        "those ratios, with their min and max.",
        "",
        "| run | old median (min – max) | new median (min – max) | new/old of the medians (range) | new/old within a round: median (min – max) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for phase in ("cold", "warm", "cold cpu", "warm cpu"):
        o, n, q = v[f"old {phase}"], v[f"new {phase}"], r[phase]
        p = paired(n, o)
        label = phase.replace(" cpu", ", CPU time") if "cpu" in phase else f"{phase}, wall time"
        lines.append(
            f"| {label} | {o['median']:.1f} s ({o['min']:.1f} – {o['max']:.1f}) | {n['median']:.1f} s ({n['min']:.1f} – {n['max']:.1f}) "
            f"| {q['median']:.2f}× ({q['low']:.2f} – {q['high']:.2f}) | {p['median']:.2f}× ({p['min']:.2f} – {p['max']:.2f}) |"
        )
    goals = {"cold": 0.4, "warm": 0.5}
    lines += ["", "Against the goals (new/old of the median wall times; met only where that ratio is within the goal):"]
    for phase, goal in goals.items():
        got, within = r[phase]["median"], paired(v[f"new {phase}"], v[f"old {phase}"])["median"]
        lines.append(f"- {phase}: {got:.2f}× against a goal of ≤ {goal}×: {'met' if got <= goal else 'missed'} "
                     f"(within a round: median {within:.2f}×).")
    same = doc["same_report_in_one_process"]
    checks = doc.get("same_checks")
    if checks:
        c = checks["checks"]
        lines += [
            "",
            f"Both sides ran the same {checks['identities']} identities and claims ({c['old']} checks old, {c['new']} new, "
            f"{c['both']} in both): {checks['same_verdicts']} of the {c['both']} have the same verdict, and "
            f"{checks['same_errors']} the same error to the last bit. Left out, only in the new registry: "
            f"{', '.join(checks['only_new']) or 'none'}.",
        ]
    lines += [
        "",
        f"The new code's JSON report over worker processes and in one process (`CALCULUS_FOR_ML_JOBS=1`): "
        f"{'identical, byte for byte' if same['identical'] else 'DIFFERENT'} ({same['bytes']} bytes).",
    ]
    if doc.get("pytest"):
        p = doc["pytest"]
        lines += [
            "",
            "## The test suite",
            "",
            "Old: `python -m pytest`; new: `python -m pytest -n auto` (what `make test` runs). One run each"
            + (f", the new side at commit {p['new commit']}" if "new commit" in p else "")
            + (f", timed by a run of its own (`--pytest-only`; 1-minute load average {p['load_average_1min']['min']:.2f} to "
               f"{p['load_average_1min']['max']:.2f})." if "load_average_1min" in p else "."),
            "The common files are those both suites name alike; the new versions hold the tests added since, so that "
            "row compares suites. The same tests are the test ids (file::test[parameters]) both suites collect"
            + (f", {p['same tests']} of them" if "same tests" in p else "")
            + ", each run by its own suite's code (a test kept under its name may assert more in the new version).",
            "",
            "| suite | old | new | new/old |",
            "| --- | --- | --- | --- |",
        ]
        for part in ("whole suite", "common files", "same tests"):
            if f"old, {part}" not in p:
                continue
            o, n = p[f"old, {part}"], p[f"new, {part}"]
            lines.append(f"| {part} | {o['seconds']:.1f} s ({o['summary']}) | {n['seconds']:.1f} s ({n['summary']}) | {n['seconds'] / o['seconds']:.2f}× |")
        lines += ["", f"Common files: {', '.join(p['common files'])}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
