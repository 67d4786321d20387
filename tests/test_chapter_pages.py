"""Every chapter is a course unit: a page that links each of its derivations, its notebook and
its exercises, and links nothing that does not exist; and the unit's files are all there."""

from __future__ import annotations

import html
import re
from pathlib import Path

import cmarkgfm
import pytest

from verify.identities import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DERIVATIONS = ROOT / "derivations"
CHAPTERS = ["01_single_variable_derivatives", "02_multivariable_derivatives", "03_directional_derivatives", "04_matrix_calculus"]
NOT_DERIVATIONS = {"README.md", "exercises.md", "solutions.md"}
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def unit_files(chapter: str) -> list[str]:
    return ["README.md", "exercises.md", "solutions.md", "starter.py", "solutions.py", f"{chapter}.ipynb"]


def chapter_derivations(chapter: str) -> set[str]:
    """The chapter's derivation files: every registry entry's derivation in it, and every other
    markdown file of the folder that is not the page, the exercises or the solutions."""
    folder = DERIVATIONS / chapter
    declared = {Path(e.derivation).name for e in REGISTRY if Path(e.derivation).parent == Path("derivations") / chapter}
    present = {p.name for p in folder.glob("*.md") if p.name not in NOT_DERIVATIONS}
    return declared | present


def links(text: str) -> list[str]:
    """Inline link and image targets of a markdown text, outside code blocks and code spans."""
    kept, fence = [], None
    for line in text.split("\n"):
        match = FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            continue
        if match:
            fence = match.group(1)
            continue
        kept.append(re.sub(r"(`+)(?:(?!\1).)+?\1", "", line))
    return LINK.findall("\n".join(kept))


def github_anchors(path: Path) -> set[str]:
    """The heading anchors GitHub generates for a markdown file."""
    rendered = cmarkgfm.github_flavored_markdown_to_html(path.read_text(encoding="utf-8"))
    anchors, seen = set(), {}
    for heading in re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", rendered, flags=re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", heading)).strip().lower()
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def broken_links(page: Path) -> list[str]:
    """Relative links of a page to a file that does not exist, or to a heading it lacks."""
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if "://" in target or target.startswith(("mailto:", "#")):
            continue
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve()
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in github_anchors(resolved):
            broken.append(f"{target} (no heading with that anchor)")
    return broken


def page_problems(folder: Path, required: set[str]) -> list[str]:
    """What a chapter page misses: a link to each required file, and links that resolve."""
    page = folder / "README.md"
    if not page.is_file():
        return [f"{page.relative_to(folder.parent)} is missing"]
    linked = {(page.parent / t.partition("#")[0]).resolve() for t in links(page.read_text(encoding="utf-8")) if "://" not in t}
    problems = [f"does not link {name}" for name in sorted(required) if (folder / name).resolve() not in linked]
    problems += [f"broken link {b}" for b in dict.fromkeys(broken_links(page))]
    return problems


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_unit_files_exist(chapter):
    missing = [name for name in unit_files(chapter) if not (DERIVATIONS / chapter / name).is_file()]
    assert not missing, f"derivations/{chapter} lacks {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_links_every_derivation_notebook_and_exercises(chapter):
    required = chapter_derivations(chapter) | {f"{chapter}.ipynb", "exercises.md"}
    problems = page_problems(DERIVATIONS / chapter, required)
    assert not problems, f"derivations/{chapter}/README.md: " + "; ".join(problems)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercises_and_solutions_links_resolve(chapter):
    broken = [f"{name}: {b}" for name in ("exercises.md", "solutions.md") if (DERIVATIONS / chapter / name).is_file() for b in dict.fromkeys(broken_links(DERIVATIONS / chapter / name))]
    assert not broken, f"derivations/{chapter}: broken links {broken}"


def test_planted_page_problems_are_reported(tmp_path):
    folder = tmp_path / "09_planted"
    folder.mkdir()
    for name in ("a.md", "b.md", "exercises.md", "09_planted.ipynb"):
        (folder / name).write_text("# Exercise 1: the chain rule\n", encoding="utf-8")
    (folder / "README.md").write_text(
        "# Planted\n\n[a](a.md), [the notebook](09_planted.ipynb), ![fig](figures/missing.png),\n"
        "[gone](gone.md#x), [exercise 1](exercises.md#exercise-1-the-chain-rule), [bad anchor](exercises.md#exercise-2),\n"
        "`[in code](b.md)`\n",
        encoding="utf-8",
    )
    problems = page_problems(folder, {"a.md", "b.md", "09_planted.ipynb", "exercises.md"})
    assert problems == [
        "does not link b.md",
        "broken link figures/missing.png (no such file)",
        "broken link gone.md#x (no such file)",
        "broken link exercises.md#exercise-2 (no heading with that anchor)",
    ], problems


def test_links_parser_sees_images_anchors_and_titles():
    text = '[x](a.md) ![y](figures/p.png) [z](b.md#sec-1 "title") [w](https://example.org)\n```\n[no](c.md)\n```\n'
    assert links(text) == ["a.md", "figures/p.png", "b.md#sec-1", "https://example.org"]
