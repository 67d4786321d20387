"""Every formula renders on GitHub as written.

The markdown is parsed by GitHub's own parser (cmark-gfm, through ``cmarkgfm``) and every math
span GitHub would find is typeset by MathJax 3 (``tests/render/render.js`` under node, from the
pinned ``tests/render/package-lock.json``; ``make test`` installs it). See tests/render/mathcheck.py
for what is checked. Run ``python -m tests.render.mathcheck FILE.md`` for one file's report.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.render import mathcheck

README_FILES = ["README.md", "benchmarks/README.md", "derivations/README.md"]


def _fail_with(report):
    shown = "\n".join(str(p) for p in report.problems[:80])
    more = f"\n... and {len(report.problems) - 80} more" if len(report.problems) > 80 else ""
    pytest.fail(f"{report.summary()}\n{shown}{more}", pytrace=False)


def test_every_markdown_file_renders_on_github():
    files = mathcheck.markdown_files()
    report = mathcheck.check_files(files)
    print(f"\n{report.summary()}")
    assert report.files == len(files) >= 3
    if report.problems:
        _fail_with(report)


@pytest.mark.parametrize("name", README_FILES)
def test_readme_renders_on_github(name):
    report = mathcheck.check_files([mathcheck.ROOT / name])
    print(f"\n{name}: {report.summary()}")
    if report.problems:
        _fail_with(report)


PLANTED = r"""# A planted page

Thin space in bare math: $a\,b$ is wrong.

Set braces in bare math: $y \in \{0, 1\}$ is wrong.

Emphasis across two spans: $(\nabla f)_k$ and $A_{kj}$ pair their underscores.

An unknown macro in a robust span: $`\grad f`$.

A robust span that is fine: $`a\,b \in \lbrace 0, 1 \rbrace`$, and one with a set $`\{0, 1\}`$.

```math
\frac{\partial f}{\partial x} = \left( x
```

A literal price, escaped: \$5 and \$10, and a lone dollar sign $ here.

| a | b |
| --- | --- |
| $`\lvert x \rvert`$ | $`|x|`$ |

```python
x = "$not math$"
```
"""


def test_planted_errors_are_each_reported():
    report = mathcheck.check_string(PLANTED, "planted.md")
    by_line = {}
    for problem in report.problems:
        by_line.setdefault(problem.line, []).append(problem)
    text = "\n".join(str(p) for p in report.problems)
    # bare math that loses `\,`
    assert any("bare" in p.message and "`\\,`" in p.message for p in by_line.get(3, [])), text
    # bare math that loses `\{`
    assert any("bare" in p.message and "`\\{`" in p.message for p in by_line.get(5, [])), text
    # an emphasis pair across two bare spans, both spans reported
    emphasis = [p for p in by_line.get(7, []) if "emphasis" in p.message]
    assert {p.span for p in emphasis} == {r"$(\nabla f)_k$", r"$A_{kj}$"}, text
    # an unknown macro in a robust span reaches MathJax and fails there
    assert any("MathJax" in p.message and "\\grad" in p.message for p in by_line.get(9, [])), text
    # a display block with a missing \right
    assert any("MathJax" in p.message for p in by_line.get(13, [])), text
    # a `|` inside a robust span in a table cell splits the cell: the span never reaches MathJax
    assert any("does not reach MathJax" in p.message or "changed" in p.message for p in by_line.get(21, [])), text
    # what is right is not reported: robust spans, escaped dollars, a lone dollar, code blocks
    assert not by_line.get(11) and not by_line.get(17) and not by_line.get(24), text
    assert report.spans >= 5


def test_clean_page_passes():
    clean = (
        "Inline $`a\\,b`$ and $`x_{k}^*`$ and $`y^*`$, a set $`\\{0, 1\\}`$.\n\n"
        "```math\n\\sum_{k} a_k \\, b_k\n```\n\n"
        "- a list item whose span $`a +\n  b`$ goes on in the next line\n\n"
        "> quoted $`c +\n> d`$\n>\n> ```math\n> e^{x}\n> ```\n\n"
        "1. numbered\n   ```math\n   y_1\n   ```\n"
    )
    report = mathcheck.check_string(clean, "clean.md")
    assert report.spans == 9 and not report.problems, "\n".join(map(str, report.problems))
    # planted: the same quote with its line break before the `+`, which starts a list item
    broken = mathcheck.check_string(clean.replace("$`c +\n> d`$", "$`c\n> + d`$"), "broken.md")
    assert [p.line for p in broken.problems] == [10], "\n".join(map(str, broken.problems))


def statement_problems(table: str, statements: dict[str, str]) -> list[str]:
    """Rows of a curriculum table whose statement cell GitHub does not show as the registry's
    text (emphasis, code, raw HTML or a lost backslash taken by the markdown pass)."""
    import html
    import re

    import cmarkgfm

    problems = []
    rendered = cmarkgfm.github_flavored_markdown_to_html(table)
    for row in re.findall(r"<tr>(.*?)</tr>", rendered, flags=re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, flags=re.S)
        if len(cells) != 6:
            continue
        name = html.unescape(re.sub(r"<[^>]+>", "", cells[1]))
        shown = cells[2]
        text = html.unescape(re.sub(r"<[^>]+>", "", shown))
        if name in statements and (text != statements[name] or "<" in shown or "raw HTML" in shown):
            problems.append(f"{name}: the statement {statements[name]!r} shows as {shown!r}")
    return problems


def test_curriculum_statements_show_as_written():
    from verify.cli import curriculum_table
    from verify.identities import REGISTRY

    readme = (mathcheck.ROOT / "derivations" / "README.md").read_text(encoding="utf-8")
    statements = {e.name: e.statement for e in REGISTRY}
    problems = statement_problems(readme, statements)
    assert not problems, "\n".join(problems)
    assert len(statements) == len(REGISTRY) and all(f"`{name}`" in readme for name in statements)
    # planted: statements the markdown pass would change, through the same generator
    first = REGISTRY[0]
    code = getattr(first, "derivative", None) or first.implementation
    planted = [
        SimpleNamespace(name=name, statement=statement, chapter=first.chapter, derivation=first.derivation, derivative=code)
        for name, statement in [("emphasis", "f(x*) = x*y*z"), ("code", "d/dx `x`"), ("tag", "a <b> c"), ("escape", r"a \{ b \}")]
    ]
    reported = statement_problems(curriculum_table(planted), {e.name: e.statement for e in planted})
    assert [p.split(":")[0] for p in reported] == ["emphasis", "code", "tag", "escape"], reported
