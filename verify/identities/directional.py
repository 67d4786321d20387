"""Chapter 03: directional derivatives: rates of change in any direction."""

from __future__ import annotations

import numpy as np

from implementations import directional as dd
from implementations import multivariable as mv

from ..registry import Claim, ClaimCheck, Identity
from ..samplers import away_from_zero, normal
from .multivariable import logistic_regression_sample, spd_quadratic

CHAPTER = "03_directional_derivatives"
DOCS = f"derivations/{CHAPTER}"


def _fitted_order(steps, values) -> float:
    slope, _ = np.polyfit(np.log(steps), np.log(np.abs(values)), 1)
    return float(slope)


def _unit_directions(rng, count, n):
    v = rng.standard_normal((count, n))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# --------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------


def _definition_claim(difference_quotient, rng):
    """(f(x + hv) − f(x))/h → ∇f·v with error O(h), on the (strictly convex) logistic loss."""
    w, X, y = logistic_regression_sample(rng)
    v = normal(rng, w.size, 1.5)  # not a unit vector: D_v f scales with v
    f = lambda u: mv.logistic_loss(u, X, y)
    exact = float(mv.logistic_loss_gradient(w, X, y) @ v)
    scale = float(np.linalg.norm(mv.logistic_loss_gradient(w, X, y)) * np.linalg.norm(v))
    steps = np.logspace(-2, -5, 7)
    errors = np.array([difference_quotient(f, w, v, h) - exact for h in steps])
    order = _fitted_order(steps, errors)
    small = abs(difference_quotient(f, w, v, 1e-7) - exact) / scale
    return [
        ClaimCheck("the quotient tends to grad f . v", small, 1e-6, "|q(1e-7) - grad f . v| / (||grad f|| ||v||)"),
        ClaimCheck("its error is O(h)", abs(order - 1.0), 0.1, f"fitted order {order:.3f} over h in [1e-5, 1e-2]"),
    ]


def _steepest_ascent_claim(steepest_ascent_direction, rng):
    """D_v f = ∇f·v ≤ ‖∇f‖ over unit v, with equality only at u = ∇f/‖∇f‖ (Cauchy–Schwarz)."""
    x = away_from_zero(rng, 5, 0.2, 1.8)
    g = mv.rosenbrock_gradient(x)
    norm = np.linalg.norm(g)
    u = steepest_ascent_direction(g)
    directions = _unit_directions(rng, 4000, x.size)
    slopes = np.array([dd.rosenbrock_directional_derivative(x, v) for v in directions])
    # For unit u and v, u·v = 1 − ‖u − v‖²/2: D_v f falls short of ‖∇f‖ by ‖∇f‖‖u − v‖²/2.
    shortfall = np.abs(slopes / norm - (1 - np.sum((directions - u) ** 2, axis=1) / 2))
    return [
        ClaimCheck("u is a unit vector", abs(np.linalg.norm(u) - 1.0), 1e-12, "| ||u|| - 1 |"),
        ClaimCheck("D_v f <= ||grad f|| for 4000 unit v", float(np.max(slopes) / norm - 1.0), 1e-12, "max D_v f / ||grad f|| - 1"),
        ClaimCheck("equality at u: D_u f = ||grad f||", abs(dd.rosenbrock_directional_derivative(x, u) / norm - 1.0), 1e-12,
                   "|D_u f / ||grad f|| - 1|"),
        ClaimCheck("only at u: D_v f = ||grad f|| (1 - ||v - u||^2 / 2)", float(np.max(shortfall)), 1e-12,
                   "max over the sampled v of the gap to the Cauchy-Schwarz equality case"),
    ]


def _normal_offsets(f, gradient, x, tangent, steps):
    """Walk s along the tangent, then back onto the level set along the normal (Newton)."""
    g = gradient(x)
    normal_direction = g / np.linalg.norm(g)
    level = f(x)
    offsets = []
    for s in steps:
        t = 0.0
        for _ in range(30):
            p = x + s * tangent + t * normal_direction
            t -= (f(p) - level) / float(gradient(p) @ normal_direction)
        offsets.append(t)
    return np.array(offsets)


def _level_set_claim(level_set_tangent_basis, rng):
    """∇f ⟂ the level set: the tangent (IFT in 2-D, null(∇fᵀ) in n-D) keeps f constant to 2nd order."""
    steps = np.logspace(-2, -4, 5)
    x2 = away_from_zero(rng, 2, 0.3, 1.5)
    g2 = mv.rosenbrock_gradient(x2)
    tangent2 = level_set_tangent_basis(g2)
    (tau,) = tangent2
    ift = np.array([g2[1], -g2[0]]) / np.linalg.norm(g2)  # (f_y, −f_x): the tangent of y(x) with y' = −f_x/f_y
    # offset(s) = a s + b s² + c s³ + ...: a tangent line has a = 0 (b = -κ/2 with κ the
    # curvature, which may be ~0 at an inflection: so fit the coefficients, not an order)
    # A tangent off by an angle θ gives a = θ; the fit's own error is ~1e-9 (the s⁴ term at
    # s = 1e-3, rounding at s = 1e-5), so 1e-6 separates a tangent from any wrong line.
    # Steps shrink with the curvature κ = τᵀHτ/‖∇f‖ so that κs stays below 1e-3.
    curvature = abs(float(tau @ mv.rosenbrock_hessian(x2) @ tau)) / np.linalg.norm(g2)
    curve_steps = np.logspace(-3, -5, 5) / max(1.0, curvature)
    curve_offsets = _normal_offsets(mv.rosenbrock, mv.rosenbrock_gradient, x2, tau, curve_steps)
    design = np.stack([curve_steps, curve_steps**2, curve_steps**3], axis=1)
    (linear, quadratic, _), *_ = np.linalg.lstsq(design, curve_offsets, rcond=None)

    x5 = away_from_zero(rng, 5, 0.2, 1.8)
    g5 = mv.rosenbrock_gradient(x5)
    basis = level_set_tangent_basis(g5)
    rise_orders = [_fitted_order(steps, [mv.rosenbrock(x5 + s * t) - mv.rosenbrock(x5) for s in steps]) for t in basis]
    return [
        ClaimCheck("2-D: tangent parallel to (f_y, -f_x) of the implicit function theorem", abs(tau[0] * ift[1] - tau[1] * ift[0]), 1e-12,
                   "|tau x (f_y, -f_x)/||grad f|| |"),
        ClaimCheck("2-D: the level curve leaves the tangent at O(s^2)", abs(linear), 1e-6,
                   f"normal offset to the curve fitted as a s + b s² + c s³ over s in [{curve_steps[-1]:.0e}, {curve_steps[0]:.0e}]: a = {linear:.1e}, b = {quadratic:.3g}"),
        ClaimCheck("n-D: the basis is orthonormal with n - 1 rows", float(np.max(np.abs(basis @ basis.T - np.eye(4)))) if basis.shape == (4, 5) else np.inf,
                   1e-12, f"basis shape {basis.shape} for n = 5"),
        ClaimCheck("n-D: every tangent is perpendicular to grad f", max(float(np.max(np.abs(basis @ g5))) / np.linalg.norm(g5), float(np.max(np.abs(tangent2 @ g2))) / np.linalg.norm(g2)), 1e-12,
                   "max |t . grad f| / ||grad f||"),
        ClaimCheck("n-D: f changes only at second order along each tangent", 2.0 - min(rise_orders), 0.2,
                   f"smallest fitted order of f(x + s t) - f(x): {min(rise_orders):.3f}"),
    ]


def _descent_direction_claim(is_descent_direction, rng):
    """D_d f < 0 ⇒ f(x + td) < f(x) for small t > 0 (and D_d f > 0 ⇒ f increases)."""
    x = away_from_zero(rng, 5, 0.2, 1.8)
    g = mv.rosenbrock_gradient(x)
    f0 = mv.rosenbrock(x)
    worst_descent, worst_ascent = -np.inf, -np.inf
    for d in _unit_directions(rng, 300, x.size):
        if abs(g @ d) < 0.05 * np.linalg.norm(g):
            continue  # nearly tangent to the level set: the sign needs a smaller t to show
        change = mv.rosenbrock(x + 1e-6 * d) - f0
        if is_descent_direction(g, d):
            worst_descent = max(worst_descent, change)
        else:
            worst_ascent = max(worst_ascent, -change)
    return [
        ClaimCheck("directions judged descent decrease f", worst_descent, 0.0, "max f(x + 1e-6 d) - f(x) over them"),
        ClaimCheck("directions judged not descent do not decrease f", worst_ascent, 0.0, "max f(x) - f(x + 1e-6 d) over them"),
    ]


def _line_search_claim(backtracking_line_search, rng):
    """Backtracking terminates (within the bound from λmax on a quadratic), satisfies Armijo, decreases f."""
    c, shrink = 1e-4, 0.5
    armijo_gap, termination_gap, short_step = -np.inf, -np.inf, -np.inf
    for _ in range(4):
        x = away_from_zero(rng, 5, 0.2, 1.8)
        g = mv.rosenbrock_gradient(x)
        for d in (-g, -g + 0.5 * np.linalg.norm(g) * _unit_directions(rng, 1, 5)[0]):
            if g @ d >= 0:
                continue
            result = backtracking_line_search(mv.rosenbrock, mv.rosenbrock_gradient, x, d, 1.0, shrink, c)
            t = result.step
            gap = (mv.rosenbrock(x + t * d) - mv.rosenbrock(x) - c * t * (g @ d)) / abs(mv.rosenbrock(x))
            armijo_gap = max(armijo_gap, gap)

        A, lam, _, b = spd_quadratic(rng)
        f = lambda z: mv.quadratic(z, A, b)
        grad = lambda z: mv.quadratic_gradient(z, A, b)
        x = normal(rng, 5, 2.0)
        d = -grad(x)
        initial = 10.0 / lam[0]  # a step far too long, so that backtracking has work to do
        result = backtracking_line_search(f, grad, x, d, initial, shrink, c)
        # Armijo holds for every t <= t_bar = 2(1 − c)|∇f·d| / (L‖d‖²) with L = λmax.
        t_bar = 2 * (1 - c) * abs(grad(x) @ d) / (lam[-1] * (d @ d))
        bound = max(0, int(np.ceil(np.log(initial / t_bar) / np.log(1 / shrink)))) + 1
        termination_gap = max(termination_gap, result.evaluations - bound)
        short_step = max(short_step, (min(initial, shrink * t_bar) - result.step) / t_bar)
    return [
        ClaimCheck("accepted steps satisfy Armijo f(x+td) <= f(x) + c t D_d f (so f decreases)", armijo_gap, 0.0,
                   "max (f(x+td) - f(x) - c t D_d f) / |f(x)| on Rosenbrock, d = -grad f and a perturbed descent direction"),
        ClaimCheck("terminates within 1 + ceil(log_(1/rho)(t0 / t_bar)) trials", float(termination_gap), 0.0,
                   "evaluations minus the bound, quadratic with L = lambda_max"),
        ClaimCheck("the accepted step is not needlessly short: t >= min(t0, rho t_bar)", short_step, 0.0,
                   "(min(t0, rho t_bar) - t) / t_bar"),
    ]


def _jvp_entry(name, statement, function, derivative, sample):
    return Identity(name=name, chapter=CHAPTER, statement=statement, derivation=f"{DOCS}/directional_derivative.md",
                    function=function, derivative=derivative, kind="jvp", sample=sample)


def _claim(name, statement, doc, implementation, verify):
    return Claim(name=name, chapter=CHAPTER, statement=statement, derivation=f"{DOCS}/{doc}.md",
                 implementation=implementation, verify=verify)


ENTRIES = [
    _claim("directional_derivative_limit", "D_v f = lim_{h→0} (f(x + hv) − f(x))/h = ∇f·v, error O(h)",
           "directional_derivative", dd.directional_difference_quotient, _definition_claim),
    _jvp_entry("rosenbrock_directional_derivative", "D_v f = ∇f·v for Rosenbrock (a JVP with tangent v)",
               mv.rosenbrock, dd.rosenbrock_directional_derivative, lambda rng: (away_from_zero(rng, 7, 0.2, 1.8),)),
    _jvp_entry("logistic_loss_directional_derivative", "D_v L(w) = (σ(Xw) − y)·(Xv)/n",
               mv.logistic_loss, dd.logistic_loss_directional_derivative, logistic_regression_sample),
    _claim("steepest_ascent", "max over ‖v‖ = 1 of D_v f is ‖∇f‖, reached only at v = ∇f/‖∇f‖",
           "steepest_ascent", dd.steepest_ascent_direction, _steepest_ascent_claim),
    _claim("level_set_perpendicular", "∇f is perpendicular to the level set {f = f(x)}: tangents span null(∇fᵀ)",
           "level_curves", dd.level_set_tangent_basis, _level_set_claim),
    _claim("descent_direction", "D_d f = ∇f·d < 0 ⇒ f(x + td) < f(x) for small t > 0",
           "line_search", dd.is_descent_direction, _descent_direction_claim),
    _claim("backtracking_line_search", "backtracking on Armijo f(x+td) ≤ f(x) + c t D_d f terminates and decreases f",
           "line_search", dd.backtracking_line_search, _line_search_claim),
]
