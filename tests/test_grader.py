"""The exercise grader (verify/grader.py, ``python -m verify --exercises CH FILE``).

Two parts:
- a small fixture chapter of two exercises, written here, exercises every path of the
  grader: PASS, every diagnosis (planted mistake, sign, factor, transpose, shape, none),
  not attempted, missing, a raising function with its file:line, a syntax error, the JSON;
- the real chapters (verify.exercises.EXERCISES, derivations/CH/): every reference solution
  passes, every planted mistake is rejected and named, the starter is "not attempted",
  and the chapter's files agree with its declarations.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
from array_api_compat import array_namespace

from verify import grader
from verify.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE, main
from verify.exercises import EXERCISES, Exercise, Mistake

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "03_directional_derivatives"  # the fixture's exercises borrow a real chapter's name

# --------------------------------------------------------------------------------------
# The fixture chapter
# --------------------------------------------------------------------------------------


def _sigmoid(x):
    xp = array_namespace(x)
    return 1 / (1 + xp.exp(-x))


def _tanh_layer(x, W):
    xp = array_namespace(x, W)
    return xp.tanh(W @ x)


def _sample_sigmoid(rng):
    return (rng.uniform(-3, 3, size=7),)


def _sample_layer(rng):
    return rng.uniform(-1, 1, size=5), rng.standard_normal((3, 5)) / 2


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


FIXTURE = [
    Exercise(
        chapter=CHAPTER, number=2, function_name="demo_sigmoid_derivative", title="σ'(x), elementwise",
        function=_sigmoid, kind="derivative", sample=_sample_sigmoid,
        mistakes=(Mistake("σ(x) instead of σ(x)(1 − σ(x))", "differentiate 1/(1 + e^(−x)) with the chain rule", lambda x: _np_sigmoid(x)),),
    ),
    Exercise(
        chapter=CHAPTER, number=5, function_name="demo_tanh_layer_jacobian", title="∂ tanh(Wx)/∂x",
        function=_tanh_layer, kind="jacobian", sample=_sample_layer,
        mistakes=(Mistake("W alone: the outer derivative is missing", "the chain rule has two factors", lambda x, W: W),),
    ),
]

SOLUTIONS = '''
import numpy as np


def demo_sigmoid_derivative(x):
    s = 1 / (1 + np.exp(-x))
    return s * (1 - s)


def demo_tanh_layer_jacobian(x, W):
    return (1 - np.tanh(W @ x) ** 2)[:, None] * W
'''

STARTER = '''
def demo_sigmoid_derivative(x):
    """σ'(x), elementwise."""
    raise NotImplementedError


def demo_tanh_layer_jacobian(x, W):
    """∂ tanh(Wx)/∂x, shaped (3, 5)."""
    raise NotImplementedError
'''


def write(tmp_path, text, name="my_answers.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def answers(sigmoid_body="s = 1 / (1 + np.exp(-x))\n    return s * (1 - s)", layer_body="return (1 - np.tanh(W @ x) ** 2)[:, None] * W"):
    return f"import numpy as np\n\n\ndef demo_sigmoid_derivative(x):\n    {sigmoid_body}\n\n\ndef demo_tanh_layer_jacobian(x, W):\n    {layer_body}\n"


@pytest.fixture
def fixture_chapter(monkeypatch, tmp_path):
    """verify.exercises.EXERCISES is the fixture chapter; its solutions are the reference."""
    import verify.exercises

    monkeypatch.setattr(verify.exercises, "EXERCISES", FIXTURE)
    solutions = grader.load_module(write(tmp_path, SOLUTIONS, "solutions.py"))
    monkeypatch.setattr(grader, "_reference_module", lambda chapter: solutions)
    return tmp_path


def run(capsys, *argv):
    code = main(["--exercises", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def rows(out: str) -> dict[str, str]:
    """{exercise name: its row and indented lines}."""
    found, current = {}, None
    for line in out.splitlines():
        if re.match(r"ex\d\d\.\d+_", line):
            current = line.split()[0]
            found[current] = line
        elif line.startswith("    ") and current:
            found[current] += "\n" + line
    return found


def test_fixture_solutions_pass_on_every_backend(fixture_chapter, capsys):
    path = write(fixture_chapter, SOLUTIONS)
    code, out, _ = run(capsys, "03", str(path))
    assert code == EXIT_OK, out
    assert all(r.split()[1] == "PASS" for r in rows(out).values()) and len(rows(out)) == 2
    assert "2 passed, 0 failed, 0 not attempted (03_directional_derivatives, float64, 1 trial, jax+torch+fd" in out


def test_fixture_starter_is_not_attempted_and_exits_zero(fixture_chapter, capsys):
    code, out, _ = run(capsys, CHAPTER, str(write(fixture_chapter, STARTER)))
    assert code == EXIT_OK, out
    assert [r.split(None, 1)[1].startswith("not attempted") for r in rows(out).values()] == [True, True]
    assert "0 passed, 0 failed, 2 not attempted" in out


def test_planted_mistake_is_rejected_and_named(fixture_chapter, capsys):
    path = write(fixture_chapter, answers(sigmoid_body="return 1 / (1 + np.exp(-x))", layer_body="return W"))
    code, out, _ = run(capsys, "3", str(path), "--backend", "fd")
    assert code == EXIT_FAIL
    r = rows(out)
    assert "FAIL" in r["ex03.2_demo_sigmoid_derivative"]
    assert "likely mistake: σ(x) instead of σ(x)(1 − σ(x)) — differentiate 1/(1 + e^(−x)) with the chain rule" in r["ex03.2_demo_sigmoid_derivative"]
    assert "numpy (central differences (scipy, order 8)): max relative error" in r["ex03.2_demo_sigmoid_derivative"]
    assert "likely mistake: W alone" in r["ex03.5_demo_tanh_layer_jacobian"]
    assert "0 passed, 2 failed, 0 not attempted" in out


@pytest.mark.parametrize(
    "sigmoid_body, layer_body, expected",
    [
        ("s = 1 / (1 + np.exp(-x))\n    return -s * (1 - s)", None, {"ex03.2_demo_sigmoid_derivative": "sign flipped: your answer is −1 × the expected one"}),
        ("s = 1 / (1 + np.exp(-x))\n    return 2 * s * (1 - s)", None, {"ex03.2_demo_sigmoid_derivative": "off by a constant factor: your answer is 2 × the expected one"}),
        (None, "return ((1 - np.tanh(W @ x) ** 2)[:, None] * W).T", {"ex03.5_demo_tanh_layer_jacobian": "transposed: your answer is the transpose of the expected one"}),
        (None, "return 1 - np.tanh(W @ x) ** 2", {"ex03.5_demo_tanh_layer_jacobian": "shape mismatch: yours has shape (3,), the answer has shape (3, 5)"}),
        ("s = 1 / (1 + np.exp(-x))\n    return s * (1 - s) + 0.1 * x", None,
         {"ex03.2_demo_sigmoid_derivative": "no known mistake matches: compare with the derivation (Exercise 2 in derivations/03_directional_derivatives/exercises.md)"}),
    ],
    ids=["sign", "factor", "transposed", "shape", "no-match"],
)
def test_generic_diagnosis(fixture_chapter, capsys, sigmoid_body, layer_body, expected):
    kwargs = {k: v for k, v in (("sigmoid_body", sigmoid_body), ("layer_body", layer_body)) if v is not None}
    code, out, _ = run(capsys, "03", str(write(fixture_chapter, answers(**kwargs))), "--backend", "fd")
    assert code == EXIT_FAIL
    for name, text in expected.items():
        assert text in rows(out)[name], out
    others = set(rows(out)) - set(expected)
    assert all(rows(out)[n].split()[1] == "PASS" for n in others), out


def test_missing_function_is_named_and_fails(fixture_chapter, capsys):
    text = answers().replace("def demo_tanh_layer_jacobian", "def demo_tanh_layer_jacobain")
    path = write(fixture_chapter, text)
    code, out, _ = run(capsys, "03", str(path), "--backend", "fd")
    assert code == EXIT_FAIL
    row = rows(out)["ex03.5_demo_tanh_layer_jacobian"]
    assert "MISSING" in row and f"demo_tanh_layer_jacobian is missing from {path}" in row
    assert "did you mean to name demo_tanh_layer_jacobain demo_tanh_layer_jacobian?" in row
    assert "1 passed, 1 failed, 0 not attempted" in out


def test_raising_function_shows_the_students_file_and_line(fixture_chapter, capsys):
    path = write(fixture_chapter, answers(sigmoid_body="s = 1 / (1 + np.exp(-x))\n    return s / 0 if False else 1 / 0"))
    code, out, _ = run(capsys, "03", str(path), "--backend", "fd")
    assert code == EXIT_FAIL
    line = next(i for i, l in enumerate(path.read_text().splitlines(), 1) if "1 / 0" in l)
    assert f"your function raised ZeroDivisionError: division by zero at {path}:{line}" in rows(out)["ex03.2_demo_sigmoid_derivative"]


def test_numpy_floating_point_error_is_located_too(fixture_chapter, capsys):
    path = write(fixture_chapter, answers(sigmoid_body="return np.log(x - 10.0)"))
    code, out, _ = run(capsys, "03", str(path), "--backend", "fd")
    assert code == EXIT_FAIL
    assert f"your function raised FloatingPointError: invalid value encountered in log at {path}:5" in out


def test_syntax_error_is_a_usage_error_with_file_and_line(fixture_chapter, capsys):
    path = write(fixture_chapter, "import numpy as np\n\ndef demo_sigmoid_derivative(x:\n    return x\n")
    code, out, err = run(capsys, "03", str(path))
    assert code == EXIT_USAGE
    assert err.count("\n") == 1 and f"cannot import {path}: SyntaxError at {path}:3" in err


def test_import_error_is_a_usage_error_with_file_and_line(fixture_chapter, capsys):
    path = write(fixture_chapter, "import numpy as np\nimport not_a_module_anywhere\n")
    code, _, err = run(capsys, "03", str(path))
    assert code == EXIT_USAGE
    assert f"ModuleNotFoundError at {path}:2: No module named 'not_a_module_anywhere'" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["07"], "no chapter named '07'"),
        (["matrix_calculs"], "did you mean matrix_calculus"),
        (["03", "nowhere.py"], "no such file: nowhere.py"),
        (["03", "a.py", "b.py"], "--exercises takes a chapter and at most one answers file"),
        (["03", "--module", "x.py"], "--module has no effect with --exercises"),
        (["03", "--show", "sigmoid"], "--show has no effect with --exercises"),
        (["03", "--seed", "1", "my_answers.py"], "give the answers file after the chapter: python -m verify --exercises 03 my_answers.py"),
    ],
)
def test_usage_errors(fixture_chapter, capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == EXIT_USAGE and message in err and err.count("\n") == 1


def test_json_rows_and_quiet(fixture_chapter, capsys):
    path = write(fixture_chapter, answers(sigmoid_body="return 1 / (1 + np.exp(-x))"))
    report = fixture_chapter / "grade.json"
    code, out, _ = run(capsys, "03", str(path), "--backend", "fd", "--json", str(report), "-q")
    assert code == EXIT_FAIL
    assert "ex03.5" not in out and "ex03.2_demo_sigmoid_derivative" in out  # -q: failures only
    doc = json.loads(report.read_text())
    assert doc["schema_version"] == 1 and doc["chapter"] == CHAPTER and doc["backends"] == ["fd"]
    assert doc["summary"] == {"passed": 1, "failed": 1, "not_attempted": 0, "exercises": 2}
    first, second = doc["exercises"]
    assert first["exercise"] == "ex03.2_demo_sigmoid_derivative" and first["status"] == "FAIL"
    assert first["failing_checks"][0]["check"] == "fd" and first["diagnosis"].startswith("likely mistake: σ(x)")
    assert second["status"] == "PASS" and second["failing_checks"] == [] and second["diagnosis"] == ""


def test_list_names_the_chapters_exercises(fixture_chapter, capsys):
    code, out, _ = run(capsys, "03", "--list")
    assert code == EXIT_OK
    assert [l.split()[:2] for l in out.splitlines()] == [["ex03.2_demo_sigmoid_derivative", "demo_sigmoid_derivative"],
                                                         ["ex03.5_demo_tanh_layer_jacobian", "demo_tanh_layer_jacobian"]]


def test_agree_is_strict_about_shape_and_values():
    a = np.array([1.0, 2.0, 3.0])
    assert grader.agree(a, a * (1 + 1e-12)) and not grader.agree(a, a * (1 + 1e-6))
    assert not grader.agree(a, a[None, :]) and not grader.agree((a,), a) and not grader.agree("text", a)
    assert grader.agree((a, 2 * a), [a, 2 * a])


# --------------------------------------------------------------------------------------
# The real chapters (covered once verify/exercises/ declares them)
# --------------------------------------------------------------------------------------

CHAPTERS = ("01_single_variable_derivatives", "02_multivariable_derivatives", "03_directional_derivatives", "04_matrix_calculus")
DECLARED = sorted({e.chapter for e in EXERCISES})


@functools.lru_cache(maxsize=None)
def _solutions(chapter):
    return grader.load_module(ROOT / "derivations" / chapter / "solutions.py")


# torch (torch.func forward and reverse, the tape) and finite differences: the grader's
# checks without JAX's compile time; tests/test_exercises.py
# run the solutions through every backend.
FAST = ("torch", "fd")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_reference_solution_passes(exercise):
    path = ROOT / "derivations" / exercise.chapter / "solutions.py"
    row = grader.grade_one(exercise, _solutions(exercise.chapter), path, reference=None, frameworks=FAST)
    assert row.status == grader.PASS, grader.format_row(row, 30)


@pytest.mark.parametrize(
    "exercise, mistake",
    [(e, m) for e in EXERCISES for m in e.mistakes],
    ids=[f"{e.name}-{i}" for e in EXERCISES for i, _ in enumerate(e.mistakes)],
)
def test_planted_mistake_is_rejected_and_its_label_printed(exercise, mistake):
    student = types.SimpleNamespace(**{exercise.function_name: mistake.answer})
    row = grader.grade_one(exercise, student, Path("my_answers.py"), reference=_solutions(exercise.chapter), frameworks=FAST)
    text = grader.format_row(row, 30)
    assert row.status == grader.FAIL, text
    assert f"likely mistake: {mistake.label} — {mistake.hint}" in text


@pytest.mark.parametrize("chapter", DECLARED)
def test_starter_is_not_attempted_everywhere_and_exits_zero(chapter, capsys):
    code, out, _ = run(capsys, chapter[:2])
    assert code == EXIT_OK, out
    n = sum(e.chapter == chapter for e in EXERCISES)
    assert f"0 passed, 0 failed, {n} not attempted" in out


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _is_stub(node: ast.FunctionDef) -> bool:
    body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]  # docstring
    return len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.unparse(body[0])


@pytest.mark.parametrize("chapter", DECLARED)
def test_chapter_files_match_its_declarations(chapter):
    folder = ROOT / "derivations" / chapter
    declared = [e for e in EXERCISES if e.chapter == chapter]
    assert len(declared) >= 4, f"{chapter} declares {len(declared)} coding exercises in verify/exercises/ (at least 4)"
    exercises = re.findall(r"^## Exercise (\d+): \S", (folder / "exercises.md").read_text(encoding="utf-8"), flags=re.M)
    solutions = re.findall(r"^## Solution (\d+): \S", (folder / "solutions.md").read_text(encoding="utf-8"), flags=re.M)
    assert len(exercises) >= 8
    assert [int(n) for n in exercises] == list(range(1, len(exercises) + 1))
    assert solutions == exercises
    starter, reference = _functions(folder / "starter.py"), _functions(folder / "solutions.py")
    for e in declared:
        assert 1 <= e.number <= len(exercises), e.name
        assert e.function_name in starter and _is_stub(starter[e.function_name]), f"{e.function_name} is not a stub in starter.py"
        assert e.function_name in reference and not _is_stub(reference[e.function_name]), f"{e.function_name} is not defined in solutions.py"


def test_four_chapters_have_exercises():
    assert DECLARED == list(CHAPTERS)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(kind="grad"), "kind 'grad' is not one of"),
        (dict(mistakes=()), "needs at least one planted mistake"),
        (dict(mistakes=("σ(x)",)), "mistakes must be Mistake"),
        (dict(function_name="my answer"), "is not a Python name"),
        (dict(number=0), "number 0 must be the N >= 1"),
        (dict(chapter="multivariable"), "is not a chapter folder"),
        (dict(kind="hessian", wrt=(0, 1)), "takes exactly one wrt argument"),
    ],
)
def test_exercise_declarations_are_checked(change, message):
    import dataclasses

    fields = {f.name: getattr(FIXTURE[0], f.name) for f in dataclasses.fields(Exercise)}
    with pytest.raises(ValueError, match=re.escape(message)):
        Exercise(**{**fields, **change})


def test_grader_json_keys_are_documented_in_the_readme(fixture_chapter, capsys):
    report = fixture_chapter / "grade.json"
    run(capsys, "03", str(write(fixture_chapter, SOLUTIONS)), "--backend", "fd", "--json", str(report))
    doc = json.loads(report.read_text())
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Exercises", 1)[1].split("\n## ", 1)[0]
    keys = set(doc) | set(doc["summary"]) | set(doc["exercises"][0])
    assert not sorted(k for k in keys if f"`{k}`" not in section)
