"""Chapter 03's exercises: the reference answers pass the engine, every planted mistake is
rejected, the starter's stubs are not attempted, and the two markdown files match."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from verify.engine import run_entry
from verify.exercises.directional import EXERCISES
from verify.registry import Identity

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "derivations" / "03_directional_derivatives"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"{name}_03", CHAPTER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTIONS, STARTER = _load("solutions"), _load("starter")


def _identity(exercise, answer):
    return Identity(name=exercise.name, chapter=exercise.chapter, statement=exercise.title, derivation="",
                    function=exercise.function, derivative=answer, kind=exercise.kind, sample=exercise.sample,
                    wrt=exercise.wrt, holomorphic=exercise.holomorphic)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_reference_answer_passes_every_check(exercise):
    result = run_entry(_identity(exercise, getattr(SOLUTIONS, exercise.function_name)))
    failed = [(c.check, c.error, c.reason) for c in result.checks if not c.passed]
    assert result.passed and len(result.checks) >= 6, failed


@pytest.mark.parametrize("exercise, mistake", [(e, m) for e in EXERCISES for m in e.mistakes],
                         ids=lambda x: getattr(x, "name", None) or getattr(x, "label", "")[:30])
def test_every_planted_mistake_is_rejected(exercise, mistake):
    result = run_entry(_identity(exercise, mistake.answer), frameworks=("jax", "fd"))
    assert not result.passed, f"{exercise.name}: the mistake {mistake.label!r} passes"
    assert mistake.hint and mistake.label


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_every_mistake_differs_from_the_answer_at_a_sample(exercise):
    """The grader names a mistake by comparing answers at sampled inputs: they must differ."""
    rng = np.random.default_rng(0)
    args = exercise.sample(rng)
    extra = (rng.standard_normal(np.shape(args[0])),) if exercise.kind in ("jvp", "hvp") else ()
    reference = np.asarray(getattr(SOLUTIONS, exercise.function_name)(*args, *extra))
    for mistake in exercise.mistakes:
        wrong = np.broadcast_to(np.asarray(mistake.answer(*args, *extra)), reference.shape)
        assert not np.allclose(wrong, reference, rtol=1e-6), mistake.label


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_starter_stub_is_not_attempted(exercise):
    stub = getattr(STARTER, exercise.function_name)
    rng = np.random.default_rng(1)
    args = exercise.sample(rng)
    extra = (rng.standard_normal(np.shape(args[0])),) if exercise.kind in ("jvp", "hvp") else ()
    with pytest.raises(NotImplementedError):
        stub(*args, *extra)
    assert stub.__doc__ and f"Exercise {exercise.number}." in stub.__doc__


def _headings(name, word):
    text = (CHAPTER / name).read_text(encoding="utf-8")
    return re.findall(rf"^## {word} (\d+): (.+)$", text, flags=re.M), text


def test_exercises_and_solutions_have_matching_headings():
    exercises, text = _headings("exercises.md", "Exercise")
    solutions, _ = _headings("solutions.md", "Solution")
    assert len(exercises) >= 8
    assert [int(n) for n, _ in exercises] == list(range(1, len(exercises) + 1))
    assert exercises == solutions
    sections = re.split(r"^## Exercise \d+: .+$", text, flags=re.M)[1:]
    kinds = [("coding" if re.search(r"\*\*Coding", s) else "theory" if re.search(r"\*\*Theory", s) else None) for s in sections]
    assert None not in kinds, "every exercise says whether it is theory or coding"
    coding = [int(n) for (n, _), kind in zip(exercises, kinds) if kind == "coding"]
    assert len(coding) >= 4
    assert sorted(e.number for e in EXERCISES) == coding  # every coding exercise is graded by the engine
    for exercise in EXERCISES:
        section = sections[exercise.number - 1]
        assert f"`{exercise.function_name}`" in section and "python -m verify --exercises 03 my_answers.py" in section


def test_starter_and_solutions_define_the_same_functions():
    names = {e.function_name for e in EXERCISES}
    public = lambda m: {n for n in dir(m) if callable(getattr(m, n)) and not n.startswith("_") and getattr(getattr(m, n), "__module__", "") == m.__name__}
    assert public(STARTER) == names
    assert public(SOLUTIONS) == names
    source = (CHAPTER / "solutions.py").read_text(encoding="utf-8")
    assert "import numpy as np" in source and not re.search(r"^(from|import) (jax|torch|implementations|verify)", source, flags=re.M)
