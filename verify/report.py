"""The report: one console row per entry, and the JSON document.

The JSON holds no timings, so the same seed gives a byte-identical file.
"""

from __future__ import annotations

import json
import platform

from .engine import EntryResult

COLUMNS = ("jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "torch.tape", "fd", "cstep")
HEADERS = ("jax fwd", "jax rev", "torch fwd", "torch rev", "tape", "fd", "cstep")
NAME_WIDTH = 24
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


def header() -> str:
    cells = "".join(h.rjust(CELL) for h in HEADERS)
    return f"{'identity':<{NAME_WIDTH}} {'statement':<{STATEMENT_WIDTH}}{cells}  result"


def row(result: EntryResult) -> str:
    """name, statement, the max relative error of every check, PASS/FAIL."""
    verdict = "PASS" if result.passed else "FAIL"
    name = _clip(result.name, NAME_WIDTH)
    statement = _clip(result.statement, STATEMENT_WIDTH)
    if result.kind == "claim":
        held = sum(c.passed for c in result.checks)
        cells = f"  claim: {held}/{len(result.checks)} measured facts hold".ljust(CELL * len(COLUMNS))
    else:
        by_id = {c.check: c for c in result.checks}
        cells = "".join(_cell(by_id.get(col)) for col in COLUMNS)
    lines = [f"{name:<{NAME_WIDTH}} {statement:<{STATEMENT_WIDTH}}{cells}  {verdict}"]
    for failure in result.failures:
        lines.append(f"    {failure.message()}")
    return "\n".join(lines)


def summary(results: list[EntryResult], seconds: float) -> str:
    checks = sum(len(r.checks) for r in results)
    failed_checks = sum(len(r.failures) for r in results)
    failed = sum(not r.passed for r in results)
    status = "all pass" if failed == 0 else f"{failed} identities FAIL"
    return f"{len(results)} identities, {checks} checks, {failed_checks} failed checks: {status} ({seconds:.1f} s)"


def document(results: list[EntryResult], *, seed: int, trials: int, dtype: str, frameworks, versions: dict) -> dict:
    return {
        "tool": "calculus-for-ml verify",
        "versions": {"python": platform.python_version(), **versions},
        "seed": seed,
        "trials": trials,
        "dtype": dtype,
        "backends": list(frameworks),
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
