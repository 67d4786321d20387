"""Chapter 02: multivariable derivatives: functions of many variables."""

from __future__ import annotations

import numpy as np

from implementations import multivariable as mv
from implementations import single_variable as sv

from ..registry import Claim, ClaimCheck, Identity
from ..samplers import away_from_zero, nonsymmetric, normal

CHAPTER = "02_multivariable_derivatives"
DOCS = f"derivations/{CHAPTER}"


# --------------------------------------------------------------------------------------
# Claims: Schwarz's symmetry and gradient descent on a quadratic
# --------------------------------------------------------------------------------------


def relative_asymmetry(matrix) -> float:
    return float(np.max(np.abs(matrix - matrix.T)) / np.max(np.abs(matrix)))


def _hessian_symmetry_claim(mixed_partials, rng):
    """∂ⱼ(∂ᵢf) = ∂ᵢ(∂ⱼf) for C² functions: differentiate each hand-coded partial in turn."""
    x3 = rng.uniform(-1.2, 1.2, size=3)
    three = mixed_partials(mv.THREE_VARIABLE_PARTIALS, x3)
    x5 = away_from_zero(rng, 5, 0.3, 1.5)
    rosenbrock_partials = [lambda x, i=i: mv.rosenbrock_gradient(x)[i] for i in range(5)]
    rosen = mixed_partials(rosenbrock_partials, x5)
    return [
        ClaimCheck("mixed partials of x0^2 x1 + x1 sin x2 + exp(x0 x2) commute", relative_asymmetry(three), 1e-6,
                   "max|M - M^T| / max|M|, M[i, j] = d/dx_j of the hand-coded df/dx_i"),
        ClaimCheck("mixed partials of Rosenbrock (n = 5) commute", relative_asymmetry(rosen), 1e-6,
                   "max|M - M^T| / max|M| from the hand-coded gradient's components"),
    ]


def spd_quadratic(rng, n=5, eigenvalues=None):
    """A symmetric positive definite A = Q diag(λ) Qᵀ with known distinct λ, and a b."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.sort(rng.uniform(0.5, 10.0, size=n)) if eigenvalues is None else np.asarray(eigenvalues, dtype=float)
    return (q * lam) @ q.T, lam, q, rng.standard_normal(n)


def _gradient_descent_claim(gradient_descent, rng):
    """On f = ½xᵀAx − bᵀx: η < 2/λmax decreases f, η > 2/λmax diverges, e_k = Q diag(1 − ηλ)^k Qᵀ e_0."""
    A, lam, q, b = spd_quadratic(rng)
    x_star = np.linalg.solve(A, b)
    x0 = x_star + normal(rng, lam.size, 2.0)
    f = lambda x: mv.quadratic(x, A, b)
    grad = lambda x: mv.quadratic_gradient(x, A, b)
    critical = 2.0 / lam[-1]
    steps = 40

    below = gradient_descent(grad, x0, 0.9 * critical, steps)
    values = np.array([f(x) for x in below])
    worst_increase = float(np.max(np.diff(values)) / abs(values[0] - f(x_star)))

    above = gradient_descent(grad, x0, 1.1 * critical, steps)
    # Only the error along q_max has |1 − ηλ| > 1; any x0 with a component there diverges.
    top = q[:, -1]
    shrink = float(abs((x0 - x_star) @ top) / abs((above[-1] - x_star) @ top))

    worst_factor = 0.0
    for eta in (0.3 * critical, 0.9 * critical, 1.1 * critical):
        path = gradient_descent(grad, x0, eta, 15)
        coordinates = (path - x_star) @ q  # error along each eigenvector, one row per step
        predicted = coordinates[0] * (1 - eta * lam) ** np.arange(16)[:, None]
        worst_factor = max(worst_factor, float(np.max(np.abs(coordinates - predicted)) / np.max(np.abs(coordinates))))
    return [
        ClaimCheck("eta = 0.9 * 2/lambda_max decreases f at every step", worst_increase, 0.0,
                   f"max (f_(k+1) - f_k) / (f_0 - f*) over {steps} steps"),
        ClaimCheck("eta = 1.1 * 2/lambda_max diverges", shrink, 1e-2,
                   f"|q_max . (x_0 - x*)| / |q_max . (x_{steps} - x*)|: the error must grow at least 100-fold"),
        ClaimCheck("error along eigenvector i contracts by (1 - eta lambda_i)", worst_factor, 1e-10,
                   "max relative gap between Q^T(x_k - x*) and (1 - eta lambda)^k Q^T(x_0 - x*), three step sizes"),
    ]


# --------------------------------------------------------------------------------------
# Claims: differentiability, the second-order Taylor expansion, convexity
# --------------------------------------------------------------------------------------

TAYLOR_STEPS = np.logspace(-1.5, -3.5, 5)  # ‖h‖ from 3e-2 to 3e-4: the cubic term dominates, rounding does not


def _differentiability_claim(linearization_remainder, rng):
    """Partials of xy/(x²+y²) exist at 0, yet f is discontinuous there and not differentiable;
    a function with continuous partials has a remainder that is o(‖h‖)."""
    f = mv.xy_over_r2
    origin = np.zeros(2)
    tiny = np.logspace(-2, -8, 7)
    partials = [(f(t * e) - f(origin)) / t for t in tiny for e in np.eye(2)]
    diagonal = [f(np.array([t, t])) for t in tiny * rng.choice([-1.0, 1.0])]

    x = rng.uniform(-1.2, 1.2, size=3)
    u = rng.standard_normal(3)
    u /= np.linalg.norm(u)
    smooth = [linearization_remainder(mv.three_variable, mv.three_variable_gradient, x, t * u) for t in (1e-1, 1e-4)]
    shrink = smooth[1] / smooth[0]
    zero_gradient = lambda p: np.zeros(2)  # the partials at 0, measured above
    direction = np.array([1.0, 1.0]) / np.sqrt(2.0)
    bad = float(np.min([linearization_remainder(f, zero_gradient, origin, t * direction) for t in tiny]))
    return [
        ClaimCheck("both partials of xy/(x^2+y^2) at 0 are 0", float(np.max(np.abs(partials))), 1e-15,
                   "max |(f(t e_i) - f(0))/t| over t in [1e-8, 1e-2]: f vanishes on both axes"),
        ClaimCheck("xy/(x^2+y^2) is 1/2 on the diagonal, so not continuous at 0", float(np.max(np.abs(np.subtract(diagonal, 0.5)))), 1e-15,
                   "max |f(t, t) - 1/2| over |t| in [1e-8, 1e-2], while f(0) = 0"),
        ClaimCheck("continuous partials: remainder/||h|| -> 0", shrink, 1e-2,
                   "|f(x+h) - f(x) - grad.h|/||h|| at ||h|| = 1e-4 over its value at 1e-1, for x0^2 x1 + x1 sin x2 + exp(x0 x2) "
                   "(theory: about 1e-3, as the remainder is O(||h||^2))"),
        ClaimCheck("xy/(x^2+y^2) at 0: remainder/||h|| does not vanish", 1.0 / bad if bad > 0 else np.inf, 1.0,
                   "1 / min over ||h|| in [1e-8, 1e-2] along the diagonal of |f(h) - f(0) - 0.h|/||h|| (theory: 1/(2||h||) >= 50)"),
    ]


def _curved_direction(rng, H):
    """A random unit u with |uᵀHu| >= 0.1 max|λ(H)|, so that a wrong ½ shows at second order."""
    top = np.max(np.abs(np.linalg.eigvalsh(H)))
    while True:
        u = rng.standard_normal(H.shape[0])
        u /= np.linalg.norm(u)
        if abs(u @ H @ u) >= 0.1 * top:
            return u


def _taylor_cases(rng):
    """(name, f, gradient, Hessian, x, unit direction): C³ functions with hand-coded derivatives."""
    cases = [
        ("Rosenbrock (n = 5)", mv.rosenbrock, mv.rosenbrock_gradient, mv.rosenbrock_hessian, away_from_zero(rng, 5, 0.2, 1.5)),
        ("log-sum-exp (n = 6)", sv.logsumexp, sv.logsumexp_gradient, mv.logsumexp_hessian, normal(rng, 6, 1.5)),
    ]
    return [(name, f, g, H, x, _curved_direction(rng, H(x))) for name, f, g, H, x in cases]


def _taylor_order(taylor_second_order, f, gradient, hessian, x, u):
    model = taylor_second_order(f, gradient, hessian, x)
    errors = np.array([abs(f(x + t * u) - model(t * u)) for t in TAYLOR_STEPS])
    return sv.convergence_order(TAYLOR_STEPS, errors)


def _taylor_second_order_claim(taylor_second_order, rng):
    """f(x+h) − (f + ∇f·h + ½hᵀHh) is O(‖h‖³) for C³ f; with H instead of ½H, or no H, only O(‖h‖²)."""
    checks = []
    for name, f, gradient, hessian, x, u in _taylor_cases(rng):
        full = _taylor_order(taylor_second_order, f, gradient, hessian, x, u)
        doubled = _taylor_order(taylor_second_order, f, gradient, lambda z: 2.0 * hessian(z), x, u)
        dropped = _taylor_order(taylor_second_order, f, gradient, lambda z: np.zeros((z.size, z.size)), x, u)
        s = 1e-3
        g = lambda t: f(x + t * u)
        second_difference = (g(s) - 2 * g(0.0) + g(-s)) / s**2
        curvature = u @ hessian(x) @ u
        checks += [
            ClaimCheck(f"{name}: error of the second-order model is O(||h||^3)", 3.0 - full, 0.15,
                       f"3 - fitted order; fitted order {full:.3f} over ||h|| in [3e-4, 3e-2] "
                       "(above 3 where the cubic term happens to be small along u)"),
            ClaimCheck(f"{name}: with H instead of H/2 the error is O(||h||^2)", abs(doubled - 2.0), 0.15,
                       f"fitted order {doubled:.3f}"),
            ClaimCheck(f"{name}: without the Hessian term the error is O(||h||^2)", abs(dropped - 2.0), 0.15,
                       f"fitted order {dropped:.3f}"),
            ClaimCheck(f"{name}: g(t) = f(x + t u) has g''(0) = u^T H u", abs(second_difference - curvature) / max(abs(curvature), 1.0), 1e-5,
                       "relative gap between (g(s) - 2g(0) + g(-s))/s^2 at s = 1e-3 and u^T H(x) u"),
        ]
    return checks


def convexity_checks(label, f, hessian, sample, midpoint_convexity_gap, rng, points=8):
    """Two measured faces of convexity for one function: the Hessian's smallest eigenvalue
    at sampled points (>= 0 up to rounding) and Jensen's midpoint gap on sampled pairs (<= 0)."""
    smallest, worst_gap = np.inf, -np.inf
    for _ in range(points):
        x, y = sample(rng), sample(rng)
        H = hessian(x)
        smallest = min(smallest, float(np.min(np.linalg.eigvalsh(H))) / max(float(np.max(np.abs(H))), 1e-300))
        scale = max(abs(f(x)), abs(f(y)), 1.0)
        worst_gap = max(worst_gap, midpoint_convexity_gap(f, x, y) / scale)
    return [
        ClaimCheck(f"{label}: Hessian positive semidefinite", -smallest, 1e-12,
                   f"-min eigenvalue / max|H| over {points} sampled points"),
        ClaimCheck(f"{label}: f((x+y)/2) <= (f(x) + f(y))/2", worst_gap, 1e-14,
                   f"max (f((x+y)/2) - (f(x)+f(y))/2) / max(|f(x)|, |f(y)|, 1) over {points} sampled pairs"),
    ]


def _convexity_claim(midpoint_convexity_gap, rng):
    """LSE and the logistic loss: PSD Hessians everywhere, hence convex (Jensen holds)."""
    w, X, y = logistic_regression_sample(rng)
    return [
        *convexity_checks("log-sum-exp", sv.logsumexp, mv.logsumexp_hessian, lambda r: normal(r, 6, 2.0), midpoint_convexity_gap, rng),
        *convexity_checks("logistic loss", lambda v: mv.logistic_loss(v, X, y), lambda v: mv.logistic_loss_hessian(v, X, y),
                          lambda r: normal(r, w.size, 1.5), midpoint_convexity_gap, rng),
    ]


# --------------------------------------------------------------------------------------
# Samplers
# --------------------------------------------------------------------------------------


def _linear_data(rng, n=7, d=5):
    return normal(rng, (n, d), 1.0), normal(rng, n, 2.0)


def _network(rng, n_in=3, n_hidden=7, n_out=5):
    x = normal(rng, n_in, 1.0)
    W1 = nonsymmetric(rng, n_hidden, n_in) * 0.6
    return x, W1, normal(rng, n_hidden, 0.5), nonsymmetric(rng, n_out, n_hidden) * 0.6, normal(rng, n_out, 0.5)


def logistic_regression_sample(rng, n=9, d=5):
    X = normal(rng, (n, d), 1.0)
    y = (rng.uniform(size=n) < 0.5).astype(np.float64)
    return normal(rng, d, 0.7), X, y


def _spherical(rng):
    return np.array([rng.uniform(0.5, 3.0), rng.uniform(0.3, np.pi - 0.3), rng.uniform(-np.pi + 0.2, np.pi - 0.2)])


def _entry(name, statement, doc, function, derivative, kind, sample, **kw):
    return Identity(name=name, chapter=CHAPTER, statement=statement, derivation=f"{DOCS}/{doc}.md",
                    function=function, derivative=derivative, kind=kind, sample=sample, **kw)


ENTRIES = [
    # partial derivatives and gradients
    _entry("partial_derivatives", "∇(x₀²x₁ + x₁ sin x₂ + exp(x₀x₂)) = (∂f/∂x₀, ∂f/∂x₁, ∂f/∂x₂), each holding the others fixed",
           "partial_derivatives", mv.three_variable, mv.three_variable_gradient, "gradient",
           lambda rng: (rng.uniform(-1.2, 1.2, size=3),)),
    Claim(name="differentiability", chapter=CHAPTER,
          statement="f is differentiable at x iff f(x+h) = f(x) + ∇f·h + o(‖h‖); partials may exist without it (xy/(x²+y²)); continuous partials suffice",
          derivation=f"{DOCS}/differentiability.md", implementation=mv.linearization_remainder, verify=_differentiability_claim),
    Claim(name="hessian_symmetry", chapter=CHAPTER, statement="Schwarz: ∂²f/∂xᵢ∂xⱼ = ∂²f/∂xⱼ∂xᵢ for f ∈ C², so H = Hᵀ",
          derivation=f"{DOCS}/hessian_symmetry.md", implementation=mv.mixed_partials, verify=_hessian_symmetry_claim),
    _entry("rosenbrock_gradient", "∇ Σ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²: −400xᵢ(xᵢ₊₁ − xᵢ²) − 2(1 − xᵢ) + 200(xᵢ − xᵢ₋₁²)",
           "rosenbrock", mv.rosenbrock, mv.rosenbrock_gradient, "gradient", lambda rng: (away_from_zero(rng, 7, 0.2, 1.8),)),
    _entry("squared_error_loss_gradient", "∇_w (1/n)‖Xw − y‖² = (2/n) Xᵀ(Xw − y)", "squared_error_loss",
           mv.squared_error_loss, mv.squared_error_loss_gradient, "gradient", lambda rng: (normal(rng, 5, 1.0), *_linear_data(rng))),
    _entry("smooth_max_gradient", "∇ τ ln Σ exp(xᵢ/τ) = softmax(x/τ)", "logsumexp", mv.smooth_max, mv.smooth_max_gradient,
           "gradient", lambda rng: (normal(rng, 7, 2.0),)),
    _entry("logistic_loss_gradient", "∇_w mean(softplus(Xw) − y⊙Xw) = Xᵀ(σ(Xw) − y)/n", "logistic_regression",
           mv.logistic_loss, mv.logistic_loss_gradient, "gradient", logistic_regression_sample),
    _entry("quadratic_gradient", "∇(½xᵀAx − bᵀx) = ½(A + Aᵀ)x − b", "quadratic", mv.quadratic, mv.quadratic_gradient,
           "gradient", lambda rng: (normal(rng, 5), nonsymmetric(rng, 5, 5), normal(rng, 5))),
    # Jacobians
    _entry("silu_jacobian", "∂(x⊙σ(x))/∂x = diag(σ(x) + x σ(x)(1 − σ(x))), shaped x.shape + x.shape", "elementwise_jacobian",
           mv.silu, mv.silu_jacobian, "jacobian", lambda rng: (away_from_zero(rng, (3, 4), 0.2, 4.0),)),
    _entry("affine_map_jacobian", "∂(Ax + b)/∂x = A (m × n, m ≠ n)", "affine_map", mv.affine_map, mv.affine_map_jacobian,
           "jacobian", lambda rng: (normal(rng, 3), nonsymmetric(rng, 5, 3), normal(rng, 5))),
    _entry("softmax_jacobian", "∂softmax(x)/∂x = diag(s) − s sᵀ", "softmax_jacobian", sv.softmax, mv.softmax_jacobian,
           "jacobian", lambda rng: (normal(rng, 6, 6.0),)),
    _entry("spherical_jacobian", "∂(r sθcφ, r sθsφ, r cθ)/∂(r, θ, φ), det = r² sin θ", "coordinate_change",
           mv.spherical_to_cartesian, mv.spherical_to_cartesian_jacobian, "jacobian", lambda rng: (_spherical(rng),)),
    _entry("polar_jacobian", "∂(r cos θ, r sin θ)/∂(r, θ) = [[cos θ, −r sin θ], [sin θ, r cos θ]]", "coordinate_change",
           mv.polar_to_cartesian, mv.polar_to_cartesian_jacobian, "jacobian", lambda rng: (_spherical(rng)[:2],)),
    _entry("quadratic_features_jacobian", "∂(xᵢxⱼ)_{i≤j}/∂x_k = δᵢₖxⱼ + δⱼₖxᵢ (ℝ⁴ → ℝ¹⁰)", "quadratic_features",
           mv.quadratic_features, mv.quadratic_features_jacobian, "jacobian", lambda rng: (away_from_zero(rng, 4, 0.3, 2.0),)),
    _entry("tanh_layer_jacobian", "∂tanh(Wx)/∂x = diag(1 − tanh²(Wx)) W", "tanh_network", mv.tanh_layer, mv.tanh_layer_jacobian,
           "jacobian", lambda rng: (normal(rng, 3), nonsymmetric(rng, 5, 3) * 0.6)),
    _entry("two_layer_tanh_network_jacobian", "∂(W₂ tanh(W₁x + b₁) + b₂)/∂x = W₂ diag(1 − tanh²(W₁x + b₁)) W₁",
           "tanh_network", mv.two_layer_tanh_network, mv.two_layer_tanh_network_jacobian, "jacobian", _network),
    _entry("multivariable_chain_rule", "J_{f∘g}(x) = J_f(g(x)) J_g(x), g: ℝ³ → ℝ⁵, f: ℝ⁵ → ℝ²: (2 × 5)(5 × 3)",
           "multivariable_chain_rule", mv.chain_composite, mv.chain_composite_jacobian, "jacobian",
           lambda rng: (away_from_zero(rng, 3, 0.3, 1.5),), holomorphic=True),
    # Hessians and Hessian-vector products
    _entry("rosenbrock_hessian", "∇² Rosenbrock is tridiagonal: 1200xᵢ² − 400xᵢ₊₁ + 2 (+200), off-diagonal −400xᵢ",
           "rosenbrock", mv.rosenbrock, mv.rosenbrock_hessian, "hessian", lambda rng: (away_from_zero(rng, 5, 0.2, 1.8),)),
    _entry("rosenbrock_hvp", "H v for Rosenbrock in O(n), H never formed", "rosenbrock", mv.rosenbrock, mv.rosenbrock_hvp,
           "hvp", lambda rng: (away_from_zero(rng, 7, 0.2, 1.8),)),
    _entry("logsumexp_hessian", "∇² ln Σ exp(xᵢ) = diag(s) − s sᵀ, s = softmax(x)", "logsumexp", sv.logsumexp,
           mv.logsumexp_hessian, "hessian", lambda rng: (normal(rng, 6, 6.0),)),
    _entry("logistic_loss_hessian", "∇² mean(softplus(Xw) − y⊙Xw) = Xᵀ diag(p(1 − p)) X / n", "logistic_regression",
           mv.logistic_loss, mv.logistic_loss_hessian, "hessian", logistic_regression_sample),
    _entry("logistic_loss_hvp", "∇²L v = Xᵀ(p(1 − p) ⊙ Xv)/n", "logistic_regression", mv.logistic_loss,
           mv.logistic_loss_hvp, "hvp", logistic_regression_sample),
    _entry("quadratic_hessian", "∇²(½xᵀAx − bᵀx) = ½(A + Aᵀ)", "quadratic", mv.quadratic, mv.quadratic_hessian,
           "hessian", lambda rng: (normal(rng, 5), nonsymmetric(rng, 5, 5), normal(rng, 5))),
    Claim(name="taylor_second_order", chapter=CHAPTER,
          statement="f(x+h) = f(x) + ∇f(x)·h + ½hᵀ∇²f(x)h + o(‖h‖²) for C² f; error O(‖h‖³) for C³ f",
          derivation=f"{DOCS}/taylor_second_order.md", implementation=mv.taylor_second_order, verify=_taylor_second_order_claim),
    Claim(name="convexity", chapter=CHAPTER,
          statement="∇²f ⪰ 0 everywhere on a convex domain ⇔ f convex (C² f): log-sum-exp and the logistic loss",
          derivation=f"{DOCS}/convexity.md", implementation=mv.midpoint_convexity_gap, verify=_convexity_claim),
    Claim(name="gradient_descent_quadratic", chapter=CHAPTER,
          statement="On ½xᵀAx − bᵀx: 0 < η < 2/λmax decreases f, η > 2/λmax diverges, error along qᵢ scales by (1 − ηλᵢ)",
          derivation=f"{DOCS}/gradient_descent.md", implementation=mv.gradient_descent, verify=_gradient_descent_claim),
]
