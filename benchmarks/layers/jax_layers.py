"""Custom layers as a JAX training codebase writes them: ``jax.custom_vjp`` (fwd/bwd) and
``jax.custom_jvp`` rules.

Each factory ``name(bug=None)`` returns the layer; ``bug`` names one planted mistake, written
in line beside the correct expression it replaces.
"""

from __future__ import annotations

import math

import jax

jax.config.update("jax_enable_x64", True)  # float64 before any array exists

import jax.numpy as jnp  # noqa: E402
from jax.scipy.special import erf  # noqa: E402


def _named(fn, base: str, bug):
    fn.__name__ = fn.__qualname__ = base if bug is None else f"{base}_{bug}"
    return fn


def _normal(seed, *shapes, scale=1.0):
    keys = jax.random.split(jax.random.key(seed), len(shapes))
    return [scale * jax.random.normal(k, s, dtype=jnp.float64) for k, s in zip(keys, shapes)]


# --------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------


def layer_norm(bug=None, eps=1e-5):
    """y = γ ⊙ (x − μ)/σ + β over the last axis."""

    @jax.custom_vjp
    def layer_norm(x, gamma, beta):
        return fwd(x, gamma, beta)[0]

    def fwd(x, gamma, beta):
        xc = x - x.mean(-1, keepdims=True)
        rstd = jax.lax.rsqrt((xc * xc).mean(-1, keepdims=True) + eps)
        xhat = xc * rstd
        return xhat * gamma + beta, (xhat, rstd, gamma)

    def bwd(res, g):
        xhat, rstd, gamma = res
        dxhat = g if bug == "gamma_forgotten" else g * gamma
        mean = (lambda t: t.sum(-1, keepdims=True)) if bug == "mean_without_1_over_n" else (lambda t: t.mean(-1, keepdims=True))
        dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        batch = tuple(range(g.ndim - 1))
        return dx, (g * xhat).sum(batch), g.sum(batch)

    layer_norm.defvjp(fwd, bwd)
    return _named(layer_norm, "layer_norm", bug)


def group_norm(bug=None, groups=2, eps=1e-5):
    """Group normalisation of x (B, C, L): statistics per (sample, group of C/groups channels),
    then a per-channel γ, β."""

    @jax.custom_vjp
    def group_norm(x, gamma, beta):
        return fwd(x, gamma, beta)[0]

    def fwd(x, gamma, beta):
        b, c, length = x.shape
        xg = x.reshape(b, groups, -1)
        xc = xg - xg.mean(-1, keepdims=True)
        rstd = jax.lax.rsqrt((xc * xc).mean(-1, keepdims=True) + eps)
        xhat = (xc * rstd).reshape(b, c, length)
        return xhat * gamma[:, None] + beta[:, None], (xhat, rstd, gamma)

    def bwd(res, g):
        xhat, rstd, gamma = res
        b, c, length = g.shape
        dxhat = (g * gamma[:, None]).reshape(b, groups, -1)
        xh = xhat.reshape(b, groups, -1)
        if bug == "variance_term_dropped":
            dx = rstd * (dxhat - dxhat.mean(-1, keepdims=True))
        else:
            dx = rstd * (dxhat - dxhat.mean(-1, keepdims=True) - xh * (dxhat * xh).mean(-1, keepdims=True))
        return dx.reshape(b, c, length), (g * xhat).sum((0, 2)), g.sum((0, 2))

    group_norm.defvjp(fwd, bwd)
    return _named(group_norm, "group_norm", bug)


# --------------------------------------------------------------------------------------
# Activations and softmax
# --------------------------------------------------------------------------------------


def _gelu_erf_slope(x):
    return 0.5 * (1 + erf(x / math.sqrt(2))) + x * jnp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _gelu_tanh_slope(x):
    c = math.sqrt(2 / math.pi)
    t = jnp.tanh(c * (x + 0.044715 * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x**2)


def gelu_erf(bug=None):
    """GELU, exact: x Φ(x), a custom_jvp rule."""

    @jax.custom_jvp
    def gelu_erf(x):
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))

    @gelu_erf.defjvp
    def gelu_erf_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        slope = _gelu_tanh_slope(x) if bug == "tanh_approximation_derivative" else _gelu_erf_slope(x)
        return gelu_erf(x), slope * t

    return _named(gelu_erf, "gelu_erf", bug)


def silu(bug=None):
    """SiLU / Swish: x σ(x), a custom_jvp rule."""

    @jax.custom_jvp
    def silu(x):
        return x * jax.nn.sigmoid(x)

    @silu.defjvp
    def silu_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        s = jax.nn.sigmoid(x)
        slope = s if bug == "product_rule_term_dropped" else s * (1 + x * (1 - s))
        return x * s, slope * t

    return _named(silu, "silu", bug)


def softmax(bug=None):
    """softmax over the last axis; the backward applies the Jacobian diag(y) − y yᵀ."""

    @jax.custom_vjp
    def softmax(x):
        return jax.nn.softmax(x, axis=-1)

    def fwd(x):
        y = jax.nn.softmax(x, axis=-1)
        return y, y

    def bwd(y, g):
        if bug == "jacobian_diagonal_only":
            return (y * (1 - y) * g,)
        return (y * (g - (g * y).sum(-1, keepdims=True)),)

    softmax.defvjp(fwd, bwd)
    return _named(softmax, "softmax", bug)


def log_softmax(bug=None):
    """log softmax over the last axis; the backward is g − softmax(x) Σ g."""

    @jax.custom_vjp
    def log_softmax(x):
        return jax.nn.log_softmax(x, axis=-1)

    def fwd(x):
        y = jax.nn.log_softmax(x, axis=-1)
        return y, y

    def bwd(y, g):
        if bug == "elementwise_instead_of_row_sum":
            return (g - jnp.exp(y) * g,)
        axis = 0 if bug == "row_sum_over_batch_axis" else -1
        return (g - jnp.exp(y) * g.sum(axis, keepdims=True),)

    log_softmax.defvjp(fwd, bwd)
    return _named(log_softmax, "log_softmax", bug)


# --------------------------------------------------------------------------------------
# Recurrent cell, lookup, similarity, loss
# --------------------------------------------------------------------------------------


def gru_cell(bug=None):
    """One GRU step: r, z = σ(x Wx + h Wh + b) (their slices), n = tanh(x Wx_n + (r ⊙ h) Wh_n + b_n),
    h' = (1 − z) ⊙ n + z ⊙ h."""

    @jax.custom_vjp
    def gru_cell(x, h, wx, wh, b):
        return fwd(x, h, wx, wh, b)[0]

    def fwd(x, h, wx, wh, b):
        ax_r, ax_z, ax_n = jnp.split(x @ wx + b, 3, axis=-1)
        wh_r, wh_z, wh_n = jnp.split(wh, 3, axis=-1)
        r, z = jax.nn.sigmoid(ax_r + h @ wh_r), jax.nn.sigmoid(ax_z + h @ wh_z)
        a_n = ax_n + (r * h) @ wh_n
        n = jnp.tanh(a_n)
        return (1 - z) * n + z * h, (x, h, wx, wh, r, z, a_n, n)

    def bwd(res, g):
        x, h, wx, wh, r, z, a_n, n = res
        wh_r, wh_z, wh_n = jnp.split(wh, 3, axis=-1)
        da_n = g * (1 - z) * ((1 - a_n * a_n) if bug == "tanh_derivative_from_pre_activation" else (1 - n * n))
        da_z = g * (h - n) * z * (1 - z)
        drh = da_n @ wh_n.T
        da_r = drh * h * r * (1 - r)
        da = jnp.concatenate([da_r, da_z, da_n], axis=-1)
        dh = g * z + da_r @ wh_r.T + da_z @ wh_z.T
        if bug != "reset_gate_path_into_h_dropped":
            dh = dh + drh * r
        dwh = jnp.concatenate([h.T @ da_r, h.T @ da_z, (r * h).T @ da_n], axis=-1)
        return da @ wx.T, dh, x.T @ da, dwh, da.sum(0)

    gru_cell.defvjp(fwd, bwd)
    return _named(gru_cell, "gru_cell", bug)


def dense_tanh(bug=None):
    """tanh(x W + b) with the parameters as a dict {"w": W, "b": b}, as a JAX training step passes them."""

    @jax.custom_vjp
    def dense_tanh(params, x):
        return jnp.tanh(x @ params["w"] + params["b"])

    def fwd(params, x):
        a = x @ params["w"] + params["b"]
        y = jnp.tanh(a)
        return y, (params["w"], x, a, y)

    def bwd(res, g):
        w, x, a, y = res
        da = g * ((1 - a * a) if bug == "tanh_derivative_from_pre_activation" else (1 - y * y))
        dw = da.T @ x if bug == "transposed_weight_gradient" else x.T @ da
        return {"w": dw, "b": da.sum(0)}, da @ w.T

    dense_tanh.defvjp(fwd, bwd)
    return _named(dense_tanh, "dense_tanh", bug)


def embedding(bug=None):
    """table[indices]: the backward adds each cotangent row onto its index (.at[].add)."""

    @jax.custom_vjp
    def embedding(table, indices):
        return table[indices]

    def fwd(table, indices):
        return table[indices], (indices, table.shape)

    def bwd(res, g):
        indices, shape = res
        zeros = jnp.zeros(shape, g.dtype)
        dtable = zeros.at[indices].set(g) if bug == "repeated_indices_overwritten" else zeros.at[indices].add(g)
        return dtable, None

    embedding.defvjp(fwd, bwd)
    return _named(embedding, "embedding", bug)


def cosine_similarity(bug=None):
    """x·y / (‖x‖ ‖y‖) of two vectors."""

    @jax.custom_vjp
    def cosine_similarity(x, y):
        return x @ y / (jnp.linalg.norm(x) * jnp.linalg.norm(y))

    def fwd(x, y):
        nx, ny = jnp.linalg.norm(x), jnp.linalg.norm(y)
        c = x @ y / (nx * ny)
        return c, (x, y, nx, ny, c)

    def bwd(res, g):
        x, y, nx, ny, c = res
        if bug == "projection_term_dropped":
            return g * y / (nx * ny), g * x / (nx * ny)
        return g * (y / (nx * ny) - c * x / nx**2), g * (x / (nx * ny) - c * y / ny**2)

    cosine_similarity.defvjp(fwd, bwd)
    return _named(cosine_similarity, "cosine_similarity", bug)


def mse(bug=None):
    """mean((pred − target)²)."""

    @jax.custom_vjp
    def mse(pred, target):
        return ((pred - target) ** 2).mean()

    def fwd(pred, target):
        r = pred - target
        return (r * r).mean(), (pred, r)

    def bwd(res, g):
        pred, r = res
        d = g * 2 * (pred if bug == "target_forgotten" else r) / r.size
        return d, -d

    mse.defvjp(fwd, bwd)
    return _named(mse, "mse", bug)


# --------------------------------------------------------------------------------------
# Inputs (float64; some at awkward values) and plain-autodiff references
# --------------------------------------------------------------------------------------


def inputs_layer_norm_large(seed):
    """Values near 1e6 with unit spread: the centring cancels six digits."""
    x, gamma, beta = _normal(seed, (3, 6), (6,), (6,))
    return 1e6 + x, 1 + 0.3 * gamma, 0.3 * beta


def inputs_group_norm(seed):
    x, gamma, beta = _normal(seed, (2, 4, 3), (4,), (4,))
    return 1.5 * x + 0.4, 1 + 0.3 * gamma, 0.3 * beta


def inputs_activation(seed):
    (x,) = _normal(seed, (4, 5), scale=2.0)
    return (x.at[0, :3].set(jnp.array([0.0, -4.0, 4.0])),)


def inputs_softmax(seed):
    (x,) = _normal(seed, (3, 5), scale=2.0)
    return (x,)


def inputs_gru_cell(seed):
    batch, inputs, hidden = 2, 3, 2
    x, h, wx, wh, b = _normal(seed, (batch, inputs), (batch, hidden), (inputs, 3 * hidden), (hidden, 3 * hidden), (3 * hidden,))
    return x, h, 0.5 * wx, 0.5 * wh, 0.1 * b


def inputs_dense_tanh(seed):
    w, b, x = _normal(seed, (4, 4), (4,), (3, 4))
    return {"w": 0.5 * w, "b": 0.1 * b}, x


def inputs_embedding(seed):
    (table,) = _normal(seed, (5, 3))
    return table, jnp.array([1, 3, 1, 0, 3, 3])


def inputs_cosine_parallel(seed):
    """y = 2.5 x: the similarity is at its maximum 1, its gradient exactly zero."""
    (x,) = _normal(seed, (6,))
    return x, 2.5 * x


def inputs_mse_at_minimum(seed):
    """pred = target: the loss is at its minimum, its gradient exactly zero."""
    (target,) = _normal(seed, (7,))
    return target, target


def layer_norm_reference(x, gamma, beta, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + eps) * gamma + beta


def group_norm_reference(x, gamma, beta, groups=2, eps=1e-5):
    xg = x.reshape(x.shape[0], groups, -1)
    xhat = (xg - xg.mean(-1, keepdims=True)) / jnp.sqrt(xg.var(-1, keepdims=True) + eps)
    return xhat.reshape(x.shape) * gamma[:, None] + beta[:, None]


def gru_cell_reference(x, h, wx, wh, b):
    ax_r, ax_z, ax_n = jnp.split(x @ wx + b, 3, axis=-1)
    wh_r, wh_z, wh_n = jnp.split(wh, 3, axis=-1)
    r, z = jax.nn.sigmoid(ax_r + h @ wh_r), jax.nn.sigmoid(ax_z + h @ wh_z)
    return (1 - z) * jnp.tanh(ax_n + (r * h) @ wh_n) + z * h


def dense_tanh_reference(params, x):
    return jnp.tanh(x @ params["w"] + params["b"])


def cosine_similarity_reference(x, y):
    return x @ y / jnp.sqrt((x @ x) * (y @ y))


def mse_reference(pred, target):
    return jnp.mean((pred - target) ** 2)
