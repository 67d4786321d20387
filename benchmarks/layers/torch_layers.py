"""Custom layers as a torch training codebase writes them: ``torch.autograd.Function``s with a
hand-written backward (a ``jvp`` too where it is natural) and ``nn.Module``s built on them.

Each factory ``name(bug=None)`` returns the layer; ``bug`` names one planted mistake, written
in line beside the correct expression it replaces, so that the two read side by side.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import Function

DTYPE = torch.float64


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(gen, *shape, scale=1.0):
    return scale * torch.randn(*shape, generator=gen, dtype=DTYPE)


def _named(cls, base: str, bug):
    cls.__name__ = cls.__qualname__ = base if bug is None else f"{base}_{bug}"
    return cls


# --------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------


def layer_norm(bug=None, eps=1e-5):
    """y = γ ⊙ (x − μ)/σ + β over the last axis."""

    class LayerNorm(Function):
        @staticmethod
        def forward(ctx, x, gamma, beta):
            mu = x.mean(-1, keepdim=True)
            rstd = ((x - mu) ** 2).mean(-1, keepdim=True).add(eps).rsqrt()
            xhat = (x - mu) * rstd
            ctx.save_for_backward(xhat, rstd, gamma)
            return xhat * gamma + beta

        @staticmethod
        def backward(ctx, g):
            xhat, rstd, gamma = ctx.saved_tensors
            dxhat = g if bug == "gamma_forgotten" else g * gamma
            mean = (lambda t: t.sum(-1, keepdim=True)) if bug == "mean_without_1_over_n" else (lambda t: t.mean(-1, keepdim=True))
            dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
            batch = tuple(range(g.ndim - 1))
            return dx, (g * xhat).sum(batch), g.sum(batch)

    return _named(LayerNorm, "LayerNorm", bug)


def rms_norm(bug=None, eps=1e-6):
    """y = γ ⊙ x / rms(x), rms(x) = sqrt(mean(x²) + ε) over the last axis."""

    class RMSNorm(Function):
        @staticmethod
        def forward(ctx, x, gamma):
            rrms = (x * x).mean(-1, keepdim=True).add(eps).rsqrt()
            ctx.save_for_backward(x * rrms, rrms, gamma)
            return x * rrms * gamma

        @staticmethod
        def backward(ctx, g):
            xhat, rrms, gamma = ctx.saved_tensors
            dn = g * gamma
            if bug == "rms_treated_as_constant":
                dx = dn * rrms
            else:
                dx = rrms * (dn - xhat * (dn * xhat).mean(-1, keepdim=True))
            return dx, (g * xhat).sum(tuple(range(g.ndim - 1)))

    return _named(RMSNorm, "RMSNorm", bug)


def _batch_norm_function(bug, eps):
    class BatchNormTrain(Function):
        @staticmethod
        def forward(ctx, x, weight, bias):
            mu = x.mean(0)
            rstd = ((x - mu) ** 2).mean(0).add(eps).rsqrt()
            xhat = (x - mu) * rstd
            ctx.save_for_backward(xhat, rstd, weight)
            return xhat * weight + bias

        @staticmethod
        def backward(ctx, g):
            xhat, rstd, weight = ctx.saved_tensors
            dxhat = g * weight
            if bug == "variance_term_dropped":
                dx = rstd * (dxhat - dxhat.mean(0))
            else:
                dx = rstd * (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0))
            return dx, (g * xhat).sum(0), g.sum(0)

    return BatchNormTrain


class BatchNorm1dTrain(nn.Module):
    """Batch normalisation in training mode: statistics of the batch (axis 0), biased variance."""

    def __init__(self, features: int, bug=None, eps=1e-5, seed=0):
        super().__init__()
        gen = _generator(seed + 100)
        self.weight = nn.Parameter(1 + 0.3 * _randn(gen, features))
        self.bias = nn.Parameter(0.3 * _randn(gen, features))
        self.function = _batch_norm_function(bug, eps)

    def forward(self, x):
        return self.function.apply(x, self.weight, self.bias)


class WeightNormLinear(nn.Module):
    """y = x Wᵀ + b with W = g ⊙ v / ‖v‖ (row norms): nn.utils.weight_norm, by hand."""

    def __init__(self, in_features: int, out_features: int, bug=None, seed=0):
        super().__init__()
        gen = _generator(seed + 200)
        self.v = nn.Parameter(_randn(gen, out_features, in_features))
        self.g = nn.Parameter(1 + 0.3 * _randn(gen, out_features))
        self.b = nn.Parameter(0.3 * _randn(gen, out_features))

        class WeightNormLinearFunction(Function):
            @staticmethod
            def forward(ctx, x, v, g, b):
                norm = v.norm(dim=1, keepdim=True)
                w = g[:, None] * v / norm
                ctx.save_for_backward(x, v, norm, g, w)
                return x @ w.T + b

            @staticmethod
            def backward(ctx, gy):
                x, v, norm, g, w = ctx.saved_tensors
                dw = gy.T @ x
                vhat = v / norm
                dg = (dw * vhat).sum(1)
                if bug == "projection_term_dropped":
                    dv = g[:, None] / norm * dw
                else:
                    dv = g[:, None] / norm * (dw - (dw * vhat).sum(1, keepdim=True) * vhat)
                return gy @ w, dv, dg, gy.sum(0)

        self.function = WeightNormLinearFunction

    def forward(self, x):
        return self.function.apply(x, self.v, self.g, self.b)


# --------------------------------------------------------------------------------------
# Activations, attention, convolution, lookup
# --------------------------------------------------------------------------------------

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _gelu_tanh_slope(x):
    t = torch.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x**2)


def _gelu_erf_slope(x):
    return 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def gelu_tanh(bug=None):
    """GELU, tanh approximation: 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))), with backward and jvp."""

    class GeluTanh(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return 0.5 * x * (1 + torch.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (_gelu_erf_slope(x) if bug == "erf_form_derivative" else _gelu_tanh_slope(x))

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return t * (_gelu_erf_slope(x) if bug == "jvp_from_erf_form" else _gelu_tanh_slope(x))

    return _named(GeluTanh, "GeluTanh", bug)


def attention(bug=None):
    """Single-head scaled dot-product attention: softmax(q kᵀ / √d) v."""

    class Attention(Function):
        @staticmethod
        def forward(ctx, q, k, v):
            scale = q.shape[-1] ** -0.5
            p = torch.softmax(q @ k.T * scale, dim=-1)
            ctx.save_for_backward(q, k, v, p)
            return p @ v

        @staticmethod
        def backward(ctx, do):
            q, k, v, p = ctx.saved_tensors
            scale = q.shape[-1] ** -0.5
            dp = do @ v.T
            if bug == "softmax_jacobian_row_term_dropped":
                ds = p * dp
            else:
                ds = p * (dp - (dp * p).sum(-1, keepdim=True))
            dq = ds @ k if bug == "scale_forgotten_in_dq" else ds @ k * scale
            return dq, ds.T @ q * scale, p.T @ do

    return _named(Attention, "Attention", bug)


def conv1d(bug=None):
    """1-d convolution (cross-correlation, stride 1, no padding) of x (B, C_in, L) by w (C_out, C_in, K) plus b."""

    class Conv1d(Function):
        @staticmethod
        def forward(ctx, x, w, b):
            ctx.save_for_backward(x, w)
            return F.conv1d(x, w, b)

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            kernel = w.shape[-1]
            w_back = w.transpose(0, 1) if bug == "kernel_not_flipped" else w.transpose(0, 1).flip(-1)
            dx = F.conv1d(F.pad(g, (kernel - 1, kernel - 1)), w_back)
            dw = F.conv1d(x.transpose(0, 1), g.transpose(0, 1)).transpose(0, 1)
            db = g.sum(2).mean(0) if bug == "bias_gradient_averaged_over_batch" else g.sum((0, 2))
            return dx, dw, db

    return _named(Conv1d, "Conv1d", bug)


def embedding(bug=None):
    """weight[indices]: the backward scatters each row of the cotangent back onto its index."""

    class Embedding(Function):
        @staticmethod
        def forward(ctx, indices, weight):
            ctx.save_for_backward(indices)
            ctx.rows = weight.shape[0]
            return weight[indices]

        @staticmethod
        def backward(ctx, g):
            (indices,) = ctx.saved_tensors
            dweight = g.new_zeros((ctx.rows, g.shape[-1]))
            if bug == "repeated_indices_overwritten":
                dweight.index_put_((indices,), g)
            else:
                dweight.index_add_(0, indices, g)
            return None, dweight

    return _named(Embedding, "Embedding", bug)


def linear(bug=None):
    """y = x Wᵀ + b (a square hidden layer, W (d, d))."""

    class Linear(Function):
        @staticmethod
        def forward(ctx, x, weight, bias):
            ctx.save_for_backward(x, weight)
            return x @ weight.T + bias

        @staticmethod
        def backward(ctx, g):
            x, weight = ctx.saved_tensors
            dweight = x.T @ g if bug == "transposed_weight_gradient" else g.T @ x
            dbias = g.mean(0) if bug == "bias_gradient_averaged" else g.sum(0)
            return g @ weight, dweight, dbias

    return _named(Linear, "Linear", bug)


def lstm_cell(bug=None):
    """One LSTM step: z = x W + h U + b, gates (i, f, g, o), c' = f c + i g, h' = o tanh(c'); returns (h', c')."""

    class LSTMCell(Function):
        @staticmethod
        def forward(ctx, x, h, c, w, u, b):
            z = x @ w + h @ u + b
            zi, zf, zg, zo = z.chunk(4, dim=-1)
            i, f, g, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)
            c_next = f * c + i * g
            tc = torch.tanh(c_next)
            ctx.save_for_backward(x, h, c, w, u, z, i, f, g, o, tc)
            return o * tc, c_next

        @staticmethod
        def backward(ctx, dh_next, dc_next):
            x, h, c, w, u, z, i, f, g, o, tc = ctx.saved_tensors
            if bug == "h_path_into_cell_dropped":
                dc_total = dc_next
            else:
                dc_total = dc_next + dh_next * o * (1 - tc * tc)
            if bug == "gate_derivative_from_pre_activation":
                zi, zf, _, zo = z.chunk(4, dim=-1)
                si, sf, so = zi * (1 - zi), zf * (1 - zf), zo * (1 - zo)
            else:
                si, sf, so = i * (1 - i), f * (1 - f), o * (1 - o)
            dz = torch.cat([dc_total * g * si, dc_total * c * sf, dc_total * i * (1 - g * g), dh_next * tc * so], dim=-1)
            return dz @ w.T, dz @ u.T, dc_total * f, x.T @ dz, h.T @ dz, dz.sum(0)

    return _named(LSTMCell, "LSTMCell", bug)


# --------------------------------------------------------------------------------------
# Losses and layers with kinks or fixed masks
# --------------------------------------------------------------------------------------


def huber_loss(bug=None, delta=1.0):
    """mean over entries of h(r), r = pred − target: r²/2 for |r| ≤ δ, δ(|r| − δ/2) beyond."""

    class HuberLoss(Function):
        @staticmethod
        def forward(ctx, pred, target):
            r = pred - target
            ctx.save_for_backward(r)
            quadratic = r.abs() <= delta
            return torch.where(quadratic, 0.5 * r * r, delta * (r.abs() - 0.5 * delta)).mean()

        @staticmethod
        def backward(ctx, g):
            (r,) = ctx.saved_tensors
            outer = delta * torch.ones_like(r) if bug == "linear_region_sign_forgotten" else delta * r.sign()
            dr = torch.where(r.abs() <= delta, r, outer)
            dr = g * dr if bug == "mean_1_over_n_dropped" else g * dr / r.numel()
            return dr, -dr

    return _named(HuberLoss, "HuberLoss", bug)


def softmax_cross_entropy(bug=None):
    """mean over the batch of −log softmax(logits)[label], integer labels."""

    class SoftmaxCrossEntropy(Function):
        @staticmethod
        def forward(ctx, logits, labels):
            logp = torch.log_softmax(logits, dim=-1)
            ctx.save_for_backward(logits, labels)
            return -logp.gather(1, labels[:, None]).mean()

        @staticmethod
        def backward(ctx, g):
            logits, labels = ctx.saved_tensors
            p = torch.softmax(logits, dim=0 if bug == "softmax_over_batch_axis" else -1)
            d = p - F.one_hot(labels, logits.shape[-1]).to(p.dtype)
            return (g * d if bug == "batch_mean_forgotten" else g * d / logits.shape[0]), None

    return _named(SoftmaxCrossEntropy, "SoftmaxCrossEntropy", bug)


def dropout_fixed_mask(bug=None, p=0.3):
    """Inverted dropout with a given keep-mask (0/1): y = x ⊙ mask / (1 − p), with backward and jvp."""

    class DropoutFixedMask(Function):
        @staticmethod
        def forward(ctx, x, mask):
            ctx.save_for_backward(mask)
            ctx.save_for_forward(mask)
            return x * mask / (1 - p)

        @staticmethod
        def backward(ctx, g):
            (mask,) = ctx.saved_tensors
            return (g * mask if bug == "rescale_forgotten" else g * mask / (1 - p)), None

        @staticmethod
        def jvp(ctx, x_t, mask_t):
            (mask,) = ctx.saved_tensors
            return x_t * mask / (1 - p)

    return _named(DropoutFixedMask, "DropoutFixedMask", bug)


def max_pool1d(bug=None):
    """Max-pooling over windows of 2 (stride 2) of x (B, C, L); the gradient goes to the window's
    first maximal entry (a valid choice where two entries tie)."""

    class MaxPool1d(Function):
        @staticmethod
        def forward(ctx, x):
            windows = x.unflatten(-1, (-1, 2))
            values, where = windows.max(-1)
            ctx.save_for_backward(windows, values, where)
            return values

        @staticmethod
        def backward(ctx, g):
            windows, values, where = ctx.saved_tensors
            if bug == "every_tied_maximum_gets_the_gradient":
                dw = (windows == values[..., None]).to(g.dtype) * g[..., None]
            elif bug == "gradient_to_first_entry":
                dw = torch.zeros_like(windows)
                dw[..., 0] = g
            else:
                dw = torch.zeros_like(windows).scatter(-1, where[..., None], g[..., None])
            return dw.flatten(-2)

    return _named(MaxPool1d, "MaxPool1d", bug)


# --------------------------------------------------------------------------------------
# Inputs (float64; some at awkward values) and plain-autodiff references
# --------------------------------------------------------------------------------------


def inputs_layer_norm(seed):
    gen = _generator(seed)
    return _randn(gen, 3, 6, scale=2.0) + 0.5, 1 + 0.3 * _randn(gen, 6), 0.3 * _randn(gen, 6)


def inputs_rms_norm(seed):
    gen = _generator(seed)
    return _randn(gen, 3, 5), 1 + 0.3 * _randn(gen, 5)


def inputs_batch_norm(seed):
    return (_randn(_generator(seed), 6, 4, scale=1.5) + 0.7,)


def inputs_weight_norm_linear(seed):
    return (_randn(_generator(seed), 3, 4),)


def inputs_gelu(seed):
    x = _randn(_generator(seed), 4, 5, scale=2.0)
    x[0, :3] = torch.tensor([0.0, -3.0, 3.0], dtype=DTYPE)  # the origin and the tails
    return (x,)


def inputs_attention(seed):
    gen = _generator(seed)
    return _randn(gen, 4, 3), _randn(gen, 5, 3), _randn(gen, 5, 2)


def inputs_conv1d(seed):
    gen = _generator(seed)
    return _randn(gen, 2, 3, 7), 0.5 * _randn(gen, 2, 3, 3), _randn(gen, 2)


def inputs_embedding(seed):
    indices = torch.tensor([1, 3, 1, 0, 3, 3], dtype=torch.long)  # rows 1 and 3 looked up more than once
    return indices, _randn(_generator(seed), 5, 3)


def inputs_linear(seed):
    gen = _generator(seed)
    return _randn(gen, 3, 4), _randn(gen, 4, 4), _randn(gen, 4)


def inputs_lstm_cell(seed):
    gen = _generator(seed)
    batch, inputs, hidden = 2, 3, 2
    return (_randn(gen, batch, inputs), _randn(gen, batch, hidden), _randn(gen, batch, hidden),
            0.5 * _randn(gen, inputs, 4 * hidden), 0.5 * _randn(gen, hidden, 4 * hidden), 0.1 * _randn(gen, 4 * hidden))


def inputs_huber(seed):
    gen = _generator(seed)
    target = _randn(gen, 8)
    residual = torch.tensor([0.3, -0.5, 0.999, -1.001, 1.002, 2.5, -3.0, 0.0], dtype=DTYPE)  # near the seam |r| = δ
    return target + residual, target


def inputs_cross_entropy(seed):
    return _randn(_generator(seed), 4, 5, scale=2.0), torch.tensor([0, 3, 3, 1], dtype=torch.long)


def inputs_dropout(seed):
    gen = _generator(seed)
    x = _randn(gen, 3, 5)
    mask = (torch.rand(3, 5, generator=gen) > 0.3).to(DTYPE)
    return x, mask


def inputs_max_pool(seed):
    x = torch.round(_randn(_generator(seed), 2, 2, 6), decimals=1)
    x[0, 0, 0] = x[0, 0, 1]  # an exact tie
    x[1, 1, 4] = x[1, 1, 5]
    x[0, 1, 2] = x[0, 1, 3] + 1e-9  # almost a tie, beside the kink
    return (x,)


def rms_norm_reference(x, gamma, eps=1e-6):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * gamma


def batch_norm_reference(x, params):
    return F.batch_norm(x, None, None, params["weight"], params["bias"], training=True, eps=1e-5)


def weight_norm_linear_reference(x, params):
    w = params["g"][:, None] * params["v"] / params["v"].norm(dim=1, keepdim=True)
    return x @ w.T + params["b"]


def attention_reference(q, k, v):
    return F.scaled_dot_product_attention(q[None], k[None], v[None])[0]


def lstm_cell_reference(x, h, c, w, u, b):
    zi, zf, zg, zo = (x @ w + h @ u + b).chunk(4, dim=-1)
    c_next = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zg)
    return torch.sigmoid(zo) * torch.tanh(c_next), c_next


def max_pool_reference(x):
    return F.max_pool1d(x, 2)
