"""The interactive pictures of chapter 01, as plain functions (no Jupyter needed).

Each picture is a function of its slider values that returns a ``matplotlib.figure.Figure``
built with the object API (no pyplot, no global state). The numbers a picture shows come
from a pure function beside it (``secant_slope``, ``vanishing_threshold``, ``chain_slopes``,
...), so that tests can call them across the sliders' ranges and assert what the picture
shows. The derivatives are the project's hand-coded ones from
``implementations/single_variable.py``, the same code the verify engine checks.

The notebook ``01_single_variable_derivatives.ipynb`` wires these functions to sliders;
``figures.py`` calls them at fixed values for the chapter page.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the notebook runs with this folder as working directory
    sys.path.insert(0, str(ROOT))

from implementations import single_variable as sv  # noqa: E402

EPS = float(np.finfo(np.float64).eps)
FIGSIZE = (9.0, 3.8)
DPI = 100


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (what a notebook shows)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _register_png_formatter() -> None:
    """Inside IPython, let ``display(fig)`` show a Figure built without pyplot as a PNG
    (the inline backend registers its formatter only when pyplot is imported)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


_register_png_formatter()

__all__ = [
    "figure_png", "FUNCTIONS", "EPS", "secant_slope", "tangent_slope", "secant_to_tangent",
    "difference_errors", "error_models", "best_step", "central_best_step_model", "difference_error_plot",
    "sigmoid", "sigmoid_derivative", "vanishing_threshold", "vanishing_mask", "sigmoid_vanishing",
    "softplus_beta", "softplus_beta_derivative", "relu", "softplus_gap_bound", "softplus_vs_relu",
    "COMPOSITIONS", "chain_slopes", "chain_rule_slopes",
]


# --------------------------------------------------------------------------------------
# Functions with their first three derivatives (the project's first derivative)
# --------------------------------------------------------------------------------------


def _on_arrays(function):
    """The project's stable primals dispatch on the array API, which needs an array: wrap
    them so that sliders can pass plain floats."""
    return lambda x: function(np.asarray(x, dtype=np.float64))


_sigmoid = _on_arrays(sv.sigmoid)
_sigmoid_derivative = _on_arrays(sv.sigmoid_derivative)


def _sigmoid_second(x):
    """σ'' = σ'(1 − 2σ)."""
    return _sigmoid_derivative(x) * (1 - 2 * _sigmoid(x))


def _sigmoid_third(x):
    """σ''' = σ'(1 − 6σ + 6σ²)."""
    s = _sigmoid(x)
    return _sigmoid_derivative(x) * (1 - 6 * s + 6 * s * s)


FUNCTIONS = {
    # name: (f, f', f'', f''', label); f' is the project's hand-coded derivative
    "sin": (np.sin, sv.sin_derivative, lambda x: -np.sin(x), lambda x: -np.cos(x), "sin x"),
    "exp": (np.exp, sv.exp_derivative, np.exp, np.exp, "exp x"),
    "x^3.5": (_on_arrays(sv.power), sv.power_derivative, lambda x: 3.5 * 2.5 * x**1.5, lambda x: 3.5 * 2.5 * 1.5 * x**0.5, "x^3.5"),
    "sigmoid": (_sigmoid, _sigmoid_derivative, _sigmoid_second, _sigmoid_third, "σ(x)"),
}
"""The dropdown's functions. On the sliders' range x ∈ [0.25, 1.25] none of f', f'', f'''
vanishes, so the forward error is exactly first order and the central one second order."""


def _label(name: str) -> str:
    return FUNCTIONS[name][4]


# --------------------------------------------------------------------------------------
# 1. Secant → tangent
# --------------------------------------------------------------------------------------


def secant_slope(a, h, function: str = "sin"):
    """Slope of the secant through (a, f(a)) and (a + h, f(a + h)): the forward quotient."""
    f = FUNCTIONS[function][0]
    return sv.forward_difference(f, a, h)


def tangent_slope(a, function: str = "sin"):
    """Slope of the tangent at a: the project's hand-coded f'(a)."""
    return FUNCTIONS[function][1](a)


def secant_to_tangent(a: float = 1.0, h: float = 0.5, function: str = "sin") -> Figure:
    """Left: f, the secant with step h and the tangent at a. Right: |secant − f'(a)| against h."""
    f, df, d2f, _, label = FUNCTIONS[function]
    fa, slope_t, slope_s = f(a), tangent_slope(a, function), secant_slope(a, h, function)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    left, right = fig.subplots(1, 2)

    lo = a - 1.5 if function != "x^3.5" else 0.0
    xs = np.linspace(lo, a + 1.8, 300)
    left.plot(xs, f(xs), lw=2, color="tab:blue", label=f"f(x) = {label}")
    left.plot(xs, fa + slope_t * (xs - a), "--", color="tab:red", lw=1.3, label=f"tangent, slope f'(a) = {slope_t:.4f}")
    left.plot(xs, fa + slope_s * (xs - a), "-", color="tab:green", lw=1.3, label=f"secant, slope {slope_s:.4f}")
    left.plot([a, a + h], [fa, f(a + h)], "o", color="black", ms=5)
    left.annotate("a", (a, fa), textcoords="offset points", xytext=(-10, 6))
    left.annotate("a + h", (a + h, f(a + h)), textcoords="offset points", xytext=(4, -12))
    span = f(xs)
    left.set_ylim(span.min() - 0.4 * np.ptp(span) - 0.1, span.max() + 0.4 * np.ptp(span) + 0.1)
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.set_title(f"Secant → tangent as h → 0 (a = {a:.2f}, h = {h:.3g})", fontsize=10)
    left.legend(loc="lower right", fontsize=7)
    left.grid(True, alpha=0.3)

    steps = np.logspace(-4, np.log10(2.0), 60)
    gaps = np.abs(secant_slope(a, steps, function) - slope_t)
    right.loglog(steps, gaps, color="tab:green", lw=1.5, label="|secant slope − f'(a)|")
    right.loglog(steps, np.abs(d2f(a)) / 2 * steps, "--", color="black", lw=1, label="|f''(a)| h / 2  (slope 1)")
    right.loglog([h], [abs(slope_s - slope_t)], "o", color="tab:green", ms=7, label=f"this h: {abs(slope_s - slope_t):.2e}")
    right.set_xlabel("step h")
    right.set_ylabel("slope error")
    right.set_title("The secant's error is O(h)", fontsize=10)
    right.legend(loc="upper left", fontsize=7)
    right.grid(True, which="major", alpha=0.3)
    return fig


# --------------------------------------------------------------------------------------
# 2. Forward vs central differences: truncation and rounding
# --------------------------------------------------------------------------------------

STEPS = np.logspace(-1, -15, 141)


def difference_errors(x: float = 1.0, function: str = "exp", steps=STEPS):
    """Relative errors (forward, central) of the difference quotients at each step h."""
    f, df = FUNCTIONS[function][:2]
    return sv.difference_quotient_errors(f, df, x, steps)


def error_models(x: float = 1.0, function: str = "exp", steps=STEPS):
    """The three models of the figure, relative to |f'(x)|: forward truncation |f''|h/2,
    central truncation |f'''|h²/6, rounding ε|f|/h."""
    f, df, d2f, d3f, _ = FUNCTIONS[function]
    steps = np.asarray(steps, dtype=np.float64)
    scale = abs(df(x))
    return {
        "forward O(h)": abs(d2f(x)) * steps / 2 / scale,
        "central O(h²)": abs(d3f(x)) * steps**2 / 6 / scale,
        "rounding ε/h": EPS * abs(f(x)) / steps / scale,
    }


def best_step(errors, steps=STEPS, window: int = 5) -> float:
    """The step where the error is smallest, read off the curve smoothed by a running median
    of log(error) over ``window`` neighbouring steps: below the best step rounding makes the
    curve ragged, and a lone error that happens to round to 0 is not the trend."""
    log_errors = np.log10(np.maximum(np.asarray(errors, dtype=np.float64), 1e-300))
    half = window // 2
    padded = np.pad(log_errors, (half, half), mode="edge")
    smoothed = np.median(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)
    return float(np.asarray(steps)[int(np.argmin(smoothed))])


def central_best_step_model(x: float = 1.0, function: str = "exp") -> float:
    """h₀* = (3ε|f| / (2|f'''|))^(1/3), the minimum of |f'''|h²/6 + ε|f|/(2h): ≈ ε^(1/3)."""
    f, _, _, d3f, _ = FUNCTIONS[function]
    return float(np.cbrt(3 * EPS * abs(f(x)) / (2 * abs(d3f(x)))))


def difference_error_plot(x: float = 1.0, function: str = "exp") -> Figure:
    """Log-log relative error of forward and central quotients against h, with the models."""
    forward, central = difference_errors(x, function)
    models = error_models(x, function)
    fig = Figure(figsize=(9.0, 4.6), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    positive = lambda e: np.where(e > 0, e, np.nan)  # noqa: E731  (0 has no place on a log axis)
    ax.loglog(STEPS, positive(forward), "o-", ms=2, lw=1, color="tab:blue", label="forward (f(x+h) − f(x)) / h")
    ax.loglog(STEPS, positive(central), "s-", ms=2, lw=1, color="tab:orange", label="central (f(x+h) − f(x−h)) / 2h")
    ax.loglog(STEPS, models["forward O(h)"], "-", lw=5, alpha=0.2, color="tab:blue", label="O(h): |f''| h / 2|f'|")
    ax.loglog(STEPS, models["central O(h²)"], "-", lw=5, alpha=0.25, color="tab:orange", label="O(h²): |f'''| h² / 6|f'|")
    ax.loglog(STEPS, models["rounding ε/h"], ":", lw=1.3, color="black", label="rounding: ε |f| / (h |f'|)")
    h_fwd, h_cen = best_step(forward), best_step(central)
    ax.axvline(h_fwd, color="tab:blue", ls="-.", lw=1, label=f"best forward h = {h_fwd:.1e} (√ε ≈ 1.5e−8)")
    ax.axvline(h_cen, color="tab:orange", ls="-.", lw=1, label=f"best central h = {h_cen:.1e} (ε^(1/3) ≈ 6.1e−6)")
    ax.set_xlim(1e-15, 1e-1)
    ax.set_ylim(1e-14, 1e1)
    ax.invert_xaxis()  # h shrinks left to right, as in the limit h → 0
    ax.set_xlabel("step h  (shrinking →)")
    ax.set_ylabel("relative error |q(h) − f'(x)| / |f'(x)|")
    ax.set_title(f"Difference quotients of {_label(function)} at x = {x:.2f} (float64)", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    return fig


# --------------------------------------------------------------------------------------
# 3. σ and σ′: the vanishing-gradient region
# --------------------------------------------------------------------------------------

sigmoid = _sigmoid
sigmoid_derivative = _sigmoid_derivative


def vanishing_threshold(threshold: float) -> float:
    """The x* > 0 with σ'(x) < threshold exactly when |x| > x* (for 0 < threshold ≤ ¼).

    σ'(x) = 1 / (4 cosh²(x/2)), so σ'(x) < t ⟺ cosh(x/2) > 1/(2√t) ⟺ |x| > 2 arccosh(1/(2√t)).
    At t = ¼ this is 0: σ' < ¼ everywhere except at 0.
    """
    if not 0 < threshold <= 0.25:
        raise ValueError(f"threshold must lie in (0, 1/4], got {threshold}")
    return float(2 * np.arccosh(1 / (2 * np.sqrt(threshold))))


def vanishing_mask(x, threshold: float):
    """Where the picture shades: σ'(x) < threshold, from the project's σ'."""
    return _sigmoid_derivative(x) < threshold


def sigmoid_vanishing(threshold: float = 0.01, half_width: float = 8.0) -> Figure:
    """σ and σ' on [−w, w], the region σ' < threshold shaded, the peak ¼ at 0 marked."""
    xs = np.linspace(-half_width, half_width, 801)
    s, ds = _sigmoid(xs), _sigmoid_derivative(xs)
    x_star = vanishing_threshold(threshold)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        ax.axvspan(-half_width, -x_star, color="tab:red", alpha=0.12, lw=0)
        ax.axvspan(x_star, half_width, color="tab:red", alpha=0.12, lw=0, label=f"σ' < {threshold:g}: |x| > {x_star:.2f}")
        ax.set_xlim(-half_width, half_width)
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.3)
    left.plot(xs, s, color="tab:blue", lw=2, label="σ(x) = 1 / (1 + e⁻ˣ)")
    left.set_ylabel("σ(x)")
    left.set_title("The sigmoid saturates at 0 and 1", fontsize=10)
    left.legend(loc="upper left", fontsize=7)
    right.plot(xs, ds, color="tab:orange", lw=2, label="σ'(x) = σ(x)(1 − σ(x))")
    right.axhline(threshold, color="tab:red", ls=":", lw=1, label=f"threshold {threshold:g}")
    right.plot([0], [0.25], "o", color="black", ms=5, label="peak σ'(0) = 1/4")
    right.set_ylim(0, 0.3)
    right.set_ylabel("σ'(x)")
    right.set_title("σ' ≤ 1/4; the gradient vanishes where σ saturates", fontsize=10)
    right.legend(loc="upper right", fontsize=7)
    return fig


# --------------------------------------------------------------------------------------
# 4. Softplus → ReLU
# --------------------------------------------------------------------------------------


def relu(x):
    return np.maximum(x, 0.0)


def softplus_beta(x, beta: float = 1.0):
    """softplus_β(x) = ln(1 + e^(βx)) / β, from the project's stable softplus."""
    return sv.softplus(beta * np.asarray(x, dtype=np.float64)) / beta


def softplus_beta_derivative(x, beta: float = 1.0):
    """d/dx softplus(βx)/β = σ(βx) by the chain rule (the β and the 1/β cancel)."""
    return sv.softplus_derivative(beta * np.asarray(x, dtype=np.float64))


def softplus_gap_bound(beta: float) -> float:
    """max_x (softplus_β(x) − ReLU(x)) = ln 2 / β, attained at x = 0."""
    return float(np.log(2) / beta)


def softplus_vs_relu(beta: float = 1.0, half_width: float = 4.0) -> Figure:
    """Left: softplus_β and ReLU, with the gap. Right: their derivatives σ(βx) and the step."""
    xs = np.linspace(-half_width, half_width, 801)
    sp, r = softplus_beta(xs, beta), relu(xs)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(xs, r, color="black", lw=1.5, label="ReLU(x) = max(x, 0)")
    left.plot(xs, sp, color="tab:blue", lw=2, label=f"softplus_β(x), β = {beta:.3g}")
    left.fill_between(xs, r, sp, color="tab:blue", alpha=0.15, label=f"gap ≤ ln 2 / β = {softplus_gap_bound(beta):.3f}")
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.set_title("softplus_β(x) = ln(1 + e^(βx)) / β → ReLU", fontsize=10)
    left.legend(loc="upper left", fontsize=7)
    left.grid(True, alpha=0.3)
    right.plot(xs, (xs > 0).astype(float), color="black", lw=1.5, label="ReLU'(x) (step; undefined at 0)")
    right.plot(xs, softplus_beta_derivative(xs, beta), color="tab:blue", lw=2, label="softplus_β'(x) = σ(βx)")
    right.set_xlabel("x")
    right.set_ylabel("derivative")
    right.set_title("The derivative is a smooth step σ(βx)", fontsize=10)
    right.legend(loc="upper left", fontsize=7)
    right.grid(True, alpha=0.3)
    return fig


# --------------------------------------------------------------------------------------
# 5. The chain rule as a product of slopes
# --------------------------------------------------------------------------------------

COMPOSITIONS = {
    # name: (outer f, f', inner g, g', label of f, label of g, project's derivative of f∘g)
    "exp(sin(x²))": (np.exp, sv.exp_derivative, lambda x: np.sin(x * x), lambda x: np.cos(x * x) * 2 * x,
                     "f(u) = exp u", "g(x) = sin(x²)", sv.exp_sin_square_derivative),
    "softplus = ln(1 + eˣ)": (np.log, sv.log_derivative, lambda x: 1 + np.exp(x), sv.exp_derivative,
                              "f(u) = ln u", "g(x) = 1 + eˣ", _on_arrays(sv.softplus_derivative)),
    "sigmoid = 1 / (1 + e⁻ˣ)": (lambda u: 1 / u, lambda u: -1 / u**2, lambda x: 1 + np.exp(-x), lambda x: -np.exp(-x),
                                "f(u) = 1/u", "g(x) = 1 + e⁻ˣ", _sigmoid_derivative),
}
"""Compositions f∘g whose derivative the project hand-codes (the chain rule checked)."""


def chain_slopes(composition: str, x: float) -> dict:
    """The slopes the picture shows: g'(x), f'(g(x)), their product via the project's
    ``chain_rule`` combinator, and the project's hand-coded derivative of f∘g."""
    f, df, g, dg, *_, project = COMPOSITIONS[composition]
    x = np.asarray(x, dtype=np.float64)
    slopes = {
        "x": x,
        "u": g(x),
        "inner": dg(x),
        "outer": df(g(x)),
        "product": sv.chain_rule(df, g, dg)(x),
        "project": project(x),
    }
    return {k: (float(v) if np.ndim(v) == 0 else v) for k, v in slopes.items()}


def chain_rule_slopes(composition: str = "exp(sin(x²))", x: float = 1.0) -> Figure:
    """Three panels: g with its tangent at x, f with its tangent at u = g(x), f∘g with the
    tangent whose slope is the product."""
    f, df, g, dg, f_label, g_label, _ = COMPOSITIONS[composition]
    s = chain_slopes(composition, x)
    u = s["u"]
    fig = Figure(figsize=(10.5, 3.8), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 3)
    xs = np.linspace(-2.0, 2.0, 400)
    us = np.linspace(min(g(xs).min(), u - 1.0), max(g(xs).max(), u + 1.0), 400)
    if composition.startswith("softplus") or composition.startswith("sigmoid"):
        us = us[us > 0.05]  # ln u and 1/u live on u > 0
    t = 0.6  # half-length of the tangent segments
    panels = [
        (axes[0], xs, g(xs), x, u, s["inner"], "x", "g(x)", f"inner {g_label}", f"g'(x) = {s['inner']:.4f}"),
        (axes[1], us, f(us), u, f(u), s["outer"], "u", "f(u)", f"outer {f_label}", f"at u = g(x) = {u:.4f}:\nf'(g(x)) = {s['outer']:.4f}"),
        (axes[2], xs, f(g(xs)), x, f(u), s["product"], "x", "f(g(x))", "composition f∘g", f"product = {s['product']:.4f}\nproject: {s['project']:.4f}"),
    ]
    colors = ["tab:green", "tab:purple", "tab:red"]
    for (ax, px, py, p0, v0, slope, xl, yl, title, text), color in zip(panels, colors):
        ax.plot(px, py, color="tab:blue", lw=2)
        seg = np.array([p0 - t, p0 + t])
        ax.plot(seg, v0 + slope * (seg - p0), color=color, lw=2.5)
        ax.plot([p0], [v0], "o", color="black", ms=5)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(title, fontsize=9)
        ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=8, color=color,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"(f∘g)'(x) = f'(g(x)) · g'(x) = {s['outer']:.4f} × {s['inner']:.4f} at x = {x:.2f}", fontsize=10)
    return fig
