"""Every chapter's exercises, from their one declaration (verify/exercises/): the reference
answers pass the engine, every planted mistake fails it and is told apart from the answer,
the stubs are stubs, and exercises.md, solutions.md, starter.py and solutions.py agree.

The grader's behaviour (rows, hints, exit codes) is tested in tests/test_grader.py.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from verify.engine import draw_probe, entry_rng, run_entry
from verify.exercises import CHAPTER_MODULES, EXERCISES
from verify.registry import PROBED_KINDS, Identity

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted({e.chapter for e in EXERCISES})
MISTAKES = [(e, m) for e in EXERCISES for m in e.mistakes]


def _module(chapter: str, name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_{chapter[:2]}", ROOT / "derivations" / chapter / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTIONS = {c: _module(c, "solutions") for c in CHAPTERS}
STARTERS = {c: _module(c, "starter") for c in CHAPTERS}


def identity(exercise, derivative) -> Identity:
    return Identity(name=exercise.name, chapter=exercise.chapter, statement=exercise.title, derivation="",
                    function=exercise.function, derivative=derivative, kind=exercise.kind, sample=exercise.sample,
                    wrt=exercise.wrt, holomorphic=exercise.holomorphic)


def answer(exercise):
    return getattr(SOLUTIONS[exercise.chapter], exercise.function_name)


def call(exercise, function, args):
    """``function`` called as the engine calls a derivative of the exercise's kind (a jvp,
    vjp or hvp receives a random tangent, cotangent or vector after the arguments)."""
    if exercise.kind not in PROBED_KINDS:
        return function(*args)
    entry = identity(exercise, function)
    probe = draw_probe(entry, args, exercise.function(*args), np.random.default_rng(1), np.float64)
    if exercise.kind == "jvp" and not entry.multiple_wrt:
        probe = probe[0]
    return function(*args, probe)


def sections(chapter: str, file: str, word: str) -> dict[int, str]:
    parts = re.split(rf"^## {word} (\d+): ", (ROOT / "derivations" / chapter / file).read_text(encoding="utf-8"), flags=re.M)
    return {int(n): text for n, text in zip(parts[1::2], parts[2::2])}


def test_every_chapter_declares_its_exercises():
    assert len(CHAPTERS) == len(CHAPTER_MODULES) == 4


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_reference_answer_passes_every_check(exercise):
    result = run_entry(identity(exercise, answer(exercise)), trials=2)
    assert result.checks and result.passed, result.message()


@pytest.mark.parametrize("exercise, mistake", MISTAKES, ids=[f"{e.name}: {m.label}" for e, m in MISTAKES])
def test_every_planted_mistake_is_rejected_by_every_check(exercise, mistake):
    result = run_entry(identity(exercise, mistake.answer), frameworks=("torch", "fd"))
    assert result.checks and not any(c.passed for c in result.checks), result.message()


def test_a_reference_off_by_a_relative_1e6_would_be_caught():
    """The first check above can fail: a right answer scaled by 1 + 1e-6 is rejected."""
    exercise = EXERCISES[0]
    right = answer(exercise)
    assert not run_entry(identity(exercise, lambda *a: right(*a) * (1 + 1e-6))).passed


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_mistakes_are_told_apart_at_the_sampled_inputs_and_hints_do_not_give_the_answer(exercise):
    """The grader names a mistake when the student's answer agrees with it: each planted
    answer must differ from the reference and from every other planted answer."""
    args = exercise.sample(entry_rng(0, exercise.name, 0))
    answers = [call(exercise, answer(exercise), args)] + [call(exercise, m.answer, args) for m in exercise.mistakes]
    flat = [np.concatenate([np.ravel(p) for p in a]) if isinstance(a, tuple) else np.asarray(a) for a in answers]
    for i in range(len(flat)):
        for j in range(i + 1, len(flat)):
            a, b = flat[i], flat[j]
            assert a.shape != b.shape or np.max(np.abs(a - b)) > 1e-6 * np.max(np.abs(a)), (exercise.name, i, j)
    for mistake in exercise.mistakes:
        assert mistake.hint and exercise.function_name not in mistake.hint


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_starter_stub_raises_not_implemented(exercise):
    stub = getattr(STARTERS[exercise.chapter], exercise.function_name)
    with pytest.raises(NotImplementedError):
        call(exercise, stub, exercise.sample(np.random.default_rng(0)))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_starter_and_solutions_define_exactly_the_coding_exercises_with_numpy_only(chapter):
    declared = {e.function_name for e in EXERCISES if e.chapter == chapter}
    for name in ("starter", "solutions"):
        tree = ast.parse((ROOT / "derivations" / chapter / f"{name}.py").read_text(encoding="utf-8"))
        public = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}
        assert public == declared, (name, public ^ declared)
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert imported <= {"numpy", "__future__"}, (name, imported)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercises_and_solutions_match_and_say_what_each_exercise_is(chapter):
    exercises, solutions = sections(chapter, "exercises.md", "Exercise"), sections(chapter, "solutions.md", "Solution")
    assert len(exercises) >= 8 and sorted(exercises) == list(range(1, len(exercises) + 1))
    titles = lambda found: {n: text.splitlines()[0].strip() for n, text in found.items()}
    assert titles(exercises) == titles(solutions)
    declared = {e.number: e for e in EXERCISES if e.chapter == chapter}
    assert len(declared) >= 4
    for number, text in exercises.items():
        opening = " ".join(text.splitlines()[:4]).lower()
        assert ("coding" in opening) == (number in declared) and ("coding" in opening or "theory" in opening), number
        if number in declared:
            assert f"`{declared[number].function_name}" in text, f"exercise {number} names its stub"
            assert f"python -m verify --exercises {chapter[:2]} my_answers.py" in text, number


def test_the_log_det_exercise_samples_negative_determinants():
    """Its answer differs from the det > 0 formula only there: every draw has det X < 0."""
    exercise = next(e for e in EXERCISES if e.function_name == "log_abs_det_gradient")
    for seed in range(20):
        (X,) = exercise.sample(np.random.default_rng(seed))
        assert np.linalg.det(X) < 0 and not np.allclose(X, X.T)
