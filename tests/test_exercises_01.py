"""Chapter 01's exercises: the reference answers pass the engine, every planted mistake is
rejected, every starter stub is "not attempted", and the two markdown files agree."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from verify.engine import run_entry
from verify.exercises.single_variable import CHAPTER, EXERCISES
from verify.registry import Identity

FOLDER = Path(__file__).resolve().parents[1] / "derivations" / CHAPTER


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_01", FOLDER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTIONS = _load("solutions")
STARTER = _load("starter")
EXERCISES_MD = (FOLDER / "exercises.md").read_text(encoding="utf-8")
SOLUTIONS_MD = (FOLDER / "solutions.md").read_text(encoding="utf-8")


def _identity(exercise, answer) -> Identity:
    return Identity(
        name=exercise.name, chapter=exercise.chapter, statement=exercise.title, derivation="",
        function=exercise.function, derivative=answer, kind=exercise.kind, sample=exercise.sample,
        wrt=exercise.wrt, holomorphic=exercise.holomorphic,
    )


def _headings(text: str, word: str) -> list[tuple[int, str]]:
    return [(int(n), title.strip()) for n, title in re.findall(rf"^## {word} (\d+): (.+)$", text, flags=re.M)]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_reference_answer_passes(exercise):
    result = run_entry(_identity(exercise, getattr(SOLUTIONS, exercise.function_name)))
    assert result.passed, [(c.check, c.error, c.reason) for c in result.checks if not c.passed]


@pytest.mark.parametrize(
    "exercise, mistake",
    [(e, m) for e in EXERCISES for m in e.mistakes],
    ids=lambda v: getattr(v, "name", None) or getattr(v, "label", "")[:40],
)
def test_every_planted_mistake_is_rejected(exercise, mistake):
    assert not run_entry(_identity(exercise, mistake.answer)).passed
    assert mistake.hint and mistake.label


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_starter_stub_raises_not_implemented(exercise):
    stub = getattr(STARTER, exercise.function_name)
    args = exercise.sample(np.random.default_rng(0))
    with pytest.raises(NotImplementedError):
        stub(*args)
    # the stub and the reference answer take the same arguments
    assert inspect.signature(stub) == inspect.signature(getattr(SOLUTIONS, exercise.function_name))


def test_starter_has_exactly_the_coding_exercises():
    stubs = {n for n, f in inspect.getmembers(STARTER, inspect.isfunction) if f.__module__ == STARTER.__name__}
    assert stubs == {e.function_name for e in EXERCISES}


def test_headings_match_and_there_are_enough_exercises():
    exercises, solutions = _headings(EXERCISES_MD, "Exercise"), _headings(SOLUTIONS_MD, "Solution")
    assert [n for n, _ in exercises] == list(range(1, len(exercises) + 1))
    assert exercises == solutions
    assert len(exercises) >= 8 and len(EXERCISES) >= 4


def test_coding_exercises_are_declared_and_named_in_the_markdown():
    sections = re.split(r"^## Exercise ", EXERCISES_MD, flags=re.M)[1:]
    kinds = {int(s.split(":")[0]): re.search(r"^\*\*Type:\*\* (theory|coding)", s, flags=re.M) for s in sections}
    assert all(kinds.values()), "every exercise says **Type:** theory or **Type:** coding"
    coding = {n for n, m in kinds.items() if m.group(1) == "coding"}
    declared = {e.number: e for e in EXERCISES}
    assert coding == set(declared), (coding, set(declared))
    for section in sections:
        number = int(section.split(":")[0])
        if number in declared:
            assert re.search(rf"`{declared[number].function_name}[(`]", section), f"exercise {number} names its stub"
            assert "python -m verify --exercises 01 my_answers.py" in section


def test_a_wrong_reference_would_be_caught():
    """The check itself can fail: a reference answer off by 1e-6 relative is rejected."""
    exercise = EXERCISES[0]
    right = getattr(SOLUTIONS, exercise.function_name)
    assert not run_entry(_identity(exercise, lambda x: right(x) * (1 + 1e-6))).passed
