"""Regenerate the measured blocks of README.md: ``python -m verify.readme``.

Three blocks, each between its marker lines, are the output of the suite itself:

- ``sample-report``: ``make verify``'s header, the rows of SAMPLE, the count of rows and
  the summary line of the full run. Its wall time is the one figure that varies from run
  to run (with the machine's load): it is kept from the README unless ``--retime``, and
  tests/test_readme.py compares everything else;
- ``planted-mistake``: the row of ``quadratic_form`` with the derivative written as Ax;
- ``sensitivity``: ``python -m verify.sensitivity``'s table (seed 0).

Everything else in README.md is prose. ``--check`` compares instead of writing (exit 1
when a block is stale).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLE = ("limit_definition", "power_rule", "sigmoid", "logsumexp", "softmax_cross_entropy", "softmax_jacobian",
          "rosenbrock_hessian", "logistic_loss_hvp", "quadratic_form", "log_determinant", "linear_layer_vjp",
          "mlp_gradients", "mlp_training_loop")
BLOCKS = ("sample-report", "planted-mistake", "sensitivity")
TIME = re.compile(r", \d+\.\d s\)$", flags=re.M)  # the summary's wall time: varies run to run


def _results(names):
    from .engine import run_entry
    from .identities import BY_NAME

    return [run_entry(BY_NAME[n]) for n in names]


def summary_counts() -> tuple[int, int]:
    """(identities, checks) of a full default run, without running the references:
    an identity's checks follow from its kind; a claim's are its measured facts."""
    import numpy as np

    from .engine import check_specs, entry_rng, run_claim
    from .identities import REGISTRY
    from .registry import Claim

    checks = 0
    for e in REGISTRY:
        if isinstance(e, Claim):
            with np.errstate(all="ignore"):
                checks += len(run_claim(e, entry_rng(0, e.name, 0)))
        else:
            checks += len(check_specs(e))
    return len(REGISTRY), checks


def sample_report(full_summary: str | None = None) -> str:
    """The block: header, the SAMPLE rows, '… (N rows in all)', the summary line.

    ``full_summary``: the summary of a full run (None: run every identity now)."""
    from . import report
    from .identities import REGISTRY

    if full_summary is None:
        start = time.perf_counter()
        results = _results([e.name for e in REGISTRY])
        full_summary = report.summary(results, time.perf_counter() - start, backends="jax+torch+fd+cstep")
        by_name = {r.name: r for r in results}
        rows = [by_name[n] for n in SAMPLE]
    else:
        rows = _results(SAMPLE)
    width = max(len(e.name) for e in REGISTRY)
    lines = ["```", "$ make verify", report.header(width)]
    lines += [report.row(r, width) for r in rows]
    lines += [f"… ({len(REGISTRY)} rows in all)", full_summary, "```"]
    return "\n".join(lines)


def planted_mistake() -> str:
    from . import report
    from .engine import run_entry
    from .identities import BY_NAME

    entry = BY_NAME["quadratic_form"]
    wrong = dataclasses.replace(entry, derivative=lambda x, A: A @ x)
    result = run_entry(wrong)
    return "\n".join(["```", report.row(result, len(entry.name)), "```"])


def sensitivity(deltas=None) -> str:
    from . import sensitivity as s

    deltas = s.DELTAS if deltas is None else deltas
    return s.markdown(s.measure(deltas=deltas), deltas=deltas).rstrip("\n")


def block(text: str, name: str) -> str:
    """The current content of block ``name`` in ``text``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        raise ValueError(f"README.md lacks the markers of the {name} block")
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def replace_block(text: str, name: str, content: str) -> str:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}\n{end}{tail}"


def without_time(text: str) -> str:
    return TIME.sub(", <time>)", text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify.readme", description="Regenerate README.md's measured blocks: the sample report, the planted mistake, the sensitivity table.")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when a block is stale")
    parser.add_argument("--retime", action="store_true",
                        help="write this run's wall time into the summary line (default: keep the README's, measured on a quiet machine)")
    parser.add_argument("blocks", nargs="*", metavar="BLOCK", help=f"which blocks ({', '.join(BLOCKS)}); default all")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    unknown = [b for b in args.blocks if b not in BLOCKS]
    if unknown:
        print(f"python -m verify.readme: error: no block named {unknown[0]!r}; choose from {', '.join(BLOCKS)}", file=sys.stderr)
        return 2
    wanted = args.blocks or list(BLOCKS)
    text = README.read_text(encoding="utf-8")
    makers = {"sample-report": sample_report, "planted-mistake": planted_mistake, "sensitivity": sensitivity}
    stale = []
    for name in wanted:
        print(f"measuring the {name} block ...", file=sys.stderr, flush=True)
        fresh = makers[name]()
        if args.check:
            if without_time(block(text, name)) != without_time(fresh):
                stale.append(name)
        else:
            kept = TIME.search(block(text, name))
            if kept and not args.retime:  # the wall time depends on the machine's load
                fresh = TIME.sub(kept.group(0), fresh)
            text = replace_block(text, name, fresh)
    if args.check:
        print("stale: " + ", ".join(stale) if stale else "README.md's measured blocks are up to date")
        return 1 if stale else 0
    README.write_text(text, encoding="utf-8")
    print(f"updated {', '.join(wanted)} in README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
