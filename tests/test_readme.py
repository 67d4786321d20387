"""The README's library example runs as written, and its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

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
    for target in ("verify", "test", "bench", "test-long", "figures"):
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), target
        assert f"make {target}" in README, target
