"""Regenerate the curriculum table of derivations/README.md from the registry.

The table sits between the two marker lines; everything else in the README is prose.
Run: `make curriculum` (or `python derivations/update_readme.py`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "derivations" / "README.md"
BEGIN, END = "<!-- curriculum-table:begin -->", "<!-- curriculum-table:end -->"


def main() -> None:
    table = subprocess.run([sys.executable, "-m", "verify", "--curriculum"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")
    print(f"updated {README.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
