"""Figures of chapter 03: the gradient field over level curves, and D_v f as a slope.

Writes ``gradient_field.png`` and ``directional_slice.png`` into ``--out`` (default: the
``figures/`` folder beside this script). Deterministic and offline; run from the
repository root as ``python derivations/03_directional_derivatives/figures.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # derivations/: the shared figure_tools

import figure_tools  # noqa: E402  (chooses the Agg backend before pyplot is imported)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from implementations import directional as dd  # noqa: E402
from implementations import multivariable as mv  # noqa: E402


# A small logistic regression with two weights: the loss surface every figure draws.
_DATA = np.random.default_rng(20260101)
X = _DATA.standard_normal((40, 2)) * np.array([1.0, 0.6])
Y = (X @ np.array([1.5, -2.0]) + 0.8 * _DATA.standard_normal(40) > 0).astype(float)


def loss(w):
    return mv.logistic_loss(w, X, Y)


def gradient(w):
    return mv.logistic_loss_gradient(w, X, Y)


def _grid(lo=(-3.0, -4.0), hi=(5.0, 2.0), n=161):
    ws = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    values = np.array([[loss(np.array([a, b])) for a, b in zip(ra, rb)] for ra, rb in zip(*ws)])
    return ws[0], ws[1], values


def gradient_field(out: Path) -> Path:
    """Level curves of the loss with the gradient field: every arrow crosses its curve at 90°."""
    w0, w1, values = _grid()
    fig, ax = plt.subplots(figsize=(6.8, 5.6), dpi=120)
    contours = ax.contour(w0, w1, values, levels=14, cmap="viridis", linewidths=1.0)
    ax.clabel(contours, fontsize=7, fmt="%.2f")
    a, b = np.meshgrid(np.linspace(-2.6, 4.6, 13), np.linspace(-3.6, 1.6, 10))
    g = np.array([[gradient(np.array([p, q])) for p, q in zip(ra, rb)] for ra, rb in zip(a, b)])
    norm = np.linalg.norm(g, axis=-1, keepdims=True)
    unit = g / norm
    ax.quiver(a, b, unit[..., 0], unit[..., 1], norm[..., 0], cmap="autumn_r", angles="xy", scale=22, width=0.004)
    point = np.array([3.0, 0.6])
    (tangent,) = dd.level_set_tangent_basis(gradient(point))
    ax.plot(*np.c_[point - 0.9 * tangent, point + 0.9 * tangent], "k--", lw=1.2, label="tangent: null space of ∇fᵀ")
    ax.annotate("", xy=point + 0.9 * dd.steepest_ascent_direction(gradient(point)), xytext=point,
                arrowprops=dict(arrowstyle="-|>", color="black", lw=1.5))
    ax.plot(*point, "ko", ms=4, label="∇f/‖∇f‖ at a point, perpendicular to it")
    ax.set_aspect("equal")
    ax.set_xlabel("w₀")
    ax.set_ylabel("w₁")
    ax.set_title("Logistic loss: ∇f (unit arrows, colour = ‖∇f‖) cross level curves at 90°")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path = out / "gradient_field.png"
    return figure_tools.save(fig, path)


def directional_slice(out: Path) -> Path:
    """The slice t ↦ f(x + tv) and its tangent at t = 0, whose slope is D_v f = ∇f·v."""
    x = np.array([-1.5, 0.5])
    directions = [(np.array([1.0, 0.0]), "tab:blue", "v = e₀"), (np.array([0.6, -0.8]), "tab:red", "v = (0.6, −0.8)"),
                  (dd.level_set_tangent_basis(gradient(x))[0], "tab:green", "v tangent to the level curve")]
    w0, w1, values = _grid()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.6), dpi=120)
    left.contour(w0, w1, values, levels=14, colors="0.65", linewidths=0.8)
    ts = np.linspace(-1.5, 1.5, 121)
    for v, color, label in directions:
        line = x + ts[:, None] * v
        left.plot(line[:, 0], line[:, 1], color=color, lw=1.4, label=label)
        slope = dd.directional_derivative(gradient, x, v)
        right.plot(ts, [loss(x + t * v) for t in ts], color=color, lw=1.6, label=f"f(x + tv), {label}")
        right.plot(ts, loss(x) + slope * ts, "--", color=color, lw=1.0, label=f"slope D_v f = ∇f·v = {slope:+.3f}")
    left.plot(*x, "ko", ms=4)
    left.set_aspect("equal")
    left.set_xlabel("w₀")
    left.set_ylabel("w₁")
    left.set_title("Lines through x in three directions")
    left.legend(loc="lower right", fontsize=8)
    right.plot([0], [loss(x)], "ko", ms=4)
    right.set_xlabel("t")
    right.set_ylabel("f(x + tv)")
    right.set_title("Each 1-D slice has slope D_v f at t = 0")
    right.grid(True, alpha=0.3)
    right.legend(loc="upper center", fontsize=7)
    fig.tight_layout()
    path = out / "directional_slice.png"
    return figure_tools.save(fig, path)


def main(argv=None) -> list[Path]:
    return figure_tools.main(__doc__, HERE / "figures", [gradient_field, directional_slice], argv)

if __name__ == "__main__":
    main()
