"""``python -m verify --module FILE``: a user's file declares CHECKS; the CLI checks them."""

from __future__ import annotations

import textwrap

import pytest

from verify.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError, main
from verify.registry import Identity
from verify.user_module import load_entries

USER_FILE = '''
import numpy as np
from array_api_compat import array_namespace


def cube(x):
    return x**3


def cube_derivative(x):
    return {factor} * x**2


def loss(x, A):
    xp = array_namespace(x, A)
    return xp.sum(xp.tanh(A @ x))


def loss_gradient(x, A):
    return A.T @ (1 - np.tanh(A @ x) ** 2)


rng = np.random.default_rng(0)
CHECKS = [
    dict(function=cube, derivative=cube_derivative, kind="derivative", args=(np.array([0.5, 1.5, -2.0]),)),
    dict(function=loss, derivative=loss_gradient, kind="gradient", args=(rng.standard_normal(5), rng.standard_normal((3, 5))), wrt=0, name="tanh_loss"),
]
'''


def write(tmp_path, text, name="user_checks.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_declarations_become_identities(tmp_path):
    entries = load_entries(write(tmp_path, USER_FILE.format(factor=3)))
    assert all(isinstance(e, Identity) for e in entries)
    assert [(e.name, e.kind, e.chapter) for e in entries] == [("cube", "derivative", "user"), ("tanh_loss", "gradient", "user")]


def test_cli_checks_every_declared_pair(tmp_path, capsys):
    assert main(["--module", str(write(tmp_path, USER_FILE.format(factor=3)))]) == EXIT_OK
    out = capsys.readouterr().out
    assert "cube" in out and "tanh_loss" in out and "FAIL" not in out
    assert "2 identities" in out


def test_cli_exits_1_and_names_the_failed_check(tmp_path, capsys):
    assert main(["--module", str(write(tmp_path, USER_FILE.format(factor=2.9)))]) == EXIT_FAIL
    out = capsys.readouterr().out
    assert "cube [jax, forward]: FAIL: max relative error" in out
    assert "tanh_loss" in out and "1 identity FAIL" in out


def test_cli_filters_by_declared_name(tmp_path, capsys):
    assert main(["--module", str(write(tmp_path, USER_FILE.format(factor=2.9))), "tanh_loss"]) == EXIT_OK
    assert "cube" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "text, reason",
    [
        (None, "no such file"),
        ("import not_a_module_anywhere\n", "cannot import .*ModuleNotFoundError"),
        ("x = 1 +\n", "cannot import .*SyntaxError"),
        ("def f(x):\n    return x\n", "declares no checks"),
        ("CHECKS = [dict(function=abs, kind='gradient', args=(1.0,))]\n", r"CHECKS\[0\] lacks derivative"),
        ("CHECKS = [dict(function=abs, derivative=abs, kind='grad', args=(1.0,))]\n", "kind 'grad' is not one of"),
        ("CHECKS = [dict(function=abs, derivative=abs, kind='gradient', args=(1.0,), colour=1)]\n", "unknown key"),
        ("CHECKS = [abs]\n", "each declaration is a dict"),
    ],
    ids=["missing", "import-error", "syntax-error", "no-checks", "missing-key", "bad-kind", "unknown-key", "not-a-dict"],
)
def test_unusable_file_is_a_usage_error_with_a_reason(tmp_path, capsys, text, reason):
    path = tmp_path / "absent.py" if text is None else write(tmp_path, text)
    with pytest.raises(UsageError, match=reason):
        load_entries(path)
    assert main(["--module", str(path)]) == EXIT_USAGE
    assert "python -m verify: error:" in capsys.readouterr().err


def test_duplicate_names_are_made_unique(tmp_path):
    text = USER_FILE.format(factor=3) + "CHECKS = CHECKS + CHECKS[:1]\n"
    assert [e.name for e in load_entries(write(tmp_path, text))] == ["cube", "tanh_loss", "cube_2"]


def test_numpy_only_function_is_checked_by_finite_differences_with_a_note(tmp_path):
    """A numpy-only function is checked by finite differences, with a note; and a file the
    user's module leaves open is flushed when the CLI exits (verify/__main__.py freezes the
    garbage collector at exit only where no user file was imported)."""
    import subprocess
    import sys

    module = tmp_path / "np_only.py"
    module.write_text(
        "import numpy as np\n"
        f"LOG = open({str(tmp_path / 'log.txt')!r}, 'w')\n"
        "LOG.write('imported, never closed')\n"
        "def softplus_sum(x):\n    return float(np.sum(np.log1p(np.exp(x))))\n"
        "def softplus_sum_gradient(x):\n    return 1 / (1 + np.exp(-x))\n"
        "def wrong_gradient(x):\n    return 1 / (1 + np.exp(x))\n"
        "CHECKS = [dict(function=softplus_sum, derivative=softplus_sum_gradient, kind='gradient', args=(np.array([0.3, -1.2, 2.0]),)),\n"
        "          dict(function=softplus_sum, derivative=wrong_gradient, kind='gradient', args=(np.array([0.3, -1.2, 2.0]),), name='wrong')]\n"
    )
    run = subprocess.run([sys.executable, "-m", "verify", "--module", str(module)], capture_output=True, text=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "softplus_sum does not run on JAX and torch arrays: checked without JAX and torch" in run.stdout
    assert "wrong [numpy, central differences (scipy, order 8)]: FAIL" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert (tmp_path / "log.txt").read_text() == "imported, never closed"
