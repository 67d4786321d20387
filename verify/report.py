"""The report: one console row per entry, and the JSON document.

The JSON holds no timings, so the same seed gives a byte-identical file. Its schema
(``SCHEMA_VERSION``) is documented in README.md ("The JSON report").
"""

from __future__ import annotations

import json
import platform

from .results import EntryResult, failure_lines

COLUMNS = ("jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "torch.tape", "fd", "cstep")
HEADERS = ("jax fwd", "jax rev", "torch fwd", "torch rev", "tape", "fd", "cstep")
SCHEMA_VERSION = 1
NAME_WIDTH = 24  # the narrowest name column; it widens to the longest name shown, never cuts one
STATEMENT_WIDTH = 44
CELL = 10


def _cell(result) -> str:
    if result is None:
        return "-".rjust(CELL)
    if result.error is None:
        return "error".rjust(CELL)
    text = f"{result.error:.1e}"
    return (text + ("!" if not result.passed else " ")).rjust(CELL)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def header(name_width: int | None = None) -> str:
    width = max(NAME_WIDTH, name_width or 0)
    cells = "".join(h.rjust(CELL) for h in HEADERS)
    return f"{'identity':<{width}} {'statement':<{STATEMENT_WIDTH}}{cells}  result"


def row(result: EntryResult, name_width: int | None = None) -> str:
    """name (never cut: the column is at least as wide as the name), statement, the max
    relative error of every check, PASS/FAIL."""
    verdict = "PASS" if result.passed else "FAIL"
    width = max(NAME_WIDTH, name_width or 0, len(result.name))
    name = result.name
    statement = _clip(result.statement, STATEMENT_WIDTH)
    if result.kind == "claim":
        held = sum(c.passed for c in result.checks)
        cells = f"  claim: {held}/{len(result.checks)} measured facts hold".ljust(CELL * len(COLUMNS))
    else:
        by_id = {c.check: c for c in result.checks}
        cells = "".join(_cell(by_id.get(col)) for col in COLUMNS)
    lines = [f"{name:<{width}} {statement:<{STATEMENT_WIDTH}}{cells}  {verdict}"]
    for line in failure_lines(result.failures):  # where several checks agree: one 'where:' and one 'likely:' line
        lines.append(f"    {line}")
    return "\n".join(lines)


def configuration(dtype: str = "float64", trials: int = 1, backends: str = "jax+torch+fd", claims: bool = False) -> str:
    """The run's configuration as the summary states it."""
    parts = [dtype + ("; claims run in float64" if claims and dtype != "float64" else "")]
    parts.append(f"{trials} trial" if trials == 1 else f"{trials} trials, each check reports its worst")
    parts.append(backends)
    return ", ".join(parts)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def summary(results: list[EntryResult], seconds: float, *, dtype: str = "float64", trials: int = 1,
            backends: str = "jax+torch+fd", claims: bool = False) -> str:
    checks = sum(len(r.checks) for r in results)
    failed_checks = sum(len(r.failures) for r in results)
    failed = sum(not r.passed for r in results)
    status = "all pass" if failed == 0 else f"{_count(failed, 'identity', 'identities')} FAIL"
    config = configuration(dtype, trials, backends, claims)
    return (f"{_count(len(results), 'identity', 'identities')}, {_count(checks, 'check')}, "
            f"{_count(failed_checks, 'failed check')}: {status} ({config}, {seconds:.1f} s)")


def document(results: list[EntryResult], *, seed: int, trials: int, dtype: str, frameworks, versions: dict, notes: dict | None = None) -> dict:
    """The JSON report (schema in README.md). ``frameworks``: the backends or columns run;
    ``notes``: {identity name: [note, ...]}, e.g. a backend that was skipped."""
    notes = notes or {}
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "calculus-for-ml verify",
        "versions": {"python": platform.python_version(), **versions},
        "seed": seed,
        "trials": trials,
        "dtype": dtype,
        "backends": list(frameworks),
        "trials_policy": "each check keeps its worst trial (a failing one first, else the largest error)",
        "summary": {
            "identities": len(results),
            "checks": sum(len(r.checks) for r in results),
            "failed_checks": sum(len(r.failures) for r in results),
            "failed_identities": sum(not r.passed for r in results),
            "passed": all(r.passed for r in results),
        },
        "identities": [
            {
                "name": r.name,
                "chapter": r.chapter,
                "statement": r.statement,
                "kind": r.kind,
                "derivation": r.derivation,
                "passed": r.passed,
                "notes": list(notes.get(r.name, [])),
                "checks": [c.to_json() for c in r.checks],
            }
            for r in results
        ],
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False, default=_jsonable) + "\n"


def _jsonable(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
