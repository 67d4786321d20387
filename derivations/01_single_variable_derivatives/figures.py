"""Figures of chapter 01: difference quotients, tangent and secant lines, σ and softplus, the chain rule.

Writes ``difference_quotient_error.png``, ``tangent_line.png``, ``secant_to_tangent.png``,
``sigmoid_vanishing_gradient.png``, ``softplus_vs_relu.png`` and ``chain_rule_slopes.png``
into ``--out`` (default:
the ``figures/`` folder beside this script). Deterministic and offline; run from the
repository root as ``python derivations/01_single_variable_derivatives/figures.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # derivations/: the shared figure_tools

import figure_tools  # noqa: E402  (chooses the Agg backend before pyplot is imported)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from implementations import single_variable as sv  # noqa: E402

sys.path.insert(0, str(HERE))
import interactive  # noqa: E402  (the notebook's pictures, drawn here at fixed slider values)

EPS = np.finfo(np.float64).eps


def difference_quotient_error(out: Path) -> Path:
    """Relative error of forward and central quotients of exp at x = 1 against h."""
    x = 1.0
    steps = np.logspace(-1, -15, 141)
    forward, central = sv.difference_quotient_errors(np.exp, np.exp, x, steps)
    # An error that happens to round to exactly 0 has no place on a log axis.
    forward = np.where(forward > 0, forward, np.nan)
    central = np.where(central > 0, central, np.nan)

    fig, ax = plt.subplots(figsize=(7.5, 6.0), dpi=120)
    ax.loglog(steps, forward, "o-", ms=2.5, lw=1.2, color="tab:blue", label="forward  (f(x+h) − f(x)) / h")
    ax.loglog(steps, central, "s-", ms=2.5, lw=1.2, color="tab:orange", label="central  (f(x+h) − f(x−h)) / 2h")
    # Truncation models for f = exp (f = f' = f'' = f''' = e at x = 1), relative to f'(x):
    # forward h/2, central h²/6; rounding ε/h. Drawn only where they are visible.
    ref = steps[steps >= 1e-9]
    ax.loglog(ref, ref / 2, "-", lw=5, color="tab:blue", alpha=0.2, zorder=1, label="model f''h/2 / f' = h/2  (slope 1)")
    ref2 = steps[steps >= 1e-6]
    ax.loglog(ref2, ref2**2 / 6, "-", lw=5, color="tab:orange", alpha=0.25, zorder=1, label="model f'''h²/6 / f' = h²/6  (slope 2)")
    rnd = steps[steps <= 1e-4]
    ax.loglog(rnd, EPS / rnd, ":", lw=1.2, color="black", alpha=0.7, label="rounding model ε/h  (slope −1)")
    for h_opt, text, color in ((np.sqrt(EPS), "h = √ε ≈ 1.5e−8", "tab:blue"), (np.cbrt(EPS), "h = ε^(1/3) ≈ 6.1e−6", "tab:orange")):
        ax.axvline(h_opt, color=color, lw=1.0, ls="-.", alpha=0.8)
        ax.text(h_opt / 1.3, 5.0, text, color=color, ha="left", va="top", rotation=90, fontsize=9)
    ax.set_xlim(1e-15, 1e-1)
    ax.invert_xaxis()  # h shrinks left to right, as in the limit h → 0
    ax.set_ylim(1e-13, 1e1)
    ax.set_xlabel("step h  (shrinking →)")
    ax.set_ylabel("relative error  |q(h) − f'(x)| / |f'(x)|")
    ax.set_title("Difference quotients of exp at x = 1 (float64): truncation vs rounding")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    path = out / "difference_quotient_error.png"
    return figure_tools.save(fig, path)


def tangent_line(out: Path) -> Path:
    """sin with its tangent at a = 1, and the gap |f − T| shrinking like h²."""
    a = 1.0
    line = sv.tangent_line(np.sin, np.cos, a)

    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 4.2), dpi=120)
    xs = np.linspace(-0.5, 3.0, 400)
    left.plot(xs, np.sin(xs), lw=1.8, color="tab:blue", label="f(x) = sin x")
    left.plot(xs, line(xs), "--", lw=1.4, color="tab:red", label="T(x) = sin 1 + cos 1 · (x − 1)")
    left.plot([a], [np.sin(a)], "o", color="black", ms=5, label="(a, f(a)), a = 1")
    left.set_ylim(-1.2, 2.2)
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.set_title("The tangent touches f at a with slope f'(a)")
    left.grid(True, alpha=0.3)
    left.legend(loc="upper left", fontsize=8)

    steps = np.logspace(-5, 0, 61)
    gap_right = np.abs(np.sin(a + steps) - line(a + steps))
    gap_left = np.abs(np.sin(a - steps) - line(a - steps))
    right.loglog(steps, gap_right, "o-", ms=2.5, lw=1.2, color="tab:blue", label="|f(a+h) − T(a+h)|")
    right.loglog(steps, gap_left, "s", ms=2.5, color="tab:green", alpha=0.6, label="|f(a−h) − T(a−h)|")
    right.loglog(steps, np.sin(a) / 2 * steps**2, "--", lw=1.0, color="black", label="|f''(a)|/2 · h² (slope 2)")
    right.set_xlabel("|h|")
    right.set_ylabel("gap")
    right.set_title("The gap is O(h²): f(a+h) − T(a+h) = f''(ξ)h²/2")
    right.grid(True, which="major", alpha=0.3)
    right.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = out / "tangent_line.png"
    return figure_tools.save(fig, path)


def secant_to_tangent(out: Path) -> Path:
    """The secant of sin through a = 1 and a + h, h = 0.5, beside its slope error against h."""
    return figure_tools.save(interactive.secant_to_tangent(a=1.0, h=0.5, function="sin"), out / "secant_to_tangent.png")


def sigmoid_vanishing_gradient(out: Path) -> Path:
    """σ and σ' with the region σ' < 0.01 shaded and the peak 1/4 at 0."""
    return figure_tools.save(interactive.sigmoid_vanishing(threshold=0.01), out / "sigmoid_vanishing_gradient.png")


def softplus_vs_relu(out: Path) -> Path:
    """softplus_β against ReLU at β = 1, and their derivatives."""
    return figure_tools.save(interactive.softplus_vs_relu(beta=1.0), out / "softplus_vs_relu.png")


def chain_rule_slopes(out: Path) -> Path:
    """exp(sin(x²)) at x = 1: the inner slope, the outer slope and their product."""
    return figure_tools.save(interactive.chain_rule_slopes("exp(sin(x²))", x=1.0), out / "chain_rule_slopes.png")


FIGURES = [difference_quotient_error, tangent_line, secant_to_tangent, sigmoid_vanishing_gradient, softplus_vs_relu, chain_rule_slopes]


def main(argv=None) -> list[Path]:
    return figure_tools.main(__doc__, HERE / "figures", FIGURES, argv)


if __name__ == "__main__":
    main()
