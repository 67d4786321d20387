"""Results and errors: what a check returns and what it raises, in the lowest module of the
package, so that the engine, its strategies (dense, projected), the API, the CLI and the
grader all import them from here and not from each other.

- ``CheckResult``: one check (an identity or user function, a backend, a mode): its error
  against its tolerance, and for a failure where it is wrong and the likely mistake;
- ``EntryResult``: every check of one entry, with its notes;
- ``UsageError``: a mistake in how a check is asked for, raised at once in one line (the
  CLI exits with status 2 on it);
- ``ComparisonError``: a hand-coded result that cannot be compared with its reference;
- ``BadInput``: inputs a check cannot run at (NaN, an integer wrt argument, ...), a FAIL;
- ``VerificationError``: an AssertionError listing the failed checks (raise_for_failure).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


class UsageError(ValueError):
    """A mistake in how a check is asked for (wrt, kind, dtype, the derivative's signature
    or return, a command-line option): raised at once with one line, never a FAIL row."""


class ComparisonError(ValueError):
    """The hand-coded result cannot be compared with the reference (shape, NaN, ...)."""


class VerificationError(AssertionError):
    """A user's derivative failed a check; the message lists every failed check."""


class BadInput(ValueError):
    """Inputs a check cannot run at (NaN, an integer or empty wrt argument, a non-scalar f for
    a gradient): every check FAILs with this reason."""


def one_line(exc: BaseException) -> str:
    """'TypeError: first line of its message'."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def raised_at(exc: BaseException) -> str:
    """' at my_layer.py:12': the last traceback frame in the user's code, or ''."""
    from .diagnose import where_raised

    where = where_raised(exc)
    return f" at {where}" if where else ""


@dataclass
class CheckResult:
    identity: str
    check: str
    backend: str
    mode: str
    oracle: str
    error: float | None
    tolerance: float | None
    passed: bool
    method: str = ""
    reason: str = ""
    oracle_error_estimate: float | None = None
    trial: int = 0
    # where a failed check is wrong (verify/diagnose.py): the result block (index into a
    # tuple result, None for one array), its wrt argument and name, the worst entry's index
    # into that block, the hand-coded and reference values there, the fraction of entries
    # above the tolerance, and the likely mistake (with its class) when one is recognised
    block: int | None = None
    argument: int | None = None
    argument_name: str = ""
    worst_index: tuple | None = None
    got: float | None = None
    expected: float | None = None
    wrong_fraction: float | None = None
    diagnosis: str = ""
    diagnosis_class: str = ""
    # where the rounding floor, not max|ref|, was the metric's scale (verify/tolerances.py)
    scale_note: str = ""

    def location(self) -> str:
        """'argument 0 (x) at [2]: got …, expected …; 33% of entries wrong', or ''."""
        if self.worst_index is None:
            return ""
        from .diagnose import Location

        return Location(self.block, self.argument, self.argument_name, tuple(self.worst_index), self.got, self.expected,
                        self.wrong_fraction, self.error or 0.0).describe()

    def message(self, detail: bool = True) -> str:
        """One line naming the identity, the backend, the mode and the error; for a failed
        check also (``detail``) where: argument, worst entry, got/expected, fraction wrong,
        and the likely mistake."""
        where = f"{self.identity} [{self.backend}, {self.mode}]"
        if self.reason:
            return f"{where}: FAIL: {self.reason}" + (f"; likely: {self.diagnosis}" if self.diagnosis else "")
        verdict = "ok" if self.passed else "FAIL"
        relation = "<=" if self.passed else ">"
        if self.oracle == "claim":
            return f"{where}: {verdict}: {self.check.removeprefix('claim:')}: measured {self.error:.3g} {relation} bound {self.tolerance:.3g}"
        line = f"{where}: {verdict}: max relative error {self.error:.2e} {relation} tolerance {self.tolerance:.0e}"
        if self.scale_note:
            line += f" ({self.scale_note})"
        if not self.passed and detail:
            location = self.location()
            if location:
                line += f" in {location}"
            if self.diagnosis:
                line += f"; likely: {self.diagnosis}"
        return line

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class EntryResult:
    name: str
    chapter: str
    statement: str
    kind: str
    derivation: str
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what a pass should still say (a subgradient at a kink, ...)
    strategy: str = ""  # which checks ran dense or projected, and why (verify/strategy.py), when planned by cost

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def message(self) -> str:
        return "\n".join(failure_lines(self.failures)) or f"{self.name}: all {len(self.checks)} checks pass"


def failure_lines(failures: list[CheckResult]) -> list[str]:
    """One line per failed check; where several checks fail at the same place with the same
    diagnosis, their lines give the error only and one 'where:' and one 'likely:' line follow."""
    groups: dict[tuple, list[CheckResult]] = {}
    for c in failures:
        located = c.worst_index is not None and not c.reason
        key = (c.block, c.argument, tuple(c.worst_index), c.diagnosis) if located else ("single", id(c))
        groups.setdefault(key, []).append(c)
    lines = []
    for key, group in groups.items():
        if key[0] == "single" or len(group) == 1:
            lines.extend(c.message() for c in group)
            continue
        lines.extend(c.message(detail=False) for c in group)
        lines.append(f"  where: {group[0].location()}")
        if group[0].diagnosis:
            lines.append(f"  likely: {group[0].diagnosis}")
    return lines
