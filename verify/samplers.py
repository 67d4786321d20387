"""Input samplers that expose bugs: distinct sizes, values away from 0 and 1, signs mixed.

Samplers receive a seeded ``numpy.random.Generator`` and return float64 arrays; the
engine draws tangents and cotangents itself.
"""

from __future__ import annotations

import numpy as np


def away_from_zero(rng: np.random.Generator, shape, low: float = 0.2, high: float = 3.0) -> np.ndarray:
    """Magnitudes in [low, high] with random signs: no entry near 0."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def positive(rng: np.random.Generator, shape, low: float = 0.5, high: float = 3.0) -> np.ndarray:
    """Values in [low, high]: inside the domain of log, sqrt, powers."""
    return rng.uniform(low, high, size=shape)


def normal(rng: np.random.Generator, shape, scale: float = 1.0) -> np.ndarray:
    return scale * rng.standard_normal(shape)


def onehot(rng: np.random.Generator, batch: int, classes: int) -> np.ndarray:
    """One-hot rows of random labels, float64."""
    labels = rng.integers(0, classes, size=batch)
    return np.eye(classes)[labels]


def nonsymmetric(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A dense random matrix; square ones are made visibly non-symmetric."""
    a = rng.standard_normal((rows, cols))
    if rows == cols:
        a += np.triu(rng.uniform(1.0, 2.0, size=(rows, cols)), k=1)
    return a


def well_conditioned(rng: np.random.Generator, n: int, shift: float | None = None) -> np.ndarray:
    """A non-symmetric square matrix with condition number of order 10: n·I + noise."""
    shift = float(n) if shift is None else shift
    return shift * np.eye(n) + nonsymmetric(rng, n, n)
