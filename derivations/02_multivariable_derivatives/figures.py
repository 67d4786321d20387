"""Figures of chapter 02: gradient-descent paths on a quadratic for step sizes around 2/λmax.

Writes ``gradient_descent_paths.png`` into ``--out`` (default: the ``figures/`` folder
beside this script). Deterministic and offline; run from the repository root as
``python derivations/02_multivariable_derivatives/figures.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # derivations/: the shared figure_tools

import figure_tools  # noqa: E402  (chooses the Agg backend before pyplot is imported)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from implementations import multivariable as mv  # noqa: E402


ANGLE = np.deg2rad(30.0)
Q = np.array([[np.cos(ANGLE), -np.sin(ANGLE)], [np.sin(ANGLE), np.cos(ANGLE)]])
EIGENVALUES = np.array([1.0, 5.0])
A = (Q * EIGENVALUES) @ Q.T  # symmetric positive definite, eigenvectors rotated by 30°
B = A @ np.array([0.5, -0.25])  # minimizer x* = (0.5, -0.25)


def gradient_descent_paths(out: Path) -> Path:
    """Paths for η = 0.3, 0.9 and 1.05 × 2/λmax over the level curves, and f(x_k) − f*."""
    x_star = np.linalg.solve(A, B)
    f = lambda x: mv.quadratic(x, A, B)
    grad = lambda x: mv.quadratic_gradient(x, A, B)
    f_star = f(x_star)
    x0 = np.array([-2.2, 1.6])
    critical = 2.0 / EIGENVALUES.max()
    runs = [(0.3, "tab:blue"), (0.9, "tab:green"), (1.05, "tab:red")]

    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.8), dpi=120)
    xs, ys = np.meshgrid(np.linspace(-3.2, 3.2, 241), np.linspace(-2.6, 2.6, 201))
    values = np.vectorize(lambda a, b: f(np.array([a, b])))(xs, ys) - f_star
    left.contour(xs, ys, values, levels=np.geomspace(0.02, 40, 12), colors="0.6", linewidths=0.8)
    for scale, color in runs:
        path = mv.gradient_descent(grad, x0, scale * critical, 25)
        label = f"η = {scale:g} · 2/λmax"
        shown = path if scale < 1 else path[:9]  # the diverging path would leave the frame
        left.plot(shown[:, 0], shown[:, 1], "o-", ms=2.5, lw=1.0, color=color, label=label)
        gaps = np.array([f(x) for x in path]) - f_star
        right.semilogy(np.arange(len(gaps)), gaps, "o-", ms=2.5, lw=1.0, color=color, label=label)
    for vector, lam in zip(Q.T, EIGENVALUES):
        left.annotate("", xy=x_star + 1.2 * vector, xytext=x_star, arrowprops=dict(arrowstyle="->", color="black", lw=1.0))
        left.text(*(x_star + 1.3 * vector), f"q, λ = {lam:g}", fontsize=8)
    left.plot(*x_star, "k*", ms=9)
    left.set_xlim(-3.2, 3.2)
    left.set_ylim(-2.6, 2.6)
    left.set_aspect("equal")
    left.set_title("Gradient descent on ½xᵀAx − bᵀx, λ = 1 and 5")
    left.legend(loc="lower right", fontsize=8)
    right.set_xlabel("step k")
    right.set_ylabel("f(x_k) − f*")
    right.set_title("Below 2/λmax f decreases; above, it diverges")
    right.grid(True, which="major", alpha=0.3)
    right.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path = out / "gradient_descent_paths.png"
    return figure_tools.save(fig, path)


def main(argv=None) -> list[Path]:
    return figure_tools.main(__doc__, HERE / "figures", [gradient_descent_paths], argv)

if __name__ == "__main__":
    main()
