"""Chapter 04: matrix calculus and backpropagation through linear layers.

Beyond the generated registry checks: the layers against torch.nn.functional's own
autograd, the training loop against torch's, the primals on all three namespaces, and
planted wrong derivatives that the engine must reject (dropped transposes included,
where the wrong answer has the right shape).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import verify.backends  # noqa: F401  (enables JAX float64 before any JAX array exists)
from implementations import layers
from implementations import matrix_calculus as mc
from implementations.single_variable import softmax
from verify.engine import run_claim, run_entry
from verify.identities import BY_NAME
from verify.identities import matrix_calculus as chapter
from verify.registry import Identity
from verify.tolerances import TOLERANCES, relative_error

AUTODIFF_TOLERANCE = TOLERANCES[("autodiff", "float64")]


def planted(name, derivative):
    return dataclasses.replace(BY_NAME[name], derivative=derivative)


def _torch_leaves(*arrays):
    import torch

    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


# --------------------------------------------------------------------------------------
# The primals run unchanged on numpy, jax.numpy and torch
# --------------------------------------------------------------------------------------

IDENTITIES = [e for e in chapter.ENTRIES if isinstance(e, Identity)]


@pytest.mark.parametrize("entry", IDENTITIES, ids=lambda e: e.name)
def test_primal_gives_the_same_value_on_every_namespace(entry):
    import jax.numpy as jnp
    import torch

    args = entry.sample(np.random.default_rng(4))
    expected = np.asarray(entry.function(*args))
    on_jax = np.asarray(entry.function(*(jnp.asarray(a) for a in args)))
    on_torch = entry.function(*(torch.from_numpy(np.array(a)) for a in args)).numpy()
    assert relative_error(on_jax, expected) <= 1e-13
    assert relative_error(on_torch, expected) <= 1e-13


# --------------------------------------------------------------------------------------
# The linear layer and the MLP against torch.nn.functional's autograd
# --------------------------------------------------------------------------------------


def test_linear_vjp_matches_torch_functional_linear_autograd():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(11)
    X, W, b = rng.standard_normal((3, 5)), rng.standard_normal((7, 5)), rng.standard_normal(7)
    cotangent = rng.standard_normal((3, 7))
    leaves = _torch_leaves(X, W, b)
    Y = F.linear(*leaves)
    assert relative_error(layers.linear(X, W, b), Y.detach().numpy()) <= 1e-14
    reference = torch.autograd.grad(Y, leaves, grad_outputs=torch.from_numpy(cotangent))
    for name, got, ref in zip(("dX", "dW", "db"), layers.linear_vjp(X, W, b, cotangent), reference):
        assert relative_error(got, ref.numpy()) <= AUTODIFF_TOLERANCE, name


def test_mlp_gradients_match_torch_functional_autograd():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(12)
    params = layers.mlp_init(rng, 3, 5, 4)
    X, Y = layers.gaussian_blobs(rng, 6, 3, 4)
    leaves = _torch_leaves(*params)
    W1, b1, W2, b2 = leaves
    logits = F.linear(torch.tanh(F.linear(torch.from_numpy(X), W1, b1)), W2, b2)
    loss = F.cross_entropy(logits, torch.from_numpy(np.argmax(Y, axis=1)))
    assert abs(float(layers.mlp_loss(*params, X, Y)) - loss.item()) <= 1e-14 * loss.item()
    reference = torch.autograd.grad(loss, leaves)
    for name, got, ref in zip(("dW1", "db1", "dW2", "db2"), layers.mlp_loss_gradients(*params, X, Y), reference):
        assert relative_error(got, ref.numpy()) <= AUTODIFF_TOLERANCE, name


def test_mlp_hessian_vector_product_matches_jax_and_torch_second_order():
    """The hand-coded R-operator against JAX forward-over-reverse, torch.func
    forward-over-reverse and torch's double backward, with a random direction."""
    import jax
    import jax.numpy as jnp
    import torch

    rng = np.random.default_rng(14)
    params = layers.mlp_init(rng, 6, 5, 4)
    X, Y = layers.gaussian_blobs(rng, 7, 6, 4)
    direction = tuple(rng.standard_normal(p.shape) for p in params)
    got = layers.mlp_loss_hvp(*params, X, Y, *direction)

    def loss_jax(*p):
        return layers.mlp_loss(*p, jnp.asarray(X), jnp.asarray(Y))

    grad_jax = jax.grad(loss_jax, argnums=(0, 1, 2, 3))
    jax_ref = jax.jvp(grad_jax, tuple(map(jnp.asarray, params)), tuple(map(jnp.asarray, direction)))[1]
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    t_params = tuple(torch.from_numpy(p.copy()) for p in params)
    t_direction = tuple(torch.from_numpy(d.copy()) for d in direction)
    grad_torch = torch.func.grad(lambda *p: layers.mlp_loss(*p, Xt, Yt), argnums=(0, 1, 2, 3))
    func_ref = torch.func.jvp(grad_torch, t_params, t_direction)[1]
    leaves = _torch_leaves(*params)
    grads = torch.autograd.grad(layers.mlp_loss(*leaves, Xt, Yt), leaves, create_graph=True)
    tape_ref = torch.autograd.grad(grads, leaves, grad_outputs=t_direction)
    for refs in (jax_ref, func_ref, tape_ref):
        for name, g, r in zip(("W1", "b1", "W2", "b2"), got, refs):
            assert relative_error(g, np.asarray(r.detach() if hasattr(r, "detach") else r)) <= AUTODIFF_TOLERANCE, name
    planted = layers.mlp_loss_hvp(*params, X, Y, *direction[:2], np.zeros_like(direction[2]), direction[3])
    assert relative_error(planted[2], np.asarray(jax_ref[2])) > 1e-3  # a dropped H V2ᵀ term is visible


def test_training_loop_gives_torchs_loss_curve():
    rng = np.random.default_rng(13)
    X, Y = layers.gaussian_blobs(rng, 8, 3, 4)
    params = layers.mlp_init(rng, 3, 5, 4)
    final, losses = layers.mlp_train(params, X, Y, learning_rate=0.5, steps=20)
    reference = chapter.torch_training_losses(params, X, Y, learning_rate=0.5, steps=20)
    assert losses.shape == (20,)
    assert relative_error(losses, reference) <= 1e-10
    assert losses[-1] < 0.5 * losses[0]  # it learns: the comparison is not of a flat curve
    assert all(f.shape == p.shape for f, p in zip(final, params))


def test_training_loop_claim_rejects_a_wrong_gradient():
    def train_with_wrong_bias_gradient(params, X, Y, learning_rate, steps):
        params = [np.array(p, copy=True) for p in params]
        losses = []
        for _ in range(steps):
            losses.append(float(layers.mlp_loss(*params, X, Y)))
            dW1, db1, dW2, db2 = layers.mlp_loss_gradients(*params, X, Y)
            grads = (dW1, 2 * db1, dW2, db2)  # a planted factor of 2 on one bias
            params = [p - learning_rate * g for p, g in zip(params, grads)]
        return params, np.array(losses)

    results = run_claim(BY_NAME["mlp_training_loop"], np.random.default_rng(0), implementation=train_with_wrong_bias_gradient)
    failed = {r.check for r in results if not r.passed}
    assert "claim:loss curve equals torch's" in failed


# --------------------------------------------------------------------------------------
# Planted wrong derivatives
# --------------------------------------------------------------------------------------


def _non_symmetric_square(rng):
    return rng.standard_normal((4, 4)) + np.triu(rng.uniform(1.0, 2.0, (4, 4)), 1)


def _square_linear_args(rng):
    """batch = in = out = 4: a transposed dW or a wrongly summed db keeps its shape."""
    return rng.standard_normal((4, 4)), _non_symmetric_square(rng), rng.standard_normal(4)


def _square_chain_rule_args(rng):
    """b = n = m = 4: the transposed ∂L/∂W = GᵀX has the shape of W."""
    return 0.5 * rng.standard_normal((4, 4)), 0.5 * _non_symmetric_square(rng)


def _square_mlp_args(rng):
    """batch = inputs = hidden = 4 (3 classes): dA Xᵀ has the shape of W1 and db1 summed over
    axis 1 the shape of b1."""
    W1, b1, W2, b2 = layers.mlp_init(rng, 4, 4, 3)
    return W1, b1, W2, b2, rng.standard_normal((4, 4)), np.eye(3)[rng.integers(0, 3, size=4)]


def _mlp_column_layout(W1, b1, W2, b2, X, Y):
    """The examples-as-columns formula dW1 = dA Xᵀ copied into the row-batch layout."""
    H = np.tanh(layers.linear(X, W1, b1))
    dZ = (softmax(layers.linear(H, W2, b2)) - Y) / X.shape[0]
    dH, dW2, db2 = layers.linear_vjp(H, W2, b2, dZ)
    dA = dH * (1 - H * H)
    return dA @ X.T, np.sum(dA, axis=0), dW2, db2


def _mlp_bias_over_axis_1(W1, b1, W2, b2, X, Y):
    """The examples-as-columns bias gradient, a sum over axis 1, copied into the row-batch layout."""
    dW1, _, dW2, db2 = layers.mlp_loss_gradients(W1, b1, W2, b2, X, Y)
    H = np.tanh(layers.linear(X, W1, b1))
    dA = ((softmax(layers.linear(H, W2, b2)) - Y) / X.shape[0]) @ W2 * (1 - H * H)
    return dW1, np.sum(dA, axis=1), dW2, db2


PLANTS = {
    # name: (entry, wrong derivative, inputs or None for the entry's own sampler)
    "dW = X.T @ dY (shape differs)": ("linear_layer_vjp", lambda X, W, b, dY: (dY @ W, X.T @ dY, dY.sum(0)), None),
    "dW = X.T @ dY (square: same shape)": ("linear_layer_vjp", lambda X, W, b, dY: (dY @ W, X.T @ dY, dY.sum(0)), _square_linear_args),
    "dX = dY @ W.T (square: same shape)": ("linear_layer_vjp", lambda X, W, b, dY: (dY @ W.T, dY.T @ X, dY.sum(0)), _square_linear_args),
    "db summed over the wrong axis (shape differs)": ("linear_layer_vjp", lambda X, W, b, dY: (dY @ W, dY.T @ X, dY.sum(1)), None),
    "db summed over the wrong axis (square)": ("linear_layer_vjp", lambda X, W, b, dY: (dY @ W, dY.T @ X, dY.sum(1)), _square_linear_args),
    "inverse instead of inverse transpose": ("log_determinant", lambda X: np.linalg.inv(X), None),
    "Ax instead of (A + A^T)x": ("quadratic_form", lambda x, A: A @ x, None),
    "2Ax for a non-symmetric A": ("quadratic_form", lambda x, A: 2 * A @ x, None),
    "Hessian 2A for a non-symmetric A": ("quadratic_form_hessian", lambda x, A: 2 * A, None),
    "A instead of A^T in tr(AX) (square)": ("trace_product", lambda X, A: A, lambda rng: (rng.standard_normal((4, 4)), _non_symmetric_square(rng))),
    "denominator layout A^T for d(Ax)/dx (square)": ("matrix_vector_jacobian", lambda x, A: A.T, lambda rng: (rng.standard_normal(4), _non_symmetric_square(rng))),
    "b a^T instead of a b^T (square)": ("bilinear_form", lambda X, a, b: np.outer(b, a), lambda rng: (rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4))),
    "inverse without transposes": ("inverse_bilinear_form", lambda X, y, z: -np.linalg.inv(X) @ np.outer(y, z) @ np.linalg.inv(X), None),
    "dropped minus sign": ("inverse_bilinear_form", lambda X, y, z: -mc.inverse_bilinear_form_gradient(X, y, z), None),
    "AX instead of (A + A^T)X": ("trace_quadratic", lambda X, A: A @ X, None),
    "missing product-rule term": ("hadamard_product_jacobian", lambda x, A, B: np.tanh(B @ x)[:, None] * A, None),
    "chain rule without tanh'": ("matrix_chain_rule", lambda X, W: (2 * np.tanh(X @ W) @ W.T, X.T @ (2 * np.tanh(X @ W))), None),
    "MLP without tanh' (1 - H^2)": ("mlp_gradients", None, None),
    "transposed dL/dW = G^T X (square: same shape)": (
        "matrix_chain_rule", lambda X, W: (mc.tanh_square_of_product_gradients(X, W)[0], mc.tanh_square_of_product_gradients(X, W)[1].T),
        _square_chain_rule_args,
    ),
    "column-layout MLP dW1 = dA @ X.T (square: same shape)": ("mlp_gradients", _mlp_column_layout, _square_mlp_args),
    "column-layout MLP db1 summed over axis 1 (square: same shape)": ("mlp_gradients", _mlp_bias_over_axis_1, _square_mlp_args),
}


def _mlp_without_tanh_derivative(W1, b1, W2, b2, X, Y):
    H = np.tanh(layers.linear(X, W1, b1))
    dZ = (softmax(layers.linear(H, W2, b2)) - Y) / X.shape[0]
    dH, dW2, db2 = layers.linear_vjp(H, W2, b2, dZ)
    _, dW1, db1 = layers.linear_vjp(X, W1, b1, dH)  # dA = dH: the tanh's derivative dropped
    return dW1, db1, dW2, db2


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.replace(" ", "_"))
def test_planted_wrong_derivative_is_rejected_by_every_autodiff_check(plant):
    name, wrong, sampler = PLANTS[plant]
    wrong = _mlp_without_tanh_derivative if wrong is None else wrong
    args = None if sampler is None else sampler(np.random.default_rng(5))
    if args is not None:  # the right derivative passes on the same inputs: the plant is what fails
        assert run_entry(BY_NAME[name], args=args).passed
    result = run_entry(planted(name, wrong), args=args)
    assert not result.passed, f"planted '{plant}' in {name} was not caught"
    autodiff = [c for c in result.checks if c.oracle == "autodiff"]
    assert len(autodiff) == 5 and all(not c.passed for c in autodiff), [c.message() for c in autodiff if c.passed]


def test_dropped_transpose_with_distinct_sizes_is_reported_as_a_shape_mismatch():
    result = run_entry(planted("linear_layer_vjp", lambda X, W, b, dY: (dY @ W, X.T @ dY, dY.sum(0))))
    message = result.checks[0].message()
    assert message.startswith("linear_layer_vjp [jax, forward]: FAIL")
    assert "shape (5, 7)" in message and "(7, 5)" in message, message


def test_symmetric_shortcut_holds_only_for_symmetric_matrices():
    rng = np.random.default_rng(6)
    x, A = rng.standard_normal(5), rng.standard_normal((5, 5)) + np.triu(np.ones((5, 5)), 1)
    S = (A + A.T) / 2
    assert relative_error(mc.symmetric_quadratic_form_gradient(x, S), mc.quadratic_form_gradient(x, S)) <= 1e-15
    assert relative_error(mc.symmetric_quadratic_form_gradient(x, A), mc.quadratic_form_gradient(x, A)) > 1e-2
    # xᵀAx only sees the symmetric part of A: the gradient for A equals 2 sym(A) x
    assert relative_error(mc.quadratic_form_gradient(x, A), mc.symmetric_quadratic_form_gradient(x, S)) <= 1e-14


def test_samplers_draw_non_symmetric_and_well_conditioned_matrices():
    rng = np.random.default_rng(7)
    (_, A) = BY_NAME["quadratic_form"].sample(rng)
    assert np.max(np.abs(A - A.T)) > 0.5
    for name in ("log_determinant", "inverse_bilinear_form"):
        X = BY_NAME[name].sample(rng)[0]
        assert np.max(np.abs(X - X.T)) > 0.5 and np.linalg.cond(X) < 100, name


# --------------------------------------------------------------------------------------
# ln|det X| on both signs of det X
# --------------------------------------------------------------------------------------


def _sign_blind_log_det_gradient(X):
    """sign(det X)·X⁻ᵀ: right where det X > 0, negated where det X < 0."""
    return np.sign(np.linalg.det(X)) * np.linalg.inv(X).T


def test_log_determinant_sampler_draws_negative_determinants_and_the_check_covers_them():
    entry = BY_NAME["log_determinant"]
    draws = [entry.sample(np.random.default_rng(seed))[0] for seed in range(40)]
    signs = np.sign([np.linalg.det(X) for X in draws])
    assert 10 <= np.sum(signs < 0) <= 30  # about half the draws have det X < 0
    negative = next(X for X, s in zip(draws, signs) if s < 0)
    positive = next(X for X, s in zip(draws, signs) if s > 0)
    assert run_entry(entry, args=(negative,)).passed  # X⁻ᵀ is right on the ln(−det X) branch
    # a gradient that is wrong only where det X < 0 passes on a positive draw and is caught on a negative one
    assert run_entry(planted("log_determinant", _sign_blind_log_det_gradient), args=(positive,)).passed
    result = run_entry(planted("log_determinant", _sign_blind_log_det_gradient), args=(negative,))
    assert not any(c.passed for c in result.checks if c.oracle == "autodiff")
    # and the default run meets negative draws: over 8 trials the plant is caught
    assert not run_entry(planted("log_determinant", _sign_blind_log_det_gradient), trials=8).passed


# --------------------------------------------------------------------------------------
# The differential method: df = tr(Gᵀ dX) identifies ∇_X f = G
# --------------------------------------------------------------------------------------


def test_differential_method_holds_over_many_draws():
    result = run_entry(BY_NAME["differential_method"], seed=3, trials=20)
    assert result.passed, result.message()
    assert len(result.checks) == 8


def test_trace_differential_is_the_frobenius_inner_product():
    rng = np.random.default_rng(8)
    G, dX = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    assert abs(mc.trace_differential(G, dX) - np.trace(G.T @ dX)) <= 1e-14 * np.linalg.norm(G) * np.linalg.norm(dX)
    with pytest.raises(ValueError):
        mc.trace_differential(G, dX.T)


def test_planted_trace_without_the_transpose_is_rejected():
    """tr(G dX) instead of tr(Gᵀ dX): a shape error for the non-square G, a wrong value for the square ones."""
    without_transpose = lambda G, dX: float(np.trace(G @ dX))
    results = run_claim(BY_NAME["differential_method"], np.random.default_rng(0), implementation=without_transpose)
    assert not any(r.passed for r in results)

    def square_only(G, dX):  # tr(G dX) where the shapes allow it, the right pairing elsewhere
        return float(np.trace(G @ dX)) if np.ndim(G) == 2 and G.shape[0] == G.shape[1] else mc.trace_differential(G, dX)

    failed = {r.check for r in run_claim(BY_NAME["differential_method"], np.random.default_rng(0), implementation=square_only) if not r.passed}
    square = ("ln|det X| -> X^-T, det X > 0", "ln|det X| -> X^-T, det X < 0", "y^T X^-1 z -> -X^-T y z^T X^-T")
    assert failed == {f"claim:{label}: f(X + t dX) - f(X) - t tr(G^T dX) = o(t)" for label in square}


def test_planted_wrong_gradients_are_rejected_by_the_differential_check():
    pairs = chapter.differential_pairs(np.random.default_rng(9))
    wrong = {
        "ln|det X| -> X^-T, det X > 0": lambda X, G: np.linalg.inv(X),  # the inverse, not transposed
        "ln|det X| -> X^-T, det X < 0": lambda X, G: -G,  # the sign of det X carried into the gradient
        "y^T X^-1 z -> -X^-T y z^T X^-T": lambda X, G: -G,  # the minus sign dropped
        "chain rule L(XW) -> X^T G": lambda X, G: 2 * G,  # a stray factor
    }
    planted_pairs = [(label, f, X, wrong[label](X, G), linear) for label, f, X, G, linear in pairs if label in wrong]
    checks = chapter.first_order_checks(mc.trace_differential, planted_pairs, np.random.default_rng(10))
    assert len(checks) == len(wrong) and not any(c.holds for c in checks), [(c.label, c.value) for c in checks]
    assert all(c.holds for c in chapter.first_order_checks(mc.trace_differential, pairs, np.random.default_rng(10)))


def test_the_plain_backward_pass_equals_the_tuned_one():
    """mlp_loss_gradients_plain (the derivation's steps, one array each) and the in-place
    mlp_loss_gradients agree; the plain one without tanh′ does not."""
    from implementations import layers

    rng = np.random.default_rng(4)
    params = layers.mlp_init(rng, 5, 7, 3)
    X, Y = layers.gaussian_blobs(rng, 6, 5, 3)
    plain, tuned = layers.mlp_loss_gradients_plain(*params, X, Y), layers.mlp_loss_gradients(*params, X, Y)
    for p, t in zip(plain, tuned):
        assert p.shape == t.shape and np.max(np.abs(p - t)) <= 1e-12 * np.max(np.abs(t))
    W1, b1, W2, b2 = params  # planted: Step 3 forgotten (dA = dH, no tanh′ factor)
    H = np.tanh(layers.linear(X, W1, b1))
    dZ = (layers.softmax_numpy(layers.linear(H, W2, b2)) - Y) / X.shape[0]
    dH, dW2, db2 = layers.linear_vjp(H, W2, b2, dZ)
    _, dW1, db1 = layers.linear_vjp(X, W1, b1, dH)
    wrong = (dW1, db1, dW2, db2)
    assert max(np.max(np.abs(w - t)) for w, t in zip(wrong, tuned)) > 1e-3
