"""Each method builds a zero-argument callable that computes a case's derivative.

``build(method, case, wrt, fixed, direction, device)`` returns ``call``; ``call()`` runs the
whole computation and waits for it (``block_until_ready`` for JAX, a CUDA synchronize for
torch on a GPU), so a timer around it measures the work, not the dispatch. Every JAX
method is ``jax.jit``-ed with the arrays as arguments (never baked in as constants), so
the first call compiles and later calls run the compiled program. ``as_numpy_leaves``
turns any result into the flat list of numpy arrays that is compared with the
hand-coded derivative.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated", category=DeprecationWarning)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import torch  # noqa: E402
import torch.autograd.functional as autograd_functional  # noqa: E402
import torch.func  # noqa: E402

torch.set_num_threads(os.cpu_count() or 1)


def framework_of(method: str) -> str:
    if method.startswith("jax"):
        return "jax"
    if method.startswith("torch"):
        return "torch"
    return "numpy"


def as_numpy_leaves(result) -> list[np.ndarray]:
    if isinstance(result, (tuple, list)):
        return [leaf for item in result for leaf in as_numpy_leaves(item)]
    if isinstance(result, torch.Tensor):
        return [result.detach().cpu().numpy()]
    return [np.asarray(result)]


# --------------------------------------------------------------------------------------
# numpy: the hand-coded derivative, the primal, central finite differences
# --------------------------------------------------------------------------------------


def _steps(x, order: int):
    """Per-entry steps: eps^(1/3) for a first difference, eps^(1/4) for a second."""
    root = 3 if order == 1 else 4
    return np.finfo(np.float64).eps ** (1 / root) * np.maximum(1.0, np.abs(x))


def central_difference_jacobian(f, wrt):
    """J[..., i] = (f(w + hᵢeᵢ) − f(w − hᵢeᵢ)) / 2hᵢ for each argument; out.shape + arg.shape."""
    out_shape = np.shape(f(*wrt))
    jacobians = []
    for k, arg in enumerate(wrt):
        flat = arg.ravel()
        steps = _steps(flat, 1)
        columns = np.empty(out_shape + (flat.size,))
        for i in range(flat.size):
            shifted = [list(wrt), list(wrt)]
            for sign, args in zip((1.0, -1.0), shifted):
                moved = flat.copy()
                moved[i] += sign * steps[i]
                args[k] = moved.reshape(arg.shape)
            columns[..., i] = (np.asarray(f(*shifted[0])) - np.asarray(f(*shifted[1]))) / (2 * steps[i])
        jacobians.append(columns.reshape(out_shape + arg.shape))
    return tuple(jacobians)


def central_difference_hessian(f, x):
    """H[i, j] = (f(x+hᵢ+hⱼ) − f(x+hᵢ−hⱼ) − f(x−hᵢ+hⱼ) + f(x−hᵢ−hⱼ)) / 4hᵢhⱼ, for j ≥ i."""
    n = x.size
    steps = _steps(x, 2)
    hessian = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            values = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                moved = x.copy()
                moved[i] += si * steps[i]
                moved[j] += sj * steps[j]
                values.append(f(moved))
            hessian[i, j] = hessian[j, i] = (values[0] - values[1] - values[2] + values[3]) / (
                4 * steps[i] * steps[j]
            )
    return hessian


def _numpy_method(method, case, wrt, fixed, direction):
    if method == "hand":
        return lambda: case.hand(*wrt, *fixed, *direction)
    if method == "numpy_function":
        return lambda: case.primal(*wrt, *fixed)
    if method == "fd_central":
        f = lambda *w: case.primal(*w, *fixed)  # noqa: E731
        if case.kind == "hessian":
            return lambda: central_difference_hessian(f, wrt[0])
        return lambda: central_difference_jacobian(f, wrt)
    raise KeyError(method)


# --------------------------------------------------------------------------------------
# JAX: all jitted; arrays are arguments of the compiled program
# --------------------------------------------------------------------------------------


def _jax_transform(method, case, n_wrt):
    argnums = tuple(range(n_wrt))

    def transformed(wrt, fixed, direction):
        f = lambda *w: case.primal(*w, *fixed)  # noqa: E731
        if method == "jax_function":
            return f(*wrt)
        if method == "jax_grad":
            return jax.grad(f, argnums=argnums)(*wrt)
        if method == "jax_jacfwd":
            return jax.jacfwd(f, argnums=argnums)(*wrt)
        if method == "jax_jacrev":
            return jax.jacrev(f, argnums=argnums)(*wrt)
        if method == "jax_hessian":  # jacfwd ∘ jacrev
            return jax.hessian(f)(*wrt)
        if method == "jax_jacrev_jacrev":
            return jax.jacrev(jax.jacrev(f))(*wrt)
        gradient = jax.grad(f, argnums=argnums)
        if method == "jax_hvp":  # forward over reverse: jvp of the gradient
            return jax.jvp(gradient, tuple(wrt), tuple(direction))[1]
        if method == "jax_vmap_hvp":  # the full Hessian as n HVPs, vmapped over e₁…eₙ
            (x,) = wrt
            hvp = lambda v: jax.jvp(gradient, (x,), (v,))[1][0]  # noqa: E731
            return jax.vmap(hvp)(jnp.eye(x.size, dtype=x.dtype))
        raise KeyError(method)

    return jax.jit(transformed)


def _jax_method(method, case, wrt, fixed, direction, device):
    put = lambda arrays: tuple(jax.device_put(jnp.asarray(a), device) for a in arrays)  # noqa: E731
    wrt, fixed, direction = put(wrt), put(fixed), put(direction)
    compiled = _jax_transform(method, case, len(wrt))
    return lambda: jax.block_until_ready(compiled(wrt, fixed, direction))


# --------------------------------------------------------------------------------------
# torch: torch.func transforms and the classic torch.autograd tape
# --------------------------------------------------------------------------------------


def _vmap_vjp_jacobian(g, wrt):
    """The Jacobian of g as vmap of its pullback over the rows of the identity."""
    out, pullback = torch.func.vjp(g, *wrt)
    basis = torch.eye(out.numel(), dtype=out.dtype, device=out.device).reshape(out.numel(), *out.shape)
    rows = torch.func.vmap(pullback)(basis)
    return tuple(r.reshape(*out.shape, *a.shape) for r, a in zip(rows, wrt))


def _torch_method(method, case, wrt, fixed, direction, device):
    put = lambda arrays: tuple(torch.as_tensor(a, device=device) for a in arrays)  # noqa: E731
    wrt, fixed, direction = put(wrt), put(fixed), put(direction)
    argnums = tuple(range(len(wrt)))
    f = lambda *w: case.primal(*w, *fixed)  # noqa: E731
    # The function whose Jacobian a Jacobian method computes: f, or for a Hessian, ∇f.
    target = torch.func.grad(f) if case.kind == "hessian" else f
    F = torch.func
    builders = {
        "torch_function": lambda: f(*wrt),
        "torch_func_grad": lambda: F.grad(f, argnums=argnums)(*wrt),
        "torch_func_jacfwd": lambda: F.jacfwd(target, argnums=argnums)(*wrt),
        "torch_func_jacrev": lambda: F.jacrev(target, argnums=argnums)(*wrt),
        "torch_func_vmap_vjp": lambda: _vmap_vjp_jacobian(target, wrt),
        "torch_func_hessian": lambda: F.hessian(f)(*wrt),
        "torch_func_jacrev_jacrev": lambda: F.jacrev(F.jacrev(f))(*wrt),
        "torch_func_hvp": lambda: F.jvp(F.grad(f, argnums=argnums), wrt, direction)[1],
        "torch_autograd_grad": lambda: _tape_gradient(f, wrt),
        "torch_autograd_jacobian": lambda: autograd_functional.jacobian(f, wrt, vectorize=False),
        "torch_autograd_jacobian_vectorized": lambda: autograd_functional.jacobian(f, wrt, vectorize=True),
        "torch_autograd_jacobian_forward": lambda: autograd_functional.jacobian(
            f, wrt, vectorize=True, strategy="forward-mode"
        ),
        "torch_autograd_hessian": lambda: autograd_functional.hessian(f, wrt[0], vectorize=False),
        "torch_autograd_hessian_vectorized": lambda: autograd_functional.hessian(f, wrt[0], vectorize=True),
        "torch_autograd_hessian_forward": lambda: autograd_functional.hessian(
            f, wrt[0], vectorize=True, outer_jacobian_strategy="forward-mode"
        ),
        "torch_autograd_hvp": lambda: autograd_functional.hvp(f, wrt, direction)[1],
    }
    compute = builders[method]
    if torch.device(device).type == "cuda":
        def call():
            result = compute()
            torch.cuda.synchronize()
            return result

        return call
    return compute


def _tape_gradient(f, wrt):
    leaves = tuple(w.detach().requires_grad_(True) for w in wrt)
    return torch.autograd.grad(f(*leaves), leaves)


# --------------------------------------------------------------------------------------


def build(method, case, wrt, fixed, direction, device: str = "cpu"):
    """A zero-argument callable that computes ``method``'s result for these inputs."""
    framework = framework_of(method)
    if framework == "numpy":
        return _numpy_method(method, case, wrt, fixed, direction)
    if framework == "jax":
        return _jax_method(method, case, wrt, fixed, direction, jax.devices(framework_device("jax", device))[0])
    return _torch_method(method, case, wrt, fixed, direction, framework_device("torch", device))


def framework_device(framework: str, device: str) -> str:
    """The device a framework runs on: the GPU where asked for and it sees one, else the CPU."""
    if device != "cuda" or not cuda_status()[framework]:
        return "cpu"
    return "gpu" if framework == "jax" else "cuda"


def cuda_status() -> dict[str, bool]:
    """Whether each framework sees a CUDA GPU."""
    try:
        jax_gpu = bool(jax.devices("gpu"))
    except RuntimeError:
        jax_gpu = False
    return {"jax": jax_gpu, "torch": torch.cuda.is_available()}
