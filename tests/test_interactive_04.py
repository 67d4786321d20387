"""What chapter 04's notebook pictures show is true, across their sliders' ranges.

derivations/04_matrix_calculus/interactive.py is loaded by path (it is not a package);
each test calls a picture's pure function and the picture itself, and asserts the fact
the picture teaches, with a planted wrong variant shown to be rejected.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.patches import FancyBboxPatch, Rectangle

ROOT = Path(__file__).resolve().parents[1]
PATH = ROOT / "derivations" / "04_matrix_calculus" / "interactive.py"
spec = importlib.util.spec_from_file_location("interactive_04", PATH)
interactive = importlib.util.module_from_spec(spec)
spec.loader.exec_module(interactive)

from implementations import layers  # noqa: E402  (after interactive.py put the root on the path)


def _range(name, slider):
    low, high = interactive.SLIDERS[name][slider]
    return range(low, high + 1)


# --------------------------------------------------------------------------------------
# 1. The shapes of a linear layer's backward pass
# --------------------------------------------------------------------------------------


def _transposed_dW(X, W, b, dY):
    return dY @ W, X.T @ dY, dY.sum(axis=0)  # the column-vector formula: shaped like Wᵀ


def test_backward_shapes_equal_the_variables_across_the_sliders():
    name = "linear_backward_figure"
    for B, d_in, d_out in itertools.product(_range(name, "B"), _range(name, "d_in"), _range(name, "d_out")):
        a = interactive.linear_backward_arrays(B, d_in, d_out)
        assert a["dX"].shape == a["X"].shape == (B, d_in)
        assert a["dW"].shape == a["W"].shape == (d_out, d_in)
        assert a["db"].shape == a["b"].shape == (d_out,)
        layout = interactive.linear_backward_layout(B, d_in, d_out)
        assert interactive.layout_is_consistent(layout), (B, d_in, d_out)
        results = {eq["result"][0]: eq["result"][1] for eq in layout}
        assert results == {"Y": (B, d_out), "dX": (B, d_in), "dW": (d_out, d_in), "db": (1, d_out)}


def test_a_transposed_dW_is_shown_inconsistent():
    layout = interactive.linear_backward_layout(4, 6, 3, backward=_transposed_dW)
    assert not interactive.layout_is_consistent(layout)
    assert interactive.linear_backward_arrays(4, 6, 3, backward=_transposed_dW)["dW"].shape != (3, 6)


@pytest.mark.parametrize("sizes", [(1, 1, 1), (4, 6, 3), (8, 10, 2), (8, 1, 10)])
def test_backward_boxes_are_drawn_to_scale(sizes):
    fig = interactive.linear_backward_figure(*sizes)
    boxes = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    drawn = [(p.get_gid(), (round(p.get_height()), round(p.get_width()))) for p in boxes]
    expected = []
    for eq in interactive.linear_backward_layout(*sizes):
        expected += [eq["result"], *eq["factors"]] + ([eq["plus"]] if "plus" in eq else [])
    assert drawn == expected
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for product in ("dX = dY W", "dW = dYᵀ X", "db = Σ_batch dY"):
        assert product in texts


# --------------------------------------------------------------------------------------
# 2. The sparsity of ∂Y/∂W
# --------------------------------------------------------------------------------------


def _assert_sparsity(J, B, d_in, d_out):
    assert J.shape == (B * d_out, d_out * d_in)
    assert np.array_equal(J != 0, interactive.weight_jacobian_pattern(B, d_in, d_out))
    assert np.count_nonzero(J) == B * d_out * d_in
    assert np.count_nonzero(J) / J.size == pytest.approx(1 / d_out)


def test_weight_jacobian_nonzeros_are_where_Y_depends_on_W_across_the_sliders():
    name = "weight_jacobian_figure"
    for B, d_in, d_out in itertools.product(_range(name, "B"), _range(name, "d_in"), _range(name, "d_out")):
        X = interactive.weight_jacobian_inputs(B, d_in)
        J = interactive.weight_jacobian(X, d_out)
        _assert_sparsity(J, B, d_in, d_out)
        # entry by entry: ∂Y[b, i]/∂W[i', j] = δ_{ii'} X[b, j]
        J4 = J.reshape(B, d_out, d_out, d_in)
        assert np.array_equal(J4, np.einsum("ik,bj->bikj", np.eye(d_out), X))


def test_weight_jacobian_equals_torch_jacrev():
    import torch

    B, d_in, d_out = 3, 4, 5
    X = interactive.weight_jacobian_inputs(B, d_in, seed=3)
    W = np.random.default_rng(0).standard_normal((d_out, d_in))
    reference = torch.func.jacrev(lambda w: torch.tensor(X) @ w.T)(torch.tensor(W)).numpy()
    assert np.array_equal(interactive.weight_jacobian(X, d_out), reference.reshape(B * d_out, d_out * d_in))


def test_sparsity_check_rejects_a_wrong_column_order():
    B, d_in, d_out = 3, 4, 5
    J = interactive.weight_jacobian(interactive.weight_jacobian_inputs(B, d_in), d_out)
    wrong = J.reshape(B * d_out, d_out, d_in).transpose(0, 2, 1).reshape(B * d_out, d_in * d_out)  # columns (j, i)
    with pytest.raises(AssertionError):
        _assert_sparsity(wrong, B, d_in, d_out)


@pytest.mark.parametrize("sizes", [(3, 4, 5), (1, 6, 1), (5, 1, 6)])
def test_spy_plot_shows_the_pattern(sizes):
    B, d_in, d_out = sizes
    fig = interactive.weight_jacobian_figure(B, d_in, d_out)
    shown = fig.axes[0].images[0].get_array()
    assert np.array_equal(~np.ma.getmaskarray(shown), interactive.weight_jacobian_pattern(B, d_in, d_out))
    assert f"{B * d_out * d_in} of {B * d_out * d_out * d_in} entries nonzero" in fig.axes[0].get_title()


# --------------------------------------------------------------------------------------
# 3. The MLP's computational graph
# --------------------------------------------------------------------------------------


def _graph_inputs(seed, batch):
    """The data and parameters the graph draws, drawn the same way."""
    rng = np.random.default_rng(seed)
    s = interactive.MLP_SIZES
    X, Y = layers.gaussian_blobs(rng, batch, s["n_in"], s["n_classes"])
    return (*layers.mlp_init(rng, s["n_in"], s["n_hidden"], s["n_classes"]), X, Y)


def _graph_matches_mlp_loss_gradients(nodes, seed, batch):
    W1, b1, W2, b2, X, Y = _graph_inputs(seed, batch)
    for name, value in (("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2), ("X", X)):
        np.testing.assert_array_equal(nodes[name]["value"], value)
    expected = layers.mlp_loss_gradients(W1, b1, W2, b2, X, Y)
    got = [nodes[n]["grad"] for n in ("W1", "b1", "W2", "b2")]
    return all(np.allclose(g, e, rtol=1e-12, atol=1e-15) for g, e in zip(got, expected))


def test_graph_gradients_equal_mlp_loss_gradients_across_the_sliders():
    name = "mlp_graph_figure"
    for seed, batch in itertools.product(_range(name, "seed"), _range(name, "batch")):
        nodes = interactive.mlp_forward_backward(seed, batch)
        assert _graph_matches_mlp_loss_gradients(nodes, seed, batch), (seed, batch)
        for node in nodes.values():
            if node["grad"] is not None:
                assert np.shape(node["grad"]) == np.shape(node["value"])
        W1, b1, W2, b2, X, Y = _graph_inputs(seed, batch)
        assert float(nodes["loss"]["value"]) == pytest.approx(float(layers.mlp_loss(W1, b1, W2, b2, X, Y)), rel=1e-14)


def test_graph_without_tanh_derivative_is_rejected():
    nodes = interactive.mlp_forward_backward(0, 4, tanh_backward=lambda dH, H: dH)
    assert not _graph_matches_mlp_loss_gradients(nodes, 0, 4)


@pytest.mark.parametrize("seed, batch", [(0, 4), (7, 2), (20, 8)])
def test_graph_figure_annotates_shapes_and_norms(seed, batch):
    nodes = interactive.mlp_forward_backward(seed, batch)
    fig = interactive.mlp_graph_figure(seed, batch)
    texts = {t.get_gid(): t.get_text() for t in fig.axes[0].texts if t.get_gid()}
    boxes = {p.get_gid() for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)}
    assert boxes == set(nodes)
    for name, node in nodes.items():
        text = texts[f"annotation:{name}"]
        assert text == interactive.node_annotation(name, node)
        assert interactive._shape_text(node["value"]) in text
        assert f"{np.linalg.norm(node['value']):.3g}" in text
        if node["grad"] is not None:
            assert f"‖d{name}‖ = {np.linalg.norm(node['grad']):.3g}" in text


# --------------------------------------------------------------------------------------
# 4. The hand-coded training loop against torch's
# --------------------------------------------------------------------------------------

GRID = [(0.05, 60, 0), (0.5, 60, 1), (1.5, 60, 2), (1.5, 60, 9), (1.0, 5, 5)]


@pytest.mark.parametrize("learning_rate, steps, seed", GRID)
def test_hand_coded_and_torch_loss_curves_agree(learning_rate, steps, seed):
    hand, reference = interactive.training_curves(learning_rate, steps, seed)
    assert hand.shape == reference.shape == (steps,)
    assert interactive.relative_difference(hand, reference) <= 1e-10
    assert hand[-1] < hand[0]  # the curves descend: not two flat lines


def test_slider_corners_are_in_the_grid():
    low, high = interactive.SLIDERS["training_curves_figure"]["learning_rate"]
    assert {low, high} <= {lr for lr, _, _ in GRID}


def test_training_figure_plots_both_curves():
    fig = interactive.training_curves_figure(0.5, 20, 0)
    hand, reference = interactive.training_curves(0.5, 20, 0)
    lines = fig.axes[0].get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), hand)
    np.testing.assert_array_equal(lines[1].get_ydata(), reference)


def test_a_wrong_gradient_makes_the_curves_part(monkeypatch):
    correct = layers.mlp_loss_gradients

    def without_batch_mean(W1, b1, W2, b2, X, Y):  # the sum-over-batch mistake: B times too large
        return tuple(X.shape[0] * g for g in correct(W1, b1, W2, b2, X, Y))

    monkeypatch.setattr(layers, "mlp_loss_gradients", without_batch_mean)
    hand, reference = interactive.training_curves(0.5, 20, 0)
    assert interactive.relative_difference(hand, reference) > 1e-3


# --------------------------------------------------------------------------------------
# 5. The cost curves of the benchmarks
# --------------------------------------------------------------------------------------


def _committed_medians(path):
    medians = {}
    for bench in json.loads(Path(path).read_text(encoding="utf-8"))["benchmarks"]:
        info = bench["extra_info"]
        medians[(info["case"], info["method"], info["size"])] = bench["stats"]["median"]
    return medians


def test_dropdown_lists_every_jacobian_and_hessian_case():
    data = json.loads(interactive.BENCHMARK_JSON.read_text(encoding="utf-8"))
    expected = {b["extra_info"]["case"] for b in data["benchmarks"] if b["extra_info"]["kind"] in ("jacobian", "hessian")}
    assert expected and set(interactive.benchmark_cases()) == expected


def _plotted_points(fig):
    points = {}
    for line in fig.axes[0].get_lines():
        for size, median in zip(line.get_xdata(), line.get_ydata()):
            points[(line.get_gid(), int(size))] = float(median)
    return points


@pytest.mark.parametrize("case", ["tanh_layer_jacobian_square", "tanh_layer_jacobian_tall", "tanh_layer_jacobian_wide",
                                  "softmax_jacobian", "quadratic_form_hessian", "logsumexp_hessian"])
def test_every_plotted_point_is_its_committed_median(case):
    committed = {(m, s): t for (c, m, s), t in _committed_medians(interactive.BENCHMARK_JSON).items() if c == case}
    assert committed, case
    assert _plotted_points(interactive.benchmark_cost_figure(case)) == committed


def test_a_changed_median_is_seen(tmp_path):
    data = json.loads(interactive.BENCHMARK_JSON.read_text(encoding="utf-8"))
    bench = next(b for b in data["benchmarks"] if b["extra_info"]["case"] == "softmax_jacobian")
    bench["stats"]["median"] *= 2
    planted = tmp_path / "benchmark.json"
    planted.write_text(json.dumps(data), encoding="utf-8")
    committed = {(m, s): t for (c, m, s), t in _committed_medians(interactive.BENCHMARK_JSON).items() if c == "softmax_jacobian"}
    assert _plotted_points(interactive.benchmark_cost_figure("softmax_jacobian", planted)) != committed


def test_chapter_page_quotes_the_committed_medians():
    """The timings quoted on the chapter page are the committed results, not stale copies."""
    text = " ".join((ROOT / "derivations" / "04_matrix_calculus" / "README.md").read_text(encoding="utf-8").split())

    def ms(case, method, size):
        sizes, medians = interactive.benchmark_medians(case)[method]
        return f"{medians[list(sizes).index(size)] * 1e3:.2g} ms"

    square, tall, wide = (f"tanh_layer_jacobian_{s}" for s in ("square", "tall", "wide"))
    for sentence in (
        f"the hand-coded Jacobian took {ms(square, 'hand', 1000)} against {ms(square, 'jax_jacrev', 1000)} "
        f"for `jax.jacrev` and {ms(square, 'jax_jacfwd', 1000)} for `jax.jacfwd`",
        f"forward mode won, {ms(tall, 'jax_jacfwd', 300)} (`jax.jacfwd`) against {ms(tall, 'jax_jacrev', 300)} (`jax.jacrev`)",
        f"reverse mode won, {ms(wide, 'jax_jacrev', 300)} (`jax.jacrev`) against {ms(wide, 'jax_jacfwd', 300)} (`jax.jacfwd`)",
    ):
        assert sentence in text, sentence


def test_what_the_notebook_says_about_the_cost_curves():
    """Section 5's reading of the committed results: jacfwd wins for the tall layer and jacrev
    for the wide one at the largest size; the hand-coded Jacobian is below both everywhere."""
    for shape, winner, loser in (("tall", "jax_jacfwd", "jax_jacrev"), ("wide", "jax_jacrev", "jax_jacfwd")):
        medians = interactive.benchmark_medians(f"tanh_layer_jacobian_{shape}")
        assert medians[winner][1][-1] < medians[loser][1][-1], shape
    for shape in ("tall", "wide", "square"):
        medians = interactive.benchmark_medians(f"tanh_layer_jacobian_{shape}")
        for method in ("jax_jacfwd", "jax_jacrev"):
            assert np.array_equal(medians["hand"][0], medians[method][0])
            assert np.all(medians["hand"][1] < medians[method][1]), (shape, method)
    for case in ("quadratic_form_hessian", "logsumexp_hessian"):
        medians = interactive.benchmark_medians(case)
        assert medians["fd_central"][0].max() < medians["hand"][0].max()  # run at the smallest sizes only
