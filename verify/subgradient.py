"""Kinks that couple several inputs: a tie of a max is one kink in two coordinates.

At a kink, the engine judges each entry of a hand-coded gradient (or vjp) by the interval
between its one-sided partial derivatives. Entry by entry is exact where the kinks are
separate (ReLU applied elementwise: any value of [0, 1] for each entry at 0 is a valid
subgradient, independently). It is not where one kink involves several inputs: at a tie
of y = max(x₁, x₂), both partials lie in [0, 1], but a valid (Clarke) subgradient is
(t, 1 − t): its entries sum to 1, since moving x₁ and x₂ up together raises y at rate 1.
A max-pool backward that sends the gradient to every tied position (1, 1) passes entry by
entry and is wrong.

This module finds the coupled groups and judges each as a whole. Let φ be the scalar
being differentiated (f for a gradient, ⟨u, f⟩ for a vjp with cotangent u), K the kinked
entries, and r_i, l_i the right and left one-sided partials of φ at entry i. Along the
direction 1_G (every entry of a group G raised together) the one-sided directional
derivatives are φ'(x; 1_G) and −φ'(x; −1_G). If φ is separable in the entries of G they
equal Σ_G r_i and Σ_G l_i; a group is coupled when they do not (tested pairwise, which
merges entries into groups). Within a coupled group that stems from one max or min (φ
convex or concave along 1_G), every Clarke subgradient g satisfies

    min(φ'(x; 1_G), −φ'(x; −1_G)) ≤ Σ_G g_i ≤ max(φ'(x; 1_G), −φ'(x; −1_G)),

and a hand-coded value outside that interval is reported. Only groups found coupled are
judged this way, so elementwise kinks keep their exact per-entry verdict.

Cost: two primal calls per kinked entry, two per pair of kinked entries (at most
MAX_KINKED entries are grouped), two per coupled group. Quotients are one-sided with a
step of 1e-7 · max(1, |x_i|): their error (curvature · step, rounding ε|φ|/step) is far
below the ``RELATIVE`` slack used, while a tie counted twice is off by 100 %.
"""

from __future__ import annotations

import numpy as np

MAX_KINKED = 32  # more kinked entries than this are not grouped (the per-entry verdict stands)
RELATIVE = 1e-4  # slack of the joint test, relative to the size of the quantities compared
STEP = 1e-7


def coupled_kink_violation(kind: str, primal, args: tuple, wrt: tuple, probe, hand, kinked) -> str:
    """'' when every coupled group of kinked entries is consistent, else one line saying
    which group and by how much. ``hand`` and ``kinked`` are one array per wrt argument
    (or one array for a single one), shaped like the arguments."""
    if kind not in ("gradient", "vjp"):
        return ""
    hand_blocks = list(hand) if isinstance(hand, (tuple, list)) else [hand]
    kinked_blocks = list(kinked) if isinstance(kinked, (tuple, list)) else [kinked]
    if len(hand_blocks) != len(wrt) or len(kinked_blocks) != len(wrt):
        return ""
    entries = [(b, tuple(int(i) for i in idx)) for b, k in enumerate(kinked_blocks) for idx in np.argwhere(np.asarray(k))]
    if len(entries) < 2 or len(entries) > MAX_KINKED:
        return ""
    base = [np.array(a, dtype=np.float64, copy=True) if np.issubdtype(np.asarray(a).dtype, np.floating) else a for a in args]
    u = None if kind == "gradient" else np.asarray(probe, dtype=np.float64)

    def phi(moves: dict) -> float:
        point = [a.copy() if isinstance(a, np.ndarray) else a for a in base]
        for (b, idx), t in moves.items():
            point[wrt[b]][idx] += t
        out = np.asarray(primal(*point), dtype=np.float64)
        return float(out) if u is None else float(np.sum(u * out))

    def step(entry) -> float:
        b, idx = entry
        return STEP * max(1.0, abs(float(base[wrt[b]][idx])))

    f0 = phi({})
    h = min(step(e) for e in entries)

    def slopes(group) -> tuple[float, float]:
        up = (phi({e: h for e in group}) - f0) / h
        down = (f0 - phi({e: -h for e in group})) / h
        return up, down

    single = {e: slopes((e,)) for e in entries}
    parent = {e: e for e in entries}

    def root(e):
        while parent[e] != e:
            e = parent[e]
        return e

    def close(a: float, b: float, scale: float) -> bool:
        return abs(a - b) <= RELATIVE * max(scale, 1e-300) + 1e-9 * max(1.0, abs(f0))

    for i, a in enumerate(entries):
        for b in entries[i + 1:]:
            up, down = slopes((a, b))
            scale = max(abs(up), abs(down), *map(abs, single[a]), *map(abs, single[b]))
            if not (close(up, single[a][0] + single[b][0], scale) and close(down, single[a][1] + single[b][1], scale)):
                parent[root(b)] = root(a)
    groups: dict = {}
    for e in entries:
        groups.setdefault(root(e), []).append(e)
    for group in groups.values():
        if len(group) < 2:
            continue
        up, down = slopes(tuple(group))
        total = float(sum(np.asarray(hand_blocks[b], dtype=np.float64)[idx] for b, idx in group))
        lo, hi = min(up, down), max(up, down)
        scale = max(abs(up), abs(down), abs(total))
        if total < lo - RELATIVE * scale - 1e-9 or total > hi + RELATIVE * scale + 1e-9:
            where = ", ".join(f"{list(idx)}" + (f" of result {b}" if len(wrt) > 1 else "") for b, idx in group[:6])
            more = f" and {len(group) - 6} more" if len(group) > 6 else ""
            return (f"the entries {where}{more} share one kink of f (a tie): raised together, f changes at rate "
                    f"[{lo:.6g}, {hi:.6g}], but the hand-coded values there sum to {total:.6g}; each lies between its own "
                    f"one-sided derivatives, together they are no subgradient (a tie's gradient sent to every tied entry?)")
    return ""
