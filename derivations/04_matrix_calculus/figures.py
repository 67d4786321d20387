"""Figures of chapter 04: backprop shapes, the sparsity of ∂Y/∂W, the MLP's graph, the two
Jacobian layouts and the cost of Jacobians.

Writes ``linear_backward_shapes.png``, ``weight_jacobian_sparsity.png``, ``mlp_graph.png``,
``jacobian_layouts.png`` and ``benchmark_cost_curves.png`` into ``--out`` (default: the
``figures/`` folder beside this script). The first three and the last are the notebook's
pictures (``interactive.py``) at fixed slider values: one plotting code for both.
Deterministic and offline; run from the repository root as
``python derivations/04_matrix_calculus/figures.py``.
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

from implementations import matrix_calculus as mc  # noqa: E402


def linear_backward_shapes(out: Path) -> Path:
    """Y = XWᵀ + b and its backward pass, boxes to scale, at B = 4, d_in = 6, d_out = 3."""
    return figure_tools.save(interactive.linear_backward_figure(4, 6, 3), out / "linear_backward_shapes.png")


def weight_jacobian_sparsity(out: Path) -> Path:
    """The spy plot of ∂Y/∂W at B = 3, d_in = 4, d_out = 5."""
    return figure_tools.save(interactive.weight_jacobian_figure(3, 4, 5), out / "weight_jacobian_sparsity.png")


def mlp_graph(out: Path) -> Path:
    """The MLP's computational graph at seed 0, batch 4."""
    return figure_tools.save(interactive.mlp_graph_figure(0, 4), out / "mlp_graph.png")


def benchmark_cost_curves(out: Path) -> Path:
    """Time against size of every method for the square tanh layer's Jacobian."""
    return figure_tools.save(interactive.benchmark_cost_figure("tanh_layer_jacobian_square"), out / "benchmark_cost_curves.png")


def jacobian_layouts(out: Path) -> Path:
    """The same partial derivatives of f(x) = Ax (m = 3, n = 5) in both layouts."""
    rng = np.random.default_rng(4)
    m, n = 3, 5
    A = np.round(rng.uniform(-3, 3, size=(m, n)), 1)
    x = rng.standard_normal(n)
    J = mc.matrix_vector_product_jacobian(x, A)  # numerator layout: J[i, j] = ∂f_i/∂x_j
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 4.6), dpi=100, width_ratios=(5, 3.6), layout="constrained")
    limit = float(np.max(np.abs(J)))
    for ax, M, rows, cols, title in (
        (left, J, "output i (f_i)", "input j (x_j)", f"numerator layout: J = A, shape m×n = {m}×{n}\n(jax.jacobian, torch.func.jacrev; this project)"),
        (right, J.T, "input j (x_j)", "output i (f_i)", f"denominator layout: Aᵀ, shape n×m = {n}×{m}\n(the same numbers, transposed)"),
    ):
        image = ax.imshow(M, cmap="coolwarm", vmin=-limit, vmax=limit)
        for r in range(M.shape[0]):
            for c in range(M.shape[1]):
                i, j = (r, c) if M is J else (c, r)
                ax.text(c, r, f"∂f{i + 1}/∂x{j + 1}\n{M[r, c]:.1f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(M.shape[1]), [str(k + 1) for k in range(M.shape[1])])
        ax.set_yticks(range(M.shape[0]), [str(k + 1) for k in range(M.shape[0])])
        ax.set_ylabel(rows)
        ax.set_xlabel(cols)
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=[left, right], label="∂f_i/∂x_j = A[i, j]", shrink=0.8)
    fig.suptitle("The Jacobian of f(x) = Ax in the two layouts: one row per output, or one row per input", fontsize=10)
    return figure_tools.save(fig, out / "jacobian_layouts.png")


FIGURES = [linear_backward_shapes, weight_jacobian_sparsity, mlp_graph, jacobian_layouts, benchmark_cost_curves]


def main(argv=None) -> list[Path]:
    return figure_tools.main(__doc__, HERE / "figures", FIGURES, argv)


if __name__ == "__main__":
    main()
