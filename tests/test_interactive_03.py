"""Chapter 03's notebook pictures show what the chapter claims, across the sliders' range.

derivations/03_directional_derivatives/interactive.py holds the widget callbacks; each test
calls a callback at several slider positions, reads the numbers off the picture (the
artists tagged with a gid) and off the pure functions beside it, and checks the
mathematical fact the picture shows. Each check also rejects a planted wrong variant.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PATH = ROOT / "derivations" / "03_directional_derivatives" / "interactive.py"


def _load():
    spec = importlib.util.spec_from_file_location("interactive_03", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


I = _load()


def _artist(fig, gid):
    found = [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist tagged {gid!r}, found {len(found)}"
    return found[0]


def _artists(fig, prefix):
    return sorted((a for ax in fig.axes for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)),
                  key=lambda a: a.get_gid())


# --------------------------------------------------------------------------------------
# 1. D_v f against the direction angle
# --------------------------------------------------------------------------------------

POINTS = [(-1.5, 0.5), (3.0, 0.6), (-2.5, -3.5), (4.5, 1.0), (-2.5, 1.0), (4.5, -3.5)]  # defaults, slider corners
ANGLES = [-180.0, -95.0, 0.0, 30.0, 135.0, 180.0]  # across the angle slider


def _cosine_gap(point, degrees, traced):
    """max |traced − ‖∇f‖cos(θ − θ_∇)| / ‖∇f‖, with ∇f the project's gradient."""
    g = I.gradient(point)
    expected = np.linalg.norm(g) * np.cos(np.deg2rad(degrees) - np.arctan2(g[1], g[0]))
    return float(np.max(np.abs(traced - expected)) / np.linalg.norm(g))


@pytest.mark.parametrize("point, angle", list(zip(POINTS, ANGLES[::-1])))
def test_traced_curve_is_the_cosine_with_its_maximum_along_the_gradient(point, angle):
    fig = I.direction_angle(angle, *point)
    curve = _artist(fig, "directional-derivative")
    degrees, traced = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
    assert degrees.min() == -180 and degrees.max() == 180
    assert _cosine_gap(point, degrees, traced) < 1e-12
    # its maximum is at θ_∇, where it equals ‖∇f‖ (the grid is 1° apart)
    g = I.gradient(point)
    theta_g = np.rad2deg(np.arctan2(g[1], g[0]))
    assert abs((degrees[np.argmax(traced)] - theta_g + 180) % 360 - 180) <= 0.5 + 1e-9
    peak = _artist(fig, "maximum")
    assert peak.get_xdata()[0] == pytest.approx(theta_g, abs=1e-12)
    assert peak.get_ydata()[0] == pytest.approx(np.linalg.norm(g), rel=1e-14)
    assert np.max(traced) <= np.linalg.norm(g) * (1 + 1e-12)  # Cauchy–Schwarz


@pytest.mark.parametrize("angle", ANGLES)
def test_marker_sits_at_the_current_angle_on_the_curve(angle):
    point = POINTS[0]
    fig = I.direction_angle(angle, *point)
    marker = _artist(fig, "current")
    v = np.array([np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))])
    assert marker.get_xdata()[0] == angle
    assert marker.get_ydata()[0] == pytest.approx(float(I.gradient(point) @ v), rel=1e-13, abs=1e-15)


def test_cosine_check_rejects_a_wrong_trace():
    point = np.array(POINTS[0])
    degrees = np.linspace(-180, 180, 361)
    thetas = np.deg2rad(degrees)
    good = I.directional_derivative_curve(point, thetas)
    assert _cosine_gap(point, degrees, good) < 1e-12
    assert np.allclose(good, I.cosine_law(point, thetas), rtol=0, atol=1e-13)
    swapped = np.array([I.gradient(point)[::-1] @ I.unit_vector(t) for t in thetas])  # ∂f/∂w₀ and ∂f/∂w₁ swapped
    assert _cosine_gap(point, degrees, swapped) > 0.1
    sine = np.linalg.norm(I.gradient(point)) * np.sin(thetas - I.gradient_angle(point))  # peak 90° off
    assert _cosine_gap(point, degrees, sine) > 0.5


# --------------------------------------------------------------------------------------
# 2. The level curve, its tangent, and ∇f ⟂ tangent
# --------------------------------------------------------------------------------------


def _order(steps, values) -> float:
    return float(np.polyfit(np.log(steps), np.log(np.abs(values)), 1)[0])


def _tangency(point, tangent):
    """(|t·∇f|/‖∇f‖, fitted order of f(x + s t) − f(x) in s): 0 and 2 for a true tangent."""
    g = I.gradient(point)
    steps = np.logspace(-1.5, -3.5, 9)
    change = [I.loss(point + s * tangent) - I.loss(point) for s in steps]
    return abs(float(tangent @ g)) / np.linalg.norm(g), _order(steps, change)


@pytest.mark.parametrize("point", POINTS)
def test_level_curve_picture(point):
    """The drawn tangent is ⟂ ∇f and touches at second order; the traced level curve stays on
    the level and leaves the tangent line at second order, as the curvature predicts."""
    point = np.array(point)
    fig = I.level_curve_tangent(*point)
    line = _artist(fig, "tangent")
    xs, ys = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    drawn = np.array([xs[1] - xs[0], ys[1] - ys[0]])
    drawn /= np.linalg.norm(drawn)
    assert np.allclose([xs.mean(), ys.mean()], point, atol=1e-12)  # the line is centred on x
    perpendicular, order = _tangency(point, drawn)
    assert perpendicular < 1e-12
    assert order > 1.9

    traced = _artist(fig, "offset")
    steps, offsets = np.asarray(traced.get_xdata()), np.asarray(traced.get_ydata())
    g = I.gradient(point)
    normal, tangent = g / np.linalg.norm(g), I.level_tangent(point)
    traced_part = np.isfinite(offsets)
    assert np.all(traced_part[np.abs(steps) <= 0.5])  # the curve is traced at least for |s| ≤ 0.5
    on_level = [abs(I.loss(point + s * tangent + r * normal) - I.loss(point)) for s, r in zip(steps[traced_part], offsets[traced_part])]
    assert max(on_level) < 1e-12
    small = np.logspace(-1.5, -3.5, 9)
    r = I.level_curve_offsets(point, small)
    assert _order(small, r) > 1.9  # O(s²): the level curve is tangent to the line
    prediction = I.level_curve_curvature_offset(point, small)
    assert np.max(np.abs(r / prediction - 1)) < 0.05  # r ≈ −s² tᵀ∇²f t / (2‖∇f‖)


def test_tangency_check_rejects_a_tilted_tangent():
    point = np.array(POINTS[1])
    tangent = I.level_tangent(point)
    tilt = np.deg2rad(10.0)
    tilted = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]]) @ tangent
    perpendicular, order = _tangency(point, tilted)
    assert perpendicular > 0.15 and order < 1.2
    # the tangent line itself (offset r = 0) is not the level curve: the on-level check sees it
    steps = np.linspace(-1.5, 1.5, 61)
    assert max(abs(I.loss(point + s * tangent) - I.loss(point)) for s in steps) > 1e-3


# --------------------------------------------------------------------------------------
# 3. The Armijo condition and backtracking
# --------------------------------------------------------------------------------------

SETTINGS = [(0.05, 0.5, 2.0), (1e-4, 0.5, 3.0), (0.3, 0.3, 1.0), (0.9, 0.8, 2.5), (0.01, 0.1, 0.1)]


def _armijo(t, c):
    return I.phi(t)[0] <= I.armijo_line(t, c)[()]


def _backtracking_is_right(c, rho, t0, steps):
    """t_k = t₀ρᵏ; every trial but the last fails Armijo; the last satisfies it."""
    return (np.allclose(steps, t0 * rho ** np.arange(len(steps)), rtol=1e-13)
            and _armijo(steps[-1], c) and not any(_armijo(t, c) for t in steps[:-1]))


@pytest.mark.parametrize("c, rho, t0", SETTINGS)
def test_armijo_picture(c, rho, t0):
    """The accepted step satisfies Armijo and the previous trial does not; the shading is exact."""
    steps, satisfied, result = I.backtracking_trials(c, rho, t0)
    assert result.satisfied and result.step == steps[-1]
    assert _backtracking_is_right(c, rho, t0, steps)
    assert list(satisfied) == [False] * (len(steps) - 1) + [True]
    fig = I.armijo_backtracking(c, rho, t0)
    markers = _artists(fig, "trial-")
    assert len(markers) == len(steps)
    assert np.array_equal([m.get_xdata()[0] for m in sorted(markers, key=lambda m: int(m.get_gid()[6:]))], steps)
    assert [m.get_marker() for m in sorted(markers, key=lambda m: int(m.get_gid()[6:]))] == ["X"] * (len(steps) - 1) + ["o"]

    # the shaded set is exactly where φ(t) ≤ f(x) + c t D_d f
    spans = _artists(fig, "acceptable-")
    t_max = fig.axes[-1].get_xlim()[1]
    shaded = [(s.get_x(), s.get_x() + s.get_width()) for s in spans]
    assert shaded and np.allclose(shaded, I.acceptable_intervals(c, t_max), rtol=0, atol=1e-12)
    assert _shading_matches(c, t_max, shaded)
    for lo, hi in shaded:  # inner ends are where φ meets the line
        for end in (lo, hi):
            if 0 < end < t_max:
                assert abs(I.phi(end)[0] - I.armijo_line(end, c)) < 1e-9


def test_backtracking_check_rejects_a_search_that_accepts_the_first_step():
    c, rho, t0 = 0.05, 0.5, 2.0
    assert not _backtracking_is_right(c, rho, t0, np.array([t0]))  # t₀ unchecked: φ(2) = 18.6 fails
    assert not _backtracking_is_right(c, rho, t0, t0 * rho ** np.arange(5))  # one shrink too many


def _shading_matches(c, t_max, shaded, margin=1e-7):
    """At 2000 random t (those within margin of an interval's end left out): shaded ⇔ Armijo."""
    ts = np.random.default_rng(3).uniform(0, t_max, 2000)
    ends = np.array([end for span in shaded for end in span])
    if ends.size:
        ts = ts[np.min(np.abs(ts[:, None] - ends[None, :]), axis=1) > margin]
    in_shade = np.array([any(lo <= t <= hi for lo, hi in shaded) for t in ts])
    return bool(np.array_equal(in_shade, I.phi(ts) <= I.armijo_line(ts, c)))


def test_vectorized_rosenbrock_is_the_projects():
    from implementations.multivariable import rosenbrock

    points = np.random.default_rng(4).uniform(-2, 2, (50, 2))
    assert np.allclose(I.rosenbrock_2d(points), [rosenbrock(p) for p in points], rtol=1e-15, atol=0)


def test_shading_check_rejects_the_tangent_line_and_a_missing_interval():
    c, t_max = 0.05, 2.1
    intervals = I.acceptable_intervals(c, t_max)
    assert len(intervals) == 2  # the slice dips twice below the Armijo line at the default c
    assert not _shading_matches(c, t_max, intervals[:1])  # only the first interval
    assert not _shading_matches(c, t_max, I.acceptable_intervals(1.0, t_max))  # c = 1: below the tangent


def test_default_trial_labels():
    assert [I.trial_label(k) for k in range(4)] == ["t₀", "ρt₀", "ρ²t₀", "ρ³t₀"]
    assert I.trial_label(12) == "ρ¹²t₀"
