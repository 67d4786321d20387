"""The coding exercises of the tutorial: each one declared once, graded by the engine.

A coding exercise asks a student to hand-code one derivative in numpy. It is declared
like a registry identity (a primal written against the array API, a kind, a sampler)
plus the name of the function the student writes and the mistakes students are known
to make, each with a planted wrong answer and a hint. One module per chapter declares
``EXERCISES``; this package gathers them into ``EXERCISES`` in chapter order.

Files per chapter (``derivations/<chapter>/``):

- ``exercises.md``: every exercise (theory and coding), headed ``## Exercise N: title``;
- ``solutions.md``: the complete solutions, headed ``## Solution N: title``;
- ``starter.py``: one stub per coding exercise, raising NotImplementedError;
- ``solutions.py``: the reference answers, the same function names as the stubs.

``python -m verify --exercises 02 my_answers.py`` grades a student's copy of the
starter (verify/grader.py): each Exercise with the student's function becomes a registry
Identity (``verify.grader.identity_of``) and runs through ``verify.engine.run_entry``;
tests/test_grader.py checks every declared exercise (the reference solution passes, every
Mistake is rejected and named, the starter is "not attempted", the chapter's files agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..registry import KINDS, SECOND_ORDER_KINDS


@dataclass(frozen=True)
class Mistake:
    """A mistake students make: a planted wrong answer and the hint it earns.

    ``answer`` has the stub's signature. When a student's answer fails and agrees with
    ``answer`` at the sampled inputs, the grader names ``label`` and prints ``hint``.
    """

    label: str  # what the mistake is, e.g. "sigma(x) instead of sigma(x)(1 - sigma(x))"
    hint: str  # what the student should look at, without giving the answer away
    answer: Callable


@dataclass(frozen=True)
class Exercise:
    """One coding exercise: the student writes ``function_name`` in the starter file."""

    chapter: str  # e.g. "01_single_variable_derivatives"
    number: int  # the N of "## Exercise N" in exercises.md
    function_name: str  # the stub's name in starter.py and solutions.py
    title: str
    function: Callable  # the primal, written against the array API
    kind: str  # one of verify.registry.KINDS; the stub follows that kind's calling convention
    sample: Callable[[np.random.Generator], tuple]  # draws (*args) inside the domain
    wrt: int | tuple[int, ...] = 0
    mistakes: tuple[Mistake, ...] = field(default_factory=tuple)
    holomorphic: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"exercise {self.number}: kind {self.kind!r} is not one of {KINDS}")
        if not self.mistakes:
            raise ValueError(f"exercise {self.number} ({self.function_name}) needs at least one planted mistake")
        if not all(isinstance(m, Mistake) for m in self.mistakes):
            raise ValueError(f"exercise {self.number} ({self.function_name}): mistakes must be Mistake(label, hint, answer)")
        if not self.function_name.isidentifier():
            raise ValueError(f"exercise {self.number}: function_name {self.function_name!r} is not a Python name")
        if not (isinstance(self.number, int) and self.number >= 1):
            raise ValueError(f"exercise {self.function_name}: number {self.number!r} must be the N >= 1 of '## Exercise N' in exercises.md")
        if not (len(self.chapter) > 3 and self.chapter[:2].isdigit() and self.chapter[2] == "_"):
            raise ValueError(f"exercise {self.number} ({self.function_name}): chapter {self.chapter!r} is not a chapter folder such as 02_multivariable_derivatives")
        if self.kind in SECOND_ORDER_KINDS and not isinstance(self.wrt, int):
            raise ValueError(f"exercise {self.number} ({self.function_name}): a {self.kind} takes exactly one wrt argument")

    @property
    def name(self) -> str:
        """The row name: ``ex02.3_function_name``."""
        return f"ex{self.chapter[:2]}.{self.number}_{self.function_name}"


CHAPTER_MODULES = ("single_variable", "multivariable", "directional", "matrix_calculus")
"""One module per chapter, named as in verify/identities/, each declaring ``EXERCISES``."""


def _gather() -> list[Exercise]:
    import importlib
    from pathlib import Path

    here = Path(__file__).parent
    gathered = []
    for module in CHAPTER_MODULES:
        if (here / f"{module}.py").exists():  # a test asserts that every chapter has its module
            gathered.extend(importlib.import_module(f"{__name__}.{module}").EXERCISES)
    names = [e.name for e in gathered]
    if len(set(names)) != len(names):
        raise ValueError(f"two exercises share a name: {sorted(n for n in names if names.count(n) > 1)}")
    return gathered


EXERCISES: list[Exercise] = _gather()
