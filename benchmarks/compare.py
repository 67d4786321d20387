"""Do two benchmark runs reach the same conclusions?

    python -m benchmarks.compare DIR_A DIR_B [--out FILE.md]

Every judged statement of a run (hand-coded ≤ fastest autodiff; cost(derivative) ≤ 3×
cost(function)) is yes, no or inconclusive. Two runs agree when no statement is "yes" in
one and "no" in the other; "inconclusive" in either is not a contradiction, it is the
protocol refusing to conclude on figures whose spread allows both answers. Used to show
that a deliberately busy core (``benchmarks.run --busy-core``) flips no conclusion.

Exit status: 0 no conclusion flipped, 1 some flipped, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from benchmarks.report import conclusions


def compare(a: dict[str, str], b: dict[str, str]) -> tuple[list[str], Counter]:
    """(the statements that flipped between yes and no, counts of (a, b) outcome pairs)."""
    shared = sorted(set(a) & set(b))
    flipped = [k for k in shared if {a[k], b[k]} == {"yes", "no"}]
    return flipped, Counter((a[k], b[k]) for k in shared)


def report_lines(name_a: str, name_b: str, flipped, pairs: Counter) -> list[str]:
    total = sum(pairs.values())
    lines = [f"# Conclusions of {name_a} against {name_b}", "",
             f"{total} judged statements in both runs; {len(flipped)} flipped between yes and no.", "",
             f"| {name_a} | {name_b} | statements |", "| --- | --- | --- |"]
    lines += [f"| {x} | {y} | {n} |" for (x, y), n in sorted(pairs.items())]
    if flipped:
        lines += ["", "Flipped:", *(f"- {k}" for k in flipped)]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--out", help="also write the comparison as markdown to this file")
    args = parser.parse_args(argv)
    for folder in (args.first, args.second):
        if not (Path(folder) / "benchmark.json").is_file():
            print(f"error: {folder} holds no benchmark.json written by benchmarks.run", file=sys.stderr)
            return 2
    flipped, pairs = compare(conclusions(Path(args.first)), conclusions(Path(args.second)))
    lines = report_lines(Path(args.first).name, Path(args.second).name, flipped, pairs)
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 1 if flipped else 0


if __name__ == "__main__":
    sys.exit(main())
