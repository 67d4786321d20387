"""``python -m verify --exercises 02 my_answers.py``: grade a student's coding exercises.

Each coding exercise (verify/exercises/) names the function a student writes in a copy
of the chapter's ``starter.py``. The grader loads the student's file, and per exercise:

- the function is absent: "missing from FILE" (a failure: the name must match the stub's);
- calling it on the sampled inputs raises NotImplementedError (the starter's stub):
  "not attempted", which is not a failure;
- it raises anything else: FAIL with the exception and the line of the student's file;
- otherwise the exercise and the student's function become a registry Identity and run
  through ``verify.engine.run_entry``: the same checks, metric and tolerance table as the
  curriculum. A failure lists the failing checks and a diagnosis: the planted Mistake
  whose answer agrees with the student's at the sampled inputs (its label and hint), else
  a recognisable slip against the chapter's reference solution (sign, constant factor,
  transpose, shape), else "no known mistake matches".

Exit status: 0 when no attempted exercise fails, 1 when one does, 2 on a usage error.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .engine import FRAMEWORK_CHOICES, cast_args, draw_probe, entry_rng, run_entry
from .results import CheckResult, one_line as _one_line
from .registry import PROBED_KINDS, Identity
from .user_module import where_raised

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_VERSION = 1
AGREE_RTOL = 1e-9  # a student's answer "is" a planted mistake when it agrees to this

PASS, FAIL, NOT_ATTEMPTED, MISSING = "PASS", "FAIL", "not attempted", "missing"


def _usage_error(message: str):
    from .results import UsageError

    return UsageError(message)


# --------------------------------------------------------------------------------------
# Chapters and files
# --------------------------------------------------------------------------------------


def resolve_chapter(name: str) -> str:
    """A chapter folder name from ``02``, ``2``, ``02_multivariable_derivatives``,
    ``derivations/02_multivariable_derivatives/`` or the exercise module's name."""
    from .exercises import CHAPTER_MODULES
    from .identities import CHAPTERS

    folders = list(CHAPTERS)
    key = str(name).strip().rstrip("/").split("/")[-1]
    for i, folder in enumerate(folders):
        if key == folder or key == CHAPTER_MODULES[i] or (key.isdigit() and int(key) == int(folder[:2])):
            return folder
    close = difflib.get_close_matches(key, folders + list(CHAPTER_MODULES), n=2)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    numbers = ", ".join(f[:2] for f in folders)
    raise _usage_error(f"no chapter named {name!r}{hint} (chapters: {numbers} or their folder names)")


def chapter_exercises(chapter: str, exercises=None) -> list:
    if exercises is None:
        from . import exercises as package

        exercises = package.EXERCISES
    return [e for e in exercises if e.chapter == chapter]


def student_path(chapter: str, answers) -> Path:
    if answers is None:
        path = ROOT / "derivations" / chapter / "starter.py"
        try:  # shown as typed: relative to the working directory where it can be
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
        if not path.is_file():
            raise _usage_error(f"chapter {chapter} has no starter.py yet; give your answers file: python -m verify --exercises {chapter[:2]} FILE")
        return path
    path = Path(answers)
    if not path.is_file():
        raise _usage_error(f"no such file: {answers}" + (" (a folder; give the .py file)" if path.is_dir() else ""))
    return path


def load_module(path: Path):
    """The student's module; UsageError naming the file and line where it cannot be imported."""
    from .user_module import _import

    return _import(Path(path))


def _reference_module(chapter: str):
    """derivations/CH/solutions.py, or None (the generic diagnosis then stays silent)."""
    path = ROOT / "derivations" / chapter / "solutions.py"
    if not path.is_file():
        return None
    try:
        return load_module(path)
    except Exception:
        return None


# --------------------------------------------------------------------------------------
# One exercise
# --------------------------------------------------------------------------------------


@dataclass
class Row:
    """The outcome of one exercise."""

    exercise: str  # ex02.3_function_name
    number: int
    function_name: str
    title: str
    status: str  # PASS | FAIL | not attempted | missing
    failing_checks: list[CheckResult] = field(default_factory=list)
    diagnosis: str = ""

    @property
    def failed(self) -> bool:
        return self.status in (FAIL, MISSING)

    def to_json(self) -> dict:
        return {
            "exercise": self.exercise,
            "number": self.number,
            "function_name": self.function_name,
            "title": self.title,
            "status": self.status,
            "failing_checks": [c.to_json() for c in self.failing_checks],
            "diagnosis": self.diagnosis,
        }


def identity_of(exercise, derivative) -> Identity:
    """The registry Identity that checks ``derivative`` as the answer to ``exercise``."""
    return Identity(
        name=exercise.name,
        chapter=exercise.chapter,
        statement=exercise.title,
        derivation=f"derivations/{exercise.chapter}/exercises.md",
        function=exercise.function,
        derivative=derivative,
        kind=exercise.kind,
        sample=exercise.sample,
        wrt=exercise.wrt,
        holomorphic=exercise.holomorphic,
    )


def sampled_call(identity: Identity, seed: int = 0, dtype: str = "float64"):
    """``call(fn)``: fn on the inputs (and probe) of the engine's first trial, as the engine calls it."""
    rng = entry_rng(seed, identity.name, 0)
    args = cast_args(tuple(np.asarray(a) for a in identity.sample(rng)), dtype)
    out = identity.function(*args)
    probe = draw_probe(identity, args, out, rng, dtype)

    def call(fn):
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            if identity.kind in PROBED_KINDS:
                hand_probe = probe[0] if (identity.kind == "jvp" and not identity.multiple_wrt) else probe
                result = fn(*args, hand_probe)
            else:
                result = fn(*args)
        return tuple(result) if isinstance(result, list) else result

    return call


def _as_parts(value):
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,)


def agree(a, b, rtol: float = AGREE_RTOL) -> bool:
    """Same structure, same shapes, and np.allclose(a, b, rtol) elementwise (atol tied to |b|)."""
    if isinstance(a, (tuple, list)) != isinstance(b, (tuple, list)):
        return False
    pa, pb = _as_parts(a), _as_parts(b)
    if len(pa) != len(pb):
        return False
    try:
        for x, y in zip(pa, pb):
            x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
            if x.shape != y.shape:
                return False
            scale = float(np.max(np.abs(y))) if y.size else 0.0
            if not np.allclose(x, y, rtol=rtol, atol=1e-12 * max(scale, 1e-300)):
                return False
    except (TypeError, ValueError):
        return False
    return True


def _slip(student, reference) -> str:
    """A recognisable slip of one array against the reference answer, or ''."""
    try:
        s = np.asarray(student, dtype=float)
    except (TypeError, ValueError):
        return f"your function returns {type(student).__name__}, not an array"
    r = np.asarray(reference, dtype=float)
    if r.ndim >= 2 and s.shape == r.T.shape and agree(s, r.T) and not agree(s, r):
        return "transposed: your answer is the transpose of the expected one"
    if s.shape != r.shape:
        if s.size == r.size and agree(s.reshape(r.shape), r):
            return f"right values, wrong shape: yours has shape {s.shape}, the answer has shape {r.shape}"
        return f"shape mismatch: yours has shape {s.shape}, the answer has shape {r.shape}"
    if agree(s, -r):
        return "sign flipped: your answer is −1 × the expected one"
    rr = float(np.vdot(r, r))
    if rr > 0:
        c = float(np.vdot(s, r)) / rr
        if np.isfinite(c) and abs(c - 1) > 1e-6 and agree(s, c * r):
            return f"off by a constant factor: your answer is {c:.4g} × the expected one"
    from .diagnose import diagnose_block  # the engine's diagnosis: symmetric part, shift, one entry, ...

    found = diagnose_block(s, r)
    return found.text if found is not None else ""


def generic_diagnosis(student, reference, wrt: tuple[int, ...]) -> str:
    """Sign flipped, a constant factor, transposed, a shape mismatch; '' when none fits."""
    ref_multi = isinstance(reference, (tuple, list))
    if ref_multi and not isinstance(student, (tuple, list)):
        return f"your function returns one array where the answer is a tuple of {len(reference)} (one per differentiated argument)"
    if ref_multi:
        if len(student) != len(reference):
            return f"your function returns {len(student)} results where the answer has {len(reference)} (one per differentiated argument)"
        for i, (s, r) in enumerate(zip(student, reference)):
            if not agree(s, r):
                slip = _slip(s, r)
                if slip:
                    return f"result {i} (with respect to argument {wrt[i]}): {slip}"
        return ""
    if isinstance(student, (tuple, list)):
        return f"your function returns a tuple of {len(student)} where the answer is one array"
    return _slip(student, reference)


def grade_one(exercise, module, path: Path, *, reference=None, seed: int = 0, trials: int = 1,
              frameworks=FRAMEWORK_CHOICES, dtype: str = "float64", checks=None) -> Row:
    """Grade one exercise: ``module`` is the student's, ``reference`` the solutions module (or None).

    ``checks``: the check ids to keep (None: every check the frameworks generate).
    """
    row = Row(exercise.name, exercise.number, exercise.function_name, exercise.title, FAIL)
    fn = getattr(module, exercise.function_name, None)
    if fn is None or not callable(fn):
        names = [n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n))]
        close = difflib.get_close_matches(exercise.function_name, names, n=1)
        row.status = MISSING
        row.diagnosis = f"{exercise.function_name} is missing from {path}" + (f" (did you mean to name {close[0]} {exercise.function_name}?)" if close else "")
        return row
    identity = identity_of(exercise, fn)
    try:
        call = sampled_call(identity, seed, dtype)
    except Exception as exc:  # the exercise's own sampler or primal: the engine reports it
        call = None
        row.diagnosis = f"the exercise's inputs could not be drawn: {_one_line(exc)}"
    student = None
    if call is not None:
        try:
            student = call(fn)
        except NotImplementedError:
            row.status = NOT_ATTEMPTED
            return row
        except Exception as exc:
            where = where_raised(exc, path)
            row.diagnosis = f"your function raised {_one_line(exc)}" + (f" at {where}" if where else "")
            return row
    result = run_entry(identity, seed=seed, trials=trials, frameworks=frameworks, dtype=dtype)
    kept = [c for c in result.checks if checks is None or c.check in checks]
    if kept and all(c.passed for c in kept):
        row.status = PASS
        return row
    if not kept:
        row.diagnosis = "no selected check applies to this exercise (see --backend)"
        return row
    row.failing_checks = [c for c in kept if not c.passed]
    if call is None or row.diagnosis:
        return row
    for mistake in exercise.mistakes:
        try:
            planted = call(mistake.answer)
        except Exception:
            continue
        if agree(student, planted):
            row.diagnosis = f"likely mistake: {mistake.label} — {mistake.hint}"
            return row
    slip = ""
    solution = getattr(reference, exercise.function_name, None) if reference is not None else None
    if solution is not None:
        try:
            slip = generic_diagnosis(student, call(solution), identity.wrt_tuple)
        except Exception:
            slip = ""
    row.diagnosis = slip or f"no known mistake matches: compare with the derivation (Exercise {exercise.number} in derivations/{exercise.chapter}/exercises.md)"
    return row


# --------------------------------------------------------------------------------------
# A chapter
# --------------------------------------------------------------------------------------


@dataclass
class Grade:
    chapter: str
    file: str
    rows: list[Row]
    seconds: float = 0.0

    @property
    def counts(self) -> tuple[int, int, int]:
        passed = sum(r.status == PASS for r in self.rows)
        failed = sum(r.failed for r in self.rows)
        return passed, failed, sum(r.status == NOT_ATTEMPTED for r in self.rows)

    @property
    def exit_code(self) -> int:
        return 1 if any(r.failed for r in self.rows) else 0


def grade(chapter: str, answers=None, *, exercises=None, reference="auto", seed: int = 0, trials: int = 1,
          frameworks=FRAMEWORK_CHOICES, dtype: str = "float64", checks=None, on_row=None) -> Grade:
    """Grade every coding exercise of ``chapter`` (a name resolve_chapter accepts) in ``answers``
    (a path; default the chapter's starter.py). ``reference``: the solutions module, "auto"
    for derivations/CH/solutions.py, or None. ``on_row(row)`` is called as each row is ready."""
    start = time.perf_counter()
    folder = resolve_chapter(chapter)
    selected = chapter_exercises(folder, exercises)
    if not selected:
        raise _usage_error(f"chapter {folder} declares no coding exercises yet (verify/exercises/)")
    path = student_path(folder, answers)
    module = load_module(path)
    if reference == "auto":
        reference = _reference_module(folder)
    rows = []
    for exercise in sorted(selected, key=lambda e: e.number):
        row = grade_one(exercise, module, path, reference=reference, seed=seed, trials=trials, frameworks=frameworks, dtype=dtype, checks=checks)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return Grade(folder, str(path), rows, time.perf_counter() - start)


def name_width(exercises) -> int:
    return max([len("exercise")] + [len(e.name) for e in exercises])


def format_row(row: Row, width: int) -> str:
    """``ex02.3_name  STATUS  title``, then the failing checks and the diagnosis, indented."""
    lines = [f"{row.exercise:<{width}}  {row.status.upper() if row.status == MISSING else row.status:<13}  {row.title}"]
    grouped: dict[str, dict[str, list[str]]] = {}  # message -> backend -> modes: one line per message
    for c in row.failing_checks:
        message = c.reason or f"max relative error {c.error:.2e} > tolerance {c.tolerance:.0e}"
        grouped.setdefault(message, {}).setdefault(c.backend, []).append(c.mode)
    for message, by_backend in grouped.items():
        where = ", ".join(f"{backend} ({', '.join(modes)})" for backend, modes in by_backend.items())
        lines.append(f"    {where}: {message}")
    if row.diagnosis:
        lines.append(f"    {row.diagnosis}")
    return "\n".join(lines)


def summary(g: Grade) -> str:
    passed, failed, not_attempted = g.counts
    return f"{passed} passed, {failed} failed, {not_attempted} not attempted ({g.chapter}, {g.file}, {g.seconds:.1f} s)"


def document(g: Grade, *, seed: int, trials: int, dtype: str, backends) -> dict:
    passed, failed, not_attempted = g.counts
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "calculus-for-ml verify --exercises",
        "chapter": g.chapter,
        "file": g.file,
        "seed": seed,
        "trials": trials,
        "dtype": dtype,
        "backends": list(backends),
        "summary": {"passed": passed, "failed": failed, "not_attempted": not_attempted, "exercises": len(g.rows)},
        "exercises": [r.to_json() for r in g.rows],
    }

