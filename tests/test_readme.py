"""The README's library example runs as written, its commands exist, its measured blocks
(sample report, planted mistake, sensitivity table) are current, and its JSON schema is complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_check_your_own_derivative_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    example = next(b for b in blocks if "verify.check(" in b)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["result"].passed
    out = capsys.readouterr().out
    assert "PASS" in out and "jax fwd" in out


def test_the_two_commands_are_make_targets():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("verify", "test", "bench", "test-long", "figures", "readme"):
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), target
        assert f"make {target}" in README, target


# --------------------------------------------------------------------------------------
# The measured blocks (python -m verify.readme regenerates them)
# --------------------------------------------------------------------------------------


def test_sample_report_is_current():
    """The rows, the row count and the summary of README.md's sample report are what the
    suite prints now (the summary's wall time is the one figure that may differ)."""
    from verify import readme

    identities, checks = readme.summary_counts()
    summary = f"{identities} identities, {checks} checks, 0 failed checks: all pass (float64, 1 trial, jax+torch+fd+cstep, 0.0 s)"
    fresh = readme.sample_report(full_summary=summary)
    assert readme.without_time(readme.block(README, "sample-report")) == readme.without_time(fresh), "stale: run python -m verify.readme"


def test_planted_mistake_block_is_current():
    from verify import readme

    assert readme.block(README, "planted-mistake") == readme.planted_mistake(), "stale: run python -m verify.readme"


def test_sensitivity_table_rows_are_current():
    """Three of the nine rows (the whole table is compared in make test-long)."""
    from verify import readme

    fresh = readme.sensitivity(deltas=(1e-2, 1e-5, 1e-8)).splitlines()
    current = readme.block(README, "sensitivity").splitlines()
    rows = [line for line in fresh if line.startswith("| 1e-")]
    assert len(rows) == 3 and all(row in current for row in rows), "stale: run python -m verify.readme"
    assert fresh[0] == current[0] and [l for l in fresh if l.startswith("- **")] == [l for l in current if l.startswith("- **")]


@pytest.mark.slow
def test_sensitivity_table_is_current():
    from verify import readme

    assert readme.block(README, "sensitivity") == readme.sensitivity(), "stale: run python -m verify.readme"


def test_a_stale_block_is_detected(monkeypatch, capsys):
    """The check itself can fail: a README whose planted-mistake block differs is reported stale."""
    from verify import readme

    stale = readme.replace_block(README, "planted-mistake", "```\nquadratic_form  1.0e+00!  FAIL\n```")
    monkeypatch.setattr(readme, "README", type("P", (), {"read_text": lambda self, encoding=None: stale})())
    assert readme.main(["--check", "planted-mistake"]) == 1
    assert "stale: planted-mistake" in capsys.readouterr().out


def test_json_schema_is_documented():
    """Every key the JSON report writes is named in README.md's schema section."""
    import numpy as np

    from verify import report
    from verify.api import check

    result = check(lambda x: x**3, lambda x: 3 * x**2, np.array([0.5, 1.5]), kind="derivative", backends="fd")
    doc = report.document([result.entry], seed=0, trials=1, dtype="float64", frameworks=("fd",), versions={}, notes={})
    section = README.split("### The JSON report", 1)[1].split("\n## ", 1)[0]
    keys = set(doc) | set(doc["summary"]) | set(doc["identities"][0]) | set(doc["identities"][0]["checks"][0])
    missing = sorted(k for k in keys if f"`{k}`" not in section)
    assert not missing, f"undocumented JSON keys: {missing}"
