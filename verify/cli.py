"""``python -m verify``: run the checks of the registry and report them.

Exit status: 0 when every check passes, 1 when any fails, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import sys
import time
from pathlib import Path

from .engine import DTYPES, FRAMEWORK_CHOICES

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


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
        epilog="Exit status: 0 all checks pass, 1 a check fails, 2 usage error.",
    )
    parser.add_argument("filters", nargs="*", metavar="NAME_OR_CHAPTER", help="identity names or chapter folders (e.g. 01_single_variable_derivatives); default: all")
    parser.add_argument("--list", action="store_true", help="list the identities (after filters) and exit")
    parser.add_argument("--show", metavar="NAME", help="statement, derivation, the derivative's source and its checks")
    parser.add_argument("--json", metavar="PATH", help="write the full report as JSON ('-' for stdout)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    parser.add_argument("--trials", type=int, default=1, metavar="N", help="independent input draws per identity (default 1)")
    parser.add_argument("--backend", action="append", metavar="NAME", help=f"restrict to {', '.join(FRAMEWORK_CHOICES)} (repeat or comma-separate)")
    parser.add_argument("--dtype", default="float64", choices=DTYPES, help="dtype of inputs and derivatives (tolerances follow it)")
    parser.add_argument("--module", metavar="FILE", help="check the function/derivative pairs a user's Python file declares")
    parser.add_argument("--curriculum", action="store_true", help="print the curriculum table (markdown) and exit")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    return parser


def _frameworks(values) -> tuple[str, ...]:
    if not values:
        return FRAMEWORK_CHOICES
    chosen = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name not in FRAMEWORK_CHOICES:
                raise UsageError(f"unknown backend {name!r}; choose from {', '.join(FRAMEWORK_CHOICES)}")
            if name not in chosen:
                chosen.append(name)
    return tuple(chosen)


def select(registry, filters):
    """Entries whose name or chapter is among ``filters`` (all if none), in registry order."""
    if not filters:
        return list(registry)
    names = {e.name for e in registry}
    chapters = {e.chapter for e in registry}
    for f in filters:
        if f.rstrip("/").split("/")[-1] not in names | chapters:
            close = difflib.get_close_matches(f, sorted(names | chapters), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see --list"
            raise UsageError(f"no identity or chapter named {f!r}{hint}")
    wanted = {f.rstrip("/").split("/")[-1] for f in filters}
    return [e for e in registry if e.name in wanted or e.chapter in wanted]


def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return f"<source of {fn!r} unavailable>"


def show(entry, result) -> str:
    from . import report

    impl = getattr(entry, "derivative", None) or entry.implementation
    lines = [
        f"{entry.name}  ({entry.chapter}, {entry.kind})",
        f"statement:  {entry.statement}",
        f"derivation: {entry.derivation}",
        f"code:       {impl.__module__}.{impl.__qualname__}",
        "",
        _source(impl).rstrip(),
        "",
        "checks:",
    ]
    for c in result.checks:
        detail = f"  [{c.method}]" if c.method else ""
        lines.append(f"  {c.check:<12} {c.message()}{detail}")
    lines += ["", report.header(), report.row(result)]
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
            f"| `{impl.__module__.replace('.', '/')}.py::{impl.__qualname__}` | `python -m verify {e.name}` |"
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


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        return _run(args)
    except UsageError as exc:
        print(f"python -m verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _run(args) -> int:
    start = time.perf_counter()
    if args.trials < 1:
        raise UsageError("--trials must be at least 1")
    frameworks = _frameworks(args.backend)
    if args.module:
        from .user_module import load_entries

        registry = load_entries(args.module)  # raises UsageError with a reason
    else:
        from .identities import REGISTRY as registry

    if args.curriculum:
        print(curriculum_table(registry))
        return EXIT_OK
    if args.show:
        matches = [e for e in registry if e.name == args.show]
        if not matches:
            select(registry, [args.show])  # raises with a suggestion
        entries = matches
    else:
        entries = select(registry, args.filters)
    if args.list:
        for e in entries:
            print(f"{e.name:<26} {e.chapter:<32} {e.kind:<11} {e.statement}")
        return EXIT_OK

    from . import backends, report
    from .engine import run_entry

    if args.show:
        result = run_entry(entries[0], seed=args.seed, trials=args.trials, frameworks=frameworks, dtype=args.dtype)
        print(show(entries[0], result))
        return EXIT_OK if result.passed else EXIT_FAIL

    to_json_stdout = args.json == "-"
    out = sys.stderr if to_json_stdout else sys.stdout
    if not args.quiet:
        print(report.header(), file=out, flush=True)
    results = []
    for entry in entries:
        entry_frameworks, note = frameworks, ""
        if args.module:  # a user's numpy-only function is checked by the backends it runs on
            entry_frameworks, note = _frameworks_it_runs_on(entry, frameworks)
        result = run_entry(entry, seed=args.seed, trials=args.trials, frameworks=entry_frameworks, dtype=args.dtype)
        results.append(result)
        if not args.quiet or not result.passed:
            print(report.row(result), file=out, flush=True)
            if note:
                print(f"    note: {note}", file=out, flush=True)
    print(report.summary(results, time.perf_counter() - start), file=out)
    if args.json:
        doc = report.document(results, seed=args.seed, trials=args.trials, dtype=args.dtype, frameworks=frameworks, versions=backends.versions())
        text = report.dumps(doc)
        if to_json_stdout:
            sys.stdout.write(text)
        else:
            try:
                Path(args.json).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write {args.json}: {exc.strerror}") from None
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAIL
