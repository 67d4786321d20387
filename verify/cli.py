"""``python -m verify``: run the checks of the registry and report them.

Exit status: 0 when every check passes, 1 when any fails, 2 on a usage error, 3 on an
internal error (a bug: set VERIFY_DEBUG=1 to see its traceback), 130 on Ctrl-C. No flag is silently
ignored: a flag that has no effect in the chosen mode is a usage error.
"""

from __future__ import annotations

import argparse
import difflib
import gc
import inspect
import os
import sys
import time
from pathlib import Path

from .engine import DTYPES, FRAMEWORK_CHOICES

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
FULL_COLLECTIONS_OFF = 10**6
"""The garbage collector's oldest-generation threshold during a run: a full collection walks
every object JAX, torch and torch._dynamo hold (a one-process run of the registry made
seven, 0.6 s). The young generations still collect the cycles that tracing leaves, and the
run's peak memory was the same; over two workers it saved 0.85–1.7 s of user CPU time in
each of six paired runs (0.56 s of wall time on average)."""
MAX_TRIALS = 1000
MAX_SEED = 2**64 - 1

COLUMN_CHECKS = {
    # --backend NAME: the table columns it selects (check ids of verify/engine.py)
    "jax": ("jax.fwd", "jax.rev"),
    "torch": ("torch.fwd", "torch.rev", "torch.tape"),
    "jax.fwd": ("jax.fwd",),
    "jax.rev": ("jax.rev",),
    "torch.fwd": ("torch.fwd",),
    "torch.rev": ("torch.rev",),
    "tape": ("torch.tape",),
    "fd": ("fd",),
    "cstep": ("cstep",),
}
ALL_CHECKS = ("jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "torch.tape", "fd", "cstep")
FRAMEWORK_OF = {"jax.fwd": "jax", "jax.rev": "jax", "torch.fwd": "torch", "torch.rev": "torch", "torch.tape": "torch", "fd": "fd", "cstep": "fd"}
BACKEND_HELP = (
    "restrict to these table columns (repeat or comma-separate): jax (jax fwd + jax rev), "
    "torch (torch fwd + torch rev + tape), jax-fwd, jax-rev, torch-fwd, torch-rev, tape, "
    "fd (finite differences), cstep (complex step, holomorphic identities only); default all"
)


from .results import UsageError  # noqa: E402  (a usage mistake: exit status 2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verify",
        description=(
            "Check every hand-coded derivative of the curriculum against JAX (forward and "
            "reverse), torch.func (forward and reverse), the torch.autograd tape, "
            "finite differences (scipy.differentiate) and, for holomorphic "
            "functions, the complex step. One row per identity: the max relative error "
            "of every check; '!' marks a check over its tolerance."
        ),
        epilog=(
            "Exit status: 0 all checks pass, 1 a check fails, 2 usage error, 3 internal error, 130 Ctrl-C. "
            "Exercises: python -m verify --exercises 02 my_answers.py grades a copy of "
            "derivations/02_multivariable_derivatives/starter.py."
        ),
    )
    parser.add_argument("filters", nargs="*", metavar="NAME_OR_CHAPTER",
                        help="identity names, chapter folders (01_single_variable_derivatives) or chapter numbers (01); default: all")
    parser.add_argument("--list", action="store_true", help="list the identities (after filters), or with --exercises the chapter's exercises, and exit")
    parser.add_argument("--show", nargs="+", metavar="NAME", help="statement, derivation, the primal's and the derivative's source, and the checks of each named identity (or chapter)")
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON ('-' for stdout); the schema is in README.md")
    parser.add_argument("--seed", type=int, default=None, help="seed of every random draw (default 0)")
    parser.add_argument("--trials", type=int, default=None, metavar="N", help="independent input draws per identity; each check reports its worst (default 1)")
    parser.add_argument("--backend", action="append", metavar="NAME", help=BACKEND_HELP)
    parser.add_argument("--dtype", default=None, choices=DTYPES, help="dtype of inputs and derivatives, tolerances follow it (default float64; claims always run in float64)")
    parser.add_argument("--module", metavar="FILE", help="check the function/derivative pairs a user's Python file declares")
    parser.add_argument("--curriculum", action="store_true", help="print the curriculum table (markdown, after filters) and exit")
    parser.add_argument("--exercises", nargs="+", metavar=("CHAPTER", "FILE"),
                        help="grade the coding exercises of a chapter (02 or 02_multivariable_derivatives) in FILE (default: the chapter's starter.py)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    parser.add_argument("--profile", action="store_true",
                        help="after the summary, print where the run's time went: imports (jax, torch, scipy), JAX tracing and "
                             "compilation, each backend's checks, the finite differences, the hand-coded derivatives")
    return parser


# --------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------


def _normalise_backend(name: str) -> str:
    key = name.strip().lower()
    for sep in (" ", "-", "_"):
        key = key.replace(sep, ".")
    return {"torch.tape": "tape", "torch.autograd": "tape", "autograd": "tape", "complex.step": "cstep"}.get(key, key)


def selected_checks(values) -> tuple[str, ...]:
    """The check ids (table columns) that --backend values select, in table order."""
    if not values:
        return ALL_CHECKS
    chosen = set()
    for value in values:
        for name in value.split(","):
            key = _normalise_backend(name)
            if key not in COLUMN_CHECKS:
                raise UsageError(f"unknown backend {name.strip()!r}; choose from jax, torch, jax-fwd, jax-rev, torch-fwd, torch-rev, tape, fd, cstep")
            chosen.update(COLUMN_CHECKS[key])
    return tuple(c for c in ALL_CHECKS if c in chosen)


def _frameworks(values) -> tuple[str, ...]:
    """The engine's frameworks (jax, torch, fd) needed by the selected columns."""
    checks = selected_checks(values)
    return tuple(fw for fw in FRAMEWORK_CHOICES if any(FRAMEWORK_OF[c] == fw for c in checks))


def backends_label(checks: tuple[str, ...]) -> str:
    """jax+torch+fd for every column; else the selected groups and columns."""
    parts = []
    rest = list(checks)
    for group in ("jax", "torch"):
        if all(c in rest for c in COLUMN_CHECKS[group]):
            parts.append(group)
            rest = [c for c in rest if c not in COLUMN_CHECKS[group]]
    if "fd" in rest and "cstep" in rest:
        parts.append("fd")
        rest = [c for c in rest if c not in ("fd", "cstep")]
        parts.append("cstep")
    names = {"jax.fwd": "jax-fwd", "jax.rev": "jax-rev", "torch.fwd": "torch-fwd", "torch.rev": "torch-rev", "torch.tape": "tape", "fd": "fd", "cstep": "cstep"}
    parts += [names[c] for c in rest]
    return "+".join(parts)


def select(registry, filters):
    """Entries whose name, chapter folder or chapter number is among ``filters`` (all if none), in registry order."""
    if not filters:
        return list(registry)
    names = {e.name for e in registry}
    chapters = {e.chapter for e in registry}
    numbered = {int(c[:2]): c for c in chapters if c[:2].isdigit()}
    wanted = set()
    for f in filters:
        key = str(f).rstrip("/").split("/")[-1]
        if key.isdigit() and int(key) in numbered and len(key) <= 3:
            key = numbered[int(key)]
        if key not in names | chapters:
            close = difflib.get_close_matches(key, sorted(names | chapters), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see --list"
            raise UsageError(f"no identity or chapter named {f!r}{hint}")
        wanted.add(key)
    return [e for e in registry if e.name in wanted or e.chapter in wanted]


def _check_json_path(value) -> None:
    """Refuse an unwritable --json path before any work starts."""
    if value is None or value == "-":
        return
    path = Path(value)
    if value == "" or path.is_dir():
        raise UsageError(f"--json {value!r} is not a file path; give e.g. --json report.json")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"--json {value}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"--json {value}: not writable")


def _write_json(value, doc) -> None:
    from . import report

    text = report.dumps(doc)
    if value == "-":
        sys.stdout.write(text)
        return
    try:
        Path(value).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {value}: {exc.strerror}") from None


def _refuse(args, mode: str, flags) -> None:
    """A usage error when a flag that has no effect in ``mode`` was given."""
    given = {
        "NAME_OR_CHAPTER filters": bool(args.filters),
        "--json": args.json is not None,
        "--seed": args.seed is not None,
        "--trials": args.trials is not None,
        "--backend": bool(args.backend),
        "--dtype": args.dtype is not None,
        "--module": args.module is not None,
        "-q/--quiet": args.quiet,
        "--list": args.list,
        "--show": bool(args.show),
        "--curriculum": args.curriculum,
        "--profile": args.profile,
    }
    for flag in flags:
        if given[flag]:
            raise UsageError(f"{flag} has no effect with {mode}; leave it out")


# --------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------


def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return f"<source of {fn!r} unavailable>"


def _qualname(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def show(entry, result, name_width: int | None = None) -> str:
    from . import report

    impl = getattr(entry, "derivative", None) or entry.implementation
    lines = [
        f"{entry.name}  ({entry.chapter}, {entry.kind})",
        f"statement:  {entry.statement}",
        f"derivation: {entry.derivation or '-'}",
    ]
    primal = getattr(entry, "function", None)
    if primal is not None:
        lines += [f"primal:     {_qualname(primal)}", "", _source(primal).rstrip(), ""]
    lines += [
        f"code:       {_qualname(impl)}",
        "",
        _source(impl).rstrip(),
        "",
        "checks:",
    ]
    for c in result.checks:
        detail = f"  [{c.method}]" if c.method else ""
        if c.oracle == "claim":  # the message names the fact: no id column, no repeated label
            verdict = "ok" if c.passed else "FAIL"
            if c.error is None or c.tolerance is None:
                measured = c.reason or "could not be measured"
            else:
                measured = f"measured {c.error:.3g} {'<=' if c.passed else '>'} bound {c.tolerance:.3g}"
            lines.append(f"  {c.check.removeprefix('claim:')}: {verdict}: {measured}{detail}")
        else:
            lines.append(f"  {c.check:<12} {c.message()}{detail}")
    lines += ["", report.header(name_width), report.row(result, name_width)]
    return "\n".join(lines)


def curriculum_table(registry) -> str:
    from .identities import CHAPTERS

    out = [
        "| chapter | identity | statement | derivation | code | check |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for e in registry:
        impl = getattr(e, "derivative", None) or e.implementation
        rel = e.derivation.removeprefix("derivations/")
        statement = e.statement.replace("|", "\\|")
        out.append(
            f"| {e.chapter[:2]} {CHAPTERS[e.chapter].split(':')[0]} | `{e.name}` | {statement} | [{Path(rel).name}]({rel}) "
            f"| [`{impl.__module__.replace('.', '/')}.py::{impl.__qualname__}`](../{impl.__module__.replace('.', '/')}.py) "
            f"| `python -m verify {e.name}` |"
        )
    return "\n".join(out)


def _frameworks_it_runs_on(entry, frameworks):
    """(frameworks, note): drop JAX/torch when the primal does not run on their arrays."""
    import numpy as np

    from .api import runs_on

    try:
        args = tuple(entry.sample(np.random.default_rng(0)))
    except Exception:  # the engine reports the sampler's failure itself
        return frameworks, ""
    unable = [fw for fw in frameworks if fw != "fd" and not runs_on(fw, entry.function, args)]
    if not unable:
        return frameworks, ""
    kept = tuple(fw for fw in frameworks if fw not in unable) or ("fd",)
    names = " and ".join({"jax": "JAX", "torch": "torch"}[fw] for fw in unable)
    return kept, f"{entry.name} does not run on {names} arrays: checked without {names}"


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    from . import parallel

    parallel.note_start()  # before any question to JAX or torch imports them
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], FULL_COLLECTIONS_OFF)
    try:
        return _run(args)
    except UsageError as exc:
        print(f"python -m verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ImportError:  # a package missing from the environment: verify/__main__.py says which
        raise
    except Exception as exc:  # a bug: one line, and the traceback on request
        if os.environ.get("VERIFY_DEBUG"):
            raise
        text = str(exc).strip().splitlines()
        print(f"python -m verify: internal error: {type(exc).__name__}: {text[0] if text else ''} "
              "(a bug; VERIFY_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        parallel.note_end()
        gc.set_threshold(*thresholds)


def _validate(args) -> None:
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer from 0 to 2**64 - 1, not {args.seed}")
    if args.trials is not None and not 1 <= args.trials <= MAX_TRIALS:
        raise UsageError(f"--trials must be from 1 to {MAX_TRIALS}, not {args.trials}")
    selected_checks(args.backend)  # raises on an unknown name
    modes = [m for m, on in (("--list", args.list), ("--show", bool(args.show)), ("--curriculum", args.curriculum)) if on]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} exclude each other; give one")
    if args.exercises is not None:
        if len(args.exercises) > 2:
            raise UsageError(f"--exercises takes a chapter and at most one answers file, not {len(args.exercises)} values: "
                             "python -m verify --exercises 02 my_answers.py")
        if args.filters and len(args.exercises) == 1 and not args.list:
            raise UsageError(f"give the answers file after the chapter: python -m verify --exercises {args.exercises[0]} {args.filters[0]}")
        _refuse(args, "--exercises", ["NAME_OR_CHAPTER filters", "--module", "--show", "--curriculum", "--profile"])
        if args.list:
            _refuse(args, "--exercises --list", ["--seed", "--trials", "--backend", "--dtype", "-q/--quiet"])
    elif args.curriculum:
        _refuse(args, "--curriculum (it prints the curriculum's markdown table)", ["--json", "--module", "--seed", "--trials", "--backend", "--dtype", "-q/--quiet", "--profile"])
    elif args.list:
        _refuse(args, "--list (it runs no check)", ["--seed", "--trials", "--backend", "--dtype", "-q/--quiet", "--profile"])
    elif args.show:
        _refuse(args, "--show (it prints every check)", ["-q/--quiet"])
    _check_json_path(args.json)


def _run(args) -> int:
    start = time.perf_counter()
    _validate(args)
    seed = 0 if args.seed is None else args.seed
    trials = 1 if args.trials is None else args.trials
    dtype = args.dtype or "float64"
    checks = selected_checks(args.backend)
    frameworks = _frameworks(args.backend)
    if args.exercises is not None:
        return _run_exercises(args, seed, trials, dtype, checks, frameworks)
    if args.module:
        from .user_module import load_entries

        registry = load_entries(args.module)  # raises UsageError with a reason
    else:
        from .identities import REGISTRY as registry

    if args.curriculum:
        print(curriculum_table(select(registry, args.filters)))
        return EXIT_OK
    if args.show:
        entries = select(registry, list(args.show) + list(args.filters))
    else:
        entries = select(registry, args.filters)
    if args.list:
        width = max([len(e.name) for e in entries] + [8])
        chapter_width = max([len(e.chapter) for e in entries] + [7])
        if args.json is not None:
            doc = {"schema_version": _schema_version(), "tool": "calculus-for-ml verify --list", "identities": [
                {"name": e.name, "chapter": e.chapter, "kind": e.kind, "statement": e.statement, "derivation": e.derivation} for e in entries]}
            _write_json(args.json, doc)
            if args.json == "-":
                return EXIT_OK
        for e in entries:
            print(f"{e.name:<{width}}  {e.chapter:<{chapter_width}}  {e.kind:<11} {e.statement}")
        return EXIT_OK
    return _run_checks(args, entries, seed, trials, dtype, checks, frameworks, start)


def _schema_version() -> int:
    from .report import SCHEMA_VERSION

    return SCHEMA_VERSION


def _keep_selected(result, checks):
    """Drop the columns --backend did not select (a claim's measurements always stay)."""
    result.checks = [c for c in result.checks if c.check not in ALL_CHECKS or c.check in checks]
    return result


def _available(args, checks, frameworks, found: dict | None = None):
    """(checks, frameworks, missing, note): a framework that cannot be imported is left out,
    with a note; one that --backend asks for is a usage error. ``found``: what the worker
    processes found ({framework: why it cannot be imported, or None}; see
    backends.record_availability), else asked here (which imports them)."""
    from . import backends

    if found is not None:
        backends.record_availability(found)
    missing = backends.unavailable(frameworks)
    if not missing:
        return checks, frameworks, {}, ""
    if args.backend:
        hint = backends.install_hint(next(iter(missing)) if len(missing) == 1 else "all")
        raise UsageError(f"--backend {','.join(args.backend)} needs {' and '.join(backends.DISPLAY[fw] for fw in missing)}, "
                         f"but {'; '.join(missing.values())} ({hint})")
    checks = tuple(c for c in checks if FRAMEWORK_OF[c] not in missing)
    frameworks = tuple(fw for fw in frameworks if fw not in missing)
    return checks, frameworks, missing, backends.missing_note(missing, fd_only=frameworks == ("fd",))


GROUPS = {"jax": ("jax",), "rest": ("torch", "fd")}
"""How a run splits each identity's checks: JAX's in one group; torch's, the differences'
and the claims' in the other. Over worker processes each worker imports the framework of
its group (parallel.GroupedRun): the JAX worker starts checking while the other still
imports torch, and neither pays the other's import (torch with torch._dynamo 3.3 s, JAX
0.7 s). The checks of one group do not depend on the other's (every input, probe and
tolerance is drawn or computed per identity), so an identity's result is its groups'
results merged (``_merged``); one process runs the groups one after the other and merges
them alike, so that the JSON report is the same byte for byte whatever the number of
processes. A --module run is not split (which frameworks a user's function runs on is
one note over both)."""


def _groups_of(entry, frameworks, checks) -> tuple[str, ...]:
    """The groups of GROUPS holding a selected check of ``entry`` (a claim: "rest")."""
    from .engine import check_specs
    from .registry import Claim

    if isinstance(entry, Claim):
        return ("rest",)
    ids = {s.id for s in check_specs(entry, frameworks)} & set(checks)
    return tuple(group for group, members in GROUPS.items() if any(FRAMEWORK_OF[c] in members for c in ids))


def _merged(entry, parts: list):
    """One EntryResult of its groups' results (in GROUPS order): the checks in the order
    engine.check_specs generates them, the notes in order without repeats."""
    from .engine import check_specs
    from .results import EntryResult

    if len(parts) == 1:
        return parts[0]
    order = {s.id: i for i, s in enumerate(check_specs(entry, FRAMEWORK_CHOICES))}
    first = parts[0]
    return EntryResult(first.name, first.chapter, first.statement, first.kind, first.derivation,
                       checks=sorted((c for p in parts for c in p.checks), key=lambda c: order.get(c.check, len(order))),
                       seconds=sum(p.seconds for p in parts), notes=list(dict.fromkeys(n for p in parts for n in p.notes)),
                       strategy=next((p.strategy for p in parts if p.strategy), ""))


def _prepare_group(group: str, frameworks, claims: bool) -> dict:
    """In a worker: import what the group's checks use; {framework: why it cannot be
    imported, or None} for its frameworks (and torch where ``claims`` run: the "rest"
    group's, whatever --backend selects)."""
    from . import backends

    wanted = [fw for fw in GROUPS[group] if fw in frameworks or (claims and group == "rest" and fw == "torch")]
    missing = backends.unavailable(wanted)
    backends.preload([fw for fw in wanted if fw not in missing])
    return {fw: missing.get(fw) for fw in wanted if fw in backends.FRAMEWORKS}


def _run_checks(args, entries, seed, trials, dtype, checks, frameworks, start) -> int:
    from . import backends, parallel, report
    from .engine import check_specs, run_entry
    from .registry import Claim

    to_json_stdout = args.json == "-"
    out = sys.stderr if to_json_stdout else sys.stdout
    profile = None
    if args.profile:
        from . import profile as profiling

        profile = profiling.install()
        profiling.import_backends(frameworks)  # timed here: asking which frameworks import imports them
    try:
        jobs = parallel.jobs_for(len(entries))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    grouping = not args.module

    def run_task(entry, group):
        """One group of an identity's checks (``group`` None: all, not split), with the
        frameworks this process can import."""
        task_start = time.perf_counter()
        task_frameworks, note = frameworks, ""
        if group is not None:
            task_frameworks = tuple(fw for fw in frameworks if fw in GROUPS[group] and not backends.unavailable([fw]))
        if args.module:  # a user's numpy-only function is checked by the backends it runs on
            task_frameworks, note = _frameworks_it_runs_on(entry, task_frameworks)
        result = _keep_selected(run_entry(entry, seed=seed, trials=trials, frameworks=task_frameworks, dtype=dtype), checks)
        if profile is None:
            return result, note, None
        profile.add("entries", time.perf_counter() - task_start)
        return result, note, profile.take()

    results, notes, totals = [], {}, None
    if profile is not None:  # the imports above, before a fork copies them into every worker's profile
        totals = type(profile)()
        totals.merge(profile.take())
    requested = {g for e in entries for g in (_groups_of(e, frameworks, checks) if grouping else ())}
    pool = None
    if jobs > 1 and len(requested) > 1:  # forked here, before JAX or torch is imported (unless --profile did)
        claims = any(isinstance(e, Claim) for e in entries)
        pool = parallel.GroupedRun(entries, tuple(GROUPS), run_task, lambda group: _prepare_group(group, frameworks, claims), jobs)
    finished = False
    try:
        if pool is not None:  # the JAX worker starts on its checks while the other imports torch
            found = dict(pool.ready("jax"))
            if found.get("jax") is None:
                for index, entry in enumerate(entries):
                    if "jax" in _groups_of(entry, frameworks, checks):
                        pool.submit(index, "jax")
            found.update(pool.ready("rest"))
            checks, frameworks, missing, missing_note = _available(args, checks, frameworks, found)
        else:
            checks, frameworks, missing, missing_note = _available(args, checks, frameworks)
        if missing_note:
            print(f"note: {missing_note}", file=out, flush=True)
        width = max([len(e.name) for e in entries] + [report.NAME_WIDTH])
        runnable, skipped, not_run = [], [], []
        for e in entries:
            if isinstance(e, Claim) and backends.unavailable(e.requires):  # whatever --backend selects
                not_run.append(e)
            elif isinstance(e, Claim) or any(s.id in checks for s in check_specs(e, frameworks)):
                runnable.append(e)
            else:
                skipped.append(e.name)
        lacking = {fw: why for e in not_run for fw, why in backends.unavailable(e.requires).items()}
        lacking_names = " and ".join(backends.DISPLAY[fw] for fw in lacking)
        if not runnable:
            if not_run:
                hint = backends.install_hint(next(iter(lacking)) if len(lacking) == 1 else "all")
                raise UsageError(f"{', '.join(e.name for e in not_run)} {'needs' if len(not_run) == 1 else 'need'} {lacking_names}, "
                                 f"but {'; '.join(lacking.values())} ({hint})")
            raise UsageError(f"no selected identity has a {backends_label(checks)} check (cstep is for holomorphic identities only)")
        if not args.quiet and not args.show:
            print(report.header(width), file=out, flush=True)

        def run_one(entry):
            """An identity's groups one after the other, merged (see GROUPS), or, not split, all at once."""
            groups = _groups_of(entry, frameworks, checks) if grouping else (None,)
            return _combined(entry, [run_task(entry, group) for group in groups])

        def init():
            """Import the frameworks the run uses (timed above with --profile): before the
            workers are forked, so that they are imported once, not once per worker."""
            if jobs > 1:
                backends.preload(frameworks)

        if pool is not None:
            positions = {id(e): i for i, e in enumerate(entries)}
            for entry in runnable:
                for group in _groups_of(entry, frameworks, checks):
                    if group != "jax":  # JAX's were submitted as soon as its worker was ready
                        pool.submit(positions[id(entry)], group)
            done = ((entries[index], parts) for index, parts in pool.results([positions[id(e)] for e in runnable]))
            outcomes = ((entry, _combined(entry, [parts[g] for g in GROUPS if g in parts])) for entry, parts in done)
        else:
            init()
            outcomes = zip(runnable, parallel.run_all(runnable, run_one, jobs))
        for entry, (result, note, spent) in outcomes:
            for snapshot in spent:
                totals.merge(snapshot)
            results.append(result)
            notes[entry.name] = [n for n in (missing_note, note) if n]  # the JSON report keeps both
            if args.show:
                print(("\n" if len(results) > 1 else "") + show(entry, result, width), file=out, flush=True)
            elif not args.quiet or not result.passed:
                print(report.row(result, width), file=out, flush=True)
            if note and not args.show:
                print(f"    note: {note}", file=out, flush=True)
        finished = True
    finally:
        if pool is not None:
            pool.shutdown(finished)
    if skipped:
        print(f"note: {len(skipped)} selected identities have no {backends_label(checks)} check and were not run: {', '.join(skipped)}", file=out)
    if not_run:
        one = len(not_run) == 1
        print(f"note: {len(not_run)} selected claim{'' if one else 's'} {'needs' if one else 'need'} {lacking_names} and "
              f"{'was' if one else 'were'} not run: {', '.join(e.name for e in not_run)}", file=out)
    claims = any(isinstance(e, Claim) for e in runnable)
    wall = time.perf_counter() - start
    print(report.summary(results, wall, dtype=dtype, trials=trials, backends=backends_label(checks), claims=claims), file=out)
    if profile is not None:
        print(profiling.table(totals, wall, jobs), file=out)
    if args.json is not None:
        doc = report.document(results, seed=seed, trials=trials, dtype=dtype, frameworks=checks, versions=backends.versions(), notes=notes)
        _write_json(args.json, doc)
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAIL


def _combined(entry, parts: list) -> tuple:
    """(result, note, profile snapshots) of an identity from its groups' run_task outputs
    (result, note, snapshot or None), in GROUPS order: one process and the workers alike."""
    return _merged(entry, [p[0] for p in parts]), parts[0][1], [p[2] for p in parts if p[2] is not None]


def _run_exercises(args, seed, trials, dtype, checks, frameworks) -> int:
    from . import grader

    chapter = grader.resolve_chapter(args.exercises[0])
    answers = args.exercises[1] if len(args.exercises) > 1 else None
    exercises = grader.chapter_exercises(chapter)
    if not exercises:
        raise UsageError(f"chapter {chapter} declares no coding exercises yet (verify/exercises/)")
    if args.list:
        if args.json is not None:
            _write_json(args.json, {"schema_version": grader.SCHEMA_VERSION, "tool": "calculus-for-ml verify --exercises --list", "exercises": [
                {"exercise": e.name, "number": e.number, "function_name": e.function_name, "kind": e.kind, "title": e.title} for e in exercises]})
            if args.json == "-":
                return EXIT_OK
        width = grader.name_width(exercises)
        for e in sorted(exercises, key=lambda e: e.number):
            print(f"{e.name:<{width}}  {e.function_name:<28} {e.kind:<11} {e.title}")
        return EXIT_OK
    out = sys.stderr if args.json == "-" else sys.stdout
    width = grader.name_width(exercises)
    grader.student_path(chapter, answers)  # a usage error before the header
    checks, frameworks, _, missing_note = _available(args, checks, frameworks)
    if missing_note:
        print(f"note: {missing_note}", file=out, flush=True)
    header_printed = []

    def on_row(row):
        if not header_printed and not args.quiet:
            print(f"{'exercise':<{width}}  {'result':<13}  title", file=out, flush=True)
            header_printed.append(True)
        if not args.quiet or row.failed:
            print(grader.format_row(row, width), file=out, flush=True)

    g = grader.grade(chapter, answers, seed=seed, trials=trials, frameworks=frameworks, dtype=dtype, checks=checks, on_row=on_row)
    config = f"{dtype}, {trials} trial{'s' if trials > 1 else ''}, {backends_label(checks)}"
    print(grader.summary(g).replace(f" ({g.chapter}, ", f" ({g.chapter}, {config}, "), file=out)
    if args.json is not None:
        _write_json(args.json, grader.document(g, seed=seed, trials=trials, dtype=dtype, backends=checks))
    return g.exit_code
