"""The benchmark plan, declared once: each derivative, its sizes, inputs and hand-coded value.

A ``Case`` is one derivative of one problem (the gradient of xᵀAx, the Jacobian of a tall
tanh layer, ...). It names the primal (written once against the array API, so numpy, JAX
and torch run the same code), the hand-coded numpy derivative that every other method is
checked against before it is timed, the sizes it is swept over, and the methods that
compute it (``benchmarks.methods`` builds them). ``budget_caps`` names, per method, the
largest size that still runs within the time budget; larger sizes are reported as
"skipped: > budget", never dropped silently.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from implementations.layers import mlp_init, mlp_loss, mlp_loss_gradients, mlp_loss_hvp
from implementations.matrix_calculus import quadratic_form, quadratic_form_gradient, quadratic_form_hessian
from implementations.multivariable import logsumexp_hessian, softmax_jacobian, tanh_layer, tanh_layer_jacobian
from implementations.single_variable import logsumexp, softmax

# Methods by the kind of derivative they compute. "function" rows time the primal itself in
# each framework: the denominator of cost(gradient)/cost(function).
FUNCTION_METHODS = ("numpy_function", "jax_function", "torch_function")
GRADIENT_METHODS = (
    "hand", "fd_central",
    "jax_grad", "jax_jacfwd", "jax_jacrev",
    "torch_func_grad", "torch_func_jacfwd", "torch_func_jacrev", "torch_func_vmap_vjp",
    "torch_autograd_grad", "torch_autograd_jacobian", "torch_autograd_jacobian_vectorized",
    "torch_autograd_jacobian_forward",
)
JACOBIAN_METHODS = (
    "hand", "fd_central",
    "jax_jacfwd", "jax_jacrev",
    "torch_func_jacfwd", "torch_func_jacrev", "torch_func_vmap_vjp",
    "torch_autograd_jacobian", "torch_autograd_jacobian_vectorized", "torch_autograd_jacobian_forward",
)
HESSIAN_METHODS = (
    "hand", "fd_central",
    "jax_hessian", "jax_jacrev_jacrev", "jax_vmap_hvp",
    "torch_func_hessian", "torch_func_jacrev_jacrev", "torch_func_vmap_vjp",
    "torch_autograd_hessian", "torch_autograd_hessian_vectorized", "torch_autograd_hessian_forward",
)
HVP_METHODS = ("hand", "jax_hvp", "torch_func_hvp", "torch_autograd_hvp")


@dataclass(frozen=True)
class Case:
    """One derivative of one problem, swept over sizes."""

    name: str
    problem: str
    kind: str  # gradient | jacobian | hessian | hvp
    primal: Callable  # primal(*wrt, *fixed), array API
    hand: Callable  # hand(*wrt, *fixed[, *direction]) -> numpy array or tuple of arrays
    make_inputs: Callable  # (size, rng) -> (wrt, fixed, direction): tuples of numpy arrays
    sizes: tuple[int, ...]
    size_label: str
    methods: tuple[str, ...]
    theory: str  # what the scaling should be, for the plot's title
    budget_caps: dict[str, int] = field(default_factory=dict)
    hand_label: str = "hand-coded numpy"
    # Reference slopes drawn on the log-log plot: label -> exponent of the swept size.
    theory_slopes: dict[str, float] = field(default_factory=dict)

    def seed(self, size: int) -> list[int]:
        return [zlib.crc32(self.problem.encode()), size]

    def inputs(self, size: int):
        return self.make_inputs(size, np.random.default_rng(self.seed(size)))

    def runs(self, method: str, size: int) -> bool:
        """Whether (method, size) is inside the time budget."""
        return size <= self.budget_caps.get(method, size)


# --------------------------------------------------------------------------------------
# Inputs: non-symmetric matrices, values away from 0 and 1, distinct non-square shapes
# --------------------------------------------------------------------------------------


def _quadratic_inputs(n, rng):
    A = rng.standard_normal((n, n)) / np.sqrt(n)  # non-symmetric
    x = rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n)
    return (x,), (A,), ()


def _quadratic_hvp_inputs(n, rng):
    (x,), (A,), _ = _quadratic_inputs(n, rng)
    return (x,), (A,), (rng.standard_normal(n),)


def _vector_inputs(n, rng):
    return (rng.uniform(-2.0, 2.0, n),), (), ()


def _tanh_inputs(shape_of):
    def make(size, rng):
        m, n = shape_of(size)
        W = rng.standard_normal((m, n)) / np.sqrt(n)
        return (rng.uniform(-1.5, 1.5, n),), (W,), ()

    return make


MLP_IN, MLP_OUT, MLP_BATCH = 32, 10, 128


def _mlp_inputs(hidden, rng, with_direction=False):
    params = tuple(mlp_init(rng, MLP_IN, hidden, MLP_OUT))
    X = rng.standard_normal((MLP_BATCH, MLP_IN))
    Y = np.eye(MLP_OUT)[rng.integers(0, MLP_OUT, MLP_BATCH)]
    direction = tuple(rng.standard_normal(p.shape) for p in params) if with_direction else ()
    return params, (X, Y), direction


def _mlp_hvp_inputs(hidden, rng):
    return _mlp_inputs(hidden, rng, with_direction=True)


# --------------------------------------------------------------------------------------
# Hand-coded derivatives not named in implementations/ directly
# --------------------------------------------------------------------------------------


def quadratic_form_hvp(x, A, v):
    """(A + Aᵀ)v: the gradient of xᵀAx is linear in x, so the HVP is that gradient at v."""
    return quadratic_form_gradient(v, A)


# --------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------

QUADRATIC_SIZES = (10, 100, 500, 1000, 2000)
VECTOR_SIZES = (10, 100, 500, 1000, 2000)
MLP_HIDDEN = (16, 64, 256, 1024)
TALL_M, WIDE_N = 2000, 2000
SMALL_SIDE = (10, 30, 100, 300)
SQUARE_SIDE = (30, 100, 300, 1000)

_TANH_THEORY = {
    "tall": "m=2000 fixed, n swept: f ∝ n; jacfwd = n passes ∝ n²; jacrev = m passes ∝ n",
    "wide": "n=2000 fixed, m swept: f ∝ m; jacfwd = n passes ∝ m; jacrev = m passes ∝ m²",
    "square": "m = n: f ∝ n²; jacfwd, jacrev = n passes ∝ n³; hand ∝ n²",
}
_TANH_SHAPES = {
    "tall": (lambda s: (TALL_M, s), SMALL_SIDE, "n (m = 2000)"),
    "wide": (lambda s: (s, WIDE_N), SMALL_SIDE, "m (n = 2000)"),
    "square": (lambda s: (s, s), SQUARE_SIDE, "n = m"),
}
_TANH_CAPS = {  # seconds per call beyond these sizes, measured on the 2-core machine
    "tall": {"torch_autograd_jacobian_vectorized": 100},
    "wide": {"fd_central": 100, "torch_autograd_jacobian_forward": 100},
    "square": {"fd_central": 300, "torch_autograd_jacobian_vectorized": 300, "torch_autograd_jacobian_forward": 300},
}
_TANH_SLOPES = {
    "tall": {"hand, jacrev (m passes) ∝ n": 1, "jacfwd (n passes) ∝ n²": 2},
    "wide": {"hand, jacfwd (n passes) ∝ m": 1, "jacrev (m passes) ∝ m²": 2},
    "square": {"hand ∝ n²": 2, "jacfwd, jacrev ∝ n³": 3},
}
_VECTOR_CAPS = {"torch_autograd_jacobian_forward": 1000, "torch_autograd_hessian_vectorized": 1000,
                "torch_autograd_hessian_forward": 1000}

CASES: tuple[Case, ...] = (
    Case(
        "quadratic_form_gradient", "quadratic_form", "gradient", quadratic_form,
        quadratic_form_gradient, _quadratic_inputs, QUADRATIC_SIZES, "n",
        GRADIENT_METHODS + FUNCTION_METHODS,
        "f, hand, grad ∝ n² (matvecs); jacfwd = n passes ∝ n³",
        budget_caps={"fd_central": 500},
        theory_slopes={"reverse, hand ∝ n²": 2, "forward (n passes) ∝ n³": 3},
    ),
    Case(
        "quadratic_form_hessian", "quadratic_form", "hessian", quadratic_form,
        quadratic_form_hessian, _quadratic_inputs, QUADRATIC_SIZES, "n",
        HESSIAN_METHODS,
        "hand ∝ n² (A + Aᵀ); full Hessian = n HVPs ∝ n³; FD = O(n²) evaluations ∝ n⁴",
        theory_slopes={"hand ∝ n²": 2, "n HVPs ∝ n³": 3},
        budget_caps={
            "fd_central": 100, "torch_autograd_hessian": 1000, "torch_func_hessian": 1000,
            "torch_autograd_hessian_vectorized": 500, "torch_autograd_hessian_forward": 500,
        },
    ),
    Case(
        "quadratic_form_hvp", "quadratic_form", "hvp", quadratic_form,
        quadratic_form_hvp, _quadratic_hvp_inputs, QUADRATIC_SIZES, "n",
        HVP_METHODS,
        "one HVP ∝ n² (a few matvecs), 1/n of the full Hessian",
        theory_slopes={"one HVP ∝ n²": 2},
    ),
    *(
        Case(
            f"tanh_layer_jacobian_{shape}", "tanh_layer", "jacobian", tanh_layer,
            tanh_layer_jacobian, _tanh_inputs(shape_of), sizes, label,
            JACOBIAN_METHODS, _TANH_THEORY[shape], budget_caps=_TANH_CAPS[shape],
            theory_slopes=_TANH_SLOPES[shape],
        )
        for shape, (shape_of, sizes, label) in _TANH_SHAPES.items()
    ),
    Case(
        "mlp_loss_gradient", "mlp_loss", "gradient", mlp_loss,
        mlp_loss_gradients, _mlp_inputs, MLP_HIDDEN, "hidden width",
        GRADIENT_METHODS + FUNCTION_METHODS,
        f"batch {MLP_BATCH}, {MLP_IN} → hidden → {MLP_OUT}: f, gradient ∝ hidden; jacfwd = P passes ∝ hidden²",
        theory_slopes={"f, gradient ∝ hidden": 1, "jacfwd (P passes) ∝ hidden²": 2},
        budget_caps={
            "fd_central": 16, "jax_jacfwd": 64, "torch_func_jacfwd": 16,
            "torch_autograd_jacobian_forward": 16,
        },
    ),
    Case(
        "mlp_loss_hvp", "mlp_loss", "hvp", mlp_loss,
        mlp_loss_hvp, _mlp_hvp_inputs, MLP_HIDDEN, "hidden width",
        HVP_METHODS,
        "an HVP costs a small constant times f: ∝ hidden",
        theory_slopes={"HVP ∝ hidden": 1},
        hand_label="hand-coded R-operator: one forward and one backward sweep",
    ),
    Case(
        "softmax_jacobian", "softmax", "jacobian", softmax,
        softmax_jacobian, _vector_inputs, VECTOR_SIZES, "n",
        JACOBIAN_METHODS,
        "hand ∝ n² (diag(s) − s sᵀ); jacfwd, jacrev = n passes of O(n) ∝ n²",
        theory_slopes={"every method ∝ n²": 2},
        budget_caps=_VECTOR_CAPS,
    ),
    Case(
        "logsumexp_hessian", "logsumexp", "hessian", logsumexp,
        logsumexp_hessian, _vector_inputs, VECTOR_SIZES, "n",
        HESSIAN_METHODS,
        "hand ∝ n²; full Hessian = n HVPs of O(n) ∝ n²; FD = O(n²) evaluations ∝ n³",
        theory_slopes={"hand, n HVPs ∝ n²": 2, "FD ∝ n³": 3},
        budget_caps={**_VECTOR_CAPS, "fd_central": 100},
    ),
)

BY_NAME = {case.name: case for case in CASES}


def plan(quick: bool = False, selected: str | None = None) -> list[tuple[Case, str, int, bool]]:
    """Every (case, method, size, runs) of a run; quick: the smallest size of each case."""
    rows = []
    for case in CASES:
        if selected and selected not in (case.name, case.problem):
            continue
        sizes = case.sizes[:1] if quick else case.sizes
        for method in case.methods:
            for size in sizes:
                rows.append((case, method, size, case.runs(method, size)))
    return rows
