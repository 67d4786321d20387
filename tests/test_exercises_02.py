"""Chapter 02's exercises: the reference answers pass the engine, every planted mistake fails,
the stubs are stubs, and exercises.md, solutions.md, starter.py and solutions.py agree."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from verify.engine import entry_rng, run_entry
from verify.exercises import EXERCISES as ALL_EXERCISES
from verify.exercises.multivariable import CHAPTER, EXERCISES
from verify.registry import Identity

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "derivations" / CHAPTER


def _load(name):
    spec = importlib.util.spec_from_file_location(f"{name}_02", FOLDER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


solutions = _load("solutions")
starter = _load("starter")


def identity(exercise, derivative):
    return Identity(name=exercise.name, chapter=exercise.chapter, statement=exercise.title, derivation="",
                    function=exercise.function, derivative=derivative, kind=exercise.kind, sample=exercise.sample,
                    wrt=exercise.wrt, holomorphic=exercise.holomorphic)


ids = lambda e: e.function_name


def test_the_chapter_module_is_gathered():
    assert all(e in ALL_EXERCISES for e in EXERCISES)
    assert {e.chapter for e in EXERCISES} == {CHAPTER}


@pytest.mark.parametrize("exercise", EXERCISES, ids=ids)
def test_reference_solution_passes_every_check(exercise):
    result = run_entry(identity(exercise, getattr(solutions, exercise.function_name)), trials=2)
    assert result.checks and result.passed, result.message()


MISTAKES = [(e, m) for e in EXERCISES for m in e.mistakes]


@pytest.mark.parametrize("exercise, mistake", MISTAKES, ids=[f"{e.function_name}: {m.label}" for e, m in MISTAKES])
def test_every_planted_mistake_is_rejected(exercise, mistake):
    result = run_entry(identity(exercise, mistake.answer), frameworks=("torch", "fd"))
    assert result.checks and not any(c.passed for c in result.checks), result.message()


@pytest.mark.parametrize("exercise", EXERCISES, ids=ids)
def test_mistakes_are_told_apart_at_the_sampled_inputs(exercise):
    """Each planted answer differs from the solution and from every other planted answer."""
    args = exercise.sample(entry_rng(0, exercise.name, 0))
    answers = [getattr(solutions, exercise.function_name)(*args)] + [m.answer(*args) for m in exercise.mistakes]
    for i in range(len(answers)):
        for j in range(i + 1, len(answers)):
            a, b = np.asarray(answers[i]), np.asarray(answers[j])
            assert a.shape != b.shape or np.max(np.abs(a - b)) > 1e-3 * np.max(np.abs(a)), (i, j)
    for mistake in exercise.mistakes:
        assert mistake.hint and exercise.function_name not in mistake.hint


@pytest.mark.parametrize("exercise", EXERCISES, ids=ids)
def test_starter_stub_raises_not_implemented(exercise):
    stub = getattr(starter, exercise.function_name)
    args = exercise.sample(np.random.default_rng(0))
    with pytest.raises(NotImplementedError):
        stub(*args)
    assert inspect.signature(stub) == inspect.signature(getattr(solutions, exercise.function_name))
    assert stub.__doc__ and f"Exercise {exercise.number}" in stub.__doc__


def test_starter_and_solutions_declare_exactly_the_coding_exercises():
    public = lambda module: {n for n, f in inspect.getmembers(module, inspect.isfunction) if f.__module__ == module.__name__}
    names = {e.function_name for e in EXERCISES}
    assert public(starter) == names
    assert public(solutions) == names


def _headings(path, word):
    return re.findall(rf"^## {word} (\d+): (.+)$", path.read_text(encoding="utf-8"), flags=re.M)


def _sections(path, word):
    text = path.read_text(encoding="utf-8")
    parts = re.split(rf"^## {word} (\d+): .+$", text, flags=re.M)
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}


def test_exercises_and_solutions_have_matching_headings():
    exercises = _headings(FOLDER / "exercises.md", "Exercise")
    solutions_md = _headings(FOLDER / "solutions.md", "Solution")
    assert len(exercises) >= 8
    assert [int(n) for n, _ in exercises] == list(range(1, len(exercises) + 1))
    assert exercises == solutions_md


def test_each_exercise_says_theory_or_coding_and_coding_ones_name_stub_and_command():
    sections = _sections(FOLDER / "exercises.md", "Exercise")
    coding = {n for n, text in sections.items() if text.lstrip().startswith("*Coding")}
    theory = {n for n, text in sections.items() if text.lstrip().startswith("*Theory")}
    assert coding | theory == set(sections) and not coding & theory
    assert len(coding) >= 4
    declared = {e.number: e for e in EXERCISES}
    assert coding == set(declared)
    for n in coding:
        assert f"`{declared[n].function_name}(" in sections[n]
        assert "python -m verify --exercises 02 my_answers.py" in sections[n]


def test_coding_solutions_show_the_reference_code():
    """Every line of each reference function's body (comments aside) appears in its solution."""
    sections = _sections(FOLDER / "solutions.md", "Solution")
    for exercise in EXERCISES:
        function = ast.parse(textwrap.dedent(inspect.getsource(getattr(solutions, exercise.function_name)))).body[0]
        source = textwrap.dedent(inspect.getsource(getattr(solutions, exercise.function_name))).splitlines()
        first = function.body[1].lineno  # body[0] is the docstring
        lines = [line.split("  #")[0].strip() for line in source[first - 1:]]
        assert lines
        for line in filter(None, lines):
            assert line in sections[exercise.number], (exercise.number, line)
