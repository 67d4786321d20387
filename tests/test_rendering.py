"""Every formula renders on GitHub as written.

The markdown is parsed by GitHub's own parser (cmark-gfm, through ``cmarkgfm``) and every math
span GitHub would find is typeset by MathJax 3 (``tests/render/render.js`` under node, from the
pinned ``tests/render/package-lock.json``; ``make test`` installs it). See tests/render/mathcheck.py
for what is checked. Run ``python -m tests.render.mathcheck FILE.md`` for one file's report.
"""

from __future__ import annotations

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
    clean = "Inline $`a\\,b`$ and $`x_{k}^*`$ and $`y^*`$, a set $`\\{0, 1\\}`$.\n\n```math\n\\sum_{k} a_k \\, b_k\n```\n"
    report = mathcheck.check_string(clean, "clean.md")
    assert report.spans == 5 and not report.problems, "\n".join(map(str, report.problems))
