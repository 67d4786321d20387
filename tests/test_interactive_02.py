"""Chapter 02's notebook pictures show what they claim, across their sliders' ranges.

derivations/02_multivariable_derivatives/interactive.py is loaded by path (it is not a
package). Each test asserts a mathematical fact a picture shows, and where a wrong picture
is easy to build, a planted wrong variant is shown to be rejected by the same check.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
PATH = ROOT / "derivations" / "02_multivariable_derivatives" / "interactive.py"
_spec = importlib.util.spec_from_file_location("interactive_02", PATH)
ia = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ia)

mv = ia.mv


# --------------------------------------------------------------------------------------
# 1. Slices and the tangent plane
# --------------------------------------------------------------------------------------

SLIDER_POINTS = [(a, b) for a in np.linspace(-1.4, 1.4, 5) for b in np.linspace(-1.4, 1.4, 5)]


def slice_slope_errors(x0, x1, partials):
    """|slope of each slice at t = 0 − slope of its drawn tangent line|, the slices measured by central differences."""
    h = 1e-5
    measured = ((ia.surface(x0 + h, x1) - ia.surface(x0 - h, x1)) / (2 * h),
                (ia.surface(x0, x1 + h) - ia.surface(x0, x1 - h)) / (2 * h))
    return [abs(m - p) / max(1.0, abs(m)) for m, p in zip(measured, partials(x0, x1))]


@pytest.mark.parametrize("x0, x1", SLIDER_POINTS)
def test_tangent_lines_have_the_slices_slopes(x0, x1):
    errors = slice_slope_errors(x0, x1, ia.surface_partials)
    assert max(errors) < 1e-8
    t = np.array([-0.5, 0.0, 0.5])
    line0, line1 = ia.tangent_lines(x0, x1, t)
    p0, p1 = ia.surface_partials(x0, x1)
    np.testing.assert_allclose(np.diff(line0) / 0.5, p0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.diff(line1) / 0.5, p1, rtol=1e-12, atol=1e-12)
    _, along0, along1 = ia.slices(x0, x1, n=101)
    assert along0[50] == pytest.approx(float(ia.surface(x0, x1))) and along1[50] == pytest.approx(along0[50])


def test_planted_swapped_partials_are_rejected():
    swapped = lambda x0, x1: ia.surface_partials(x0, x1)[::-1]
    errors = slice_slope_errors(0.6, -0.4, swapped)
    assert max(errors) > 0.1


@pytest.mark.parametrize("x0, x1", SLIDER_POINTS[::4])
def test_tangent_plane_contains_both_lines_and_touches_to_second_order(x0, x1):
    t = np.linspace(-1, 1, 7)
    line0, line1 = ia.tangent_lines(x0, x1, t)
    np.testing.assert_allclose(ia.tangent_plane(x0, x1, t, 0 * t), line0, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(ia.tangent_plane(x0, x1, 0 * t, t), line1, rtol=1e-13, atol=1e-13)
    direction = np.array([0.6, -0.8])
    gaps = [abs(float(ia.surface(x0 + r * direction[0], x1 + r * direction[1])) - ia.tangent_plane(x0, x1, *(r * direction)))
            for r in (1e-2, 5e-3)]
    assert gaps[1] < 0.3 * gaps[0] + 1e-12  # O(r²): halving r divides the gap by about 4


def test_partial_slices_figure_builds_across_the_sliders():
    for x0, x1 in [(-1.4, -1.4), (1.4, 1.4)]:
        assert isinstance(ia.partial_slices_figure(x0, x1), Figure)


# --------------------------------------------------------------------------------------
# 2. The gradient field: arrows perpendicular to the contours, pointing uphill
# --------------------------------------------------------------------------------------


def contour_tangent(f, point, radius=1e-5):
    """A unit tangent of the level curve of f through ``point``, found from values of f alone.

    The level curve crosses the small circle of ``radius`` around the point where
    f(point + radius·(cos φ, sin φ)) − f(point) changes sign; bisection finds that φ.
    """
    level = f(point)
    on_circle = lambda phi: f(point + radius * np.array([np.cos(phi), np.sin(phi)])) - level
    phis = np.linspace(0.0, 2 * np.pi, 25)
    values = np.array([on_circle(phi) for phi in phis])
    k = int(np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:]))[0])
    low, high = phis[k], phis[k + 1]
    for _ in range(32):
        middle = 0.5 * (low + high)
        if np.sign(on_circle(middle)) == np.sign(values[k]):
            low = middle
        else:
            high = middle
    return np.array([np.cos(low), np.sin(low)])


def worst_cosine(name, directions):
    """max |cos| of the angle between each drawn arrow and the contour through its foot."""
    points, _, _ = ia.arrow_field(name)
    f = ia.FIELDS[name][0]
    tangents = np.array([contour_tangent(f, p) for p in points[::3]])  # every third arrow keeps the test fast
    return float(np.max(np.abs(np.sum(tangents * directions[::3], axis=1))))


@pytest.mark.parametrize("name", list(ia.FIELDS))
def test_arrows_are_perpendicular_to_the_contours(name):
    _, directions, _ = ia.arrow_field(name)
    assert worst_cosine(name, directions) < 1e-3


def test_planted_wrong_gradient_is_not_perpendicular():
    """Rosenbrock's ∂f/∂x₁ without its 200(x₁ − x₀²) term (for n = 2, all of it): the arrows go horizontal."""
    points, _, _ = ia.arrow_field("Rosenbrock")
    wrong = ia.gradient_at("Rosenbrock", points)
    wrong[:, 1] -= 200 * (points[:, 1] - points[:, 0] ** 2)
    keep = np.linalg.norm(wrong, axis=1) > 0
    directions = np.zeros_like(wrong)
    directions[keep] = wrong[keep] / np.linalg.norm(wrong[keep], axis=1)[:, None]
    assert worst_cosine("Rosenbrock", directions) > 0.5


@pytest.mark.parametrize("name", list(ia.FIELDS))
def test_arrows_point_uphill_and_are_unit(name):
    points, directions, norms = ia.arrow_field(name)
    f = ia.FIELDS[name][0]
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, rtol=1e-12)
    step = 1e-6
    rises = [(f(p + step * u) - f(p - step * u)) / (2 * step) for p, u in zip(points, directions)]
    np.testing.assert_allclose(rises, norms, rtol=1e-5, atol=1e-8)  # the rate of increase along the arrow is ‖∇f‖


# --------------------------------------------------------------------------------------
# 3. The polar cell: area ratio → det J = r
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("r", [0.2, 0.7, 1.5, 3.0])
@pytest.mark.parametrize("theta", [-3.0, 0.0, 0.6, 2.5])
def test_cell_area_ratio_tends_to_det_j(r, theta):
    ratios = [ia.cell_area_ratio(r, theta, d) for d in (0.4, 0.1, 0.02)]
    for d, ratio in zip((0.4, 0.1, 0.02), ratios):
        assert ratio == pytest.approx(r + d / 2, rel=1e-4)  # exact: ∫∫ ρ dρ dθ = d·((r + d)² − r²)/2
    assert abs(ratios[-1] - r) < abs(ratios[0] - r) / 10
    assert ia.parallelogram_area_ratio(r, theta, 0.3) == pytest.approx(abs(np.linalg.det(mv.polar_to_cartesian_jacobian(np.array([r, theta])))), rel=1e-12)
    assert ia.parallelogram_area_ratio(r, theta, 0.3) == pytest.approx(r, rel=1e-12)


def corner_gaps(r, theta, d, jacobian=mv.polar_to_cartesian_jacobian):
    """Distance between the image cell's corners and the parallelogram's: O(d²) for the right J."""
    image = ia.polar_cell_image(r, theta, d, n=2)  # with n = 2 each edge is its two corners
    corners = image[[0, 2, 4, 6]]
    return float(np.max(np.linalg.norm(corners - ia.polar_parallelogram(r, theta, d, jacobian), axis=1)))


@pytest.mark.parametrize("r, theta", [(0.5, 0.3), (1.5, 0.6), (2.8, -2.0)])
def test_parallelogram_is_the_first_order_image(r, theta):
    big, small = corner_gaps(r, theta, 0.1), corner_gaps(r, theta, 0.05)
    assert small < 0.3 * big  # O(d²)


def test_planted_wrong_polar_jacobians_are_rejected():
    transposed = lambda q: mv.polar_to_cartesian_jacobian(q).T  # same det, wrong map
    without_r = lambda q: np.array([[np.cos(q[1]), -np.sin(q[1])], [np.sin(q[1]), np.cos(q[1])]])  # det 1
    r, theta = 1.5, 0.6
    assert corner_gaps(r, theta, 0.05, transposed) > 0.3 * 0.05
    assert abs(ia.parallelogram_area_ratio(r, theta, 0.05, without_r) - ia.cell_area_ratio(r, theta, 0.05)) > 0.4


def test_polar_cell_figure_builds_across_the_sliders():
    for r, theta, d in [(0.2, -3.1, 0.02), (3.0, 3.1, 0.8)]:
        assert isinstance(ia.polar_cell_figure(r, theta, d), Figure)


# --------------------------------------------------------------------------------------
# 4. Hessian eigen-directions
# --------------------------------------------------------------------------------------


def eigen_defects(H, eigenvalues, eigenvectors):
    orthogonality = float(np.max(np.abs(eigenvectors.T @ eigenvectors - np.eye(2))))
    residual = float(np.max(np.abs(H @ eigenvectors - eigenvectors * eigenvalues)))
    return orthogonality, residual


@pytest.mark.parametrize("angle", [-90.0, -30.0, 0.0, 45.0, 90.0])
@pytest.mark.parametrize("lam1, lam2", [(1.0, 4.0), (0.25, 6.0), (3.0, -2.0), (5.0, 5.0), (2.0, 0.0)])
def test_eigenvectors_are_orthogonal_eigenpairs_and_curvatures(angle, lam1, lam2):
    H, lam, Q = ia.hessian_eigen(angle, lam1, lam2)
    orthogonality, residual = eigen_defects(H, lam, Q)
    assert orthogonality < 1e-12 and residual < 1e-12
    np.testing.assert_allclose(lam, sorted([lam1, lam2]), atol=1e-12)
    for i in range(2):
        assert ia.curvature_along(H, Q[:, i]) == pytest.approx(lam[i], abs=1e-5)


def test_planted_nonsymmetric_eigenvectors_are_rejected():
    """Eigenvectors of a non-symmetric A (the Hessian is its symmetric part) are not orthogonal."""
    A = ia.quadratic_matrix(30.0, 1.0, 4.0) + np.array([[0.0, 1.5], [0.0, 0.0]])
    lam, Q = np.linalg.eig(A)
    orthogonality, _ = eigen_defects(mv.quadratic_hessian(np.zeros(2), A, np.zeros(2)), lam, Q)
    assert orthogonality > 0.1


def test_gradient_field_figure_builds_for_every_function():
    for name in ia.FIELDS:
        assert isinstance(ia.gradient_field_figure(name), Figure)


def test_hessian_eigen_figure_builds_across_the_sliders():
    for args in [(-90.0, 0.25, -3.0), (90.0, 6.0, 6.0)]:
        assert isinstance(ia.hessian_eigen_figure(*args), Figure)


# --------------------------------------------------------------------------------------
# 5. Gradient descent: converges below 2/λmax, diverges above, exactly at the threshold
# --------------------------------------------------------------------------------------


def growth_along_top(scale, descent=ia.mv.gradient_descent, steps=400):
    """|error along q₂ (λmax)| after ``steps`` steps / at the start."""
    errors = ia.eigen_errors(ia.quadratic_descent_path(scale, steps, descent))
    return abs(errors[-1, 1]) / abs(errors[0, 1])


@pytest.mark.parametrize("scale", [0.05, 0.3, 0.6, 0.9, 0.99])
def test_descent_converges_below_the_threshold(scale):
    path = ia.quadratic_descent_path(scale, 400)
    assert np.linalg.norm(path[-1] - ia.QUAD_X_STAR) < 1e-3 * np.linalg.norm(path[0] - ia.QUAD_X_STAR)
    assert growth_along_top(scale) < 1e-3


@pytest.mark.parametrize("scale", [1.01, 1.05, 1.1, 1.2, 1.5])
def test_descent_diverges_above_the_threshold(scale):
    assert growth_along_top(scale) > 1e3


def test_exactly_at_the_threshold_the_top_mode_neither_grows_nor_shrinks():
    errors = ia.eigen_errors(ia.quadratic_descent_path(1.0, 60))[:, 1]
    np.testing.assert_allclose(np.abs(errors) / abs(errors[0]), 1.0, rtol=1e-9)
    assert np.all(np.sign(errors[1:]) == -np.sign(errors[:-1]))  # it flips sign each step: factor 1 − 2 = −1
    assert ia.contraction_factors(1.0)[1] == pytest.approx(1.0)


@pytest.mark.parametrize("scale", [0.3, 0.9, 1.1])
def test_each_eigen_error_scales_by_its_contraction_factor(scale):
    errors = ia.eigen_errors(ia.quadratic_descent_path(scale, 12))
    signed = 1.0 - scale * ia.QUAD_CRITICAL * ia.QUAD_LAMBDAS
    np.testing.assert_allclose(errors, errors[0] * signed ** np.arange(13)[:, None], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ia.contraction_factors(scale), np.abs(signed))


def test_planted_half_step_moves_the_threshold_and_is_rejected():
    half = lambda gradient, x0, eta, k: mv.gradient_descent(gradient, x0, eta / 2, k)
    assert growth_along_top(1.1, half) < 1e-3  # would "converge" above 2/λmax: the divergence test fails on it


def test_rosenbrock_descent_converges_below_the_local_threshold_and_not_above():
    near = np.array([1.0 + 1e-3, 1.0 - 2e-3])
    start_gap = np.linalg.norm(near - 1.0)
    for scale in (0.5, 0.9, 0.99):
        assert np.linalg.norm(ia.rosenbrock_descent_path(scale, 3000, near)[-1] - 1.0) < start_gap / 5
    for scale in (1.01, 1.1, 1.5):
        assert np.linalg.norm(ia.rosenbrock_descent_path(scale, 3000, near)[-1] - 1.0) > start_gap
    far = ia.rosenbrock_descent_path(0.9, 3000)
    assert mv.rosenbrock(far[-1]) < 1e-2 * mv.rosenbrock(far[0])


def test_descent_figures_build_across_the_sliders():
    for scale in (0.05, 1.5):
        assert isinstance(ia.quadratic_descent_figure((scale,)), Figure)
    assert isinstance(ia.rosenbrock_descent_figure(1.5, 300), Figure)
