"""verify.check's cost against torch.autograd.gradcheck on the same hand-coded derivatives.

    python -m benchmarks.vs_gradcheck [--quick] [--out DIR]

f(x) = Σᵢ softplus(xᵢ xᵢ₊₁) and its chain of terms F(x)ᵢ = softplus(xᵢ xᵢ₊₁), with hand-coded
numpy derivatives of four kinds: the gradient of f, the vjp of F, the Hessian of f and its
HVP. verify.check runs with its defaults (strategy="auto", every backend), and a second time
with backends=("torch", "fd") (no JAX: its tracing and compilation are the largest fixed
cost of a small check, and torch's autodiff covers both modes). gradcheck checks
the same numpy derivative, wrapped as the backward of a torch.autograd.Function: for the
gradient, f's backward; for the vjp, F's backward; for the Hessian and the HVP, the backward
of ∇f (forward: the hand-coded gradient; backward: cotangent·H, or the HVP of the
cotangent), which is what gradgradcheck would examine. gradcheck runs in its default mode
where its Jacobian has at most DEFAULT_MODE_ENTRIES entries, else with fast_mode=True (the
yardstick verify/strategy.py uses then); a dense n × n Hessian above n = 10³ (800 MB at
n = 10⁴) is not built, by either tool.

Timing: one first run of each tool (apart), then ROUNDS rounds (3 at n = 10⁴) in which both run once, in a
random order, after a PAUSE_S pause; the table gives the medians, [min, max], and the
ratio of the medians. torch.set_num_threads(1) for both.
Writes DIR/vs_gradcheck.md and DIR/vs_gradcheck.json (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
from array_api_compat import array_namespace

from benchmarks.timing import run_and_write

SIZES = (10**2, 10**3, 10**4)
KINDS = ("gradient", "vjp", "hessian", "hvp")
ROUNDS = 5
PAUSE_S = 0.1
DEFAULT_MODE_ENTRIES = 10**7
MAX_HESSIAN_N = 10**3


def chain(x):
    xp = array_namespace(x)
    return xp.logaddexp(xp.zeros_like(x[1:]), x[1:] * x[:-1])


def energy(x):
    return chain(x).sum()


def _parts(x):
    s = 1 / (1 + np.exp(-x[1:] * x[:-1]))
    return s, s * (1 - s)


def gradient(x):
    s, _ = _parts(x)
    g = np.zeros_like(x)
    g[:-1] += s * x[1:]
    g[1:] += s * x[:-1]
    return g


def vjp(x, u):
    s, _ = _parts(x)
    g = np.zeros_like(x)
    g[:-1] += u * s * x[1:]
    g[1:] += u * s * x[:-1]
    return g


def _tridiagonal(x):
    s, w = _parts(x)
    diagonal = np.zeros_like(x)
    diagonal[:-1] += w * x[1:] ** 2
    diagonal[1:] += w * x[:-1] ** 2
    return diagonal, s + w * x[1:] * x[:-1]


def hessian(x):
    diagonal, off = _tridiagonal(x)
    return np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1)


def hvp(x, v):
    diagonal, off = _tridiagonal(x)
    out = diagonal * v
    out[:-1] += off * v[1:]
    out[1:] += off * v[:-1]
    return out


def verify_run(kind: str, x, backends=None):
    """verify.check with its defaults, or with ``backends`` (("torch", "fd"): without JAX,
    whose tracing and compilation are the largest fixed cost of a small check)."""
    import verify

    function, derivative = {"gradient": (energy, gradient), "vjp": (chain, vjp), "hessian": (energy, hessian), "hvp": (energy, hvp)}[kind]
    result = verify.check(function, derivative, x, kind=kind, backends=backends)
    return result


def gradcheck_run(kind: str, x, fast_mode: bool) -> bool:
    import torch

    class HandCoded(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            if kind == "gradient":
                return energy(t)
            if kind == "vjp":
                return chain(t)
            return torch.from_numpy(gradient(t.detach().numpy()))  # ∇f: its backward is the Hessian

        @staticmethod
        def backward(ctx, cotangent):
            (t,) = ctx.saved_tensors
            a, c = t.detach().numpy(), cotangent.detach().numpy()
            if kind == "gradient":
                return cotangent * torch.from_numpy(gradient(a))
            if kind == "vjp":
                return torch.from_numpy(vjp(a, c))
            if kind == "hessian":
                return torch.from_numpy(c @ hessian(a))
            return torch.from_numpy(hvp(a, c))  # H symmetric: cᵀH = H c

    leaf = torch.from_numpy(np.array(x, copy=True)).requires_grad_()
    torch.manual_seed(0)
    return bool(torch.autograd.gradcheck(HandCoded.apply, (leaf,), fast_mode=fast_mode, raise_exception=False))


def _timed(fn):
    time.sleep(PAUSE_S)
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(sizes=SIZES, rounds: int = ROUNDS) -> list[dict]:
    import torch

    import verify.backends  # noqa: F401

    torch.set_num_threads(1)
    warm = np.random.default_rng(0).standard_normal(8)
    for kind in KINDS:
        verify_run(kind, warm), gradcheck_run(kind, warm, False)
    rows = []
    order = np.random.default_rng(0)
    for kind in KINDS:
        for n in sizes:
            row = {"kind": kind, "n": n}
            rows.append(row)
            if kind == "hessian" and n > MAX_HESSIAN_N:
                row["skipped"] = f"a dense {n} × {n} Hessian is {8 * n * n / 1e6:.0f} MB"
                print(row, flush=True)
                continue
            x = np.random.default_rng(n).standard_normal(n)
            m = 1 if kind == "gradient" else (n - 1 if kind == "vjp" else n)
            fast = n * m > DEFAULT_MODE_ENTRIES
            row["gradcheck mode"] = "fast_mode" if fast else "default"
            tools = {"verify": lambda: verify_run(kind, x), "verify torch+fd": lambda: verify_run(kind, x, ("torch", "fd")),
                     "gradcheck": lambda: gradcheck_run(kind, x, fast)}
            first = {name: _timed(fn) for name, fn in tools.items()}
            row["verify passed"] = first["verify"][1].passed
            row["gradcheck passed"] = first["gradcheck"][1]
            row["strategy"] = first["verify"][1].strategy
            times = {name: [] for name in tools}
            for _ in range(rounds if n < 10**4 else min(rounds, 3)):
                for name in [list(tools)[i] for i in order.permutation(len(tools))]:
                    times[name].append(_timed(tools[name])[0])
            for name in tools:
                row[f"{name} first"] = first[name][0]
                row[f"{name} median"] = statistics.median(times[name])
                row[f"{name} spread"] = [min(times[name]), max(times[name])]
            row["ratio"] = row["verify median"] / row["gradcheck median"]
            row["ratio torch+fd"] = row["verify torch+fd median"] / row["gradcheck median"]
            row["verify torch+fd passed"] = first["verify torch+fd"][1].passed
            print({k: v for k, v in row.items() if k != "strategy"}, flush=True)
    return rows


def report(rows, seconds: float, load: tuple, rounds: int) -> str:
    lines = [
        "# verify.check against torch.autograd.gradcheck: cost per check",
        "",
        "Generated by `python -m benchmarks.vs_gradcheck` (benchmarks/vs_gradcheck.py; the method is in its docstring).",
        f"CPU, float64, torch.set_num_threads(1); medians of {rounds} interleaved runs per tool ({min(rounds, 3)} at n = 1e4), [min, max] in brackets; "
        "the first run of each (JAX compiles, caches warm) apart.",
        "",
        ("**Caveat: measured on a shared machine** " if max(load) > 0.75 * (os.cpu_count() or 1) else "Measured on a quiet machine ")
        + f"({os.cpu_count()} cores, load average {load[0]:.1f} before, {load[1]:.1f} after; "
        f"the whole run took {seconds:.0f} s). Ratios from the same rounds move less than the times.",
        "",
        "The column `backends=(torch, fd)` is verify.check without JAX's references (the same strategy, torch's autodiff in both "
        "modes and finite differences). JAX traces and compiles its references at a function's first check (the first-run column); "
        "at each later check it traces f again, to see a changed global (f alone once the same derivatives were traced twice).",
        "",
        "| kind | n | gradcheck mode | verify.check s | gradcheck s | ratio | backends=(torch, fd) s | ratio | verify first run s | strategy chosen |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['kind']} | {r['n']:.0e} | – | – | – | – | – | – | – | not run: {r['skipped']} |")
            continue
        chosen = r["strategy"].split(" (")[0].removeprefix("strategy ") if r["strategy"] else ""
        vs, gs, ts = r["verify spread"], r["gradcheck spread"], r["verify torch+fd spread"]
        lines.append(f"| {r['kind']} | {r['n']:.0e} | {r['gradcheck mode']} | {r['verify median']:.3f} [{vs[0]:.3f}, {vs[1]:.3f}] | "
                     f"{r['gradcheck median']:.4f} [{gs[0]:.4f}, {gs[1]:.4f}] | {r['ratio']:.2g} | "
                     f"{r['verify torch+fd median']:.3f} [{ts[0]:.3f}, {ts[1]:.3f}] | {r['ratio torch+fd']:.2g} | {r['verify first']:.2f} | {chosen} |")
    passed = all(r.get("verify passed", True) and r.get("verify torch+fd passed", True) and r.get("gradcheck passed", True) for r in rows)
    lines += ["", "Every right derivative passed every tool: " + ("yes" if passed else "NO"), ""]
    lines += ["The strategy notes, as verify.check gave them:", ""]
    lines += [f"- {r['kind']}, n = {r['n']}: {r['strategy']}" for r in rows if r.get("strategy")]
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1e2 and 1e3, 2 rounds")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    sizes, rounds = ((10**2, 10**3), 2) if args.quick else (SIZES, ROUNDS)
    run_and_write(args.out, "vs_gradcheck", lambda: run(sizes, rounds), lambda rows, seconds, load: report(rows, seconds, load, rounds))


if __name__ == "__main__":
    main()
