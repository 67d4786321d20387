"""The framework-free oracles: finite differences and the complex step, numpy only.

Finite differences use ``scipy.differentiate``: a central stencil of order 8 (the nine
points x, x ± h, x ± h/2, x ± h/4, x ± h/8, truncation error O(h⁸)); each iteration divides
the step by ``step_factor`` (2 by default), reusing most points, and the error estimate is
the change between successive iterates, |df − df_last|; the iterations stop once every
entry has converged relative to its block (``CONVERGED``) or reached the rounding floor
(``ROUNDING_LIMITED``). There is no Richardson extrapolation (scipy's source lists it as a
possible improvement). The primal is evaluated in float64, one point at a time (numpy code:
framework-free), or, for a torch- or JAX-native primal, on many points per call through its
framework's vmap (``_ValueScale``); a vjp's differences are those of uᵀf. A Hessian's
entries are central second differences at halved steps, Richardson-extrapolated by
Ridders' method (``fd_hessian_flat``). The complex step, for holomorphic primals, computes
f'(x)·t = Im f(x + i h t) / h with h = 1e-20: no subtraction, so no cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.differentiate as sd

COMPLEX_STEP = 1e-20


def is_real_float(a) -> bool:
    """A real floating-point array: numpy's float16 to float64, and ml_dtypes' bfloat16
    (which numpy does not count as np.floating). The oracles evaluate these in float64."""
    dtype = np.asarray(a).dtype
    return bool(np.issubdtype(dtype, np.floating) or dtype.name == "bfloat16")


@dataclass
class OracleResult:
    value: object  # array, or tuple of arrays (one per wrt argument)
    error_estimate: float  # the oracle's own relative error estimate (nan if none)
    method: str
    warning: str = ""


def _status_warning(status) -> str:
    status = np.asarray(status)
    if np.any(status == -3):
        return "finite differences met a non-finite value (a step left the domain?)"
    return ""


STEP_RETRIES = 4


def _differentiate(call, x0, step: float, limit=None):
    """Run a scipy.differentiate call at initial steps scaled to the inputs.

    Each coordinate's first step is ``step · clip(|x|, 0.1, 1)``, so a step taken near
    a domain edge (ln x at x = 0.05) stays on its side, and at most ``limit`` (per
    coordinate: the width of the stretch that the kink examination found free of kinks,
    where one lies nearby); where a difference still met a non-finite value, the steps
    are divided by 4 and the call retried. numpy's floating-point warnings are silenced
    here: scipy reports non-finite values itself.
    """
    steps = step * np.clip(np.abs(x0), 0.1, 1.0)
    if limit is not None:
        steps = np.minimum(steps, np.broadcast_to(np.asarray(limit, dtype=np.float64), np.shape(steps)))
    for _ in range(STEP_RETRIES):
        with np.errstate(all="ignore"):
            res = call(steps)
        if not np.any(np.asarray(res.status) == -3):
            break
        steps = steps / 4
    return res, steps


ROUNDING_FACTOR = 4.0
"""scipy's error estimate is the change between its last two iterates, which can be 0 on
a plateau where rounding, not truncation, limits the difference (f ≈ 1 with f' ≈ 4e-8:
sigmoid at x = 17). The estimate used here is at least the rounding floor of the last
step h: ROUNDING_FACTOR · ε · |f| / h for first derivatives (the order-8 stencil's
weights sum to about 2 in absolute value); for second derivatives (fd_hessian_flat), at
least ROUNDING_FACTOR · ε · max|f| / (a b) at the steps of their best extrapolation."""


def _last_step(steps, nit):
    """The step of scipy.differentiate's last iteration: halved nit times."""
    return np.asarray(steps, dtype=np.float64) / 2.0 ** np.asarray(nit, dtype=np.float64)


BATCH_ENTRIES = 1 << 22
"""A batched evaluation of f holds at most about this many numbers (32 MB in float64) in
its inputs and outputs; more columns are split into several calls."""

BATCH_AGREEMENT = 1e-8
"""The batched evaluation is used only where its value at a first point agrees with a
plain call to this (relative to max|f|): a different function (a batch that mixes its
rows) differs by O(1); rounding differs by far less, but by more than ε where f cancels
(LayerNorm of inputs near 1e6: 1e-10), and such noise, in the plain calls as in the
batch, shows in the differences' own error estimate."""


def _batch_agrees(row, plain) -> bool:
    """Whether a batched evaluation's value at a point agrees with a plain call there
    (``BATCH_AGREEMENT``)."""
    row, plain = np.asarray(row, dtype=np.float64).reshape(-1), np.asarray(plain, dtype=np.float64).reshape(-1)
    scale = max(float(np.max(np.abs(plain), initial=0.0)), np.finfo(np.float64).tiny)
    return row.shape == plain.shape and bool(np.allclose(row, plain, rtol=0.0, atol=BATCH_AGREEMENT * scale, equal_nan=True))


class _ValueScale:
    """g at the points of the differences, each x0 moved along one coordinate, recording
    max |g| per coordinate, shaped out + (m,): the size of the values whose rounding the
    differences divide by h. g(x0) alone can be far smaller than its neighbours (x³ sin x
    at x = 2e-43 is 2e-171; at x + 0.005 it is 6e-10). Recorded as the differences go, so
    it costs no call of g of its own; and g(x0), which the stencil of every coordinate
    asks for, is computed once.

    ``batch``: points (K, m) -> values (K, *out) in one call (a framework-native function,
    vectorised by its framework's vmap: verify/frameworks), or None: one call per point.
    A batch that raises, or disagrees with a plain call at its first point, is dropped for
    the plain calls."""

    def __init__(self, g, x0, f0, batch=None, contract=None):
        self.g, self.x0, self.batch = g, x0, batch
        self.u = None if contract is None else np.asarray(contract, dtype=np.float64).reshape(-1)
        f0 = np.asarray(f0, dtype=np.float64)
        if self.u is None:
            self.f0, self.size0 = f0, np.abs(f0)
        else:
            (self.f0,), (self.size0,) = self._reduce(f0.reshape(1, -1))
        self.trusted = False
        self.reset()

    def _reduce(self, values):
        """(what the differences take, the size of its terms) of rows of g's values: the
        values themselves, or with ``contract`` u, uᵀg (a vjp's differences: one number per
        point, not a Jacobian's m) and Σ|u ⊙ g|, whose rounding the sum carries."""
        if self.u is None:
            return values, np.abs(values)
        return values @ self.u, np.abs(values) @ np.abs(self.u)

    def reset(self):
        self.scale = np.reshape(self.size0, np.shape(self.f0) + (1,)) * np.ones(self.x0.size)

    def along(self, values):
        """g at x0 with coordinate j set to values[j, k], for every j and k: (out size, m, ...)."""
        m = self.x0.size
        grid = values.reshape(m, -1)
        out = np.empty((self.f0.size,) + grid.shape)
        centre = grid == self.x0[:, None]  # the stencil's centre: known
        out[:, centre] = self.f0.reshape(-1, 1)
        js, ks = np.nonzero(~centre)
        if self.batch is not None and js.size > 1:
            try:
                self._batched(grid, js, ks, out)
                return out.reshape((self.f0.size,) + values.shape)
            except Exception:  # not vectorisable (value-dependent control flow, randomness, ...)
                self.batch = None
        for j, k in zip(js, ks):
            point = self.x0.copy()
            point[j] = grid[j, k]
            value = np.asarray(self.g(point), dtype=np.float64)
            if self.u is not None:
                (value,), (size,) = self._reduce(value.reshape(1, -1))
            else:
                size = np.abs(value)
            self._record(j, size)
            out[:, j, k] = np.reshape(value, -1)
        return out.reshape((self.f0.size,) + values.shape)

    def _record(self, j, size):
        if np.ndim(size) == 0:
            size = float(size)
            if size > self.scale[j] and size != np.inf:
                self.scale[j] = size
        else:
            column = self.scale[..., j]
            np.fmax(column, size, out=column, where=np.isfinite(size))

    def _batched(self, grid, js, ks, out):
        m, size = self.x0.size, self.f0.size
        chunk = max(1, BATCH_ENTRIES // max(m + size, 1))
        with np.errstate(all="ignore"):
            for start in range(0, js.size, chunk):
                rows_j, rows_k = js[start:start + chunk], ks[start:start + chunk]
                points = np.repeat(self.x0[None, :], rows_j.size, axis=0)
                points[np.arange(rows_j.size), rows_j] = grid[rows_j, rows_k]
                values = np.asarray(self.batch(points), dtype=np.float64).reshape(rows_j.size, -1)
                if not self.trusted:
                    if not _batch_agrees(values[0], self.g(points[0])):
                        raise ValueError("the batched evaluation disagrees with a plain call")
                    self.trusted = True
                values, sizes = self._reduce(values)
                if values.ndim == 1:
                    values, sizes = values[:, None], sizes[:, None]
                if values.shape[1] != size:
                    raise ValueError("the batched result has another shape")
                finite = np.where(np.isfinite(sizes), sizes, 0.0)
                np.maximum.at(self.scale.reshape(-1, m).T, rows_j, finite)
                out[:, rows_j, rows_k] = values.T


CONVERGED = 1e-11
"""The differences stop when every entry's error estimate is below scipy's own criterion
(√ε relative to the entry) or below this times the largest entry of the block. scipy's
absolute tolerance alone (the smallest normal number) never stops an entry that is 0
(its iterates differ by rounding), and such entries, common in a Jacobian, ran every
column to the 10th iteration: 27 calls of f per column where 11 do. The checks judge
relative to the largest entry (verify/tolerances.py), 1e-7 for finite differences, so an
estimate 1e-11 of it neither changes a verdict nor widens a tolerance."""

ROUNDING_LIMITED = 4.0
"""The differences also stop when every entry's error estimate is within this factor of
the rounding floor at the current step: smaller steps would only add rounding (the
gradient of a sum of 1000 terms at n = 1000 stops there; it ran to the 10th iteration)."""


def _rounding(recorded, steps, nit):
    """The rounding error of the differences at their last step h: ROUNDING_FACTOR · ε ·
    (the size of the values differenced) / h."""
    return ROUNDING_FACTOR * np.finfo(np.float64).eps * recorded.scale / _last_step(steps, np.reshape(nit, recorded.scale.shape))


def _jacobian(recorded, x0, steps, direction, offset=None):
    """scipy.differentiate.jacobian (the same stencil, steps and result) through
    scipy.differentiate.derivative: to stop by ``CONVERGED`` (a callback, which jacobian
    does not take), and to hand the points to f one coordinate at a time (``_ValueScale``)
    instead of building scipy's m × m array of them. ``offset``: g(x0), where the
    differences are taken of g − g(x0)."""

    def wrapped(values):  # values[j, ...]: the abscissae along coordinate j
        out = recorded.along(values)
        return out if offset is None else out - offset.reshape((-1,) + (1,) * values.ndim)

    def converged(res):
        df, error = np.abs(np.asarray(res.df)), np.asarray(res.error)
        if not np.all(np.isfinite(error)):
            return
        scale = float(np.max(df, initial=0.0))
        # converged, or as far as rounding lets smaller steps go (each halving doubles it)
        enough = np.maximum(np.sqrt(np.finfo(np.float64).eps) * df, CONVERGED * scale)
        if np.all((error <= enough) | (error <= ROUNDING_LIMITED * _rounding(recorded, steps, np.asarray(res.nit)).reshape(error.shape))):
            raise StopIteration

    res = sd.derivative(wrapped, x0, initial_step=steps, step_direction=direction, preserve_shape=True, callback=converged)
    del res.x
    return res


def fd_jacobian_flat(g, x0, step: float, limit=None, side=None, batch=None, contract=None):
    """Jacobian of g at the flat point x0 (m,), shaped g(x0).shape + (m,), with the
    elementwise error estimate and a warning if differences met a non-finite value.
    ``limit``: the largest first step per coordinate (``_differentiate``); ``side``: per
    coordinate 0 (central differences), +1 or −1 (one-sided, away from a kink nearby);
    ``batch``: g on many points in one call (``_ValueScale``), or None; ``contract``: a
    cotangent u shaped like g's values, for the gradient of uᵀg (shaped (m,)) instead."""
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    recorded = _ValueScale(g, x0, np.asarray(g(x0), dtype=np.float64), batch, contract)
    g0 = recorded.f0
    out_shape = np.shape(g0)
    limit = None if limit is None else np.asarray(limit, dtype=np.float64).reshape(-1)
    # small first steps (a kink nearby): difference g − g(x0), so that the outputs that do
    # not depend on a coordinate give exact zeros instead of rounding of order ε·|g|/step
    offset = None if limit is None else np.asarray(g0)
    direction = 0 if side is None else np.asarray(side, dtype=np.int64).reshape(-1)

    def call(steps):
        recorded.reset()  # a retry at smaller steps: the values of this try alone
        return _jacobian(recorded, x0, steps, direction, offset)

    res, steps = _differentiate(call, x0, step, limit=limit)
    df = np.asarray(res.df).reshape(out_shape + (x0.size,))
    err = np.asarray(res.error).reshape(out_shape + (x0.size,))
    steps = np.broadcast_to(steps, x0.shape)
    rounding = _rounding(recorded, steps, np.asarray(res.nit).reshape(out_shape + (x0.size,)))
    return df, np.maximum(err, rounding), _status_warning(res.status)


HESSIAN_LEVELS = 10
"""Step halvings of fd_hessian_flat at most: from the first step down to 2⁻⁹ of it."""

HESSIAN_SAFE = 2.0
"""fd_hessian_flat stops an entry once the newest extrapolation differs from the previous
level's by this many times the best error estimate so far: rounding has taken over."""


def fd_hessian_flat(f, x0, step: float):
    """The Hessian of a scalar f at the flat point x0 (n,), with the elementwise error
    estimate and a warning where differences met a non-finite value.

    Each entry by Ridders' method: the central second difference, [f(x + a eᵢ) − 2f(x) +
    f(x − a eᵢ)]/a² on the diagonal and [f(x + a eᵢ + b eⱼ) − f(x + a eᵢ − b eⱼ) − f(x − a eᵢ
    + b eⱼ) + f(x − a eᵢ − b eⱼ)]/(4ab) off it, at steps halved level by level, extrapolated
    in a Neville tableau (the truncation error is even in the steps: factors 4, 16, ...). The
    estimate of an extrapolant is its distance to the two it came from; the entry keeps its
    best and stops when that is converged (CONVERGED, as the first-order differences), when
    it is within ROUNDING_LIMITED of the rounding floor 4ε·max|f|/(ab) of its level, or when
    the newest extrapolation moves away (HESSIAN_SAFE). First steps: step · clip(|xᵢ|, 0.1,
    1) per coordinate, as the first-order differences; a level whose points leave f's
    domain (a non-finite value) is skipped before the first finite one and ends the entry
    after it. The diagonal comes first, so that the scale of the converged criterion is
    known when an off-diagonal entry is 0. 4 calls of f per pair of inputs and level, about
    5 levels each: 100–220 calls for n = 5 or 6, where scipy.differentiate.hessian's nested
    order-8 differences took 3000–26000 and, on log-sum-exp with one input at 13, an error
    of 18 % (its estimate said so, and the check could not see a wrong Hessian; checked by
    tests/test_cost.py)."""
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    n = x0.size
    h = step * np.clip(np.abs(x0), 0.1, 1.0)
    f0 = f(x0)
    size = [abs(f0) if np.isfinite(f0) else 0.0]  # max |f| met: the rounding floor's scale
    hess, error = np.full((n, n), np.nan), np.full((n, n), np.inf)
    scale = [0.0]
    cut_short = [False]  # an entry's levels ended by a non-finite value, or none was finite

    def F(point):
        value = f(point)
        if np.isfinite(value):
            size[0] = max(size[0], abs(value))
        return value

    def quotient(i, j, level):
        a, b = h[i] / 2.0**level, h[j] / 2.0**level
        if i == j:
            e = np.zeros(n)
            e[i] = a
            return (F(x0 + e) - 2 * f0 + F(x0 - e)) / a**2, a * a
        ei, ej = np.zeros(n), np.zeros(n)
        ei[i], ej[j] = a, b
        return (F(x0 + ei + ej) - F(x0 + ei - ej) - F(x0 - ei + ej) + F(x0 - ei - ej)) / (4 * a * b), a * b

    def entry(i, j):
        best, err, floor = np.nan, np.inf, np.inf
        previous = None
        for level in range(HESSIAN_LEVELS):
            d, area = quotient(i, j, level)
            if not np.isfinite(d):
                if previous is None:
                    continue  # the first steps leave the domain: start smaller
                cut_short[0] = True
                break
            rounding = ROUNDING_FACTOR * np.finfo(np.float64).eps * size[0] / area
            row = [d]
            for k in range(1, len(previous) + 1 if previous is not None else 1):
                factor = 4.0**k
                row.append((factor * row[k - 1] - previous[k - 1]) / (factor - 1))
                estimate = max(abs(row[k] - row[k - 1]), abs(row[k] - previous[k - 1]))
                if estimate <= err:
                    best, err, floor = row[k], estimate, rounding
            if previous is not None:
                scale[0] = max(scale[0], abs(best))
                if abs(row[-1] - previous[-1]) >= HESSIAN_SAFE * err:
                    break
                enough = max(np.sqrt(np.finfo(np.float64).eps) * abs(best), CONVERGED * scale[0])
                if err <= enough or err <= ROUNDING_LIMITED * rounding:
                    break
            previous = row
        if not np.isfinite(best):
            cut_short[0] = True
        return best, max(err, floor)

    for i in range(n):
        hess[i, i], error[i, i] = entry(i, i)
    for i in range(n):
        for j in range(i + 1, n):
            hess[i, j], error[i, j] = entry(i, j)
            hess[j, i], error[j, i] = hess[i, j], error[i, j]
    warn = "finite differences met a non-finite value (a step left the domain?)" if cut_short[0] or not np.isfinite(f0) else ""
    return hess, error, warn


def _relative(estimate, value) -> float:
    scale = max(float(np.max(np.abs(value))) if np.size(value) else 0.0, np.finfo(np.float64).tiny)
    return float(np.max(estimate) / scale) if np.size(estimate) else 0.0


def _replace(args, indices, values):
    args = list(args)
    for i, v in zip(indices, values):
        args[i] = v
    return tuple(args)


def finite_difference(kind: str, function, args: tuple, wrt: tuple, probe, step: float, near=None) -> OracleResult:
    """The finite-difference reference for a kind, from the numpy primal alone.

    ``near``: an ``Examination`` (``examine_kinks``) or None. Along an input coordinate (or
    the tangent) with a kink nearby, the differences go one-sided away from it, or where
    both sides are close, start within the stretch found free of kinks, instead of
    straddling it."""
    limits, sides = (None, None) if near is None or near.limits is None else (near.limits, near.sides)
    args = tuple(np.asarray(a, dtype=np.float64) if is_real_float(a) else a for a in args)
    if kind == "jvp":
        tangents = probe

        def along(s):
            return function(*_replace(args, wrt, [args[i] + s[0] * t for i, t in zip(wrt, tangents)]))

        df, err, warn = fd_jacobian_flat(along, np.zeros(1), step, None if limits is None else limits[0], None if sides is None else sides[0])
        value = df[..., 0]
        return OracleResult(value, _relative(err, value), "scipy.differentiate.jacobian along the tangent", warn)
    if kind == "hvp":
        return hvp_by_differences(function, args, wrt[0], probe)
    if kind == "hessian":
        (i,) = wrt
        shape = args[i].shape

        def scalar(flat):
            return float(function(*_replace(args, wrt, [flat.reshape(shape)])))

        with np.errstate(all="ignore"):
            hess, err, warn = fd_hessian_flat(scalar, args[i], step)
        value = hess.reshape(shape + shape)
        return OracleResult(value, _relative(err, value), "central second differences, Richardson-extrapolated (Ridders)", warn)
    blocks, estimates, warnings = [], [], []
    for position, i in enumerate(wrt):
        shape = args[i].shape

        def g(flat, i=i, shape=shape):
            return function(*_replace(args, (i,), [flat.reshape(shape)]))

        batch = None
        if getattr(function, "batched", None) is not None:  # a framework-native f: vmap over the points

            def batch(points, i=i, shape=shape):
                return function.batched(i, points.reshape((points.shape[0],) + shape), args)

        df, err, warn = fd_jacobian_flat(g, args[i], step, None if limits is None else limits[position],
                                         None if sides is None else sides[position], batch, probe if kind == "vjp" else None)
        out_shape = df.shape[:-1]
        blocks.append(df.reshape(out_shape + shape))
        estimates.append(_relative(err, df))
        warnings.append(warn)
    method = "scipy.differentiate.jacobian" + (" of uᵀf, u the cotangent" if kind == "vjp" else "")
    return OracleResult(tuple(blocks), max(estimates), method, next((w for w in warnings if w), ""))


HVP_STEP = 0.003
"""Steps of the HVP differences, relative to rms(x) (and to rms(x)/rms(v) along v)."""


def _richardson(g, h):
    """(4 D(h/2) − D(h)) / 3, D the central difference of g: R -> array at 0: O(h⁴), 4 calls;
    and |that − D(h/2)|, its error estimate."""
    d = [(np.asarray(g(s), dtype=np.float64) - np.asarray(g(-s), dtype=np.float64)) / (2 * s) for s in (h, h / 2)]
    best = (4 * d[1] - d[0]) / 3
    return best, np.abs(best - d[1])


def hvp_by_differences(function, args: tuple, i: int, vector) -> OracleResult:
    """H v without the Hessian: the gradient of φ(x) = D_v f(x), both by Richardson-extrapolated
    central differences (16 evaluations of f per coordinate of x, against n² stencils for
    the whole Hessian). (H v)_j = ∂_j (vᵀ∇f) = ∂²f/∂x_j∂v, f twice differentiable.
    The estimate is the outer extrapolation's change |R − D(h/2)|, relative to max|H v|: it
    holds the O(h²) truncation of the outer difference and φ's rounding divided by the step."""
    x = np.asarray(args[i], dtype=np.float64)
    v = np.asarray(vector, dtype=np.float64).reshape(x.shape)
    x_scale = max(float(np.sqrt(np.mean(x**2))), 1e-3)
    h_v = HVP_STEP * x_scale / max(float(np.sqrt(np.mean(v**2))), np.finfo(np.float64).tiny)
    h_x = HVP_STEP * x_scale

    def phi(point):
        return float(_richardson(lambda s: function(*_replace(args, (i,), [point + s * v])), h_v)[0])

    flat = x.reshape(-1)
    out, outer = np.empty(flat.size), np.empty(flat.size)
    with np.errstate(all="ignore"):
        for j in range(flat.size):
            def along(s, j=j):
                moved = flat.copy()
                moved[j] += s
                return phi(moved.reshape(x.shape))

            out[j], outer[j] = _richardson(along, h_x)
    scale = max(float(np.max(np.abs(out))), np.finfo(np.float64).tiny)
    estimate = float(np.max(outer)) / scale
    warning = "" if np.all(np.isfinite(out)) else "finite differences met a non-finite value (a step left the domain?)"
    return OracleResult(out.reshape(x.shape), estimate, "gradient of the directional difference D_v f, both Richardson-extrapolated "
                        "central differences (no Hessian built)", warning)


def _complex_step_size(values) -> float:
    """h = 1e-20 · clip(max|x|, 1e-150, 1). The method's error is h² f‴/6: for x far below
    1e-20 (x³ sin x at x = 6e-194, whose f' underflows) a fixed h would exceed f'."""
    scale = float(np.max(np.abs(values))) if np.size(values) else 1.0
    return COMPLEX_STEP * min(1.0, max(scale, 1e-150))


def complex_step(kind: str, function, args: tuple, wrt: tuple, probe) -> OracleResult:
    """The complex-step reference, first-order kinds of holomorphic primals only."""
    args = tuple(np.asarray(a, dtype=np.float64) if is_real_float(a) else a for a in args)
    if kind == "jvp":
        h = _complex_step_size(np.concatenate([np.ravel(args[i]) for i in wrt]))
        shifted = [args[i] + 1j * h * np.asarray(t) for i, t in zip(wrt, probe)]
        value = np.imag(np.asarray(function(*_replace(args, wrt, shifted)))) / h
        return OracleResult(value, float("nan"), "complex step along the tangent")
    blocks = []
    for i in wrt:
        x = args[i]
        columns = []
        for j in range(x.size):
            h = _complex_step_size(x.reshape(-1)[j])
            direction = np.zeros(x.size, dtype=np.complex128)
            direction[j] = 1j * h
            shifted = x.astype(np.complex128) + direction.reshape(x.shape)
            columns.append(np.imag(np.asarray(function(*_replace(args, (i,), [shifted])))) / h)
        stacked = np.stack(columns, axis=-1)
        blocks.append(stacked.reshape(stacked.shape[:-1] + x.shape))
    jac = tuple(blocks)
    method = "complex step, one column per input"
    if kind == "vjp":
        from .linalg import contract_vjp

        jac = contract_vjp(np.asarray(probe, dtype=np.float64), jac)
        method += ", contracted with the cotangent"
    return OracleResult(jac, float("nan"), method)


# --------------------------------------------------------------------------------------
# Kinks: one-sided derivatives that disagree mean f is not differentiable at the input
# --------------------------------------------------------------------------------------

KINK_STEP = 1e-3  # step of the one-sided quotients (absolute: curvature need not scale with |x|)
KINK_TOLERANCE = 1e-4
"""Relative disagreement of the left and right quotients that marks a kink. The second-
order one-sided quotients share their leading error term (h²/3)f''', so on a smooth f
they differ by O(h³) ≈ 1e-9 relative; at a kink (|x| or ReLU at 0) they differ by O(1)."""

KINK_SHRINK = 8.0
KINK_LEVELS = 5
"""Where the quotients at step h disagree, the step is divided by KINK_SHRINK up to
KINK_LEVELS times (h/8 … h/8⁵ = 3e-8 at h = 1e-3). A kink AT the point keeps its jump at
every step; a kink at a distance d from it stops showing once 2s < d; a jump of f''
(a Huber loss near its threshold: f is C¹ there) shows a gap that shrinks like s."""

RESOLVED_TOLERANCE = 1e-8
"""One-sided quotients at step s that agree within this (relative to the largest
quotient), or within 4 times their rounding, see no kink within ±2s: on linear and
quadratic pieces (ReLU, max, Huber) they agree to rounding, on curved ones to O(s³)."""


def _kink_step(size: float) -> float:
    """KINK_STEP, or larger where x is so large that x + h would lose h's digits."""
    return max(KINK_STEP, 1e-8 * size)


def _one_sided(g, h, f0=None):
    """Second-order one-sided quotients of g: R -> array at 0: (left, right, rounding,
    central), rounding being the size of the quotients' rounding error and central the
    Richardson extrapolation of the central differences at steps h and 2h (error O(h⁴))."""
    f0 = np.asarray(g(0.0), dtype=np.float64) if f0 is None else f0
    fp1, fp2, fm1, fm2 = (np.asarray(g(s), dtype=np.float64) for s in (h, 2 * h, -h, -2 * h))
    right = (-3 * f0 + 4 * fp1 - fp2) / (2 * h)
    left = (3 * f0 - 4 * fm1 + fm2) / (2 * h)
    central = (4 * (fp1 - fm1) / (2 * h) - (fp2 - fm2) / (4 * h)) / 3
    size = max(float(np.max(np.abs(v))) if np.size(v) else 0.0 for v in (f0, fp1, fp2, fm1, fm2))
    return left, right, 64 * np.finfo(np.float64).eps * size / h, central


def _gap(left, right) -> float:
    return float(np.max(np.abs(right - left))) if np.size(left) else 0.0


@dataclass
class Resolved:
    """What shrinking the step found, row by row (a row: one output of f along one direction).

    ``kinked``: the quotients still disagree at the smallest step (a kink at the point, to
    within twice that step); ``free``: the half-width of a neighbourhood found free of kinks
    (inf for rows that were not examined, the smallest step for rows whose gap shrank
    without vanishing, 0 for kinked rows); ``central``: the Richardson central difference at
    the step that resolved the row (nan elsewhere); ``step``: the smallest step taken."""

    kinked: np.ndarray
    free: np.ndarray
    central: np.ndarray
    step: float


def shrink_steps(quotients, h: float, flagged, scale) -> Resolved:
    """Tell a kink at the point from one nearby, for the ``flagged`` rows whose one-sided
    quotients at step h disagree: divide the step by KINK_SHRINK up to KINK_LEVELS times
    (``quotients(s)`` returns ``_one_sided``'s (left, right, rounding, central)). A row
    whose quotients agree at some step s (within RESOLVED_TOLERANCE · scale, or 4 times
    their rounding) has no kink within ±2s; one still apart by KINK_TOLERANCE · scale at
    the smallest step is kinked. Costs 4 evaluations per step, only where a row is flagged."""
    flagged = np.asarray(flagged, dtype=bool)
    active = flagged.copy()
    free = np.where(flagged, 0.0, np.inf)
    central = np.full(flagged.shape, np.nan)
    s, gap = h, None
    for _ in range(KINK_LEVELS):
        if not np.any(active):
            break
        s /= KINK_SHRINK
        left, right, rounding, mid = quotients(s)
        gap = np.abs(np.asarray(right) - np.asarray(left))
        if not np.all(np.isfinite(gap)):  # a step left the domain: keep what is known
            gap = None
            break
        resolved = active & (gap <= np.maximum(4 * rounding, RESOLVED_TOLERANCE * scale))
        free = np.where(resolved, 2 * s, free)
        central = np.where(resolved, mid, central)
        active &= ~resolved
    if gap is None:
        return Resolved(active, free, central, s)
    kinked = active & (gap > KINK_TOLERANCE * scale)
    free = np.where(active & ~kinked, s, free)  # a gap that shrank without vanishing (C¹: a jump of f'')
    return Resolved(kinked, free, central, s)


SUBGRADIENT_TOLERANCE = 1e-5
"""How far outside [min(left, right), max(left, right)] a hand-coded value at a kink may
lie, relative to the largest one-sided quotient: the second-order one-sided quotients are
exact on linear and quadratic pieces (ReLU, |x|, max, Huber) and carry an O(h²) ≈ 1e-6
error on curved ones."""


@dataclass
class Kink:
    """Where f is not differentiable at the input, as intervals shaped like the reference.

    ``lower``/``upper``: per wrt argument (one array for a jvp), the smaller and larger of
    the left and right one-sided derivatives of each reference entry (for a vjp, the range
    of Σᵢ uᵢ Jᵢⱼ over Jacobian entries anywhere in their intervals); ``kinked``: the entries
    whose one-sided derivatives differ; ``summary``: the largest jump, in one line."""

    lower: object
    upper: object
    kinked: object
    summary: str
    left: float = 0.0
    right: float = 0.0
    where: str = ""  # along which input, with the steps


@dataclass
class Examination:
    """The kink examination of f at the input: ``kink`` (None if f is differentiable there)
    and ``limits``, the largest first step of the finite differences per input coordinate
    (one array per wrt argument, shaped like it; for a jvp one number along the tangent),
    inf where no kink was seen nearby, or None when no coordinate needs one."""

    kink: Kink | None
    limits: tuple | None = None
    sides: tuple | None = None  # shaped as limits: 0 central, +1 or −1 one-sided, away from the kink nearby
    near: int = 0  # directions with a kink near, not at, the input (resolved by smaller steps)


SIDE_TOLERANCE = 1e-5
"""A side of the first step h is clear of the kink nearby when its one-sided quotient
lies within this (relative to the largest quotient) of the derivative found at the smaller
step, and 1000 times closer than the other side's: the one-sided quotients' own error is
O(h²) ≈ 1e-6 on curved pieces, 0 on linear ones."""


def _clear_steps(h: float, left, right, resolved: Resolved, clear, scale: float) -> tuple[float, int]:
    """(largest first step, side) of the finite differences along a direction with a kink
    near, not at, the input. Where one side's quotients at step h (points up to 2h away)
    agree with the derivative found at the smaller step and the other side's do not, the
    kink lies on the other side: one-sided differences within 2h of the input, away from
    it (no step shrinks to the kink's distance, so rounding stays that of step h). Else
    central differences within the stretch that the smaller step found free of kinks."""
    limit = float(np.min(resolved.free[clear]))
    known = clear & np.isfinite(resolved.central)
    if resolved.kinked.any() or not np.array_equal(known, clear):
        return limit, 0
    off_left = float(np.max(np.abs(left - resolved.central)[known]))
    off_right = float(np.max(np.abs(right - resolved.central)[known]))
    if off_right <= SIDE_TOLERANCE * scale and off_right <= 1e-3 * off_left:
        return 2 * h, 1
    if off_left <= SIDE_TOLERANCE * scale and off_left <= 1e-3 * off_right:
        return 2 * h, -1
    return limit, 0


def kink(kind: str, function, args: tuple, wrt: tuple, probe) -> str:
    """'' if f looks differentiable at args, else a one-line reason naming where it is not."""
    found = kink_intervals(kind, function, args, wrt, probe)
    return "" if found is None else f"f is not differentiable at this input: {found.summary}"


def kink_intervals(kind: str, function, args: tuple, wrt: tuple, probe) -> Kink | None:
    """None if f looks differentiable at args, else the one-sided intervals (a ``Kink``)."""
    return examine_kinks(kind, function, args, wrt, probe).kink


def kink_suspected(kind: str, function, args: tuple, wrt: tuple, probe) -> bool:
    """Whether f may have a kink at or near args: the one-sided quotients along one random
    direction of the wrt arguments (the tangent for a jvp) disagree. 4 calls of f, where
    ``examine_kinks`` takes 4 per coordinate: a kink in any coordinate (|x| at 0, a max's
    tie) shows along almost every direction, its jump a fraction |dⱼ| of its size; a
    non-finite value or an error counts as a suspicion (the full examination decides)."""
    if kind in ("hessian", "hvp"):
        return False
    try:
        args = tuple(np.asarray(a, dtype=np.float64) if is_real_float(a) else a for a in args)
        size = max(float(np.max(np.abs(args[i]))) if args[i].size else 0.0 for i in wrt)
        if kind == "jvp":
            directions = [np.asarray(t, dtype=np.float64) for t in probe]
        else:
            rng = np.random.default_rng(0)
            directions = [rng.standard_normal(args[i].shape) for i in wrt]

        def along(s):
            return function(*_replace(args, wrt, [args[i] + s * d for i, d in zip(wrt, directions)]))

        with np.errstate(all="ignore"):
            left, right, rounding, _ = _one_sided(along, _kink_step(size))
        if not (np.all(np.isfinite(left)) and np.all(np.isfinite(right))):
            return True
        scale = max(float(np.max(np.abs(left))) if left.size else 0.0, float(np.max(np.abs(right))) if right.size else 0.0,
                    np.finfo(np.float64).tiny)
        return _gap(left, right) > max(KINK_TOLERANCE * scale, rounding)
    except Exception:
        return True


def _batched_quotients(function, args: tuple, wrt: tuple, directions, f0) -> dict:
    """``_one_sided`` along every input coordinate at once, {(position, j): (left, right,
    rounding, None)}, from one batched evaluation of f per wrt argument (4 points per
    coordinate), or {} where f has none, it fails, or it disagrees with a plain call."""
    batched = getattr(function, "batched", None)
    if batched is None:
        return {}
    found = {}
    try:
        for position, i in enumerate(wrt):
            mine = [(column[1], h) for _, _, h, column in directions if column[0] == position]
            if not mine:
                continue
            x0 = args[i].reshape(-1)
            if 4 * len(mine) * (x0.size + np.size(f0)) > BATCH_ENTRIES:  # too large for one batch: one call per point
                return {}
            js = np.array([j for j, _ in mine])
            hs = np.array([h for _, h in mine])
            offsets = np.stack([hs, 2 * hs, -hs, -2 * hs])  # (4, n): fp1, fp2, fm1, fm2
            points = np.repeat(x0[None, :], 4 * js.size, axis=0)
            rows = np.arange(4 * js.size)
            points[rows, np.tile(js, 4)] += offsets.reshape(-1)
            values = np.asarray(batched(i, points.reshape((-1,) + args[i].shape), args), dtype=np.float64)
            plain = np.asarray(function(*_replace(args, (i,), [points[0].reshape(args[i].shape)])), dtype=np.float64)
            if values.shape[1:] != plain.shape or not _batch_agrees(values[0], plain):
                return {}
            fp1, fp2, fm1, fm2 = values.reshape((4, js.size) + plain.shape)
            for k, (j, h) in enumerate(mine):
                size = max(float(np.max(np.abs(v), initial=0.0)) for v in (f0, fp1[k], fp2[k], fm1[k], fm2[k]))
                right = (-3 * f0 + 4 * fp1[k] - fp2[k]) / (2 * h)
                left = (3 * f0 - 4 * fm1[k] + fm2[k]) / (2 * h)
                found[(position, j)] = (left, right, 64 * np.finfo(np.float64).eps * size / h, None)
    except Exception:
        return {}
    return found


def examine_kinks(kind: str, function, args: tuple, wrt: tuple, probe) -> Examination:
    """Kinks of f at args, and the finite-difference steps that keep clear of kinks nearby.

    Compares left and right quotients along the tangent (jvp) or along each input
    coordinate of each wrt argument (4 evaluations per coordinate, and f once). Where they
    disagree, ``shrink_steps`` divides the step until they agree (a kink near the input:
    f is differentiable here, and the finite differences along that coordinate start
    within the neighbourhood found free of it) or down to the smallest step (a kink at the
    input: the one-sided intervals at the first step judge the hand-coded value there).
    Second-order kinds are not examined. A step that leaves the domain (an error or a
    non-finite value) is not a kink: the examination is then skipped.
    """
    if kind in ("hessian", "hvp"):
        return Examination(None)
    args = tuple(np.asarray(a, dtype=np.float64) if is_real_float(a) else a for a in args)
    directions = []  # (label, f along the direction, step, (wrt position, coordinate))
    if kind == "jvp":
        size = max(float(np.max(np.abs(args[i]))) for i in wrt)
        tangents = [np.asarray(t, dtype=np.float64) for t in probe]

        def along(s):
            return function(*_replace(args, wrt, [args[i] + s * t for i, t in zip(wrt, tangents)]))

        directions.append(("along the tangent", along, _kink_step(size), None))
    else:
        for position, i in enumerate(wrt):
            for j in range(args[i].size):
                where = f"input {j}" if args[i].ndim <= 1 else f"input {tuple(int(k) for k in np.unravel_index(j, args[i].shape))}"
                label = f"along {where}" + (f" of argument {i}" if len(wrt) > 1 else "")

                def along(s, i=i, j=j):
                    moved = args[i].copy()
                    moved.reshape(-1)[j] += s
                    return function(*_replace(args, (i,), [moved]))

                directions.append((label, along, _kink_step(abs(float(args[i].reshape(-1)[j]))), (position, j)))
    quotients, limits, sides, near = [], [], [], 0
    try:
        with np.errstate(all="ignore"):
            f0 = np.asarray(function(*args), dtype=np.float64)
            batched = _batched_quotients(function, args, wrt, directions, f0) if kind != "jvp" else {}
            for label, g, h, column in directions:
                left, right, rounding, _ = batched[column] if column in batched else _one_sided(g, h, f0)
                if not (np.all(np.isfinite(left)) and np.all(np.isfinite(right))):
                    return Examination(None)
                quotients.append((label, g, h, left, right, rounding, column))
            scale = max([float(np.max(np.abs(q))) for *_, l, r, _, _ in quotients for q in (l, r) if np.size(q)] + [np.finfo(np.float64).tiny])
            masks, worst = [], None
            for label, g, h, left, right, rounding, column in quotients:
                jump = np.abs(right - left)
                mask = jump > max(KINK_TOLERANCE * scale, rounding)
                limit, side = np.inf, 0
                if np.any(mask):
                    # at the point, or near it? Asked only here, where the first step saw a gap
                    resolved = shrink_steps(lambda s, g=g: _one_sided(g, s, f0), h, mask, scale)
                    clear = mask & ~resolved.kinked
                    if np.any(clear):
                        near += 1
                        limit, side = _clear_steps(h, left, right, resolved, clear, scale)
                    mask = resolved.kinked
                limits.append(limit)
                sides.append(side)
                masks.append(mask)
                if np.any(mask):
                    k = int(np.argmax(np.where(mask, jump, -1.0)))
                    if worst is None or np.ravel(jump)[k] > worst[0]:
                        worst = (float(np.ravel(jump)[k]), float(np.ravel(left)[k]), float(np.ravel(right)[k]), label, h, resolved.step)
    except Exception:
        return Examination(None)
    def per_argument(values):
        if kind == "jvp":
            return (np.asarray(values[0]),)
        return tuple(np.asarray([v for v, q in zip(values, quotients) if q[6][0] == position]).reshape(args[i].shape)
                     for position, i in enumerate(wrt))

    step_limits, step_sides = (per_argument(limits), per_argument(sides)) if near else (None, None)
    if worst is None:
        return Examination(None, step_limits, step_sides, near)
    _, left_k, right_k, label, h, smallest = worst
    where = f"{label} (one-sided quotients, steps {h:.0e} down to {smallest:.0e})"
    summary = f"one-sided derivatives differ (left {left_k:.6g}, right {right_k:.6g}) {where}"
    if kind == "jvp":
        (_, _, _, left, right, _, _), mask = quotients[0], masks[0]
        return Examination(Kink(np.minimum(left, right), np.maximum(left, right), mask, summary, left_k, right_k, where), step_limits, step_sides, near)
    lower, upper, kinked = [], [], []
    for position, i in enumerate(wrt):
        shape = args[i].shape
        columns = [(q, m) for q, m in zip(quotients, masks) if q[6][0] == position]
        left = np.stack([np.asarray(q[3]) for q, _ in columns], axis=-1)
        right = np.stack([np.asarray(q[4]) for q, _ in columns], axis=-1)
        mask = np.stack([np.asarray(m) for _, m in columns], axis=-1)
        if kind == "vjp":
            u = np.asarray(probe, dtype=np.float64)[..., None]
            ul, ur = u * left, u * right
            reduce = tuple(range(ul.ndim - 1))
            lo, hi = np.sum(np.minimum(ul, ur), axis=reduce), np.sum(np.maximum(ul, ur), axis=reduce)
            mask = np.any(mask, axis=reduce)
            lower.append(lo.reshape(shape)), upper.append(hi.reshape(shape)), kinked.append(mask.reshape(shape))
        else:
            out_shape = left.shape[:-1]
            lower.append(np.minimum(left, right).reshape(out_shape + shape))
            upper.append(np.maximum(left, right).reshape(out_shape + shape))
            kinked.append(mask.reshape(out_shape + shape))
    return Examination(Kink(tuple(lower), tuple(upper), tuple(kinked), summary, left_k, right_k, where), step_limits, step_sides, near)
