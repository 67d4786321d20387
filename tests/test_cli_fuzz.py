"""Fuzz the CLI in process: any argument list drawn from the real flags, real and bogus
names, numbers and paths exits 0, 1 or 2 with no traceback and no internal error.

``verify.cli.main(argv)`` runs in this process (no process per example). The draws stay
cheap: the names are a few quick identities, chapter 03 and the exercise chapters; the
backends are the finite differences, the complex step and the torch tape (no JAX compile).
"""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.cli import main

NAMES = ["sigmoid", "power_rule", "exponential", "limit_definition", "03", "03_directional_derivatives",
         "derivations/03_directional_derivatives/", "nope", "sigmod", "99", "0", "", "-", "01x", "user"]
NUMBERS = ["0", "1", "2", "-1", "-7", "1001", str(2**64), str(10**30), "x", "1e3", "", " 3"]
BACKENDS = ["fd", "cstep", "tape", "fd,cstep", "torch-tape", "FD", "tensorflow", ",", "torch fwd,", ""]
DTYPES = ["float64", "float32", "float16", ""]
CHAPTERS = ["01", "02", "3", "04_matrix_calculus", "05", "matrix_calculus", "x"]
FLAGS = ["--list", "--curriculum", "-q", "--quiet", "--help", "--bogus", "--"]


@pytest.fixture
def paths(tmp_path):
    good = tmp_path / "good.py"
    good.write_text(textwrap.dedent("""
        import numpy as np
        from array_api_compat import array_namespace

        def cube(x):
            return x**3

        def cube_derivative(x):
            return 3 * x**2

        def wrong(x):
            return 2 * x**2

        def raises(x):
            return 1 / 0

        CHECKS = [dict(function=cube, derivative=cube_derivative, kind="derivative", args=(np.array([0.5, 1.5]),)),
                  dict(function=cube, derivative=wrong, kind="derivative", args=(np.array([0.5, 1.5]),), name="wrong"),
                  dict(function=cube, derivative=raises, kind="derivative", args=(np.array([0.5, 1.5]),), name="raises")]
    """))
    syntax = tmp_path / "syntax.py"
    syntax.write_text("def f(x:\n    return x\n")
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\nsys.exit(3)\n")
    return [str(good), str(syntax), str(exits), str(tmp_path), str(tmp_path / "absent.py"),
            str(tmp_path / "out.json"), str(tmp_path / "no_dir" / "out.json"), "-"]


def argument_lists(paths):
    path = st.sampled_from(paths)
    token = st.one_of(
        st.sampled_from(NAMES),
        st.sampled_from(FLAGS),
        st.tuples(st.just("--seed"), st.sampled_from(NUMBERS)),
        st.tuples(st.just("--trials"), st.sampled_from(NUMBERS)),
        st.tuples(st.just("--backend"), st.sampled_from(BACKENDS)),
        st.tuples(st.just("--dtype"), st.sampled_from(DTYPES)),
        st.tuples(st.just("--json"), path),
        st.tuples(st.just("--module"), path),
        st.tuples(st.just("--show"), st.sampled_from(NAMES)),
        st.tuples(st.just("--exercises"), st.sampled_from(CHAPTERS)),
        st.tuples(st.just("--exercises"), st.sampled_from(CHAPTERS), path),
        path,
    )
    flat = st.lists(token, min_size=0, max_size=6).map(
        lambda items: [part for item in items for part in (item if isinstance(item, tuple) else (item,))])
    # a cheap identity first and a numpy or torch backend last keep an example fast (no JAX
    # compile, never the whole registry); the drawn flags can swallow or contradict them,
    # which is part of the fuzz
    return st.tuples(st.sampled_from([["sigmoid"], ["limit_definition"], ["power_rule"]]), flat,
                     st.sampled_from([["--backend", "fd"], ["--backend", "tape"], ["--backend=fd"]])).map(lambda t: t[0] + t[1] + t[2])


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_cli_never_raises_and_exits_0_1_or_2(paths, capsys, data):
    argv = data.draw(argument_lists(paths), label="argv")
    try:
        code = main(argv)
    except SystemExit as exc:  # pragma: no cover - main must return, never exit
        pytest.fail(f"main({argv}) raised SystemExit({exc.code})")
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, code, err[-2000:])
    assert "Traceback" not in out + err, argv
    assert "internal error" not in err, (argv, err)
    if code == 2:
        assert err.strip(), argv  # a usage error says why
