"""Installing the package: JAX and torch are extras, and a missing one is a note.

The missing-framework tests run ``python -m verify`` and ``verify.check`` in a subprocess
whose PYTHONPATH starts with a folder holding a stand-in ``torch`` (or ``jax``) package that
raises ModuleNotFoundError on import, as an environment without it does. The metadata test
builds the wheel (``pip wheel --no-deps``, no index, no build isolation) from a copy of the
sources and reads its METADATA.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK_PACKAGES = ("jax", "jaxlib", "torch")
RUNTIME = {"numpy", "scipy", "array-api-compat", "optree"}


def hide(tmp_path: Path, *packages: str) -> dict:
    """An environment for a subprocess in which importing each of ``packages`` fails."""
    shim = tmp_path / "shim"
    for name in packages:
        (shim / name).mkdir(parents=True, exist_ok=True)
        (shim / name / "__init__.py").write_text(f"raise ModuleNotFoundError(\"No module named '{name}'\", name={name!r})\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shim), str(ROOT)]))
    env.pop("VERIFY_DEBUG", None)
    return env


def run(args, env, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, **kw)


# --------------------------------------------------------------------------------------
# A missing framework is a note; asking for it is a usage error
# --------------------------------------------------------------------------------------

NOTE = {
    "torch": "note: torch is not installed: checked without torch (pip install calculus-for-ml[torch])",
    "jax": "note: JAX is not installed: checked without JAX (pip install calculus-for-ml[jax])",
}
COLUMNS = {"torch": ("torch fwd", "torch rev", "tape"), "jax": ("jax fwd", "jax rev")}


@pytest.mark.parametrize("missing", ["torch", "jax"])
def test_the_shim_hides_the_framework(tmp_path, missing):
    """The stand-in is what the subprocess imports (the other tests' premise), and the
    subprocess imports this worktree's verify."""
    script = f"import verify\nprint(verify.__file__)\ntry:\n    import {missing}\nexcept ModuleNotFoundError as e:\n    print('hidden', e.name)"
    done = run(["-c", script], hide(tmp_path, missing))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(ROOT / "verify" / "__init__.py"), f"hidden {missing}"]


@pytest.mark.parametrize("missing", ["torch", "jax"])
def test_cli_checks_without_a_missing_framework_and_says_so(tmp_path, missing):
    done = run(["-m", "verify", "exponential"], hide(tmp_path, missing))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == NOTE[missing]
    header = next(line for line in lines if line.startswith("identity"))
    row = next(line for line in lines if line.startswith("exponential"))
    assert row.rstrip().endswith("PASS")
    for column in COLUMNS[missing]:  # the missing framework's columns did not run
        end = header.index(column) + len(column)
        assert row[end - 1] == "-", (column, row)
    assert "1 identity, " in lines[-1] and ("torch" not in lines[-1].split("(")[-1]) == (missing == "torch")


@pytest.mark.parametrize("missing", ["torch", "jax"])
def test_cli_backend_naming_a_missing_framework_is_a_usage_error(tmp_path, missing):
    done = run(["-m", "verify", "exponential", "--backend", missing], hide(tmp_path, "jax", "torch"))
    assert done.returncode == 2
    assert f"is not installed (pip install calculus-for-ml[{missing}])" in done.stderr
    assert done.stdout == ""


def test_cli_with_no_framework_needs_only_numpy_scipy_and_array_api_compat(tmp_path):
    """Every identity runs with jax, torch and matplotlib hidden; the claim that needs torch
    is named as not run, and a wrong derivative still fails (exit status 1)."""
    env = hide(tmp_path, "jax", "torch", "matplotlib")
    done = run(["-m", "verify", "-q", "04"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == ("note: JAX is not installed; torch is not installed: checked with finite differences only "
                                           "(pip install calculus-for-ml[all])")
    assert "note: 1 selected claim needs torch and was not run: mlp_training_loop" in done.stdout
    assert "0 failed checks: all pass (float64, 1 trial, fd+cstep" in done.stdout
    as_json = run(["-m", "verify", "exponential", "--json", "-"], env)
    doc = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and doc["summary"]["passed"] and doc["backends"] == ["fd", "cstep"]
    assert doc["versions"]["jax"] is None and doc["versions"]["torch"] is None and doc["versions"]["numpy"]
    assert doc["identities"][0]["notes"] == [done.stdout.splitlines()[0].removeprefix("note: ")]
    explicit = run(["-m", "verify", "mlp_training_loop"], env)
    assert explicit.returncode == 2 and "mlp_training_loop needs torch, but torch is not installed" in explicit.stderr
    fd_only = run(["-m", "verify", "-q", "--backend", "fd", "04"], env)  # a claim needs torch whatever --backend selects
    assert fd_only.returncode == 0 and "note: 1 selected claim needs torch and was not run: mlp_training_loop" in fd_only.stdout
    module = tmp_path / "my_layer.py"
    module.write_text(textwrap.dedent("""
        import numpy as np
        f = lambda x: (x**3).sum()
        CHECKS = [dict(function=f, derivative=lambda x: 3 * x**2, kind="gradient", args=(np.array([0.5, -1.0]),)),
                  dict(function=f, derivative=lambda x: 2 * x**2, kind="gradient", args=(np.array([0.5, -1.0]),), name="wrong")]
    """))
    planted = run(["-m", "verify", "--module", str(module)], env)
    assert planted.returncode == 1, planted.stdout + planted.stderr  # the note does not hide a wrong derivative
    rows = {line.split()[0]: line.split()[-1] for line in planted.stdout.splitlines() if line.startswith(("<lambda> ", "wrong "))}
    assert rows == {"<lambda>": "PASS", "wrong": "FAIL"}


PLANTED = """
    import numpy as np, verify
    from array_api_compat import array_namespace

    def f(x):
        xp = array_namespace(x)
        return xp.sum(xp.tanh(x) ** 2)

    def f_gradient(x):
        t = np.tanh(x)
        return 2 * t * (1 - t**2)

    x = np.array([0.3, -1.2, 2.0])
    right = verify.check(f, f_gradient, x, kind="gradient")
    wrong = verify.check(f, lambda x: 2 * f_gradient(x), x, kind="gradient")
    print("right", right.passed, right.frameworks, right.notes)
    print("wrong", wrong.passed, [c.check for c in wrong.failures])
    try:
        verify.check(f, f_gradient, x, kind="gradient", backends=("{missing}", "fd"))
    except ValueError as exc:
        print("usage", exc)
"""


@pytest.mark.parametrize("missing", ["torch", "jax"])
def test_verify_check_without_a_missing_framework(tmp_path, missing):
    done = run(["-c", textwrap.dedent(PLANTED).replace("{missing}", missing)], hide(tmp_path, missing))
    assert done.returncode == 0, done.stderr
    right, wrong, usage = done.stdout.splitlines()
    kept = ("jax", "fd") if missing == "torch" else ("torch", "fd")
    assert right == f"right True {kept} [{NOTE[missing].removeprefix('note: ')!r}]"
    assert wrong.startswith("wrong False") and "fd" in wrong  # the note does not hide a failure
    name = "JAX" if missing == "jax" else "torch"
    assert usage == f"usage backends=('{missing}', 'fd') asks for {name}, but {name} is not installed (pip install calculus-for-ml[{missing}])"


# --------------------------------------------------------------------------------------
# The wheel's metadata: JAX and torch only under extras
# --------------------------------------------------------------------------------------


def framework_requirements_outside_extras(metadata: str) -> list[str]:
    """The Requires-Dist lines that pull jax, jaxlib or torch without an ``extra ==`` marker."""
    bad = []
    for line in Parser().parsestr(metadata).get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.name.lower() in FRAMEWORK_PACKAGES and (req.marker is None or "extra" not in str(req.marker)):
            bad.append(line)
    return bad


def runtime_requirements(metadata: str) -> set[str]:
    return {Requirement(line).name.lower() for line in Parser().parsestr(metadata).get_all("Requires-Dist") or []
            if Requirement(line).marker is None}


def extra_requirements(metadata: str, extra: str) -> dict[str, str]:
    out = {}
    for line in Parser().parsestr(metadata).get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is not None and req.marker.evaluate({"extra": extra}) and not req.marker.evaluate({"extra": ""}):
            out[req.name.lower()] = f"{req.name}{'[' + ','.join(sorted(req.extras)) + ']' if req.extras else ''}{req.specifier}"
    return out


@pytest.fixture(scope="module")
def metadata(tmp_path_factory) -> str:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for package in ("verify", "implementations", "benchmarks"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "results"))
    wheels = tmp_path_factory.mktemp("wheels")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation", "--quiet",
                           "--wheel-dir", str(wheels), str(src)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = wheels.glob("calculus_for_ml-*.whl")
    import zipfile

    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return z.read(name).decode()


def test_wheel_lists_jax_and_torch_only_under_extras(metadata):
    assert framework_requirements_outside_extras(metadata) == []
    assert runtime_requirements(metadata) == RUNTIME
    assert extra_requirements(metadata, "jax") == {"jax": "jax>=0.4.35", "jaxlib": "jaxlib>=0.4.35"}
    assert extra_requirements(metadata, "torch") == {"torch": "torch>=2.1"}  # unpinned: no ==
    assert extra_requirements(metadata, "all") == {"calculus-for-ml": "calculus-for-ml[jax,torch]"}
    dev = extra_requirements(metadata, "dev")
    assert dev["calculus-for-ml"] == "calculus-for-ml[all]" and "pytest" in dev and "matplotlib" in dev


def test_a_framework_pinned_outside_the_extras_is_rejected(metadata):
    """The check itself can fail: the old metadata (torch==2.13.0 and jax as runtime requirements)."""
    planted = metadata.replace("Requires-Dist: numpy>=2.0\n", "Requires-Dist: numpy>=2.0\nRequires-Dist: torch==2.13.0\nRequires-Dist: jax>=0.4.35\n")
    assert framework_requirements_outside_extras(planted) == ["torch==2.13.0", "jax>=0.4.35"]
    assert runtime_requirements(planted) != RUNTIME


def test_constraints_pin_the_tested_torch():
    """`make` installs the dev extra with constraints.txt: the tested set stays pinned there."""
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line and not line.startswith("#"))
    assert pins["torch"] == "2.13.0+cpu" and "jax" in pins and "jaxlib" in pins
    assert "'.[dev]'" in (ROOT / "Makefile").read_text() and "-c constraints.txt" in (ROOT / "Makefile").read_text()


def test_every_package_folder_is_listed_for_the_wheel():
    """A folder with an __init__.py that pyproject's packages list misses would be absent
    from an installed copy (its imports fail only there)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for top in ("verify", "implementations", "benchmarks")
               for p in (ROOT / top).rglob("__init__.py") if "results" not in p.parts}
    assert folders - listed == set()
