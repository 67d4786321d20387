"""The pictures of chapter 03's notebook: each widget callback is a plain function here.

Every callback returns a ``matplotlib.figure.Figure`` built with the object API (no
pyplot, no global state), and every number a picture shows comes from a pure function
beside it, so that tests/test_interactive_03.py can call them across the sliders' range:

- ``direction_angle``: a unit direction v(θ) at a point of the level curves, and
  D_v f = ∇f·v traced against θ: the cosine ‖∇f‖ cos(θ − θ_∇), largest along ∇f;
- ``level_curve_tangent``: the level curve through a chosen point, its tangent line and
  the gradient perpendicular to it; the curve leaves its tangent at second order;
- ``armijo_backtracking``: φ(t) = f(x + t d), its tangent, the sufficient-decrease line
  f(x) + c t D_d f, the acceptable steps shaded, and backtracking's trial steps.

The derivatives are the project's hand-coded ones (implementations/), checked by
``python -m verify 03_directional_derivatives``.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the notebook runs in this folder; the code lives at the root
    sys.path.insert(0, str(ROOT))

from implementations import directional as dd  # noqa: E402
from implementations import multivariable as mv  # noqa: E402
from implementations.single_variable import softplus  # noqa: E402

# --------------------------------------------------------------------------------------
# The running example: a logistic regression with two weights (as in figures.py)
# --------------------------------------------------------------------------------------

_DATA = np.random.default_rng(20260101)
X = _DATA.standard_normal((40, 2)) * np.array([1.0, 0.6])
Y = (X @ np.array([1.5, -2.0]) + 0.8 * _DATA.standard_normal(40) > 0).astype(float)

W0_RANGE = (-3.0, 5.0)  # the window every picture of the loss shows
W1_RANGE = (-4.0, 2.0)  # (the loss's minimizer, near (6.2, -7.9), lies outside: grad f != 0 here)


def loss(w) -> float:
    """The logistic-regression loss L(w) = mean(softplus(Xw) − y·Xw) of the running example."""
    return float(mv.logistic_loss(np.asarray(w, dtype=np.float64), X, Y))


def gradient(w) -> np.ndarray:
    """∇L(w) = Xᵀ(σ(Xw) − y)/n, the project's hand-coded gradient."""
    return mv.logistic_loss_gradient(np.asarray(w, dtype=np.float64), X, Y)


def hessian(w) -> np.ndarray:
    """∇²L(w) = Xᵀ diag(σ(1 − σ)) X / n, the project's hand-coded Hessian."""
    return mv.logistic_loss_hessian(np.asarray(w, dtype=np.float64), X, Y)


@functools.lru_cache(maxsize=4)
def loss_grid(n: int = 121):
    """(w₀, w₁, L) on an n×n grid over the window, vectorized over the grid (computed once)."""
    w0, w1 = np.meshgrid(np.linspace(*W0_RANGE, n), np.linspace(*W1_RANGE, n))
    z = X[:, 0, None, None] * w0 + X[:, 1, None, None] * w1
    return w0, w1, np.mean(softplus(z) - Y[:, None, None] * z, axis=0)


def _contours(ax, levels=12, labels=True):
    w0, w1, values = loss_grid()
    contours = ax.contour(w0, w1, values, levels=levels, colors="0.6", linewidths=0.8)
    if labels:
        ax.clabel(contours, fontsize=7, fmt="%.2f")
    ax.set_xlim(*W0_RANGE)
    ax.set_ylim(*W1_RANGE)
    ax.set_aspect("equal")
    ax.set_xlabel("w₀")
    ax.set_ylabel("w₁")
    return contours


def _arrow(ax, point, direction, color, lw, length=1.4):
    """An arrow from the point along the unit direction, shortened to end inside the window
    (matplotlib hides an annotation whose head falls outside the axes)."""
    room = [length]
    for i, (lo, hi) in enumerate((W0_RANGE, W1_RANGE)):
        if direction[i] > 1e-12:
            room.append((hi - point[i]) / direction[i])
        elif direction[i] < -1e-12:
            room.append((lo - point[i]) / direction[i])
    tip = point + 0.97 * max(min(room), 0.0) * np.asarray(direction)
    ax.annotate("", xy=tip, xytext=point, arrowprops=dict(arrowstyle="-|>", color=color, lw=lw))


# --------------------------------------------------------------------------------------
# 1. The direction-angle slider: D_v f = ∇f·v = ‖∇f‖ cos(θ − θ_∇)
# --------------------------------------------------------------------------------------


def unit_vector(theta: float) -> np.ndarray:
    """v(θ) = (cos θ, sin θ), θ in radians."""
    return np.array([np.cos(theta), np.sin(theta)])


def gradient_angle(point) -> float:
    """θ_∇: the angle of ∇f(point), in radians in (−π, π]."""
    g = gradient(point)
    return float(np.arctan2(g[1], g[0]))


def directional_derivative_curve(point, thetas) -> np.ndarray:
    """D_{v(θ)} f(point) = ∇f·v(θ) for every θ, by the project's ``directional_derivative``."""
    return np.array([dd.directional_derivative(gradient, point, unit_vector(t)) for t in np.atleast_1d(thetas)])


def cosine_law(point, thetas) -> np.ndarray:
    """‖∇f‖ cos(θ − θ_∇): what steepest_ascent.md says the traced curve is."""
    return np.linalg.norm(gradient(point)) * np.cos(np.atleast_1d(thetas) - gradient_angle(point))


def direction_angle(angle: float = 30.0, w0: float = -1.5, w1: float = 0.5) -> Figure:
    """Left: v(θ) and ∇f/‖∇f‖ at the point; right: D_v f against θ, marker at the current θ.

    ``angle`` is θ in degrees; (w0, w1) is the point.
    """
    point = np.array([w0, w1])
    theta = np.deg2rad(angle)
    g = gradient(point)
    norm, theta_g = np.linalg.norm(g), gradient_angle(point)
    fig = Figure(figsize=(10.0, 4.8), dpi=100, layout="constrained")
    left, right = fig.subplots(1, 2)
    _contours(left)
    v = unit_vector(theta)
    _arrow(left, point, v, "tab:red", 2.0)
    _arrow(left, point, g / norm, "black", 1.5)
    left.plot(*point, "ko", ms=4)
    left.plot([], [], color="tab:red", lw=2, label=f"v(θ), θ = {angle:.0f}°")
    left.plot([], [], color="black", lw=1.5, label=f"∇f/‖∇f‖, θ_∇ = {np.rad2deg(theta_g):.0f}°")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)  # outside: hides no contour
    left.set_title("A unit direction at a point of the loss", fontsize=10)

    degrees = np.linspace(-180.0, 180.0, 361)
    traced = directional_derivative_curve(point, np.deg2rad(degrees))
    (curve,) = right.plot(degrees, traced, color="tab:blue", lw=1.8, label="D_v f = ∇f·v(θ)")
    curve.set_gid("directional-derivative")
    current = dd.directional_derivative(gradient, point, v)
    (marker,) = right.plot([angle], [current], "o", color="tab:red", ms=7, label=f"current θ: D_v f = {current:+.3f}")
    marker.set_gid("current")
    best = np.rad2deg(theta_g)
    (peak,) = right.plot([best], [norm], "k^", ms=7, label=f"max ‖∇f‖ = {norm:.3f} at θ_∇")
    peak.set_gid("maximum")
    right.axhline(0.0, color="0.5", lw=0.8)
    right.axhline(norm, color="0.5", lw=0.8, ls=":")
    right.axhline(-norm, color="0.5", lw=0.8, ls=":")
    right.set_xlim(-180, 180)
    right.set_ylim(-1.25 * norm, 1.6 * norm)
    right.set_xticks(np.arange(-180, 181, 60))
    right.set_xlabel("θ (degrees)")
    right.set_ylabel("D_v f(x)")
    right.set_title("D_v f = ‖∇f‖ cos(θ − θ_∇)", fontsize=10)
    right.legend(loc="upper center", fontsize=8, ncol=2, framealpha=0.9)
    right.grid(True, alpha=0.3)
    return fig


# --------------------------------------------------------------------------------------
# 2. The level curve through a point, its tangent, and the gradient ⟂ to it
# --------------------------------------------------------------------------------------


def level_tangent(point) -> np.ndarray:
    """The unit tangent of the level curve at the point: ``level_set_tangent_basis``'s row."""
    (tangent,) = dd.level_set_tangent_basis(gradient(point))
    return tangent


def level_curve_offsets(point, steps) -> np.ndarray:
    """For each s, the r with f(p + s t + r n) = f(p), n = ∇f/‖∇f‖: the level curve seen
    from its tangent line. Newton's method along the normal, continued outwards from s = 0
    (each solve starts from the neighbouring r); NaN where the normal line through p + s t
    does not meet the level curve (Newton does not converge), so the picture leaves a gap."""
    point = np.asarray(point, dtype=np.float64)
    steps = np.atleast_1d(np.asarray(steps, dtype=np.float64))
    g = gradient(point)
    normal, tangent, level = g / np.linalg.norm(g), level_tangent(point), loss(point)
    offsets = np.full(steps.shape, np.nan)
    for side in (steps >= 0, steps < 0):
        r = 0.0
        for i in sorted(np.flatnonzero(side), key=lambda i: abs(steps[i])):
            for _ in range(50):
                p = point + steps[i] * tangent + r * normal
                update = (loss(p) - level) / float(gradient(p) @ normal)
                r -= update
                if abs(update) < 1e-15:
                    break
            if not abs(loss(point + steps[i] * tangent + r * normal) - level) <= 1e-13:
                break  # lost the curve: leave this s and every larger one NaN
            offsets[i] = r
    return offsets


def level_curve_curvature_offset(point, steps) -> np.ndarray:
    """The second-order prediction r(s) ≈ −s² tᵀ∇²f t / (2‖∇f‖) of ``level_curve_offsets``."""
    t = level_tangent(point)
    return -np.asarray(steps) ** 2 * float(t @ hessian(point) @ t) / (2 * np.linalg.norm(gradient(point)))


def level_curve_tangent(w0: float = 3.0, w1: float = 0.6, span: float = 1.5) -> Figure:
    """Left: the contour through (w0, w1), its tangent and ∇f; right: the curve's offset from
    the tangent line against s, which is O(s²)."""
    point = np.array([w0, w1])
    g = gradient(point)
    norm = np.linalg.norm(g)
    tangent, normal = level_tangent(point), g / norm
    fig = Figure(figsize=(10.0, 4.8), dpi=100, layout="constrained")
    left, right = fig.subplots(1, 2)
    _contours(left, labels=False)
    w0g, w1g, values = loss_grid()
    level = loss(point)
    through = left.contour(w0g, w1g, values, levels=[level], colors="tab:blue", linewidths=2.0)
    left.clabel(through, fontsize=8, fmt=f"f = {level:.3f}")
    ends = np.c_[point - span * tangent, point + span * tangent]
    (line,) = left.plot(*ends, "--", color="tab:orange", lw=1.6, label="tangent line: ∇f·t = 0")
    line.set_gid("tangent")
    _arrow(left, point, normal, "black", 1.5, length=1.2)
    size = 0.18  # the right-angle mark between t and ∇f
    corner = np.array([point + size * tangent, point + size * (tangent + normal), point + size * normal])
    left.plot(corner[:, 0], corner[:, 1], color="black", lw=0.8)
    left.plot(*point, "ko", ms=4)
    left.plot([], [], color="tab:blue", lw=2, label="the level curve f = f(x)")
    left.plot([], [], color="black", lw=1.5, label="∇f/‖∇f‖ (perpendicular)")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)  # outside: hides no contour
    left.set_title(f"Level curve through x = ({w0:.2f}, {w1:.2f})", fontsize=10)

    steps = np.linspace(-span, span, 61)
    offsets = level_curve_offsets(point, steps)
    (traced,) = right.plot(steps, offsets, color="tab:blue", lw=1.8, label="the level curve: offset r(s)")
    traced.set_gid("offset")
    right.plot(steps, level_curve_curvature_offset(point, steps), "k:", lw=1.4, label="−s² tᵀ∇²f t / (2‖∇f‖)")
    right.axhline(0.0, color="tab:orange", ls="--", lw=1.6, label="the tangent line (r = 0)")
    right.set_xlabel("s, distance along the tangent")
    right.set_ylabel("r, offset along ∇f/‖∇f‖")
    right.set_title("The curve leaves its tangent at second order", fontsize=10)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    right.grid(True, alpha=0.3)
    return fig


# --------------------------------------------------------------------------------------
# 3. The Armijo condition and backtracking, on the 2-D Rosenbrock function
# --------------------------------------------------------------------------------------

ARMIJO_POINT = np.array([0.0, -0.1])
ARMIJO_DIRECTION = np.array([1.0, 1.1]) / np.hypot(1.0, 1.1)
"""A descent direction (D_d f = −16.1) whose ray crosses Rosenbrock's curved valley twice, so
that φ dips, climbs above f(x), and dips again: the acceptable steps form two intervals."""


def rosenbrock_2d(points) -> np.ndarray:
    """100(x₁ − x₀²)² + (1 − x₀)² for points stacked on the last axis: ``mv.rosenbrock`` at
    n = 2, vectorized over many points (a test checks that the two agree)."""
    points = np.asarray(points, dtype=np.float64)
    a, b = points[..., 0], points[..., 1]
    return 100 * (b - a**2) ** 2 + (1 - a) ** 2


def phi(t, point=ARMIJO_POINT, direction=ARMIJO_DIRECTION) -> np.ndarray:
    """φ(t) = f(x + t d) for the 2-D Rosenbrock function, for every t given."""
    return rosenbrock_2d(np.asarray(point) + np.atleast_1d(t)[:, None] * np.asarray(direction))


def armijo_slope(point=ARMIJO_POINT, direction=ARMIJO_DIRECTION) -> float:
    """φ′(0) = D_d f(x) = ∇f(x)·d, by the project's ``directional_derivative``."""
    return dd.directional_derivative(mv.rosenbrock_gradient, point, direction)


def armijo_line(t, c: float, point=ARMIJO_POINT, direction=ARMIJO_DIRECTION) -> np.ndarray:
    """The sufficient-decrease line f(x) + c t D_d f (c = 1: the tangent line)."""
    return float(mv.rosenbrock(point)) + c * np.asarray(t, dtype=np.float64) * armijo_slope(point, direction)


def _bisect(function, lo: float, hi: float) -> float:
    """A root of ``function`` in [lo, hi], where it changes sign, to the last bit of t."""
    f_lo = function(lo)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        f_mid = function(mid)
        if (f_mid <= 0) == (f_lo <= 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def acceptable_intervals(c: float, t_max: float, point=ARMIJO_POINT, direction=ARMIJO_DIRECTION) -> list[tuple[float, float]]:
    """The steps t in (0, t_max] with φ(t) ≤ f(x) + c t D_d f, as closed intervals whose
    inner ends are roots of φ(t) − line(t) (bracketed on a grid, refined by bisection)."""
    gap = lambda t: float(phi(t, point, direction)[0] - armijo_line(t, c, point, direction))
    grid = np.linspace(0.0, t_max, 2001)[1:]
    inside = phi(grid, point, direction) - armijo_line(grid, c, point, direction) <= 0
    intervals, start = [], (0.0 if inside[0] else None)  # φ − line < 0 just right of 0: D_d f < 0
    for i in range(1, grid.size):
        if inside[i] != inside[i - 1]:
            root = _bisect(gap, grid[i - 1], grid[i])
            if inside[i]:
                start = root
            else:
                intervals.append((start, root))
                start = None
    if start is not None:
        intervals.append((start, t_max))
    return intervals


def backtracking_trials(c: float, rho: float, t0: float, point=ARMIJO_POINT, direction=ARMIJO_DIRECTION):
    """The trial steps t₀, ρt₀, … of the project's ``backtracking_line_search``, whether each
    satisfies Armijo, and the search's result; the last trial is the step it accepted."""
    result = dd.backtracking_line_search(mv.rosenbrock, mv.rosenbrock_gradient, point, direction,
                                         initial_step=t0, shrink=rho, c=c)
    steps = [t0]
    for _ in range(result.evaluations - 1):  # the search's own arithmetic: step *= shrink
        steps.append(steps[-1] * rho)
    steps = np.array(steps)
    f_x, slope = float(mv.rosenbrock(point)), armijo_slope(point, direction)
    satisfied = np.array([dd.armijo_condition(float(phi(t, point, direction)[0]), f_x, t, slope, c) for t in steps])
    return steps, satisfied, result


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def trial_label(k: int) -> str:
    """t₀, ρt₀, ρ²t₀, …"""
    return "t₀" if k == 0 else ("ρt₀" if k == 1 else f"ρ{str(k).translate(_SUPERSCRIPTS)}t₀")


def armijo_backtracking(c: float = 0.05, rho: float = 0.5, t0: float = 2.0, contours: bool = True) -> Figure:
    """φ(t), its tangent, the Armijo line, the acceptable t shaded, the trial steps marked;
    with ``contours``, a left panel shows the ray x + t d over Rosenbrock's level curves."""
    point, direction = ARMIJO_POINT, ARMIJO_DIRECTION
    steps, satisfied, result = backtracking_trials(c, rho, t0)
    t_max = max(2.0, 1.05 * t0)
    ts = np.linspace(0.0, t_max, 600)
    values = phi(ts)
    f_x, slope = float(mv.rosenbrock(point)), armijo_slope()
    fig = Figure(figsize=(11.0, 5.4) if contours else (8.0, 5.4), dpi=100, layout="constrained")
    if contours:
        left, ax = fig.subplots(1, 2, width_ratios=[1, 1.9])
        a, b = np.meshgrid(np.linspace(-0.6, 1.6, 221), np.linspace(-0.4, 1.8, 221))
        surface = rosenbrock_2d(np.stack([a, b], axis=-1))
        lines = left.contour(a, b, surface, levels=[0.25, 1, 2, 4, 8, 16, 32, 64], colors="0.6", linewidths=0.8)
        left.clabel(lines, fontsize=7, fmt="%g")
        ray = point + np.linspace(0, t_max, 50)[:, None] * direction
        left.plot(ray[:, 0], ray[:, 1], color="tab:blue", lw=1.5, label="x + t d")
        for t, ok in zip(steps, satisfied):
            q = point + t * direction
            left.plot(*q, "o" if ok else "X", color="tab:green" if ok else "tab:red", ms=7, mec="black", mew=0.6)
        left.plot(*point, "ko", ms=4, label="x")
        left.set_xlim(-0.6, 1.6)
        left.set_ylim(-0.4, 1.8)
        left.set_aspect("equal")
        left.set_xlabel("x₀")
        left.set_ylabel("x₁")
        left.set_title("Rosenbrock's level curves and the ray", fontsize=10)
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    else:
        ax = fig.subplots()
    for k, (lo, hi) in enumerate(acceptable_intervals(c, t_max)):
        span = ax.axvspan(lo, hi, color="tab:green", alpha=0.15, lw=0, label="acceptable: φ(t) ≤ f(x) + c t D_d f" if k == 0 else None)
        span.set_gid(f"acceptable-{k}")
    ax.plot(ts, values, color="tab:blue", lw=2.0, label="φ(t) = f(x + t d)")
    ax.plot(ts, f_x + slope * ts, ":", color="0.3", lw=1.3, label=f"tangent f(x) + t D_d f, D_d f = {slope:.1f}")
    ax.plot(ts, armijo_line(ts, c), "--", color="tab:green", lw=1.6, label=f"Armijo line f(x) + c t D_d f, c = {c:g}")
    top = 1.3 * max(f_x, float(values[ts <= 1.6].max()))
    for k, (t, ok) in enumerate(zip(steps, satisfied)):
        value = float(phi(t)[0])
        shown = min(value, 0.96 * top)  # a trial above the frame sits on its top edge, its value written
        ax.plot([t], [shown], "o" if ok else "X", color="tab:green" if ok else "tab:red", ms=8, mec="black", mew=0.6,
                zorder=5, gid=f"trial-{k}")
        text = trial_label(k) if shown == value else f"{trial_label(k)}: φ = {value:.3g} ↑"
        ax.annotate(text, (t, shown), textcoords="offset points", xytext=(5, 5) if shown == value else (-8, -14),
                    fontsize=8, ha="left" if shown == value else "right")
    ax.plot([], [], "X", color="tab:red", mec="black", ms=8, label="rejected trial step")
    ax.plot([], [], "o", color="tab:green", mec="black", ms=8, label=f"accepted t = {result.step:.3g} ({result.evaluations} trials)")
    ax.set_xlim(0.0, t_max)
    ax.set_ylim(-0.3, top)
    ax.set_xlabel("t, the step along d")
    ax.set_ylabel("φ(t) = f(x + t d)")
    ax.set_title(f"Armijo backtracking: ρ = {rho:g}, t₀ = {t0:g}", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, ncol=2, frameon=False)  # below: covers no trial
    ax.grid(True, alpha=0.3)
    return fig
