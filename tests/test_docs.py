"""The calling convention of every kind, in ``help(verify.check)`` and in README.md, with an
example each that runs: the docstring's examples as doctests, the README's block as code.
A planted wrong derivative in the same examples is shown to fail."""

from __future__ import annotations

import doctest
import re
import types
from pathlib import Path

import numpy as np
import pytest

import verify
from verify import api
from verify.registry import KINDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SEVERAL = ("gradient", "jacobian", "jvp", "vjp")  # the kinds that take several wrt arguments


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


OWN = _section(README, "Check your own derivative")


def _examples_block() -> str:
    return next(b for b in re.findall(r"```python\n(.*?)```", OWN, flags=re.S) if "examples = {" in b)


def _called_kinds(code: str) -> list[tuple[str, bool]]:
    """(kind, several wrt) of every verify.check call in ``code``."""
    calls = re.findall(r"verify\.check\((.*?)\)(?:\.passed|,\n)", code)
    return [(re.search(r'kind="(\w+)"', c).group(1), "wrt=(" in c) for c in calls if 'kind="' in c]


def test_help_shows_a_native_layer_a_module_and_a_structured_argument():
    doc = verify.check.__doc__
    assert "torch.autograd.Function" in doc and "verify.check(Cube," in doc
    assert "verify.check(torch.nn.Linear(" in doc
    assert 'kind="gradient").passed' in doc and '"w": 2 * x.T @ r' in doc


def _run_doctests(docstring: str) -> doctest.TestResults:
    test = doctest.DocTestParser().get_doctest(docstring, {}, "verify.check", "verify/api.py", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=lambda _: None)
    return runner.summarize(verbose=False)


# --------------------------------------------------------------------------------------
# help(verify.check)
# --------------------------------------------------------------------------------------


def test_help_gives_the_convention_of_every_kind():
    doc = verify.check.__doc__
    table = doc[doc.index("kind        derivative is called as"):doc.index("With several arguments")]
    for kind in KINDS:
        assert re.search(rf"^\s*{kind}\s+derivative\(\*args", table, flags=re.M), kind
    kinds = _called_kinds(doc)
    assert {k for k, _ in kinds} == set(KINDS), "an example per kind"
    assert {k for k, several in kinds if several} == set(SEVERAL), "an example with several wrt arguments per kind that takes them"


def test_help_examples_run():
    result = _run_doctests(verify.check.__doc__)
    assert result.failed == 0 and result.attempted >= 2 + len(KINDS) + len(SEVERAL)


def test_module_docstring_example_runs():
    assert doctest.testmod(api, optionflags=doctest.ELLIPSIS).failed == 0


@pytest.mark.parametrize("right, wrong", [
    ("lambda x, t: np.cos(x) * t", "lambda x, t: np.sin(x) * t"),                   # jvp
    ("lambda x, u: u * x.sum() + u @ x", "lambda x, u: u * x.sum()"),               # vjp: a term missing
    ("lambda x, y, t: y * t[0] + x * t[1]", "lambda x, y, t: y * t[1] + x * t[0]"),  # jvp, tangents swapped
])
def test_a_wrong_example_in_help_fails(right, wrong):
    """The doctests can fail: a planted wrong derivative prints False where True is expected."""
    doc = verify.check.__doc__
    assert right in doc
    assert _run_doctests(doc.replace(right, wrong)).failed == 1


# --------------------------------------------------------------------------------------
# README.md: the table and its examples
# --------------------------------------------------------------------------------------


def test_readme_table_gives_the_convention_of_every_kind():
    rows = re.findall(r"^\| `(\w+)` \| `(derivative\([^`]*\))` \|", OWN, flags=re.M)
    assert [k for k, _ in rows] == list(KINDS)
    probe = {"jvp": "tangent", "vjp": "cotangent", "hvp": "vector"}
    for kind, call in rows:
        assert call == (f"derivative(*args, {probe[kind]})" if kind in probe else "derivative(*args)"), kind


def test_readme_examples_run():
    code = _examples_block()
    kinds = _called_kinds(code)
    assert {k for k, _ in kinds} == set(KINDS)
    assert {k for k, several in kinds if several} == set(SEVERAL)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    examples = namespace["examples"]
    assert len(examples) == len(kinds)
    assert all(r.passed for r in examples.values()), [name for name, r in examples.items() if not r.passed]


def test_readme_examples_reject_a_doubled_derivative():
    """The same examples with every derivative's answer doubled: each one fails."""

    def doubled(derivative):
        def wrong(*args):
            out = derivative(*args)
            return tuple(2 * np.asarray(o) for o in out) if isinstance(out, tuple) else 2 * np.asarray(out)
        return wrong

    planted = types.SimpleNamespace(check=lambda f, d, *a, **kw: verify.check(f, doubled(d), *a, **kw))
    code = _examples_block()
    assert code.startswith("import numpy as np, verify\n")
    namespace: dict = {"verify": planted}
    with pytest.raises(AssertionError):
        exec(compile(code.replace("import numpy as np, verify\n", "import numpy as np\n", 1), "README.md", "exec"), namespace)
    examples = namespace["examples"]
    assert examples and not any(r.passed for r in examples.values()), [name for name, r in examples.items() if r.passed]
