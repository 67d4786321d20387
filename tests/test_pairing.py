"""Derivations and code cannot drift apart: every entry is paired with its markdown."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from verify.identities import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DERIVATIONS = ROOT / "derivations"
CODE_REF = re.compile(r"implementations/(\w+)\.py::(\w+)")


def _implementation(entry):
    return getattr(entry, "derivative", None) or entry.implementation


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
def test_derivation_exists_and_names_its_function(entry):
    path = ROOT / entry.derivation
    assert path.is_file(), f"{entry.name}: derivation {entry.derivation} is missing"
    text = path.read_text(encoding="utf-8")
    fn = _implementation(entry)
    module = fn.__module__.split(".")[-1]
    assert f"implementations/{module}.py::{fn.__name__}" in text, (
        f"{entry.derivation} does not name implementations/{module}.py::{fn.__name__}"
    )
    assert f"python -m verify {entry.name}" in text, f"{entry.derivation} does not give the check command for {entry.name}"


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
def test_docstring_points_back_to_the_derivation(entry):
    doc = inspect.getdoc(_implementation(entry)) or ""
    assert entry.derivation in doc, f"{entry.name}: the docstring of its function does not name {entry.derivation}"


CHAPTER_PAGES = {"README.md", "exercises.md", "solutions.md"}  # a chapter's course unit, not derivations


def _derivation_files():
    return sorted(p for p in DERIVATIONS.glob("0*/*.md") if p.name not in CHAPTER_PAGES)


def _chapter_pages():
    return sorted(p for p in DERIVATIONS.glob("0*/*.md") if p.name in CHAPTER_PAGES)


def test_every_derivation_file_has_an_entry():
    declared = {entry.derivation for entry in REGISTRY}
    orphans = [str(p.relative_to(ROOT)) for p in _derivation_files() if str(p.relative_to(ROOT)) not in declared]
    assert not orphans, f"derivations without a registry entry: {orphans}"


def test_every_function_named_in_a_derivation_exists():
    missing = []
    for path in _derivation_files() + [DERIVATIONS / "README.md"]:
        if not path.exists():
            continue
        for module, name in CODE_REF.findall(path.read_text(encoding="utf-8")):
            mod = importlib.import_module(f"implementations.{module}")
            if not hasattr(mod, name):
                missing.append(f"{path.relative_to(ROOT)}: implementations/{module}.py::{name}")
    assert not missing, f"derivations name functions that do not exist: {missing}"


def test_curriculum_table_is_up_to_date():
    table = subprocess.run([sys.executable, "-m", "verify", "--curriculum"], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    readme = (DERIVATIONS / "README.md").read_text(encoding="utf-8")
    assert table.strip() in readme, "derivations/README.md is stale: regenerate the table with `python -m verify --curriculum`"


def test_markdown_links_resolve():
    broken = []
    for path in _derivation_files() + _chapter_pages() + [DERIVATIONS / "README.md", DERIVATIONS / "notation.md", ROOT / "README.md"]:
        if not path.exists():
            continue
        for target in re.findall(r"\]\(([^)#\s]+)", path.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not broken, f"broken links: {broken}"


def test_code_references_are_links_on_github():
    """A reader clicks from a derivation (or the curriculum table) to the code it names."""
    bare = re.compile(r"(?<!\[)`implementations/\w+\.py::\w+`(?!\]\()")
    unlinked = []
    for path in _derivation_files() + [DERIVATIONS / "README.md"]:
        fence = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            fence ^= line.lstrip().startswith("```")
            if not fence and bare.search(line):
                unlinked.append(f"{path.relative_to(ROOT)}:{number}")
    assert not unlinked, f"code references that are not links: {unlinked[:10]}"
    assert bare.search("see `implementations/layers.py::linear`")  # the pattern finds a bare one
