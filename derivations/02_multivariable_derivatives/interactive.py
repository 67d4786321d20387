"""The pictures of chapter 02's notebook, as plain functions (no Jupyter, no pyplot).

Each ``*_figure`` function builds a ``matplotlib.figure.Figure`` with the object API and
is what a slider of ``02_multivariable_derivatives.ipynb`` calls. The numbers a picture
shows come from the pure functions beside it (slopes, gradients, areas, eigenpairs,
descent paths), which ``tests/test_interactive_02.py`` calls across the sliders' ranges.
The derivatives are the project's hand-coded ones from ``implementations/multivariable.py``,
checked by ``python -m verify 02_multivariable_derivatives``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from implementations import multivariable as mv  # noqa: E402

DPI = 75  # the notebook stores every picture twice (static output and widget state): keep it small

# --------------------------------------------------------------------------------------
# 1. Partial derivatives as slopes of slices, and the tangent plane
# --------------------------------------------------------------------------------------

X2 = 0.5
"""The surface is the chapter's f(x₀, x₁, x₂) = x₀²x₁ + x₁ sin x₂ + exp(x₀x₂) with x₂ held at 0.5."""


def surface(x0, x1):
    """f(x₀, x₁, 0.5) on scalars or arrays of the same shape."""
    x0, x1 = np.broadcast_arrays(np.asarray(x0, dtype=float), np.asarray(x1, dtype=float))
    return mv.three_variable(np.stack([x0, x1, np.full_like(x0, X2)]))


def surface_partials(x0, x1) -> tuple[float, float]:
    """(∂f/∂x₀, ∂f/∂x₁) at (x₀, x₁, 0.5): the hand-coded partials of the chapter."""
    x = np.array([x0, x1, X2], dtype=float)
    return float(mv.three_variable_partial_0(x)), float(mv.three_variable_partial_1(x))


def slices(x0, x1, half_width=1.0, n=101):
    """The two slices through (x₀, x₁): t ↦ f(x₀ + t, x₁) and t ↦ f(x₀, x₁ + t)."""
    t = np.linspace(-half_width, half_width, n)
    return t, surface(x0 + t, np.full_like(t, x1)), surface(np.full_like(t, x0), x1 + t)


def tangent_lines(x0, x1, t):
    """The tangent lines of the two slices: f + (∂f/∂x₀) t and f + (∂f/∂x₁) t."""
    value = float(surface(x0, x1))
    p0, p1 = surface_partials(x0, x1)
    t = np.asarray(t, dtype=float)
    return value + p0 * t, value + p1 * t


def tangent_plane(x0, x1, dx0, dx1):
    """The tangent plane f(x) + ∇f(x)·(dx₀, dx₁), which contains both tangent lines."""
    p0, p1 = surface_partials(x0, x1)
    return float(surface(x0, x1)) + p0 * np.asarray(dx0, dtype=float) + p1 * np.asarray(dx1, dtype=float)


def partial_slices_figure(x0=0.6, x1=-0.4) -> Figure:
    """Left: the surface, its two slices through (x₀, x₁), their tangent lines and the tangent plane.
    Right: the two slices as functions of the offset t, with their tangent lines."""
    fig = Figure(figsize=(10.0, 4.3), dpi=DPI)
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    side = np.linspace(-1.5, 1.5, 41)
    G0, G1 = np.meshgrid(side, side)
    ax3.plot_surface(G0, G1, surface(G0, G1), color="0.75", alpha=0.45, linewidth=0, shade=True)
    t, along0, along1 = slices(x0, x1)
    line0, line1 = tangent_lines(x0, x1, t)
    ax3.plot(x0 + t, np.full_like(t, x1), along0, color="tab:red", lw=2, label="slice along x₀")
    ax3.plot(np.full_like(t, x0), x1 + t, along1, color="tab:blue", lw=2, label="slice along x₁")
    ax3.plot(x0 + t, np.full_like(t, x1), line0, "--", color="tab:red", lw=1.2)
    ax3.plot(np.full_like(t, x0), x1 + t, line1, "--", color="tab:blue", lw=1.2)
    patch = np.linspace(-0.5, 0.5, 5)
    D0, D1 = np.meshgrid(patch, patch)
    ax3.plot_wireframe(x0 + D0, x1 + D1, tangent_plane(x0, x1, D0, D1), color="tab:green", lw=0.8, label="tangent plane")
    ax3.scatter([x0], [x1], [float(surface(x0, x1))], color="black", s=20)
    ax3.set_xlabel("x₀")
    ax3.set_ylabel("x₁")
    ax3.set_zlabel("f")
    ax3.set_title(f"f(x₀, x₁) = x₀²x₁ + x₁ sin {X2:g} + exp({X2:g} x₀)", fontsize=9)
    ax3.legend(loc="upper left", fontsize=7)

    ax = fig.add_subplot(1, 2, 2)
    p0, p1 = surface_partials(x0, x1)
    ax.plot(t, along0, color="tab:red", lw=2, label="f(x₀ + t, x₁)")
    ax.plot(t, line0, "--", color="tab:red", lw=1.2, label=f"slope ∂f/∂x₀ = {p0:.3f}")
    ax.plot(t, along1, color="tab:blue", lw=2, label="f(x₀, x₁ + t)")
    ax.plot(t, line1, "--", color="tab:blue", lw=1.2, label=f"slope ∂f/∂x₁ = {p1:.3f}")
    ax.plot([0], [float(surface(x0, x1))], "ko", ms=4)
    ax.set_xlabel("offset t from the point")
    ax.set_ylabel("f")
    ax.set_title(f"Slices through ({x0:.2f}, {x1:.2f}): the partials are their slopes", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# 2. The gradient field over the contours
# --------------------------------------------------------------------------------------

QUAD_ANGLE = np.deg2rad(30.0)
QUAD_Q = np.array([[np.cos(QUAD_ANGLE), -np.sin(QUAD_ANGLE)], [np.sin(QUAD_ANGLE), np.cos(QUAD_ANGLE)]])
QUAD_LAMBDAS = np.array([1.0, 5.0])
QUAD_A = (QUAD_Q * QUAD_LAMBDAS) @ QUAD_Q.T  # symmetric positive definite, eigenvectors rotated by 30°
QUAD_X_STAR = np.array([0.5, -0.25])
QUAD_B = QUAD_A @ QUAD_X_STAR


FIELDS = {
    # name: (f, hand-coded gradient, (x₀ range), (x₁ range), contour levels on a log scale?)
    "quadratic ½xᵀAx − bᵀx": (lambda x: mv.quadratic(x, QUAD_A, QUAD_B), lambda x: mv.quadratic_gradient(x, QUAD_A, QUAD_B),
                              (-3.0, 3.0), (-2.5, 2.5), False),
    "Rosenbrock": (mv.rosenbrock, mv.rosenbrock_gradient, (-2.0, 2.0), (-1.0, 3.0), True),
    "x₀²x₁ + x₁ sin x₂ + exp(x₀x₂), x₂ = 0.5": (lambda x: float(surface(x[0], x[1])),
                                                lambda x: np.array(surface_partials(x[0], x[1])), (-1.5, 1.5), (-1.5, 1.5), False),
    "smooth max 0.7 ln(exp(x₀/0.7) + exp(x₁/0.7))": (mv.smooth_max, mv.smooth_max_gradient, (-2.0, 2.0), (-2.0, 2.0), False),
}


def field_grid(name, n=121):
    """f on an n × n grid over the field's window: (X₀, X₁, F), F[i, j] = f(X₀[i, j], X₁[i, j])."""
    f, _, (a0, b0), (a1, b1), _ = FIELDS[name]
    X0, X1 = np.meshgrid(np.linspace(a0, b0, n), np.linspace(a1, b1, n))
    F = np.array([f(np.array([u, v])) for u, v in zip(X0.ravel(), X1.ravel())]).reshape(X0.shape)
    return X0, X1, F


def field_levels(name, F, count=12):
    """Contour levels: evenly spaced, or evenly spaced in log(f − min f) for Rosenbrock's steep walls."""
    low, high = float(F.min()), float(F.max())
    if FIELDS[name][4]:
        return low + np.geomspace(0.05, high - low, count + 1)[:-1]
    return np.linspace(low, high, count + 2)[1:-1]


def gradient_at(name, points):
    """The hand-coded ∇f at each row of ``points`` (shape (k, 2))."""
    gradient = FIELDS[name][1]
    return np.array([gradient(np.asarray(p, dtype=float)) for p in np.atleast_2d(points)])


def arrow_field(name, n=16):
    """The arrows the picture draws: grid points, unit directions ∇f/‖∇f‖, and ‖∇f‖ (points where ∇f = 0 dropped)."""
    _, _, (a0, b0), (a1, b1), _ = FIELDS[name]
    P0, P1 = np.meshgrid(np.linspace(a0, b0, n + 2)[1:-1], np.linspace(a1, b1, n + 2)[1:-1])
    points = np.column_stack([P0.ravel(), P1.ravel()])
    gradients = gradient_at(name, points)
    norms = np.linalg.norm(gradients, axis=1)
    keep = norms > 0
    return points[keep], gradients[keep] / norms[keep, None], norms[keep]


def gradient_field_figure(name="Rosenbrock") -> Figure:
    """Contours of f and unit arrows along ∇f, coloured by ‖∇f‖: the arrows cross the contours at right angles."""
    fig = Figure(figsize=(7.0, 5.0), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)
    X0, X1, F = field_grid(name)
    levels = field_levels(name, F)
    contours = ax.contour(X0, X1, F, levels=levels, colors="0.45", linewidths=0.8)
    ax.clabel(contours, levels=levels[1::3], fontsize=6, fmt="%.3g")
    points, directions, norms = arrow_field(name)
    _, _, (a0, b0), (a1, b1), _ = FIELDS[name]
    length = 0.045 * max(b0 - a0, b1 - a1)
    colour = np.log10(norms) if FIELDS[name][4] else norms
    arrows = ax.quiver(points[:, 0], points[:, 1], directions[:, 0] * length, directions[:, 1] * length, colour,
                       angles="xy", scale_units="xy", scale=1, cmap="viridis", width=0.004)
    bar = fig.colorbar(arrows, ax=ax)
    bar.set_label("log₁₀ ‖∇f‖" if FIELDS[name][4] else "‖∇f‖")
    if name == "Rosenbrock":
        ax.plot([1.0], [1.0], "r*", ms=10, label="minimum (1, 1)")
        ax.legend(loc="upper left", fontsize=8)
    ax.set_xlim(a0, b0)
    ax.set_ylim(a1, b1)
    ax.set_aspect("equal")
    ax.set_xlabel("x₀")
    ax.set_ylabel("x₁")
    ax.set_title(f"{name}: arrows ∇f/‖∇f‖ point uphill, perpendicular to the contours", fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# 3. The Jacobian as a local linear map: a polar grid cell
# --------------------------------------------------------------------------------------


def polar_cell_image(r, theta, d, n=200):
    """The image under (r, θ) ↦ (r cos θ, r sin θ) of the square [r, r + d] × [θ, θ + d], as a closed polygon."""
    s = np.linspace(0.0, d, n)
    edges = [np.stack([r + s, np.full(n, theta)]), np.stack([np.full(n, r + d), theta + s]),
             np.stack([r + d - s, np.full(n, theta + d)]), np.stack([np.full(n, r), theta + d - s])]
    return np.concatenate([mv.polar_to_cartesian(e).T for e in edges])


def polar_parallelogram(r, theta, d, jacobian=mv.polar_to_cartesian_jacobian):
    """The corners of p(r, θ) + J·square: the first-order (linear) image of the same square."""
    corner = mv.polar_to_cartesian(np.array([r, theta]))
    square = d * np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # (dr, dθ) offsets
    return corner + square @ jacobian(np.array([r, theta])).T


def polygon_area(points):
    """Shoelace formula for a simple polygon (its vertices in order)."""
    x, y = np.asarray(points).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def cell_area_ratio(r, theta, d):
    """area(image of the square) / area(square); exactly r + d/2, so → r = det J as d → 0."""
    return polygon_area(polar_cell_image(r, theta, d)) / d**2


def parallelogram_area_ratio(r, theta, d, jacobian=mv.polar_to_cartesian_jacobian):
    """area(J·square) / area(square) = |det J| = r, for every cell size d."""
    return polygon_area(polar_parallelogram(r, theta, d, jacobian)) / d**2


def polar_cell_figure(r=1.5, theta=0.6, d=0.3) -> Figure:
    """The square in (r, θ), its curved image and the parallelogram J·square, and the area ratio against d."""
    fig = Figure(figsize=(11.0, 3.9), dpi=DPI)
    domain, image, ratio = (fig.add_subplot(1, 3, k) for k in (1, 2, 3))

    steps = np.arange(-2, 4)  # a 5 × 5 neighbourhood of cells of the same size, the square in the middle
    radii = (r + steps * d)[r + steps * d >= 0]
    angles = theta + steps * d
    for value in radii:
        domain.plot([value, value], [angles[0], angles[-1]], color="0.8", lw=0.7)
    for value in angles:
        domain.plot([radii[0], radii[-1]], [value, value], color="0.8", lw=0.7)
    domain.fill([r, r + d, r + d, r], [theta, theta, theta + d, theta + d], color="tab:orange", alpha=0.6,
                label=f"square, area d² = {d**2:.3g}")
    domain.set_aspect("equal")
    domain.set_xlabel("r")
    domain.set_ylabel("θ (rad)")
    domain.set_title(f"input: cells of side d = {d:.2f} around (r, θ) = ({r:.2f}, {theta:.2f})", fontsize=9)
    domain.legend(fontsize=7, loc="upper right", framealpha=0.9)

    dense = np.linspace(0.0, 1.0, 60)
    for value in radii:  # a circle r = const is the image of a vertical line
        arc = mv.polar_to_cartesian(np.stack([np.full(60, value), angles[0] + dense * (angles[-1] - angles[0])]))
        image.plot(arc[0], arc[1], color="0.8", lw=0.7)
    for value in angles:  # a ray θ = const is the image of a horizontal line
        ray = mv.polar_to_cartesian(np.stack([radii[0] + dense * (radii[-1] - radii[0]), np.full(60, value)]))
        image.plot(ray[0], ray[1], color="0.8", lw=0.7)
    cell = polar_cell_image(r, theta, d)
    image.fill(cell[:, 0], cell[:, 1], color="tab:orange", alpha=0.6, label=f"image, area/d² = {cell_area_ratio(r, theta, d):.3f}")
    corners = polar_parallelogram(r, theta, d)
    loop = np.vstack([corners, corners[:1]])
    image.plot(loop[:, 0], loop[:, 1], "--", color="tab:blue", lw=1.5,
               label=f"J·square, area/d² = det J = {parallelogram_area_ratio(r, theta, d):.3f}")
    image.set_aspect("equal", adjustable="datalim")
    image.set_xlabel("x = r cos θ")
    image.set_ylabel("y = r sin θ")
    image.set_title("output: the image cells under the polar map", fontsize=9)
    image.legend(fontsize=7, loc="best", framealpha=0.9)

    sizes = np.geomspace(0.01, 1.0, 25)
    ratio.semilogx(sizes, [cell_area_ratio(r, theta, s) for s in sizes], "o-", ms=3, color="tab:orange",
                   label="area(image)/d²")
    ratio.axhline(r, color="tab:blue", ls="--", label=f"det J = r = {r:.2f}")
    ratio.plot([d], [cell_area_ratio(r, theta, d)], "ks", ms=6, label=f"this cell, d = {d:.2f}")
    ratio.set_xlabel("cell size d")
    ratio.set_ylabel("area ratio")
    ratio.set_title("the ratio → det J as the cell shrinks", fontsize=9)
    ratio.grid(alpha=0.3)
    ratio.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# 4. Hessian eigen-directions on the contours of a quadratic
# --------------------------------------------------------------------------------------


def quadratic_matrix(angle_deg, lam1, lam2):
    """A = R diag(λ₁, λ₂) Rᵀ with R the rotation by ``angle_deg``: a symmetric 2 × 2 matrix."""
    a = np.deg2rad(angle_deg)
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (R * np.array([lam1, lam2])) @ R.T


def hessian_eigen(angle_deg, lam1, lam2):
    """(H, eigenvalues ascending, eigenvectors as columns) of f(x) = ½xᵀAx, H from the hand-coded Hessian."""
    A = quadratic_matrix(angle_deg, lam1, lam2)
    H = mv.quadratic_hessian(np.zeros(2), A, np.zeros(2))
    eigenvalues, eigenvectors = np.linalg.eigh(H)
    upward = (eigenvectors[1] > 1e-12) | ((np.abs(eigenvectors[1]) <= 1e-12) & (eigenvectors[0] > 0))
    return H, eigenvalues, eigenvectors * np.where(upward, 1.0, -1.0)  # a sign per column: arrows drawn pointing up


def curvature_along(H, direction, t=1e-3):
    """The second difference of f(x) = ½xᵀHx along a unit direction: the curvature the right panel plots."""
    f = lambda s: mv.quadratic(s * direction, H, np.zeros(2))
    return (f(t) - 2 * f(0.0) + f(-t)) / t**2


def hessian_eigen_figure(angle_deg=30.0, lam1=1.0, lam2=4.0) -> Figure:
    """Left: contours of ½xᵀHx with the eigenvectors q₁, q₂ of H. Right: f along t·qᵢ, the parabolas ½λᵢt²."""
    H, lam, Q = hessian_eigen(angle_deg, lam1, lam2)
    fig = Figure(figsize=(10.0, 4.3), dpi=DPI)
    ax, along = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    side = np.linspace(-2.0, 2.0, 161)
    X0, X1 = np.meshgrid(side, side)
    F = 0.5 * (H[0, 0] * X0**2 + 2 * H[0, 1] * X0 * X1 + H[1, 1] * X1**2)
    levels = np.linspace(F.min(), F.max(), 16)[1:-1]
    levels = levels[np.abs(levels) > 1e-9 * np.abs(F).max()]
    contours = ax.contour(X0, X1, F, levels=levels, cmap="coolwarm", linewidths=0.9)
    bar = fig.colorbar(contours, ax=ax, format="%.1f")
    bar.set_label("f(x) = ½xᵀHx")
    colours = ("tab:green", "tab:purple")
    for i in range(2):
        q = Q[:, i]
        ax.annotate("", xy=1.5 * q, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color=colours[i], lw=2))
        ax.text(*(1.78 * q), f"q{'₁₂'[i]}, λ{'₁₂'[i]} = {lam[i]:.2f}", color=colours[i], fontsize=8,
                ha="center", va="center")
    ax.set_aspect("equal")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("x₀")
    ax.set_ylabel("x₁")
    kind = "minimum" if lam[0] > 0 else ("saddle" if lam[0] < 0 < lam[1] else "degenerate")
    ax.set_title(f"H = [[{H[0, 0]:.2f}, {H[0, 1]:.2f}], [{H[1, 0]:.2f}, {H[1, 1]:.2f}]]: a {kind}", fontsize=9)

    t = np.linspace(-2, 2, 101)
    for i in range(2):
        q = Q[:, i]
        values = [mv.quadratic(s * q, H, np.zeros(2)) for s in t]
        along.plot(t, values, color=colours[i], lw=2, label=f"f(t q{'₁₂'[i]}) = ½ λ{'₁₂'[i]} t², curvature {curvature_along(H, q):.2f}")
    along.axhline(0, color="0.6", lw=0.6)
    along.set_xlabel("t")
    along.set_ylabel("f(t qᵢ)")
    along.set_title("the curvature along qᵢ is λᵢ", fontsize=9)
    along.grid(alpha=0.3)
    along.legend(fontsize=7, loc="upper center")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# 5. Gradient descent: a quadratic (threshold 2/λmax) and Rosenbrock
# --------------------------------------------------------------------------------------

QUAD_START = np.array([-2.2, -0.6])  # error ≈ −2.5 q₁ + 1.0 q₂: the zigzag along q₂ stays in the frame
QUAD_CRITICAL = 2.0 / QUAD_LAMBDAS.max()


def quadratic_descent_path(scale, steps=30, descent=mv.gradient_descent):
    """Iterates of x ← x − η∇f on the quadratic (λ = 1, 5), with η = scale · 2/λmax."""
    gradient = lambda x: mv.quadratic_gradient(x, QUAD_A, QUAD_B)
    return descent(gradient, QUAD_START, scale * QUAD_CRITICAL, steps)


def eigen_errors(path):
    """Qᵀ(x_k − x*): the error of each iterate along q₁ (column 0) and q₂ (column 1)."""
    return (np.asarray(path) - QUAD_X_STAR) @ QUAD_Q


def contraction_factors(scale):
    """|1 − ηλᵢ| for η = scale · 2/λmax: the factor the error along qᵢ is multiplied by at each step."""
    return np.abs(1.0 - scale * QUAD_CRITICAL * QUAD_LAMBDAS)


def _inside(path, box):
    """The leading iterates of ``path`` that stay inside the box (the rest would leave the frame)."""
    (a0, b0), (a1, b1) = box
    inside = (path[:, 0] >= a0) & (path[:, 0] <= b0) & (path[:, 1] >= a1) & (path[:, 1] <= b1)
    stop = len(path) if inside.all() else int(np.argmin(inside)) + 1  # keep the first iterate outside: axes clip it
    return path[:stop]


def quadratic_descent_figure(scales=(0.3, 0.9, 1.1), steps=30) -> Figure:
    """Left: the paths over the contours with q₁, q₂. Right: f(x_k) − f* on a log scale."""
    fig = Figure(figsize=(10.5, 4.4), dpi=DPI)
    ax, gap = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    box = ((-3.2, 3.2), (-2.6, 2.6))
    X0, X1 = np.meshgrid(np.linspace(*box[0], 161), np.linspace(*box[1], 131))
    E0, E1 = X0 - QUAD_X_STAR[0], X1 - QUAD_X_STAR[1]
    F = 0.5 * (QUAD_A[0, 0] * E0**2 + 2 * QUAD_A[0, 1] * E0 * E1 + QUAD_A[1, 1] * E1**2)  # f − f*
    ax.contour(X0, X1, F, levels=np.geomspace(0.02, 40, 12), colors="0.7", linewidths=0.7)
    for i, (q, lam) in enumerate(zip(QUAD_Q.T, QUAD_LAMBDAS)):
        ax.annotate("", xy=QUAD_X_STAR + 1.1 * q, xytext=QUAD_X_STAR, arrowprops=dict(arrowstyle="->", color="black", lw=1.0))
        ax.text(*(QUAD_X_STAR + 1.3 * q), f"q{'₁₂'[i]}, λ{'₁₂'[i]} = {lam:g}", fontsize=8, ha="center", zorder=5,
                bbox=dict(facecolor="white", alpha=0.85, edgecolor="none", pad=1.0))
    colours = {0.3: "tab:blue", 0.9: "tab:green", 1.1: "tab:red"}
    f_star = mv.quadratic(QUAD_X_STAR, QUAD_A, QUAD_B)
    for k, scale in enumerate(scales):
        path = quadratic_descent_path(scale, steps)
        colour = colours.get(scale, f"C{k}")
        label = f"η = {scale:g} · 2/λmax"
        diverges = scale > 1
        shown = _inside(path, box) if diverges else path  # a converging path stays near x*; axes clip the rest
        ax.plot(shown[:, 0], shown[:, 1], "o--" if diverges else "o-", ms=2.5, lw=0.9 if diverges else 1.2,
                color=colour, label=label + (" (leaves the frame)" if len(shown) < len(path) else ""),
                zorder=1 if diverges else 3, alpha=0.8 if diverges else 1.0)
        gaps = np.array([mv.quadratic(x, QUAD_A, QUAD_B) for x in path]) - f_star
        gap.semilogy(np.arange(len(gaps)), np.maximum(gaps, 1e-300), "o-", ms=2.5, lw=1.0, color=colour, label=label)
    ax.plot(*QUAD_X_STAR, "k*", ms=9, zorder=4)
    ax.plot(*QUAD_START, "ks", ms=4, zorder=4)
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    ax.set_aspect("equal")
    ax.set_xlabel("x₀")
    ax.set_ylabel("x₁")
    ax.set_title("Gradient descent on ½xᵀAx − bᵀx, λ = 1 and 5", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    gap.set_xlabel("step k")
    gap.set_ylabel("f(x_k) − f*")
    gap.set_title("below 2/λmax f decreases; above, it diverges", fontsize=9)
    gap.grid(True, which="major", alpha=0.3)
    gap.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    return fig


ROSENBROCK_START = np.array([-1.2, 1.0])
ROSENBROCK_LAMBDA_MAX = float(np.linalg.eigvalsh(mv.rosenbrock_hessian(np.ones(2)))[-1])
"""λmax of the Rosenbrock Hessian at the minimum (1, 1): about 1001.6, so the local threshold is 2/λmax ≈ 0.0020."""


def rosenbrock_descent_path(scale, steps=3000, start=ROSENBROCK_START):
    """Iterates on 2-D Rosenbrock with η = scale · 2/λmax(H(1, 1)); stops once an iterate leaves |x| < 10."""
    with np.errstate(over="ignore", invalid="ignore"):
        path = mv.gradient_descent(mv.rosenbrock_gradient, np.asarray(start, dtype=float),
                                   scale * 2.0 / ROSENBROCK_LAMBDA_MAX, steps)
    escaped = ~np.all(np.abs(path) < 10.0, axis=1)
    return path[: int(np.argmax(escaped)) + 1] if escaped.any() else path


def rosenbrock_descent_figure(scale=0.9, steps=3000) -> Figure:
    """Left: the path in the banana valley (log-spaced contours). Right: f(x_k) on a log scale."""
    path = rosenbrock_descent_path(scale, steps)
    fig = Figure(figsize=(10.5, 4.4), dpi=DPI)
    ax, values = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    X0, X1 = np.meshgrid(np.linspace(-2, 2, 161), np.linspace(-1, 3, 161))
    F = 100 * (X1 - X0**2) ** 2 + (1 - X0) ** 2
    contours = ax.contour(X0, X1, np.log10(np.maximum(F, 1e-6)), levels=np.linspace(-1.5, 3.5, 11), cmap="viridis_r", linewidths=0.7)
    bar = fig.colorbar(contours, ax=ax)
    bar.set_label("log₁₀ f")
    shown = _inside(path, ((-2, 2), (-1, 3)))
    ax.plot(shown[:, 0], shown[:, 1], "-", color="tab:red", lw=1.0, label=f"η = {scale:g} · 2/λmax(H(x*))")
    ax.plot(shown[::100, 0], shown[::100, 1], "o", color="tab:red", ms=2.5)
    ax.plot([1.0], [1.0], "k*", ms=9, label="minimum (1, 1)")
    ax.plot(*ROSENBROCK_START, "ks", ms=4, label="start")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-1, 3)
    ax.set_aspect("equal")
    ax.set_xlabel("x₀")
    ax.set_ylabel("x₁")
    ax.set_title(f"Rosenbrock, {len(path) - 1} steps (every 100th marked)", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    with np.errstate(over="ignore", invalid="ignore"):
        f_values = np.array([mv.rosenbrock(x) for x in path])
    values.semilogy(np.arange(len(path)), np.maximum(f_values, 1e-300), color="tab:red", lw=1.0)
    values.set_xlabel("step k")
    values.set_ylabel("f(x_k)  (f* = 0)")
    values.set_title("fast down the walls, slow along the valley floor" if scale < 1 else
                     "above 2/λmax(H(x*)) the iterates cannot settle at (1, 1)", fontsize=9)
    values.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
