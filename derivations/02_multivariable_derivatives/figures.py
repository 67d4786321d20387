"""Figures of chapter 02: partial derivatives as slices, a polar cell and its det J, the
Rosenbrock gradient field, Hessian eigen-directions, and gradient-descent paths.

Writes the PNGs into ``--out`` (default: the ``figures/`` folder beside this script).
Each figure is the notebook's picture (``interactive.py``) at fixed slider values: one
plotting code for both. Deterministic and offline; run from the repository root as
``python derivations/02_multivariable_derivatives/figures.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # derivations/: the shared figure_tools
sys.path.insert(0, str(HERE))  # this chapter's interactive.py

import figure_tools  # noqa: E402  (chooses the Agg backend before pyplot is imported)

import interactive  # noqa: E402

DPI = 110  # the notebook shows the same figures at a lower resolution


def _save(fig, out: Path, name: str) -> Path:
    fig.set_dpi(DPI)
    return figure_tools.save(fig, out / name)


def partial_derivative_slices(out: Path) -> Path:
    """The surface f(x₀, x₁, 0.5), its slices through (0.6, −0.4), their tangent lines and the tangent plane."""
    return _save(interactive.partial_slices_figure(0.6, -0.4), out, "partial_derivative_slices.png")


def polar_jacobian_cell(out: Path) -> Path:
    """The square [1.5, 1.8] × [0.6, 0.9] in (r, θ), its image, J·square, and area/d² → det J = r."""
    return _save(interactive.polar_cell_figure(1.5, 0.6, 0.3), out, "polar_jacobian_cell.png")


def rosenbrock_gradient_field(out: Path) -> Path:
    """Rosenbrock's banana valley: contours and unit gradient arrows coloured by log₁₀‖∇f‖."""
    return _save(interactive.gradient_field_figure("Rosenbrock"), out, "rosenbrock_gradient_field.png")


def hessian_eigen_directions(out: Path) -> Path:
    """Contours of ½xᵀHx with H's eigenvectors (angle 30°, λ = 1 and 4), and f along each of them."""
    return _save(interactive.hessian_eigen_figure(30.0, 1.0, 4.0), out, "hessian_eigen_directions.png")


def gradient_descent_paths(out: Path) -> Path:
    """Paths for η = 0.3, 0.9 and 1.1 × 2/λmax (the factors the check uses), and f(x_k) − f*."""
    return _save(interactive.quadratic_descent_figure((0.3, 0.9, 1.1)), out, "gradient_descent_paths.png")


def rosenbrock_descent(out: Path) -> Path:
    """3000 steps of gradient descent on Rosenbrock from (−1.2, 1) with η = 0.9 × 2/λmax(H(1, 1))."""
    return _save(interactive.rosenbrock_descent_figure(0.9, 3000), out, "rosenbrock_descent.png")


FIGURES = [partial_derivative_slices, polar_jacobian_cell, rosenbrock_gradient_field, hessian_eigen_directions,
           gradient_descent_paths, rosenbrock_descent]


def main(argv=None) -> list[Path]:
    return figure_tools.main(__doc__, HERE / "figures", FIGURES, argv)


if __name__ == "__main__":
    main()
