"""Small numpy helpers shared by the references: contracting Jacobians with probes.

A Jacobian is in numerator layout, shaped ``out.shape + in.shape``. With several
``wrt`` arguments it is a tuple of such blocks.
"""

from __future__ import annotations

import numpy as np


def contract_jvp(jacobian, tangent):
    """J·t: sum over the input axes; with several wrt arguments, Σₖ Jₖ·tₖ."""
    if isinstance(jacobian, tuple):
        return sum(contract_jvp(j, t) for j, t in zip(jacobian, tangent))
    tangent = np.asarray(tangent)
    return np.tensordot(jacobian, tangent, axes=tangent.ndim)


def contract_vjp(cotangent, jacobian):
    """uᵀJ: sum over the output axes, one result per wrt argument."""
    if isinstance(jacobian, tuple):
        return tuple(contract_vjp(cotangent, j) for j in jacobian)
    cotangent = np.asarray(cotangent)
    return np.tensordot(cotangent, jacobian, axes=cotangent.ndim)


def diagonal_jacobian(derivative, shape):
    """The Jacobian diag(f'(x)) of an elementwise map, shaped shape + shape."""
    derivative = np.asarray(derivative)
    size = int(np.prod(shape, dtype=int))
    return np.diag(derivative.reshape(size)).reshape(tuple(shape) + tuple(shape))
