"""Figures of chapter 03: the gradient field over level curves, D_v f as a slope and as a
cosine of the angle, a level curve with its tangent, and the Armijo condition.

Writes ``gradient_field.png``, ``directional_slice.png``, ``directional_derivative_angle.png``,
``level_curve_tangent.png`` and ``armijo_condition.png`` into ``--out`` (default: the
``figures/`` folder beside this script). The last three are the notebook's pictures
(interactive.py) at fixed slider values: one plotting code for both. Deterministic and
offline; run from the repository root as
``python derivations/03_directional_derivatives/figures.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # derivations/: the shared figure_tools
sys.path.insert(0, str(HERE))  # this chapter's interactive.py

import figure_tools  # noqa: E402  (chooses the Agg backend before pyplot is imported)
import interactive  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from implementations import directional as dd  # noqa: E402
from implementations import multivariable as mv  # noqa: E402


# A small logistic regression with two weights: the loss surface every figure draws
# (defined once, in interactive.py).
X, Y = interactive.X, interactive.Y


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
    fig, ax = plt.subplots(figsize=(7.6, 5.9), dpi=110)
    contours = ax.contour(w0, w1, values, levels=14, colors="0.55", linewidths=0.9)
    ax.clabel(contours, fontsize=7, fmt="%.2f")
    a, b = np.meshgrid(np.linspace(-2.6, 4.6, 13), np.linspace(-3.6, 1.6, 10))
    g = np.array([[gradient(np.array([p, q])) for p, q in zip(ra, rb)] for ra, rb in zip(a, b)])
    norm = np.linalg.norm(g, axis=-1, keepdims=True)
    unit = g / norm
    field = ax.quiver(a, b, unit[..., 0], unit[..., 1], norm[..., 0], cmap="plasma", angles="xy", scale=22, width=0.004)
    fig.colorbar(field, ax=ax, shrink=0.78, pad=0.02, label="‖∇f‖ (colour of each arrow)")
    point = np.array([3.0, 0.6])
    level = loss(point)
    through = ax.contour(w0, w1, values, levels=[level], colors="tab:blue", linewidths=2.0)
    ax.clabel(through, fontsize=8, fmt="%.3f")
    (tangent,) = dd.level_set_tangent_basis(gradient(point))
    ax.plot(*np.c_[point - 0.9 * tangent, point + 0.9 * tangent], "k--", lw=1.2)
    ax.annotate("", xy=point + 0.9 * dd.steepest_ascent_direction(gradient(point)), xytext=point,
                arrowprops=dict(arrowstyle="-|>", color="black", lw=1.5))
    ax.plot(*point, "ko", ms=4)
    ax.set_aspect("equal")
    ax.set_xlabel("w₀")
    ax.set_ylabel("w₁")
    ax.set_title("Logistic loss: ∇f/‖∇f‖ crosses every level curve at 90°", fontsize=11)
    handles = [
        Line2D([], [], color="0.55", lw=0.9, label="level curves f = const"),
        Line2D([], [], color="tab:blue", lw=2.0, label=f"the level curve through x = (3, 0.6): f = {level:.3f}"),
        Line2D([], [], color="black", ls="--", lw=1.2, label="its tangent: null space of ∇f(x)ᵀ"),
        Line2D([], [], color="black", marker=r"$\rightarrow$", ms=14, ls="none", label="∇f/‖∇f‖ at x, perpendicular to it"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    path = out / "gradient_field.png"
    return figure_tools.save(fig, path)


def directional_slice(out: Path) -> Path:
    """The slice t ↦ f(x + tv) and its tangent at t = 0, whose slope is D_v f = ∇f·v."""
    x = np.array([-1.5, 0.5])
    directions = [(np.array([1.0, 0.0]), "tab:blue", "v = e₀"), (np.array([0.6, -0.8]), "tab:red", "v = (0.6, −0.8)"),
                  (dd.level_set_tangent_basis(gradient(x))[0], "tab:green", "v tangent to the level curve")]
    w0, w1, values = _grid()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 5.4), dpi=120)
    level_lines = left.contour(w0, w1, values, levels=14, colors="0.65", linewidths=0.8)
    left.clabel(level_lines, fontsize=7, fmt="%.2f")
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
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, fontsize=7, frameon=False)
    right.plot([0], [loss(x)], "ko", ms=4)
    right.set_xlabel("t")
    right.set_ylabel("f(x + tv)")
    right.set_title("Each 1-D slice has slope D_v f at t = 0")
    right.grid(True, alpha=0.3)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=7, frameon=False)
    fig.tight_layout()
    path = out / "directional_slice.png"
    return figure_tools.save(fig, path)


def directional_derivative_angle(out: Path) -> Path:
    """D_v f against the angle of v: the cosine ‖∇f‖ cos(θ − θ_∇), largest along ∇f."""
    return figure_tools.save(interactive.direction_angle(angle=30.0, w0=-1.5, w1=0.5), out / "directional_derivative_angle.png")


def level_curve_tangent(out: Path) -> Path:
    """The level curve through a point, its tangent ⟂ ∇f, and the curve's O(s²) offset."""
    return figure_tools.save(interactive.level_curve_tangent(w0=3.0, w1=0.6), out / "level_curve_tangent.png")


def armijo_condition(out: Path) -> Path:
    """φ(t), the tangent, the Armijo line, the acceptable steps, backtracking's trial steps."""
    return figure_tools.save(interactive.armijo_backtracking(c=0.05, rho=0.5, t0=2.0, contours=False), out / "armijo_condition.png")


FIGURES = [gradient_field, directional_slice, directional_derivative_angle, level_curve_tangent, armijo_condition]


def main(argv=None) -> list[Path]:
    return figure_tools.main(__doc__, HERE / "figures", FIGURES, argv)


if __name__ == "__main__":
    main()
