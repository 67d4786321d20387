"""Render markdown the way GitHub does and check every math span on the way.

GitHub runs its markdown parser (cmark-gfm) first and hands the math it finds to MathJax
afterwards. Only two forms survive the markdown pass untouched: inline `` $`…`$ `` (the TeX
is a code span) and display ```` ```math ```` fences. Bare ``$…$`` / ``$$…$$`` math goes
through the markdown pass as text: ``\\,`` becomes ``,``, ``\\{`` becomes ``{``, and ``_…_``
or ``*…*`` pairs become emphasis. This module

1. extracts the robust math spans from the markdown source (outside other code blocks),
2. renders the file with ``cmarkgfm`` (GitHub's parser, GFM extensions, raw HTML omitted) and
   extracts the math spans GitHub would find in the HTML (``$<code>…</code>$`` and
   ``<pre lang="math">``), and requires the two lists to be equal,
3. flags every ``$`` left in the HTML's text that GitHub would pair into bare math (a ``$``
   escaped as ``\\$`` in the source is text and is not flagged),
4. typesets every span with MathJax 3 (``tests/render/render.js``, node, one process for all
   spans) and reports each error.

Command line: ``python -m tests.render.mathcheck FILE.md ...`` prints the problems and a summary.
"""

from __future__ import annotations

import difflib
import html
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
from cmarkgfm.cmark import Options

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RENDER_JS = HERE / "render.js"
NODE_MODULES = HERE / "node_modules"
INSTALL_HINT = (
    "the rendering test needs node (>= 20) and mathjax-full from tests/render/package-lock.json: "
    "run `make render-deps` (it runs `cd tests/render && npm ci`; on Debian install node with "
    "`apt-get install -y nodejs npm`)"
)

ESCAPED_DOLLAR = "\ue000"  # stands for the source's `\$` while the markdown is parsed
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\s`]*)[^`]*$")
BACKTICKS = re.compile(r"`+")
# backslash escapes of ASCII punctuation that the markdown pass eats in bare math
ESCAPE = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


@dataclass
class Span:
    tex: str
    display: bool
    line: int

    def show(self) -> str:
        return f"```math {self.tex.strip()} ```" if self.display else f"$`{self.tex}`$"


@dataclass
class Problem:
    path: str
    line: int
    span: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}\n    {self.span}"


@dataclass
class Report:
    files: int = 0
    spans: int = 0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        return f"rendered {self.files} markdown files, checked {self.spans} math spans with MathJax, {len(self.problems)} errors"


# --------------------------------------------------------------------------------------------
# the markdown source


def _code_spans(text: str):
    """CommonMark code spans of a block: (start of opening run, end of closing run, content)."""
    runs = list(BACKTICKS.finditer(text))
    i = 0
    while i < len(runs):
        opening = runs[i]
        if opening.start() > 0 and text[opening.start() - 1] == "\\":  # an escaped backtick
            i += 1
            continue
        for j in range(i + 1, len(runs)):
            if len(runs[j].group()) == len(opening.group()):
                yield opening.start(), runs[j].end(), text[opening.end() : runs[j].start()]
                i = j + 1
                break
        else:
            i += 1


def _normalize_code(content: str) -> str:
    content = content.replace("\n", " ")
    if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip(" "):
        content = content[1:-1]
    return content


QUOTE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+")


def _blocks(text: str):
    """Paragraph-like runs of lines outside fenced code: (first line number, text, None), and
    math fences: (line of the opening fence, None, TeX). Blockquote markers are dropped and so
    is the indentation of continuation lines, as the markdown parser does before inlines."""
    lines = [QUOTE.sub("", line) for line in text.split("\n")]
    block: list[str] = []
    start = 0
    fence = None
    math: list[str] = []
    for number, line in enumerate(lines, 1):
        if fence is not None:
            char, length, indent, is_math, opened = fence
            closing = FENCE.match(line)
            if closing and closing.group("fence")[0] == char and len(closing.group("fence")) >= length and not closing.group("info"):
                if is_math:
                    yield opened, None, "\n".join(math) + "\n"
                fence = None
                continue
            if is_math:
                math.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            continue
        opening = FENCE.match(line)
        if opening and not (opening.group("fence")[0] == "`" and "`" in line[opening.end("fence") :]):
            if block:
                yield start, "\n".join(block), None
                block = []
            fence = (opening.group("fence")[0], len(opening.group("fence")), len(opening.group("indent")), opening.group("info") == "math", number)
            math = []
            continue
        if line.strip():
            if not block:
                start = number
            block.append(line.lstrip(" \t") if block else line)
        elif block:
            yield start, "\n".join(block), None
            block = []
    if block:
        yield start, "\n".join(block), None


def source_spans(text: str) -> list[Span]:
    """The robust math spans of the markdown source, in order."""
    spans = []
    for start, block, display in _blocks(text):
        if block is None:
            spans.append(Span(display, True, start))
            continue
        for begin, end, content in _code_spans(block):
            if begin > 0 and block[begin - 1] == "$" and end < len(block) and block[end] == "$":
                spans.append(Span(_normalize_code(content), False, start + block.count("\n", 0, begin)))
    return spans


def bare_source_spans(block: str) -> list[str]:
    """Bare ``$…$`` / ``$$…$$`` math in one block of source (code spans and ``\\$`` masked)."""
    masked = list(block.replace("\\$", "  "))
    for begin, end, _ in _code_spans(block):
        keep_left = begin > 0 and block[begin - 1] == "$"
        keep_right = end < len(block) and block[end] == "$"
        for k in range(begin - (1 if keep_left else 0), end + (1 if keep_right else 0)):
            masked[k] = " "
    masked_text = "".join(masked)
    found = []
    for m in re.finditer(r"\$\$(.+?)\$\$|\$([^$]+?)\$", masked_text, flags=re.S):
        found.append(block[m.start() : m.end()])
    return found


# --------------------------------------------------------------------------------------------
# the HTML GitHub's parser produces


def github_html(text: str) -> str:
    """cmark-gfm with GitHub's extensions (tables, strikethrough, autolinks, tag filter), raw
    HTML omitted as on GitHub, source positions on the blocks for the report."""
    return cmarkgfm.github_flavored_markdown_to_html(text.replace("\\$", ESCAPED_DOLLAR), options=Options.CMARK_OPT_SOURCEPOS)


class _Tokens(HTMLParser):
    """A flat token stream: ('text', s, line, block), ('code', s, line, block),
    ('pre', s, line, lang), ('tag', name, line, block)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple] = []
        self.blocks: list[tuple[int, int]] = []  # (id, line) of the enclosing elements with a sourcepos
        self.next_id = 0
        self.pre: list | None = None  # [lang, text, line] while inside <pre>
        self.code: list[str] | None = None
        self.opened: list[str] = []  # the tags that pushed onto self.blocks
        self.extent: dict[int, tuple[int, int]] = {}  # block id -> (first line, last line)

    def _where(self):
        return self.blocks[-1] if self.blocks else (-1, 0)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        pos = attrs.get("data-sourcepos")
        if pos:
            self.next_id += 1
            first, last = (int(part.split(":", 1)[0]) for part in pos.split("-", 1))
            self.blocks.append((self.next_id, first))
            self.extent[self.next_id] = (first, last)
            self.opened.append(tag)
        if tag == "pre":
            self.pre = [attrs.get("lang"), [], self._where()[1]]
        elif tag == "code" and self.pre is None:
            self.code = []
        elif self.pre is None and self.code is None:
            block, line = self._where()
            self.tokens.append(("tag", tag, line, block))

    def handle_endtag(self, tag):
        if tag == "pre" and self.pre is not None:
            lang, parts, line = self.pre
            self.tokens.append(("pre", "".join(parts), line, lang))
            self.pre = None
        elif tag == "code" and self.code is not None:
            block, line = self._where()
            self.tokens.append(("code", "".join(self.code), line, block))
            self.code = None
        elif self.pre is None and self.code is None:
            block, line = self._where()
            self.tokens.append(("tag", "/" + tag, line, block))
        if self.opened and self.opened[-1] == tag:
            self.opened.pop()
            self.blocks.pop()

    def handle_data(self, data):
        if self.pre is not None:
            self.pre[1].append(data)
        elif self.code is not None:
            self.code.append(data)
        else:
            block, line = self._where()
            self.tokens.append(("text", data, line, block))


def html_spans(rendered: str) -> tuple[list[Span], dict[int, dict]]:
    """The math spans GitHub finds in the HTML, and per block the bare ``$`` left in its text."""
    parser = _Tokens()
    parser.feed(rendered)
    parser.close()
    tokens = parser.tokens
    spans: list[Span] = []
    used: set[tuple[int, int]] = set()  # (token index, character index) of the dollars of $`…`$
    for i, (kind, text, line, extra) in enumerate(tokens):
        if kind == "pre" and extra == "math":
            spans.append(Span(text.replace(ESCAPED_DOLLAR, "\\$"), True, line))
        elif kind == "code":
            before = tokens[i - 1] if i > 0 else None
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            if before and before[0] == "text" and before[1].endswith("$") and after and after[0] == "text" and after[1].startswith("$"):
                if (i - 1, len(before[1]) - 1) in used:  # that dollar already closed a span
                    continue
                used.add((i - 1, len(before[1]) - 1))
                used.add((i + 1, 0))
                spans.append(Span(text.replace(ESCAPED_DOLLAR, "\\$"), False, line))
    bare: dict[int, dict] = {}
    for i, (kind, text, line, block) in enumerate(tokens):
        if kind != "text":
            continue
        for k, char in enumerate(text):
            if char == "$" and (i, k) not in used:
                first, last = parser.extent.get(block, (line, line))
                entry = bare.setdefault(block, {"line": first, "last": last, "dollars": [], "emphasis": False})
                entry["dollars"].append((i, k))
    for block, entry in bare.items():
        first, last = entry["dollars"][0][0], entry["dollars"][-1][0]
        entry["emphasis"] = any(t[0] == "tag" and t[1].strip("/") in ("em", "strong", "del") for t in tokens[first : last + 1])
    return spans, bare


# --------------------------------------------------------------------------------------------
# MathJax


def typeset(spans: list[Span]) -> list[str | None]:
    """MathJax's error for each span (None when it renders), all spans in one node process."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "mathjax-full").is_dir():
        raise RuntimeError(INSTALL_HINT)
    payload = json.dumps([{"id": i, "tex": s.tex, "display": s.display} for i, s in enumerate(spans)])
    run = subprocess.run([node, str(RENDER_JS)], input=payload, capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise RuntimeError(f"render.js failed ({run.returncode}): {run.stderr.strip()}\n{INSTALL_HINT}")
    return [row["error"] for row in json.loads(run.stdout)]


# --------------------------------------------------------------------------------------------
# one file, many files


def check_text(text: str, path: str) -> tuple[list[Span], list[Problem]]:
    """The spans to typeset (as GitHub would hand them to MathJax) and the markdown-pass problems."""
    problems: list[Problem] = []
    expected = source_spans(text)
    rendered = github_html(text)
    found, bare = html_spans(rendered)
    matcher = difflib.SequenceMatcher(a=[(s.tex, s.display) for s in expected], b=[(s.tex, s.display) for s in found], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            for s, h in zip(expected[a0:a1], found[b0:b1]):
                h.line = s.line
            continue
        for k in range(max(a1 - a0, b1 - b0)):
            src = expected[a0 + k] if a0 + k < a1 else None
            got = found[b0 + k] if b0 + k < b1 else None
            if src and got:
                got.line = src.line
                problems.append(Problem(path, src.line, src.show(), f"the markdown pass changed this math span; MathJax receives {got.show()}"))
            elif src:
                problems.append(Problem(path, src.line, src.show(), "this math span does not reach MathJax (GitHub's parser does not see it as math here)"))
            else:
                problems.append(Problem(path, got.line, got.show(), "GitHub finds a math span here that the source does not write as one"))
    lines = text.split("\n")
    seen = set()
    for entry in bare.values():
        if len(entry["dollars"]) < 2:
            continue  # a lone dollar pairs with nothing
        line = entry["line"]
        block = "\n".join(lines[line - 1 : entry["last"]])
        pieces = bare_source_spans(block) or [block.strip()]
        for piece in pieces:
            offset = block.find(piece)
            at = line + (block.count("\n", 0, offset) if offset >= 0 else 0)
            if (at, piece) in seen:
                continue
            seen.add((at, piece))
            damage = sorted({m.group(0) for m in ESCAPE.finditer(piece) if m.group(0) != "\\\\"})
            why = []
            if damage:
                why.append("the markdown pass drops the backslash of " + ", ".join(f"`{d}`" for d in damage))
            if entry["emphasis"] and re.search(r"[_*]", piece):
                why.append("markdown pairs `_` or `*` across the math into emphasis")
            message = "bare $…$ math: GitHub's markdown pass runs before MathJax"
            if why:
                message += " (" + "; ".join(why) + ")"
            problems.append(Problem(path, at, piece.replace("\n", " "), message + ". Write $`…`$ or a ```math fence, or escape a literal dollar as \\$"))
    return found, problems


def check_files(paths, root: Path = ROOT) -> Report:
    report = Report()
    todo: list[tuple[str, Span]] = []
    for path in paths:
        path = Path(path)
        name = str(path.relative_to(root)) if path.is_absolute() and path.is_relative_to(root) else str(path)
        spans, problems = check_text(path.read_text(encoding="utf-8"), name)
        report.files += 1
        report.problems += problems
        todo += [(name, s) for s in spans]
    report.problems += _typeset_problems(todo)
    report.spans = len(todo)
    report.problems.sort(key=lambda p: (p.path, p.line))
    return report


def check_string(text: str, name: str = "<string>") -> Report:
    spans, problems = check_text(text, name)
    report = Report(files=1, spans=len(spans), problems=problems)
    report.problems += _typeset_problems([(name, s) for s in spans])
    report.problems.sort(key=lambda p: p.line)
    return report


def _typeset_problems(todo) -> list[Problem]:
    errors = typeset([s for _, s in todo])
    return [Problem(name, s.line, s.show(), f"MathJax: {error}") for (name, s), error in zip(todo, errors) if error]


def markdown_files(root: Path = ROOT) -> list[Path]:
    """What the test renders: every markdown file under derivations/, the README and the
    benchmarks' README."""
    files = sorted((root / "derivations").rglob("*.md"))
    return [root / "README.md", root / "benchmarks" / "README.md", *files]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    paths = [Path(a).resolve() for a in argv] or markdown_files()
    report = check_files(paths)
    for problem in report.problems:
        print(problem)
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
