"""Chapter 04's exercises: the reference solutions pass the engine, every planted mistake
fails it, every starter stub is unattempted, and the statements and solutions match."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from verify.engine import run_entry
from verify.exercises.matrix_calculus import EXERCISES
from verify.registry import Identity

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_DIR = ROOT / "derivations" / "04_matrix_calculus"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"{name}_04", CHAPTER_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTIONS = _load("solutions")
STARTER = _load("starter")
MISTAKES = [(ex, m) for ex in EXERCISES for m in ex.mistakes]


def _identity(exercise, derivative):
    return Identity(name=exercise.name, chapter=exercise.chapter, statement=exercise.title, derivation="",
                    function=exercise.function, derivative=derivative, kind=exercise.kind, sample=exercise.sample,
                    wrt=exercise.wrt, holomorphic=exercise.holomorphic)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_solution_passes_every_check(exercise):
    result = run_entry(_identity(exercise, getattr(SOLUTIONS, exercise.function_name)))
    failed = [f"{c.check}: {c.reason or c.error}" for c in result.checks if not c.passed]
    assert result.passed and result.checks, failed


@pytest.mark.parametrize("exercise, mistake", MISTAKES, ids=lambda x: getattr(x, "name", None) or getattr(x, "label", ""))
def test_every_planted_mistake_is_rejected(exercise, mistake):
    result = run_entry(_identity(exercise, mistake.answer))
    assert not result.passed, f"{exercise.name}: the mistake '{mistake.label}' passes"
    assert mistake.hint and mistake.label


def test_some_mistakes_have_the_right_shapes():
    """A mistake with the right shapes is caught by value, not by a shape error."""
    same_shape = 0
    for exercise, mistake in MISTAKES:
        args = exercise.sample(np.random.default_rng(0))
        reference = getattr(SOLUTIONS, exercise.function_name)
        probe = (np.ones_like(exercise.function(*args)),) if exercise.kind == "vjp" else ()
        got, want = mistake.answer(*args, *probe), reference(*args, *probe)
        got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
        same_shape += all(np.shape(g) == np.shape(w) for g, w in zip(got, want))
    assert same_shape >= len(EXERCISES)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_starter_stub_is_not_attempted(exercise):
    args = exercise.sample(np.random.default_rng(0))
    probe = (np.ones_like(exercise.function(*args)),) if exercise.kind in ("vjp", "jvp", "hvp") else ()
    with pytest.raises(NotImplementedError):
        getattr(STARTER, exercise.function_name)(*args, *probe)


def test_starter_and_solutions_define_the_exercise_functions():
    names = {ex.function_name for ex in EXERCISES}
    for module in (STARTER, SOLUTIONS):
        defined = {n for n, v in vars(module).items() if callable(v) and getattr(v, "__module__", "") == module.__name__}
        assert defined == names, module.__name__


def test_solutions_use_numpy_only():
    tree = ast.parse((CHAPTER_DIR / "solutions.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names} | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"numpy"}


def test_log_det_exercise_samples_a_negative_determinant():
    exercise = next(ex for ex in EXERCISES if ex.function_name == "log_abs_det_gradient")
    for seed in range(20):
        (X,) = exercise.sample(np.random.default_rng(seed))
        assert np.linalg.det(X) < 0 and not np.allclose(X, X.T)


# --------------------------------------------------------------------------------------
# exercises.md and solutions.md
# --------------------------------------------------------------------------------------


def _headings(text, word):
    return [(int(n), title.strip()) for n, title in re.findall(rf"^## {word} (\d+): (.+)$", text, flags=re.M)]


def _sections(text, word):
    parts = re.split(rf"^## {word} \d+: .+$", text, flags=re.M)
    return parts[1:]


def headings_problems(exercises_md: str, solutions_md: str) -> list[str]:
    """What is wrong with the two files' headings (empty if nothing)."""
    problems = []
    exercises, solutions = _headings(exercises_md, "Exercise"), _headings(solutions_md, "Solution")
    if [n for n, _ in exercises] != list(range(1, len(exercises) + 1)):
        problems.append(f"exercises are not numbered 1..N: {[n for n, _ in exercises]}")
    if exercises != solutions:
        problems.append(f"headings differ: {exercises} vs {solutions}")
    if len(exercises) < 8:
        problems.append(f"only {len(exercises)} exercises")
    return problems


def test_exercise_and_solution_headings_match():
    exercises_md = (CHAPTER_DIR / "exercises.md").read_text(encoding="utf-8")
    solutions_md = (CHAPTER_DIR / "solutions.md").read_text(encoding="utf-8")
    assert headings_problems(exercises_md, solutions_md) == []


def test_heading_check_rejects_a_mismatch():
    exercises_md = (CHAPTER_DIR / "exercises.md").read_text(encoding="utf-8")
    solutions_md = (CHAPTER_DIR / "solutions.md").read_text(encoding="utf-8")
    assert headings_problems(exercises_md, solutions_md.replace("## Solution 3:", "## Solution 3: not", 1))
    assert headings_problems(exercises_md, re.sub(r"^## Solution 10: .+$", "", solutions_md, flags=re.M))


def test_each_exercise_says_its_kind_and_coding_ones_name_stub_and_command():
    text = (CHAPTER_DIR / "exercises.md").read_text(encoding="utf-8")
    by_number = {ex.number: ex for ex in EXERCISES}
    coding = 0
    for number, body in enumerate(_sections(text, "Exercise"), start=1):
        kind = re.search(r"\*\*(Theory|Coding)\.?\*\*", body)
        assert kind, f"exercise {number} does not say whether it is theory or coding"
        if kind.group(1) == "Coding":
            coding += 1
            ex = by_number[number]
            assert f"`{ex.function_name}(" in body and "python -m verify --exercises 04 my_answers.py" in body, number
        else:
            assert number not in by_number, f"exercise {number} is graded but says Theory"
    assert coding == len(EXERCISES) >= 4


def test_each_coding_solution_shows_the_code_of_solutions_py():
    text = (CHAPTER_DIR / "solutions.md").read_text(encoding="utf-8")
    sections = _sections(text, "Solution")
    for ex in EXERCISES:
        assert f"def {ex.function_name}(" in sections[ex.number - 1], ex.number
