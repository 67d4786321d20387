"""What every chapter's figures.py shares: a headless matplotlib, the repository on the
import path, PNGs with the same bytes on every run and every machine, and the ``--out DIR``
command line.

A chapter script imports this module first (before numpy and pyplot), then declares its figure
functions, each taking the output folder and returning the path it wrote.

Same bytes everywhere (``make figures`` leaves the committed PNGs unchanged; tests/test_figures.py
regenerates and compares them):
- numbers: numpy picks its SIMD kernels by CPU at import, and its AVX-512 ``exp``/``log`` differ
  from the scalar ones in the last bits, which the rounding-noise parts of a plot (a difference
  quotient at h = 1e-12, f(x_k) - f* near 1e-16) turn into different pixels; OpenBLAS picks its
  kernels and threads by CPU too. Before numpy is imported, this module turns the AVX-512 kernels
  off, fixes OpenBLAS to its Haswell kernels on x86-64 and to one thread;
- randomness: ``main`` seeds numpy's global generator (scripts should still use a seeded
  ``np.random.default_rng``);
- text: matplotlib's own defaults (no user matplotlibrc or style), the DejaVu Sans that ships
  with matplotlib and no fallback to the machine's fonts;
- metadata: no Software (matplotlib version) entry; Agg writes no date.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

if "numpy" not in sys.modules:  # only takes effect before numpy is loaded
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"
        os.environ["NPY_DISABLE_CPU_FEATURES"] = "X86_V4 AVX512_ICL AVX512_SPR"

import matplotlib  # noqa: E402  (numpy's environment must be set first)

matplotlib.use("Agg")  # no display: the scripts run in CI and on headless machines
matplotlib.rcdefaults()  # matplotlib's own style, whatever matplotlibrc the machine has
RC = {
    "font.family": ["DejaVu Sans"],  # bundled with matplotlib; no fallback to system fonts
    "mathtext.fontset": "dejavusans",
    "text.antialiased": True,
    "path.simplify": True,
    "svg.hashsalt": "calculus-for-ml",
    "svg.fonttype": "path",
}
matplotlib.rcParams.update(RC)

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
    import numpy as np

    np.random.seed(0)  # a script that draws from the global generator draws the same numbers
    paths = [figure(args.out) for figure in figures]
    for path in paths:
        print(path)
    return paths
