"""The pictures of chapter 04's notebook, as plain functions (no Jupyter needed).

Every picture is built with matplotlib's object API (``Figure``, no pyplot, no global
state) by a ``*_figure`` function whose arguments are the notebook's sliders; the numbers
it shows come from a pure function beside it, so that tests/test_interactive_04.py can
call both across the sliders' ranges and assert what the picture shows:

- ``linear_backward_figure``: the shapes of a linear layer's backward pass, to scale
  (numbers: ``linear_backward_layout``);
- ``weight_jacobian_figure``: the sparsity of ∂Y/∂W for Y = XWᵀ (``weight_jacobian``);
- ``mlp_graph_figure``: a 2-layer MLP's computational graph, forward values and backward
  gradients (``mlp_forward_backward``);
- ``training_curves_figure``: the hand-coded training loss curve against torch's
  (``training_curves``);
- ``benchmark_cost_figure``: time against size per method, from the committed benchmark
  results (``benchmark_medians``).

The derivatives are the project's own: ``implementations/layers.py`` (``linear``,
``linear_vjp``, ``mlp_loss_gradients`` through ``mlp_train``), checked by
``python -m verify 04_matrix_calculus``.
"""

from __future__ import annotations

import functools
import io
import json
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the notebook runs with this folder as working directory
    sys.path.insert(0, str(ROOT))

from implementations import layers  # noqa: E402
from implementations.single_variable import softmax_cross_entropy, softmax_numpy  # noqa: E402

BENCHMARK_JSON = ROOT / "benchmarks" / "results" / "benchmark.json"
DPI = 100  # notebook PNGs stay small: about 7×4 inches at 100 dpi

SLIDERS = {  # the notebook's slider ranges (inclusive); the tests sweep the same ranges
    "linear_backward_figure": {"B": (1, 8), "d_in": (1, 10), "d_out": (1, 10)},
    "weight_jacobian_figure": {"B": (1, 5), "d_in": (1, 6), "d_out": (1, 6)},
    "mlp_graph_figure": {"seed": (0, 20), "batch": (2, 8)},
    # at η = 3 (100 steps) some seeds' curves differ by 4e-6: the descent is chaotic there, rounding grows
    "training_curves_figure": {"learning_rate": (0.05, 1.5), "steps": (5, 60), "seed": (0, 9)},
}


def show(fig: Figure) -> None:
    """Display a Figure in Jupyter as a static PNG (GitHub shows it in the saved notebook)."""
    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    display(Image(data=buffer.getvalue(), format="png"))


# --------------------------------------------------------------------------------------
# 1. The shapes of a linear layer's backward pass: Y = XWᵀ + b
# --------------------------------------------------------------------------------------


def linear_backward_arrays(B: int = 4, d_in: int = 6, d_out: int = 3, seed: int = 0, backward=layers.linear_vjp) -> dict:
    """Run the layer forward and ``backward`` (default: the project's ``linear_vjp``) on
    random arrays; returns every array of the picture by name."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, d_in))
    W = rng.standard_normal((d_out, d_in))
    b = rng.standard_normal(d_out)
    Y = layers.linear(X, W, b)
    dY = rng.standard_normal(Y.shape)  # a random cotangent ∂L/∂Y
    dX, dW, db = backward(X, W, b, dY)
    return {"X": X, "W": W, "b": b, "Y": Y, "dY": dY, "dX": dX, "dW": dW, "db": db}


def _matrix_shape(array) -> tuple[int, int]:
    """A 1-D array (a bias or its gradient) is drawn as one row."""
    shape = np.shape(array)
    return (1, shape[0]) if len(shape) == 1 else (int(shape[0]), int(shape[1]))


def linear_backward_layout(B: int = 4, d_in: int = 6, d_out: int = 3, backward=layers.linear_vjp) -> list[dict]:
    """The four equations of the picture, each ``{"label", "result", "factors"}``, where
    result and factors are ``(name, (rows, cols))`` taken from the arrays themselves:

    Y = X · Wᵀ (+ b), dX = dY · W, dW = dYᵀ · X, db = 1ᵀ · dY (the sum over the batch).
    """
    a = linear_backward_arrays(B, d_in, d_out, backward=backward)
    ones = np.ones((1, B))  # 1ᵀ dY sums the rows of dY: the bias gradient as a product
    return [
        {"label": "forward:  Y = X Wᵀ + b", "result": ("Y", _matrix_shape(a["Y"])),
         "factors": [("X", _matrix_shape(a["X"])), ("Wᵀ", _matrix_shape(a["W"].T))], "plus": ("b", _matrix_shape(a["b"]))},
        {"label": "dX = dY W", "result": ("dX", _matrix_shape(a["dX"])),
         "factors": [("dY", _matrix_shape(a["dY"])), ("W", _matrix_shape(a["W"]))]},
        {"label": "dW = dYᵀ X", "result": ("dW", _matrix_shape(a["dW"])),
         "factors": [("dYᵀ", _matrix_shape(a["dY"].T)), ("X", _matrix_shape(a["X"]))]},
        {"label": "db = Σ_batch dY = 1ᵀ dY", "result": ("db", _matrix_shape(a["db"])),
         "factors": [("1ᵀ", _matrix_shape(ones)), ("dY", _matrix_shape(a["dY"]))]},
    ]


def layout_is_consistent(layout: list[dict]) -> bool:
    """Each product is defined (inner sizes agree) and gives the result's shape."""
    for eq in layout:
        (_, (r1, c1)), (_, (r2, c2)) = eq["factors"]
        if c1 != r2 or eq["result"][1] != (r1, c2):
            return False
    return True


def linear_backward_figure(B: int = 4, d_in: int = 6, d_out: int = 3, backward=layers.linear_vjp) -> Figure:
    """Boxes drawn to scale (one square per entry) for every array of Y = XWᵀ + b and its
    backward pass; each equation reads result = left · right, as the matrix product."""
    layout = linear_backward_layout(B, d_in, d_out, backward)
    colours = {"X": "#9ecae1", "W": "#fdae6b", "Wᵀ": "#fdae6b", "b": "#c7e9c0", "Y": "#dadaeb",
               "dY": "#bcbddc", "dYᵀ": "#bcbddc", "dX": "#6baed6", "dW": "#fd8d3c", "db": "#74c476", "1ᵀ": "#eeeeee"}
    gap, row_gap = 2.2, 2.6
    heights = [max([eq["result"][1][0]] + [s[0] for _, s in eq["factors"]]) for eq in layout]
    widths = []
    for eq in layout:
        w = eq["result"][1][1] + sum(s[1] for _, s in eq["factors"]) + 3 * gap
        if "plus" in eq:
            w += eq["plus"][1][1] + gap
        widths.append(w)
    total_w = max(widths) + 1
    total_h = sum(heights) + row_gap * (len(layout) + 0.5)

    fig = Figure(figsize=(7.5, 6.0), dpi=DPI)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.90))
    ax.set_xlim(-0.5, total_w)
    ax.set_ylim(-total_h, 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.suptitle(f"Backward pass of Y = XWᵀ + b to scale: B = {B}, d_in = {d_in}, d_out = {d_out}", fontsize=11)

    def box(x, top, name, shape):
        rows, cols = shape
        ax.add_patch(Rectangle((x, top - rows), cols, rows, facecolor=colours.get(name, "#dddddd"), edgecolor="black", lw=1.2, gid=name))
        if rows * cols <= 400:  # one cell per entry while the cells stay visible
            for c in range(1, cols):
                ax.plot([x + c, x + c], [top - rows, top], color="black", lw=0.25, alpha=0.35)
            for r in range(1, rows):
                ax.plot([x, x + cols], [top - r, top - r], color="black", lw=0.25, alpha=0.35)
        like = {"dX": "  like X", "dW": "  like W", "db": "  like b"}.get(name, "")
        ax.text(x + cols / 2, top + 0.25, f"{name}  {rows}×{cols}{like}", ha="center", va="bottom", fontsize=8)
        return x + cols

    top = -row_gap * 0.5
    for eq, height in zip(layout, heights):
        ax.text(-0.3, top + 1.3, eq["label"], ha="left", va="bottom", fontsize=9, fontweight="bold")
        x = box(0.0, top, *eq["result"])
        ax.text(x + gap / 2, top - height / 2, "=", ha="center", va="center", fontsize=14)
        x = box(x + gap, top, *eq["factors"][0])
        ax.text(x + gap / 2, top - height / 2, "·", ha="center", va="center", fontsize=18)
        x = box(x + gap, top, *eq["factors"][1])
        if "plus" in eq:
            ax.text(x + gap / 2, top - height / 2, "+", ha="center", va="center", fontsize=14)
            box(x + gap, top, *eq["plus"])
        top -= height + row_gap
    return fig


# --------------------------------------------------------------------------------------
# 2. The sparsity of ∂Y/∂W for Y = XWᵀ
# --------------------------------------------------------------------------------------


def weight_jacobian_inputs(B: int = 3, d_in: int = 4, seed: int = 0) -> np.ndarray:
    """X with every entry away from 0 (magnitudes in [0.5, 2], random signs), so that
    every entry that can be nonzero in ∂Y/∂W is."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 2.0, size=(B, d_in)) * rng.choice([-1.0, 1.0], size=(B, d_in))


def weight_jacobian(X: np.ndarray, d_out: int) -> np.ndarray:
    """∂Y/∂W for Y = XWᵀ as a (B·d_out) × (d_out·d_in) matrix: row b·d_out + i is Y[b, i],
    column i'·d_in + j is W[i', j] (both flattened row by row).

    Y is linear in W, so column (i', j) is Y evaluated at the unit matrix E_{i'j}: exact.
    """
    B, d_in = X.shape
    J = np.zeros((B * d_out, d_out * d_in))
    for i in range(d_out):
        for j in range(d_in):
            E = np.zeros((d_out, d_in))
            E[i, j] = 1.0
            J[:, i * d_in + j] = layers.linear(X, E, np.zeros(d_out)).reshape(-1)
    return J


def weight_jacobian_pattern(B: int, d_in: int, d_out: int) -> np.ndarray:
    """Where ∂Y[b, i]/∂W[i', j] = δ_{ii'} X[b, j] can be nonzero: exactly where i = i'."""
    rows = np.arange(B * d_out) % d_out  # the output unit i of row b·d_out + i
    cols = np.arange(d_out * d_in) // d_in  # the weight row i' of column i'·d_in + j
    return rows[:, None] == cols[None, :]


def weight_jacobian_figure(B: int = 3, d_in: int = 4, d_out: int = 5, seed: int = 0) -> Figure:
    """Spy plot of ∂Y/∂W: zeros white, nonzeros coloured by their value X[b, j]; the lines
    separate the examples b (rows) and the weight rows i' (columns)."""
    X = weight_jacobian_inputs(B, d_in, seed)
    J = weight_jacobian(X, d_out)
    nonzero = int(np.count_nonzero(J))
    fig = Figure(figsize=(7.0, 4.6), dpi=DPI)
    ax = fig.add_subplot()
    limit = float(np.max(np.abs(J)))
    image = ax.imshow(np.ma.masked_equal(J, 0.0), cmap="coolwarm", vmin=-limit, vmax=limit, interpolation="nearest", aspect="auto")
    for r in range(1, B):
        ax.axhline(r * d_out - 0.5, color="black", lw=0.8)
    for c in range(1, d_out):
        ax.axvline(c * d_in - 0.5, color="black", lw=0.8)
    ax.set_xlabel(f"column i'·d_in + j: weight W[i', j]  ({d_out}·{d_in} = {d_out * d_in} columns)")
    ax.set_ylabel(f"row b·d_out + i: output Y[b, i]  ({B}·{d_out} = {B * d_out} rows)", fontsize=9)
    ax.set_title(
        f"∂Y/∂W for Y = XWᵀ: {nonzero} of {J.size} entries nonzero = B·d_out·d_in;\n"
        f"fraction {nonzero / J.size:.3g} = 1/d_out (only i' = i: W's row i feeds only column i of Y)",
        fontsize=9,
    )
    fig.colorbar(image, ax=ax, label="∂Y[b, i]/∂W[i, j] = X[b, j]")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# 3. A 2-layer MLP's computational graph: forward values, backward gradients
# --------------------------------------------------------------------------------------

MLP_SIZES = {"n_in": 3, "n_hidden": 5, "n_classes": 2}


def _tanh_backward(dH, H):
    return dH * (1.0 - H * H)  # tanh′(A) = 1 − tanh²(A) = 1 − H²


def mlp_forward_backward(seed: int = 0, batch: int = 4, tanh_backward=_tanh_backward) -> dict:
    """The nodes of linear → tanh → linear → softmax cross-entropy, in graph order, each
    ``{"value", "grad", "formula"}``: forward values and the gradients ∂ℓ/∂node of the
    backward sweep, computed step by step with ``layers.linear`` and ``layers.linear_vjp``.

    Data from ``layers.gaussian_blobs`` and parameters from ``layers.mlp_init``, seeded.
    """
    rng = np.random.default_rng(seed)
    X, Y = layers.gaussian_blobs(rng, batch, MLP_SIZES["n_in"], MLP_SIZES["n_classes"])
    W1, b1, W2, b2 = layers.mlp_init(rng, MLP_SIZES["n_in"], MLP_SIZES["n_hidden"], MLP_SIZES["n_classes"])
    # forward
    A = layers.linear(X, W1, b1)
    H = np.tanh(A)
    Z = layers.linear(H, W2, b2)
    loss = softmax_cross_entropy(Z, Y)
    # backward, from the loss to the parameters
    dZ = (softmax_numpy(Z) - Y) / batch
    dH, dW2, db2 = layers.linear_vjp(H, W2, b2, dZ)
    dA = tanh_backward(dH, H)
    dX, dW1, db1 = layers.linear_vjp(X, W1, b1, dA)
    return {
        "X": {"value": X, "grad": dX, "formula": "data"},
        "W1": {"value": W1, "grad": dW1, "formula": "dW₁ = dAᵀX"},
        "b1": {"value": b1, "grad": db1, "formula": "db₁ = Σ_batch dA"},
        "A": {"value": A, "grad": dA, "formula": "dA = dH ⊙ (1 − H²)"},
        "H": {"value": H, "grad": dH, "formula": "dH = dZ W₂"},
        "W2": {"value": W2, "grad": dW2, "formula": "dW₂ = dZᵀH"},
        "b2": {"value": b2, "grad": db2, "formula": "db₂ = Σ_batch dZ"},
        "Z": {"value": Z, "grad": dZ, "formula": "dZ = (softmax(Z) − Y)/B"},
        "Y": {"value": Y, "grad": None, "formula": "one-hot labels"},
        "loss": {"value": np.asarray(loss), "grad": np.asarray(1.0), "formula": "dℓ = 1"},
    }


def _shape_text(array) -> str:
    shape = np.shape(array)
    return "scalar" if not shape else "×".join(str(s) for s in shape)


def node_annotation(name: str, node: dict) -> str:
    """The text of a node in the graph: its shape, ‖value‖ and ‖∂ℓ/∂node‖ (Frobenius)."""
    text = f"{_shape_text(node['value'])}\n‖·‖ = {np.linalg.norm(node['value']):.3g}"
    if node["grad"] is not None:
        text += f"\n‖d{name}‖ = {np.linalg.norm(node['grad']):.3g}"
    return text


MLP_GRAPH_POSITIONS = {  # (x, y) of each node: the forward chain in the middle row
    "X": (0.0, 0.0), "A": (2.0, 0.0), "H": (4.0, 0.0), "Z": (6.0, 0.0), "loss": (8.0, 0.0),
    "W1": (1.0, 1.6), "b1": (3.0, 1.6), "W2": (5.0, 1.6), "b2": (7.0, 1.6), "Y": (8.2, -1.75),
}
MLP_GRAPH_TITLES = {"X": "X", "A": "A = XW₁ᵀ + b₁", "H": "H = tanh A", "Z": "Z = HW₂ᵀ + b₂", "loss": "ℓ = CE(Z, Y)",
                    "W1": "W₁", "b1": "b₁", "W2": "W₂", "b2": "b₂", "Y": "Y"}
MLP_GRAPH_EDGES = [("X", "A"), ("W1", "A"), ("b1", "A"), ("A", "H"), ("H", "Z"), ("W2", "Z"), ("b2", "Z"), ("Z", "loss"), ("Y", "loss")]
MLP_BACKWARD_EDGES = [("loss", "Z"), ("Z", "H"), ("H", "A"), ("Z", "W2"), ("Z", "b2"), ("A", "W1"), ("A", "b1")]


def mlp_graph_figure(seed: int = 0, batch: int = 4) -> Figure:
    """The graph of the MLP: black arrows carry forward values (shapes on the edges), red
    arrows carry gradients back; each node shows its shape, ‖value‖ and ‖gradient‖."""
    nodes = mlp_forward_backward(seed, batch)
    fig = Figure(figsize=(9.0, 5.0), dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.9))
    ax.set_xlim(-0.9, 8.9)
    ax.set_ylim(-2.55, 2.5)
    ax.axis("off")
    loss = float(nodes["loss"]["value"])
    fig.suptitle(f"A 2-layer MLP (seed {seed}, batch B = {batch}): forward values → and gradients ∂ℓ/∂· ← (ℓ = {loss:.4f})", fontsize=10)
    w, h = 1.35, 0.95
    patches = {}
    for name, (x, y) in MLP_GRAPH_POSITIONS.items():
        parameter = name in ("W1", "b1", "W2", "b2")
        colour = "#fdd0a2" if parameter else ("#eeeeee" if name in ("X", "Y") else "#c6dbef")
        patches[name] = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", facecolor=colour,
                                       edgecolor="black", lw=1.0, gid=name)
        ax.add_patch(patches[name])
        ax.text(x, y + h / 2 - 0.08, MLP_GRAPH_TITLES[name], ha="center", va="top", fontsize=8, fontweight="bold")
        ax.text(x, y - 0.12, node_annotation(name, nodes[name]), ha="center", va="center", fontsize=7, gid=f"annotation:{name}")

    def edge(a, b, colour, rad, label=None):
        (xa, ya), (xb, yb) = MLP_GRAPH_POSITIONS[a], MLP_GRAPH_POSITIONS[b]
        ax.add_patch(FancyArrowPatch((xa, ya), (xb, yb), arrowstyle="-|>", mutation_scale=11, color=colour, lw=1.1,
                                     connectionstyle=f"arc3,rad={rad}", patchA=patches[a], patchB=patches[b], shrinkA=1, shrinkB=1))
        if label:  # at the middle of the arc: the chord's midpoint moved rad/2 along its normal, a little further
            lx = (xa + xb) / 2 + 0.65 * rad * (yb - ya)
            ly = (ya + yb) / 2 - 0.65 * rad * (xb - xa) + (0.14 if rad == 0 else 0.0)
            ax.text(lx, ly, label, ha="center", va="center", fontsize=7, color=colour,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85})

    for a, b in MLP_GRAPH_EDGES:
        edge(a, b, "black", 0.0, _shape_text(nodes[a]["value"]) if MLP_GRAPH_POSITIONS[a][1] == 0 else None)
    labels = {("loss", "Z"): "(softmax(Z) − Y)/B", ("Z", "H"): "dZ W₂", ("H", "A"): "⊙ (1 − H²)",
              ("Z", "W2"): "dZᵀH", ("Z", "b2"): "Σ_batch", ("A", "W1"): "dAᵀX", ("A", "b1"): "Σ_batch"}
    for a, b in MLP_BACKWARD_EDGES:
        if MLP_GRAPH_POSITIONS[b][1] == 0:
            rad = -0.6  # along the chain: bowed below it
        else:  # to a parameter: bowed away from the forward arrow
            rad = -0.3 if MLP_GRAPH_POSITIONS[b][0] < MLP_GRAPH_POSITIONS[a][0] else 0.3
        edge(a, b, "tab:red", rad, labels[(a, b)])
    ax.text(-0.8, -2.35, "black: forward (shape of the value on the edge)   red: backward, ∂ℓ/∂· (the VJP on the edge)   "
            "‖·‖: Frobenius norm", fontsize=7.5, ha="left", va="center")
    return fig


# --------------------------------------------------------------------------------------
# 4. The hand-coded training loop against torch's
# --------------------------------------------------------------------------------------

TRAINING_SIZES = {"batch": 6, "n_in": 3, "n_hidden": 5, "n_classes": 4}


def training_curves(learning_rate: float = 0.5, steps: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(hand-coded losses, torch losses): the same gradient descent on the same MLP and data,
    once with ``layers.mlp_train`` (gradients from ``mlp_loss_gradients``) and once in torch
    float64 with ``torch.autograd.grad``."""
    from verify.identities.matrix_calculus import torch_training_losses

    s = TRAINING_SIZES
    rng = np.random.default_rng(seed)
    X, Y = layers.gaussian_blobs(rng, s["batch"], s["n_in"], s["n_classes"])
    params = layers.mlp_init(rng, s["n_in"], s["n_hidden"], s["n_classes"])
    _, hand = layers.mlp_train(params, X, Y, learning_rate, steps)
    return hand, torch_training_losses(params, X, Y, learning_rate, steps)


def relative_difference(hand: np.ndarray, reference: np.ndarray) -> float:
    """max |hand − reference| / max |reference|: the suite's error metric."""
    return float(np.max(np.abs(hand - reference)) / max(float(np.max(np.abs(reference))), np.finfo(float).tiny))


def training_curves_figure(learning_rate: float = 0.5, steps: int = 20, seed: int = 0) -> Figure:
    """Loss per step of both loops (they coincide), and their difference per step."""
    hand, reference = training_curves(learning_rate, steps, seed)
    fig = Figure(figsize=(7.0, 4.6), dpi=DPI)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    k = np.arange(steps)
    top.plot(k, hand, "-", color="tab:blue", lw=2.5, alpha=0.6, label="hand-coded numpy (mlp_loss_gradients)")
    top.plot(k, reference, "x", color="black", ms=5, label="torch.autograd, float64")
    top.set_ylabel("loss ℓ before step k")
    top.set_title(f"Gradient descent, η = {learning_rate:g}, {steps} steps: max relative difference "
                  f"{relative_difference(hand, reference):.1e}", fontsize=10)
    top.legend(fontsize=8)
    top.grid(True, alpha=0.3)
    floor = 1e-18  # an exact 0 has no place on a log axis: drawn at the floor
    difference = np.maximum(np.abs(hand - reference) / np.max(np.abs(reference)), floor)
    bottom.semilogy(k, difference, "o-", ms=3, color="tab:red", label="|numpy − torch| / max|torch|")
    bottom.axhline(1e-10, color="black", ls="--", lw=1, label="tolerance 1e-10")
    bottom.set_ylim(floor / 3, 1e-8)
    bottom.set_xlabel("step k")
    bottom.set_ylabel("relative diff.")
    bottom.legend(fontsize=7, loc="upper left")
    bottom.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# 5. The cost of Jacobians and Hessians: the committed benchmark results
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _benchmark_rows(path: str) -> tuple:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return tuple((b["extra_info"]["case"], b["extra_info"]["kind"], b["extra_info"]["method"], b["extra_info"]["size"], b["stats"]["median"])
                 for b in data["benchmarks"])


def benchmark_cases(path: Path = BENCHMARK_JSON, kinds=("jacobian", "hessian")) -> list[str]:
    """The benchmark cases of the given kinds, in the order of the results file."""
    cases = []
    for case, kind, *_ in _benchmark_rows(str(path)):
        if kind in kinds and case not in cases:
            cases.append(case)
    return cases


def benchmark_medians(case: str, path: Path = BENCHMARK_JSON) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{method: (sizes, median seconds)} of one case, sizes ascending."""
    points: dict[str, list] = {}
    for row_case, _, method, size, median in _benchmark_rows(str(path)):
        if row_case == case:
            points.setdefault(method, []).append((size, median))
    return {m: (np.array([s for s, _ in sorted(p)], dtype=float), np.array([t for _, t in sorted(p)])) for m, p in points.items()}


def _benchmark_case(case: str):
    """The case's declaration in benchmarks/problems.py (size label, expected scaling), if any."""
    from benchmarks.problems import CASES

    return next((c for c in CASES if c.name == case), None)


def benchmark_cost_figure(case: str = "tanh_layer_jacobian_square", path: Path = BENCHMARK_JSON) -> Figure:
    """Log-log median time against size, one line per method; the hand-coded one thick."""
    medians = benchmark_medians(case, path)
    if not medians:
        raise ValueError(f"no benchmark case {case!r} in {path}")
    fig = Figure(figsize=(8.0, 4.6), dpi=DPI)
    ax = fig.add_axes((0.09, 0.12, 0.58, 0.78))
    colours = [f"C{i}" for i in range(10)]
    markers = "osD^v<>ph*"
    others = sorted(m for m in medians if m != "hand")
    for i, method in enumerate(["hand"] + others if "hand" in medians else others):
        sizes, times = medians[method]
        if method == "hand":
            ax.loglog(sizes, times, "-o", color="black", lw=2.8, ms=5, label="hand (numpy)", gid=method)
        else:
            ax.loglog(sizes, times, marker=markers[i % len(markers)], color=colours[i % 10],
                      ls="--" if i >= 10 else "-", lw=1.1, ms=4, label=method, gid=method)
    plan = _benchmark_case(case)
    ax.set_xlabel(f"size {plan.size_label}" if plan else "size")
    ax.set_ylabel("median time per call (s)")
    ax.set_title(f"{case}: cost against size" + (f"\n{plan.theory}" if plan else ""), fontsize=8.5)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return fig
