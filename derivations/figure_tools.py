"""What every chapter's figures.py shares: a headless matplotlib, the repository on the
import path, PNGs with the same bytes on every run, and the ``--out DIR`` command line.

A chapter script imports this module first (before pyplot), then declares its figure
functions, each taking the output folder and returning the path it wrote.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: the scripts run in CI and on headless machines

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script, the repository root is not on the path
    sys.path.insert(0, str(ROOT))

PNG_METADATA = {"Software": None}  # no matplotlib version in the file: same bytes on every run


def save(fig, path: Path) -> Path:
    """Write the figure as a deterministic PNG and release it."""
    fig.savefig(path, metadata=PNG_METADATA)
    plt.close(fig)
    return path


def main(doc: str, default_out: Path, figures, argv=None) -> list[Path]:
    """Parse ``--out``, write every figure there, print the paths."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_out, help="folder for the PNGs (default: %(default)s)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = [figure(args.out) for figure in figures]
    for path in paths:
        print(path)
    return paths
