"""A library of custom layers written natively in torch and JAX, each correct and with planted
mistakes of the kind engineers write, for the study of ``verify.check`` against
``torch.autograd.gradcheck`` and ``jax.test_util.check_grads`` (benchmarks/layer_study.py).

``LAYERS`` is the registry: one ``Layer`` per layer, declared once below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import torch.nn.functional as F

from . import jax_layers as jl
from . import torch_layers as tl


@dataclass(frozen=True)
class Variant:
    """One version of a layer: the correct one (bug None) or a planted mistake."""

    bug: str | None
    description: str  # one line: what the engineer got wrong ("" for the correct layer)
    function: object  # what verify.check receives: an autograd.Function subclass, an nn.Module, a JAX function
    shape: str | None = None  # the class of verify/diagnose.py (factor, axis, transpose, ...) the mistake belongs to, if any


@dataclass(frozen=True)
class Layer:
    name: str
    framework: str  # "torch" or "jax"
    make_inputs: Callable[[int], tuple]  # seed -> the example arguments (float64; integer indices and labels)
    correct: object
    wrong: tuple[Variant, ...]
    wrt: tuple[int, ...] | None = None  # the differentiable arguments; None: a module's default (every floating input and the params)
    reference: Callable | None = None  # a plain implementation whose autodiff is one more reference
    awkward: str = ""  # what is awkward about the example inputs, if anything
    forward_rule: bool = False  # the layer has a forward-mode rule (a torch jvp, a JAX custom_jvp)

    @property
    def variants(self) -> tuple[Variant, ...]:
        return (Variant(None, "", self.correct), *self.wrong)

    @property
    def is_module(self) -> bool:
        import torch

        return isinstance(self.correct, torch.nn.Module)


def names_its_class(variant: Variant, classes) -> bool:
    """Whether verify's diagnosis classes include the variant's own (an axis diagnosis, a constant
    factor that names a size, counts as a factor and the reverse)."""
    same = {"axis": "factor"}
    return variant.shape is not None and same.get(variant.shape, variant.shape) in {same.get(c, c) for c in classes}


def _layer(name, framework, factory, make_inputs, wrong: dict, **options) -> Layer:
    """A layer whose versions come from ``factory(bug)`` (bug None: the correct one); ``wrong``
    maps each bug to its description, or to (description, the diagnosis class it belongs to)."""
    versions = []
    for bug, text in wrong.items():
        text, shape = (text, None) if isinstance(text, str) else text
        versions.append(Variant(bug, text, factory(bug), shape))
    return Layer(name, framework, make_inputs, factory(None), tuple(versions), **options)


LAYERS: list[Layer] = [
    # ---- torch: autograd.Function with a hand-written backward, nn.Modules built on them
    _layer("layer_norm", "torch", tl.layer_norm, tl.inputs_layer_norm, {
        "gamma_forgotten": "dx normalises g instead of g·γ (γ left out of the input gradient)",
        "mean_without_1_over_n": "the two mean terms of dx summed over the row, the 1/N dropped",
    }, wrt=(0, 1, 2), reference=lambda x, gamma, beta: F.layer_norm(x, x.shape[-1:], gamma, beta, 1e-5)),
    _layer("rms_norm", "torch", tl.rms_norm, tl.inputs_rms_norm, {
        "rms_treated_as_constant": ("dx = g·γ/rms: the dependence of rms on x forgotten", "term"),
    }, wrt=(0, 1), reference=tl.rms_norm_reference),
    _layer("batch_norm_train", "torch", lambda bug: tl.BatchNorm1dTrain(4, bug=bug), tl.inputs_batch_norm, {
        "variance_term_dropped": ("dx drops the term through the batch variance (only the mean is differentiated)", "term"),
    }, reference=tl.batch_norm_reference),
    _layer("weight_norm_linear", "torch", lambda bug: tl.WeightNormLinear(4, 2, bug=bug), tl.inputs_weight_norm_linear, {
        "projection_term_dropped": ("dv = g/‖v‖ · dW: the term through ‖v‖ forgotten", "term"),
    }, reference=tl.weight_norm_linear_reference),
    _layer("gelu_tanh", "torch", tl.gelu_tanh, tl.inputs_gelu, {
        "erf_form_derivative": "backward uses the exact (erf) GELU's derivative for the tanh approximation",
        "jvp_from_erf_form": "backward right, forward-mode jvp uses the erf form's derivative",
    }, wrt=(0,), reference=lambda x: F.gelu(x, approximate="tanh"), forward_rule=True),
    _layer("attention", "torch", tl.attention, tl.inputs_attention, {
        "softmax_jacobian_row_term_dropped": ("dS = P ⊙ dP: the −P·rowsum(P ⊙ dP) term of the softmax Jacobian dropped", "term"),
        "scale_forgotten_in_dq": ("dq = dS k without the 1/√d scale", "factor"),
    }, wrt=(0, 1, 2), reference=tl.attention_reference),
    _layer("conv1d", "torch", tl.conv1d, tl.inputs_conv1d, {
        "kernel_not_flipped": "dx correlates the padded cotangent with the kernel unflipped",
        "bias_gradient_averaged_over_batch": ("db averages over the batch instead of summing", "factor"),
    }, wrt=(0, 1, 2), reference=F.conv1d),
    _layer("embedding", "torch", tl.embedding, tl.inputs_embedding, {
        "repeated_indices_overwritten": ("index_put_ (overwrite) instead of index_add_: a repeated index keeps one row's gradient", "entry"),
    }, wrt=(1,), reference=lambda indices, weight: F.embedding(indices, weight),
        awkward="indices repeat (rows 1 and 3)"),
    _layer("linear", "torch", tl.linear, tl.inputs_linear, {
        "transposed_weight_gradient": ("dW = xᵀ g instead of gᵀ x (square W: the shape is right)", "transpose"),
        "bias_gradient_averaged": ("db = mean of g over the batch instead of the sum", "axis"),
    }, wrt=(0, 1, 2), reference=F.linear, awkward="W square (4 × 4)"),
    _layer("lstm_cell", "torch", tl.lstm_cell, tl.inputs_lstm_cell, {
        "gate_derivative_from_pre_activation": "σ' written z(1 − z) with z the pre-activation instead of σ(z)(1 − σ(z))",
        "h_path_into_cell_dropped": ("dc' ignores the path through h' = o·tanh(c')", "term"),
    }, wrt=(0, 1, 2, 3, 4, 5), reference=tl.lstm_cell_reference, awkward="two outputs (h', c')"),
    _layer("huber_loss", "torch", tl.huber_loss, tl.inputs_huber, {
        "linear_region_sign_forgotten": ("beyond δ the gradient is δ, not δ·sign(r): the sign is wrong where r < −δ only", "entry"),
        "mean_1_over_n_dropped": ("the 1/N of the mean reduction dropped", "axis"),
    }, wrt=(0, 1), reference=lambda pred, target: F.huber_loss(pred, target, delta=1.0),
        awkward="residuals 0.999, −1.001, 1.002 beside the seam |r| = δ, and 0"),
    _layer("softmax_cross_entropy", "torch", tl.softmax_cross_entropy, tl.inputs_cross_entropy, {
        "batch_mean_forgotten": ("softmax − onehot without the 1/B of the batch mean", "axis"),
        "softmax_over_batch_axis": ("softmax taken over the batch axis (dim=0) in the backward", "axis"),
    }, wrt=(0,), reference=lambda logits, labels: F.cross_entropy(logits, labels), awkward="integer labels, one repeated"),
    _layer("dropout_fixed_mask", "torch", tl.dropout_fixed_mask, tl.inputs_dropout, {
        "rescale_forgotten": ("backward multiplies by the mask but not by 1/(1 − p)", "factor"),
    }, wrt=(0,), reference=lambda x, mask: x * mask / 0.7, forward_rule=True),
    _layer("max_pool1d", "torch", tl.max_pool1d, tl.inputs_max_pool, {
        "every_tied_maximum_gets_the_gradient": ("mask = (x == max): at a tie both entries get the full gradient", "entry"),
        "gradient_to_first_entry": "the gradient goes to each window's first entry, not its maximum",
    }, wrt=(0,), reference=tl.max_pool_reference, awkward="two exact ties and one gap of 1e-9 (kinks)"),
    # ---- JAX: custom_vjp and custom_jvp rules
    _layer("layer_norm_near_1e6", "jax", jl.layer_norm, jl.inputs_layer_norm_large, {
        "gamma_forgotten": "dx normalises g instead of g·γ",
        "mean_without_1_over_n": "the two mean terms of dx summed over the row, the 1/N dropped",
    }, wrt=(0, 1, 2), reference=jl.layer_norm_reference, awkward="x = 1e6 + N(0, 1): ill-conditioned centring"),
    _layer("group_norm", "jax", jl.group_norm, jl.inputs_group_norm, {
        "variance_term_dropped": ("dx drops the term through the group variance", "term"),
    }, wrt=(0, 1, 2), reference=jl.group_norm_reference),
    _layer("gelu_erf", "jax", jl.gelu_erf, jl.inputs_activation, {
        "tanh_approximation_derivative": "the jvp rule uses the tanh approximation's derivative for the exact GELU",
    }, wrt=(0,), reference=lambda x: jax.nn.gelu(x, approximate=False), forward_rule=True),
    _layer("silu", "jax", jl.silu, jl.inputs_activation, {
        "product_rule_term_dropped": ("d/dx[x σ(x)] written σ(x): the x σ'(x) term dropped", "term"),
    }, wrt=(0,), reference=jax.nn.silu, forward_rule=True),
    _layer("softmax", "jax", jl.softmax, jl.inputs_softmax, {
        "jacobian_diagonal_only": ("the backward uses only the Jacobian's diagonal y(1 − y)", "term"),
    }, wrt=(0,), reference=lambda x: jax.nn.softmax(x, axis=-1)),
    _layer("log_softmax", "jax", jl.log_softmax, jl.inputs_softmax, {
        "elementwise_instead_of_row_sum": "g − softmax ⊙ g instead of g − softmax · Σ g",
        "row_sum_over_batch_axis": ("the row sum Σ g taken over the batch axis", "axis"),
    }, wrt=(0,), reference=lambda x: jax.nn.log_softmax(x, axis=-1)),
    _layer("gru_cell", "jax", jl.gru_cell, jl.inputs_gru_cell, {
        "tanh_derivative_from_pre_activation": "tanh' written 1 − a² with a the pre-activation instead of 1 − tanh(a)²",
        "reset_gate_path_into_h_dropped": ("dh misses the term through r ⊙ h", "term"),
    }, wrt=(0, 1, 2, 3, 4), reference=jl.gru_cell_reference),
    _layer("dense_tanh_params_dict", "jax", jl.dense_tanh, jl.inputs_dense_tanh, {
        "transposed_weight_gradient": ("dW = daᵀ x instead of xᵀ da (square W: the shape is right)", "transpose"),
        "tanh_derivative_from_pre_activation": "tanh' written 1 − a² with a the pre-activation",
    }, wrt=(0, 1), reference=jl.dense_tanh_reference, awkward="parameters as a dict {w, b}; W square (4 × 4)"),
    _layer("embedding_jax", "jax", jl.embedding, jl.inputs_embedding, {
        "repeated_indices_overwritten": (".at[indices].set instead of .add: a repeated index keeps one row's gradient", "entry"),
    }, wrt=(0,), reference=lambda table, indices: table[indices], awkward="indices repeat (rows 1 and 3)"),
    _layer("cosine_similarity_parallel", "jax", jl.cosine_similarity, jl.inputs_cosine_parallel, {
        "projection_term_dropped": ("dx = y/(‖x‖‖y‖): the term through the norms dropped", "term"),
    }, wrt=(0, 1), reference=jl.cosine_similarity_reference, awkward="y = 2.5 x: the gradient is exactly zero"),
    _layer("mse_at_minimum", "jax", jl.mse, jl.inputs_mse_at_minimum, {
        "target_forgotten": ("d/dpred = 2 pred/N instead of 2 (pred − target)/N", "term"),
    }, wrt=(0, 1), reference=jl.mse_reference, awkward="pred = target: the gradient is exactly zero"),
]

BY_NAME: dict[str, Layer] = {layer.name: layer for layer in LAYERS}
