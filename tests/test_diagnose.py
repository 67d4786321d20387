"""Failures that point at the bug: where (argument, worst entry, got/expected, fraction
wrong) and why (verify/diagnose.py). Each class has a planted wrong derivative that must
get its diagnosis, and planted correct-but-tricky derivatives must get none."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from array_api_compat import array_namespace

import verify
from verify.diagnose import PROJECTED, diagnose, diagnose_block, locate

RNG = np.random.default_rng(12)
A = RNG.standard_normal((4, 4))  # not symmetric
X = RNG.standard_normal((6, 3))
x = RNG.uniform(0.5, 2.0, 5)


# --------------------------------------------------------------------------------------
# diagnose_block on planted arrays: each class, and never a diagnosis that does not hold
# --------------------------------------------------------------------------------------

def _ref_with_entry(i, j, value):
    wrong = A.copy()
    wrong[i, j] = value
    return wrong


PLANTED = [
    ("sign", -A, A, "sign flip"),
    ("factor", 2 * A, A, "got = 2 × expected"),
    ("factor", 0.5 * A, A, "got = 1/2 × expected"),
    ("factor", A * (1 + 1e-9), A, "(1 + 1e-09)"),
    ("axis", X / 6, X, "1/6 × expected: 6 is the size of axis 0 of argument 0 (X)"),
    ("transpose", A.T, A, "transposed"),
    ("transpose", X.T, X, "got has shape (3, 6)"),
    ("symmetric", A, A + A.T, "got + gotᵀ = expected"),
    ("symmetric", A, (A + A.T) / 2, "symmetric part of got equals expected"),
    ("symmetric", (A + A.T) / 2, A, "symmetric part of expected"),
    ("shift", np.roll(x, 1), x, "shifted"),
    ("entry", _ref_with_entry(2, 1, 7.0), A, "the entry [2, 1]"),
    ("entry", np.vstack([A[:2], 3 * A[2:3], A[3:]]), A, "row 2"),
    ("entry", np.triu(A), A, "strict lower triangle"),
    ("term", np.diag(x) + np.ones((5, 5)), np.ones((5, 5)), "diagonal"),
    ("term", A + np.outer(A[0], A[1]), A, "rank-1"),
]


@pytest.mark.parametrize("cls, got, ref, phrase", PLANTED, ids=[f"{p[0]}-{k}" for k, p in enumerate(PLANTED)])
def test_planted_difference_gets_its_class(cls, got, ref, phrase):
    found = diagnose_block(got, ref, args=[(X, "X")])
    assert found is not None and found.kind == cls, found
    assert phrase in found.text, found.text


def test_argument_factor_and_symmetric_product_name_the_arguments():
    ref = 3.5 * x**2.5
    found = diagnose_block(ref * x, ref, args=[(x, "x")])  # the exponent not lowered
    assert found.kind == "factor" and "got = x × expected" in found.text
    v = RNG.standard_normal(4)
    found = diagnose_block(A @ v, (A + A.T) @ v, args=[(A, "A"), (v, "v")])
    assert found.kind == "symmetric" and "Aᵀv" in found.text


def test_wrong_axis_reduction_of_a_shape_mismatch():
    dY = RNG.standard_normal((7, 3))
    found = diagnose_block(dY.sum(axis=1), dY.sum(axis=0), args=[(dY, "cotangent")])
    assert found.kind == "axis" and "the cotangent over axis 1" in found.text


NOT_A_PATTERN = [
    ("random", RNG.standard_normal((4, 4)), A),
    ("elementwise nonlinear", np.tanh(A), A),
    ("factor plus noise", 2 * A + 1e-6 * RNG.standard_normal((4, 4)), A),
    ("sign plus one entry", -_ref_with_entry(0, 0, 9.0), A),
    ("transposed and scaled by 1 + 1e-6", A.T * (1 + 1e-6), A),
]


@pytest.mark.parametrize("label, got, ref", NOT_A_PATTERN, ids=[p[0] for p in NOT_A_PATTERN])
def test_no_diagnosis_without_a_residual_at_rounding_level(label, got, ref):
    assert diagnose_block(got, ref, args=[(X, "X")]) is None


CORRECT_BUT_TRICKY = [
    ("equal", A, A),
    ("symmetric: equal to its own transpose", A + A.T, A + A.T),
    ("zero reference", np.zeros((3, 3)), np.zeros((3, 3))),
    ("rounding only", A * (1 + 1e-16), A),
]


@pytest.mark.parametrize("label, got, ref", CORRECT_BUT_TRICKY, ids=[p[0] for p in CORRECT_BUT_TRICKY])
def test_a_correct_array_gets_no_diagnosis(label, got, ref):
    assert diagnose(got, ref, 1e-10, args=[(A, "A")]) is None


def test_locate_names_block_argument_worst_entry_and_fraction():
    ref = (A, X)
    got = (A, X.copy())
    got[1][4, 2] += 1.0
    got[1][0, 0] += 1e-3
    where = locate(got, ref, 1e-10, (0, 1), ("A", "X"))
    assert (where.block, where.argument, where.argument_name, where.index) == (1, 1, "X", (4, 2))
    assert where.got == pytest.approx(X[4, 2] + 1.0) and where.expected == X[4, 2]
    assert where.wrong_fraction == pytest.approx(2 / 18)
    assert "result 1 (wrt argument 1 (X)) at [4, 2]" in where.describe()
    correct = locate((A, X), ref, 1e-10, (0, 1), ("A", "X"))
    assert correct.wrong_fraction == 0.0


def test_multiple_wrt_diagnosis_names_the_wrong_block():
    found = diagnose((A, 2 * X), (A, X), 1e-10, (0, 1), ("A", "X"), [(A, "A"), (X, "X")])
    assert found.kind == "factor" and found.text.startswith("result 1 (wrt argument 1 (X)): ")
    assert diagnose((A, np.tanh(X)), (A, X), 1e-10, (0, 1), ("A", "X")) is None


# --------------------------------------------------------------------------------------
# Through the engine: verify.check, its JSON, the pytest message, the CLI row
# --------------------------------------------------------------------------------------


def gated(X, W):
    xp = array_namespace(X, W)
    return xp.tanh(X @ W) * X[:, :1]


def gated_vjp(X, W, dY):
    T = np.tanh(X @ W)
    G = dY * X[:, :1] * (1 - T * T)
    dX = G @ W.T
    dX[:, 0] += np.sum(dY * T, axis=1)
    return dX, X.T @ G


XW = (RNG.standard_normal((5, 3)), RNG.standard_normal((3, 4)))


def test_check_says_where_and_why_for_a_multi_wrt_vjp():
    wrong = lambda X, W, dY: (gated_vjp(X, W, dY)[0], -gated_vjp(X, W, dY)[1])  # noqa: E731
    result = verify.check(gated, wrong, *XW, kind="vjp", wrt=(0, 1), backends=("jax", "fd"))
    assert not result.passed
    for c in result.failures:
        assert (c.block, c.argument, c.argument_name) == (1, 1, "W"), c.message()
        assert c.wrong_fraction == 1.0 and c.got == pytest.approx(-c.expected)
        assert c.diagnosis_class == "sign"
    line = result.failures[0].message()
    assert "in result 1 (wrt argument 1 (W)) at [" in line and "likely: result 1 (wrt argument 1 (W)): sign flip" in line
    doc = json.loads(json.dumps(result.failures[0].to_json()))
    assert doc["argument_name"] == "W" and doc["diagnosis_class"] == "sign" and len(doc["worst_index"]) == 2
    assert verify.check(gated, gated_vjp, *XW, kind="vjp", wrt=(0, 1), backends=("jax",)).passed


def test_correct_but_tricky_derivatives_pass_without_a_diagnosis():
    """A zero gradient at the minimum, a symmetric Hessian (A = Aᵀ: the transpose agrees),
    and a diagonal Jacobian: every check passes and no field is filled."""
    S = A + A.T
    cases = [
        (lambda v: (v[0] - 1.0) ** 2 + (v[1] + 2.0) ** 2, lambda v: 2 * (v - np.array([1.0, -2.0])), np.array([1.5, -2.5]), "gradient"),
        (lambda v: v @ S @ v / 2, lambda v: S.copy(), RNG.standard_normal(4), "hessian"),
        (lambda v: array_namespace(v).sin(v), lambda v: np.diag(np.cos(v)), x, "jacobian"),
    ]
    for f, df, point, kind in cases:
        result = verify.check(f, df, point, kind=kind, backends=("jax", "fd"))
        assert result.passed, result.message()
        assert all(c.diagnosis == "" and c.worst_index is None for c in result.checks)


def test_projected_failure_says_no_entrywise_diagnosis():
    f = lambda v: array_namespace(v).sum(v**2)  # noqa: E731
    result = verify.check(f, lambda v: -2 * v, x, kind="gradient", backends=("jax",), projection=True)
    assert not result.passed and all(c.diagnosis == PROJECTED for c in result.failures)
    assert PROJECTED in result.message()


def test_pytest_message_carries_the_diagnosis():
    f = lambda v: array_namespace(v).sum(v**2)  # noqa: E731
    with pytest.raises(AssertionError, match=r"likely: a constant factor: got = 1/2 × expected"):
        verify.check(f, lambda v: v, x, kind="gradient", backends=("jax",), raise_on_failure=True)


def test_a_raising_derivative_keeps_its_file_and_line(tmp_path, monkeypatch):
    (tmp_path / "my_layer.py").write_text(textwrap.dedent("""\
        import numpy as np

        def f(x):
            return (x ** 2).sum()

        def df(x):
            scale = 0
            return 2 * x / scale
        """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_layer

    result = verify.check(my_layer.f, my_layer.df, x, kind="gradient", backends=("fd",))
    assert result.failures[0].reason == "hand-coded derivative hit a floating-point error: divide by zero encountered in divide at my_layer.py:8"


def test_a_raising_derivative_names_the_users_line(tmp_path, monkeypatch):
    (tmp_path / "my_layer2.py").write_text(textwrap.dedent("""\
        def f(x):
            return (x ** 2).sum()

        def df(x):
            return {}[x.shape]
        """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_layer2

    for projection in (False, True):  # the dense and the projected path
        result = verify.check(my_layer2.f, my_layer2.df, x, kind="gradient", backends=("fd",), projection=projection)
        assert result.failures[0].reason == "hand-coded derivative raised KeyError: (5,) at my_layer2.py:5"


def test_cli_row_shows_the_diagnosis():
    from verify import report

    f = lambda v: array_namespace(v).sum(v**2)  # noqa: E731
    result = verify.check(f, lambda v: 2 * v[::-1], x, kind="gradient", backends=("jax",))
    row = report.row(result.entry)
    assert "FAIL" in row and "where: argument 0 (v) at [" in row and "% of entries wrong" in row
    assert row.endswith("likely: no recognisable pattern")  # a reversed gradient has no named shape
    row = report.row(verify.check(f, lambda v: 2 * v * len(v), x, kind="gradient", backends=("jax",)).entry)
    assert "likely: got = 5 × expected: 5 is the size of axis 0 of argument 0 (v)" in row


def test_readme_diagnosis_example_prints_what_the_readme_shows(capsys):
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- diagnosis-example:begin -->")[1].split("<!-- diagnosis-example:end -->")[0]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", block, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed == shown
    assert "likely: " in shown and "where: argument 0 (x)" in shown


def test_the_grader_falls_back_on_the_engine_diagnosis():
    from verify.grader import generic_diagnosis

    assert generic_diagnosis(np.roll(x, 1), x, (0,)).startswith("shifted: ")
    assert generic_diagnosis(np.triu(A), A, (0,)) == "the difference is confined to the strict lower triangle"
    assert generic_diagnosis(np.tanh(A), A, (0,)) == ""


def test_float32_diagnosis_at_float32_rounding():
    f = lambda v: array_namespace(v).sum(v**2)  # noqa: E731
    result = verify.check(f, lambda v: 4 * v, x.astype(np.float32), kind="gradient", backends=("jax",), dtype="float32")
    assert all(c.diagnosis_class == "factor" and "got = 2 × expected" in c.diagnosis for c in result.failures)
    # the float64 bound would see float32 rounding as a pattern-breaking residual
    got, ref = (4 * x).astype(np.float32), (2 * x).astype(np.float32) + np.float32(1e-6)
    assert diagnose_block(got, ref) is None and diagnose_block(got, ref, dtype="float32").kind == "factor"


def test_results_in_the_wrong_order_name_the_blocks():
    swapped = lambda X, W, dY: gated_vjp(X, W, dY)[::-1]  # noqa: E731  (dW, dX) for (dX, dW)
    X5, W5 = RNG.standard_normal((4, 4)), RNG.standard_normal((4, 4))  # square: the shapes agree
    result = verify.check(gated, swapped, X5, W5, kind="vjp", wrt=(0, 1), backends=("jax",))
    assert all(c.diagnosis_class == "order" for c in result.failures), result.message()
    assert "result 0 is the one for result 1, result 1 is the one for result 0" in result.message()
    result = verify.check(gated, swapped, *XW, kind="vjp", wrt=(0, 1), backends=("jax",))  # shapes differ
    assert result.failures[0].reason.startswith("result 0: shape (3, 4) where the reference has shape (5, 3)")
    assert "wrong order" in result.failures[0].message()
    assert diagnose((A, X), (A, X), 1e-10, (0, 1)) is None


def test_pytest_plugin_fixture_raises_with_where_and_why():
    from verify.pytest_plugin import assert_derivative

    f = lambda v: array_namespace(v).sum(v**2)  # noqa: E731
    with pytest.raises(AssertionError) as caught:
        assert_derivative(f, lambda v: -2 * v, x, kind="gradient", backends=("jax", "fd"))
    text = str(caught.value)
    assert "where: argument 0 (v) at [" in text and "likely: sign flip: got = −expected" in text
    assert assert_derivative(f, lambda v: 2 * v, x, kind="gradient", backends=("jax",)).passed


# --------------------------------------------------------------------------------------
# Named candidates from the arguments and the output y = f(x): each recogniser fires on
# its planted pattern and stays silent (or names another class) on a look-alike
# --------------------------------------------------------------------------------------

R80 = np.random.default_rng(80)
positive = R80.uniform(0.5, 2.0, 7)  # positive, distinct
signed = R80.uniform(-1.2, 1.2, 7)  # both signs
M1, M2 = R80.standard_normal((3, 5)), R80.standard_normal((3, 5))
v5 = R80.standard_normal(5)
W = R80.standard_normal((5, 3))
v3 = R80.standard_normal(3)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


PRODUCT = positive**3 * np.sin(positive)  # y = x³·sin x: y′ = 3x²·sin x + x³·cos x
PRODUCT_DERIVATIVE = 3 * positive**2 * np.sin(positive) + positive**3 * np.cos(positive)
TANH_B = np.tanh(M2 @ v5)  # ∂((Ax) ⊙ tanh(Bx))/∂x = diag(tanh(Bx))·A + diag(Ax ⊙ (1 − tanh²(Bx)))·B
HADAMARD = TANH_B[:, None] * M1 + ((M1 @ v5) * (1 - TANH_B**2))[:, None] * M2
QUOTIENT_DERIVATIVE = (np.cos(positive) * (1 + positive * positive) - 2 * positive * np.sin(positive)) / (1 + positive * positive) ** 2  # (sin x/(1 + x²))′
COEFFICIENTS = (0.5, -2.0, 3.0, 0.25, -1.5)
POLYNOMIAL = sum(c * positive**k for k, c in enumerate(COEFFICIENTS))
POLYNOMIAL_DERIVATIVE = sum(k * c * positive ** (k - 1) for k, c in enumerate(COEFFICIENTS) if k)
SCATTERED = R80.standard_normal((10, 4))
MARGINALS = R80.standard_normal((6, 5))  # not an argument: only its two marginal sums are seen
LOGITS = R80.standard_normal((4, 5))
ONEHOT = np.eye(5)[[3, 4, 1, 1]]  # class counts 0, 2, 0, 1, 1


def softmax_over(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


CROSS_ENTROPY_GRADIENT = (softmax_over(LOGITS, 1) - ONEHOT) / 4  # ∂ mean_b CE(softmax(z_b), y_b)/∂z
XS = R80.standard_normal((5, 5)) + 3 * np.eye(5)  # not symmetric
XS_INV = np.linalg.inv(XS)
Y_Z = np.outer(v5, R80.standard_normal(5))
INVERSE_BILINEAR = -XS_INV.T @ Y_Z @ XS_INV.T  # ∂(yᵀX⁻¹z)/∂X = −X⁻ᵀ y zᵀ X⁻ᵀ

# (class, got, ref, keyword arguments of diagnose_block, phrase)
NAMED = [
    ("term", 3 * positive**2 * np.sin(positive), PRODUCT_DERIVATIVE, dict(args=[(positive, "x")], output=PRODUCT),
     "got = 3·y/x with y = f(x), the output, and x = argument 0 (x): for y = x^3·g(x), y′ = 3·x^2·g + x^3·g′, and got is only the term 3·x^2·g"),
    ("sign", 3 * positive**2 * np.sin(positive) - positive**3 * np.cos(positive), PRODUCT_DERIVATIVE, dict(args=[(positive, "x")], output=PRODUCT),
     "got + expected = 6·y/x with y = f(x)"),
    ("term", np.diag(sigmoid(positive)), np.diag(sigmoid(positive) * (1 + positive * (1 - sigmoid(positive)))), dict(args=[(positive, "x")], output=positive * sigmoid(positive), out_ndim=1),
     "for y = x·g(x), y′ = g + x·g′, and got is only the term g"),  # SiLU's Jacobian: a diagonal block
    ("term", TANH_B[:, None] * M1, HADAMARD, dict(args=[(v5, "x"), (M1, "A"), (M2, "B")]),
     "got − expected = diag(d)·B, a multiple of argument 2 (B) row by row, and got = diag(e)·A alone"),
    ("sign", 2 * TANH_B[:, None] * M1 - HADAMARD, HADAMARD, dict(args=[(v5, "x"), (M1, "A"), (M2, "B")]),
     "the one that carries B (argument 2 (B)) has its sign flipped"),
    ("output", sigmoid(signed), sigmoid(signed) * (1 - sigmoid(signed)), dict(args=[(signed, "x")], output=sigmoid(signed)),
     "got = y, the function's value, and expected/(1 − y) with y = f(x), the output"),
    ("output", (1 - np.tanh(W @ v3))[:, None] * W, (1 - np.tanh(W @ v3) ** 2)[:, None] * W, dict(args=[(v3, "x"), (W, "W")], output=np.tanh(W @ v3), out_ndim=1),
     "got = expected/(1 + y)"),  # a Jacobian block: y broadcast along the input axis
    ("power", 1 / np.cos(signed), 1 / np.cos(signed) ** 2, dict(args=[(signed, "x")]), "got² = expected (got = √expected): a square forgotten"),
    ("power", 1 / np.cos(signed + 1.5), 1 / np.cos(signed + 1.5) ** 2, dict(args=[(signed + 1.5, "x")]), "got² = expected (got = √expected, either sign)"),
    ("power", softmax(signed), softmax(signed / 0.7), dict(args=[(signed, "x")]), "·expected^(7/10) entrywise"),
    ("power", np.sin(signed) ** 2, np.sin(signed), dict(), "got = expected²: a square too many"),  # expected of both signs
    ("variable", v5.copy(), 2 * np.cos(v5) + 3, dict(args=[(v5, "x"), (2 * np.cos(v5) + 3, "a")]),
     "got = x (argument 0 (x)) where the answer is a (argument 1 (a))"),
    ("factor", QUOTIENT_DERIVATIVE * (1 + positive * positive), QUOTIENT_DERIVATIVE, dict(args=[(positive, "x")]), "got = (1 + x²) × expected"),
    ("factor", QUOTIENT_DERIVATIVE / (2 - positive + positive * positive / 2), QUOTIENT_DERIVATIVE, dict(args=[(positive, "x")]), "got = expected / (2 − x + 1/2·x²)"),
    ("shift", sum(k * COEFFICIENTS[k - 1] * positive ** (k - 1) for k in range(1, 5)), POLYNOMIAL_DERIVATIVE, dict(args=[(positive, "x")], output=POLYNOMIAL),
     "coefficients shifted: y = f(x) is a polynomial of degree 4 in x"),
    ("entry", np.where(np.eye(10, 4, dtype=bool)[::-1], SCATTERED / 2, SCATTERED), SCATTERED, dict(),
     "confined to 4 of 40 entries ([6, 3], [7, 2], [8, 1], [9, 0]), and there got = 1/2 × expected"),
    ("axis", MARGINALS.sum(axis=1), MARGINALS.sum(axis=0), dict(args=[(X, "X"), (W, "W")]),
     "got has shape (6,) where (5,) is expected, with the same total"),
    ("transpose", -XS_INV @ Y_Z @ XS_INV, INVERSE_BILINEAR, dict(args=[(XS, "X")]), "X·got·X = Xᵀ·expected·Xᵀ: X⁻¹ where X⁻ᵀ belongs"),
    ("transpose", XS_INV @ W, XS_INV.T @ W, dict(args=[(XS, "X"), (W, "B")]), "X·got = Xᵀ·expected: X⁻¹ where X⁻ᵀ belongs (or the reverse) on the left"),
    ("axis", (softmax_over(LOGITS, 0) - ONEHOT) / 4, CROSS_ENTROPY_GRADIENT, dict(args=[(LOGITS, "z"), (ONEHOT, "y")]),
     "normalised over the wrong axis: got + 1/4·y sums to 1/4 along axis 0, where the answer + 1/4·y does along axis 1"),
]


@pytest.mark.parametrize("cls, got, ref, kwargs, phrase", NAMED, ids=[f"{p[0]}-{k}" for k, p in enumerate(NAMED)])
def test_named_candidate_gets_its_class(cls, got, ref, kwargs, phrase):
    found = diagnose_block(got, ref, **kwargs)
    assert found is not None and found.kind == cls, found
    assert phrase in found.text, found.text


# (what it looks like, got, ref, keyword arguments, the class it may get instead, or None)
LOOK_ALIKES = [
    ("the x³·g′ term halved, not missing", 3 * positive**2 * np.sin(positive) + 0.5 * positive**3 * np.cos(positive), PRODUCT_DERIVATIVE, dict(args=[(positive, "x")], output=PRODUCT), None),
    ("the x³·g′ term flipped and halved", 3 * positive**2 * np.sin(positive) - 0.5 * positive**3 * np.cos(positive), PRODUCT_DERIVATIVE, dict(args=[(positive, "x")], output=PRODUCT), None),
    ("one term of SiLU's Jacobian, not diagonal", np.diag(sigmoid(positive)) + 0.1 * np.eye(7, k=1), np.diag(sigmoid(positive) * (1 + positive * (1 - sigmoid(positive)))),
     dict(args=[(positive, "x")], output=positive * sigmoid(positive), out_ndim=1), None),
    ("y a pure power: c·y/x is the whole answer", positive**2, 3 * positive**2, dict(args=[(positive, "x")], output=positive**3), "factor"),
    ("the B term's factor wrong, not missing", TANH_B[:, None] * M1 + ((M1 @ v5) * TANH_B)[:, None] * M2, HADAMARD, dict(args=[(v5, "x"), (M1, "A"), (M2, "B")]), None),
    ("a function of y outside the family", sigmoid(signed) * (1 - sigmoid(signed) ** 3), sigmoid(signed) * (1 - sigmoid(signed)), dict(args=[(signed, "x")], output=sigmoid(signed)), None),
    ("a factor of y without the output given", sigmoid(signed), sigmoid(signed) * (1 - sigmoid(signed)), dict(args=[(signed, "x")]), None),
    ("a power that is no simple fraction", softmax(signed) ** 0.5037, softmax(signed), dict(args=[(signed, "x")]), None),
    ("a square root plus noise", np.sqrt(1 / np.cos(signed) ** 2) + 1e-6 * np.cos(5 * signed), 1 / np.cos(signed) ** 2, dict(args=[(signed, "x")]), None),
    ("another argument plus the right one", v5 + 2 * np.cos(v5) + 3, 2 * np.cos(v5) + 3, dict(args=[(v5, "x"), (2 * np.cos(v5) + 3, "a")]), None),
    ("a cubic factor", QUOTIENT_DERIVATIVE * (1 + positive * positive + positive**3), QUOTIENT_DERIVATIVE, dict(args=[(positive, "x")]), None),
    ("a non-polynomial factor", QUOTIENT_DERIVATIVE * (1 + np.sin(positive)), QUOTIENT_DERIVATIVE, dict(args=[(positive, "x")]), None),
    ("the coefficients reversed, not shifted", sum(k * COEFFICIENTS[4 - k] * positive ** (k - 1) for k in range(1, 5)), POLYNOMIAL_DERIVATIVE, dict(args=[(positive, "x")], output=POLYNOMIAL), None),
    ("scattered entries, each off by its own factor", np.where(np.eye(10, 4, dtype=bool), SCATTERED * np.arange(2, 12)[:, None] / 3, SCATTERED), SCATTERED, dict(), None),
    ("too many entries to be scattered", np.where(np.eye(10, 4, dtype=bool) | np.eye(10, 4, k=-4, dtype=bool) | np.eye(10, 4, k=-6, dtype=bool), SCATTERED / 2, SCATTERED), SCATTERED, dict(), None),
    ("normalised over the wrong axis, then scaled", (1.1 * softmax_over(LOGITS, 0) - ONEHOT) / 4, CROSS_ENTROPY_GRADIENT, dict(args=[(LOGITS, "z"), (ONEHOT, "y")]), None),
    ("normalised over the right axis at other logits", (softmax_over(LOGITS[::-1], 1) - ONEHOT) / 4, CROSS_ENTROPY_GRADIENT, dict(args=[(LOGITS, "z"), (ONEHOT, "y")]), None),
    ("X⁻¹ for X⁻ᵀ and a relative 1e-6", -(1 + 1e-6) * XS_INV @ Y_Z @ XS_INV, INVERSE_BILINEAR, dict(args=[(XS, "X")]), None),
    ("X⁻¹ for X⁻ᵀ and one entry off", -XS_INV @ Y_Z @ XS_INV + 0.1 * np.eye(5)[0][:, None] * np.eye(5)[0], INVERSE_BILINEAR, dict(args=[(XS, "X")]), None),
    ("a vector of the other size with another total", MARGINALS.sum(axis=1) + 1.0, MARGINALS.sum(axis=0), dict(args=[(X, "X"), (W, "W")]), None),
]


@pytest.mark.parametrize("label, got, ref, kwargs, other", LOOK_ALIKES, ids=[p[0] for p in LOOK_ALIKES])
def test_look_alike_gets_no_named_candidate(label, got, ref, kwargs, other):
    found = diagnose_block(got, ref, **kwargs)
    assert (found.kind if found else None) == other, found


def test_output_reaches_the_diagnosis_through_check():
    """The engine hands the primal's output to the diagnosis: σ written for σ′."""

    def f(z):
        xp = array_namespace(z)
        return 1 / (1 + xp.exp(-z))

    result = verify.check(f, sigmoid, signed, kind="derivative", backends=("jax",))
    assert not result.passed
    assert all(c.diagnosis_class == "output" for c in result.failures), result.message()
    assert "likely: got = y, the function's value, and expected/(1 − y) with y = f(x), the output" in result.message()
