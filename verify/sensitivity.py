"""Sensitivity against the anchors: which planted relative error does each checker catch?

A hand-coded gradient is multiplied by (1 + δ) for δ = 1e-2 … 1e-10 and put to:

- ``torch.autograd.gradcheck`` (its defaults, and ``fast_mode=True``): it compares the
  backward of a function with its own finite differences, so the hand-coded gradient is
  the backward of a ``torch.autograd.Function``;
- ``jax.test_util.check_grads`` (its defaults): the hand-coded gradient is the rule of a
  ``jax.custom_vjp`` (reverse mode) and of a ``jax.custom_jvp`` (forward mode);
- this suite: ``run_entry`` with the planted derivative, its finite-difference check and
  its autodiff checks (JAX, torch.func, torch.autograd tape).

Everything runs in float64 at the entry's own seeded input.

    python -m verify.sensitivity            # the markdown table
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

try:
    import numpy as np

    from . import backends  # noqa: F401  (enables JAX x64 before any JAX array exists)
    from .engine import entry_rng, run_entry
    from .frameworks import of_wrt
except ImportError as _missing:  # python -m verify.sensitivity outside the project's environment
    if __name__ != "__main__":
        raise
    from .__main__ import missing_packages

    sys.exit(missing_packages(_missing, "python -m verify.sensitivity"))

IDENTITIES = ("logsumexp", "log_determinant", "rosenbrock_gradient")
DELTAS = tuple(10.0**-k for k in range(2, 11))
CHECKERS = (
    ("torch gradcheck", "torch.autograd.gradcheck, default eps 1e-6, atol 1e-5, rtol 1e-3"),
    ("torch gradcheck fast", "torch.autograd.gradcheck(fast_mode=True)"),
    ("jax check_grads fwd", "jax.test_util.check_grads(modes=('fwd',)) on a custom_jvp, default tolerances"),
    ("jax check_grads rev", "jax.test_util.check_grads(modes=('rev',)) on a custom_vjp, default tolerances"),
    ("this suite: fd", "central differences (scipy.differentiate, order-8 stencil), tolerance 1e-7"),
    ("this suite: autodiff", "the five autodiff checks (JAX fwd/rev, torch.func fwd/rev, tape), tolerance 1e-10"),
    ("this suite", "run_entry: any check fails"),
)


def planted(derivative, delta):
    return lambda *args: derivative(*args) * (1 + delta)


def _inputs(entry, seed):
    args = tuple(np.asarray(a, dtype=np.float64) for a in entry.sample(entry_rng(seed, entry.name, 0)))
    (i,) = entry.wrt_tuple
    return args, i


def hand_coded_torch_function(function, gradient):
    """A torch function whose forward is ``function`` (on a tensor) and whose backward is
    the hand-coded numpy ``gradient`` times the cotangent: what gradcheck can be asked about."""
    import torch

    class HandCoded(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return function(x)

        @staticmethod
        def backward(ctx, cotangent):
            (x,) = ctx.saved_tensors
            return cotangent * torch.from_numpy(np.asarray(gradient(x.detach().numpy()), dtype=np.float64))

    return HandCoded.apply


def torch_gradcheck_catches(entry, derivative, args, i, fast_mode: bool) -> bool:
    """True when gradcheck rejects the hand-coded gradient as the backward of f."""
    import torch

    fixed = [torch.from_numpy(a.copy()) for a in args]
    f_of = of_wrt(entry.function, fixed, (i,))

    def gradient_of(x):
        hand_args = list(args)
        hand_args[i] = x
        return derivative(*hand_args)

    x = torch.from_numpy(args[i].copy()).requires_grad_()
    apply = hand_coded_torch_function(f_of, gradient_of)
    return not torch.autograd.gradcheck(apply, (x,), fast_mode=fast_mode, raise_exception=False)


def jax_check_grads_catches(entry, derivative, args, i, mode: str) -> bool:
    """True when check_grads raises on the hand-coded gradient as the rule of f."""
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    fixed = [jnp.asarray(a) for a in args]
    f_of = of_wrt(entry.function, fixed, (i,))

    def hand(x):
        hand_args = list(args)
        hand_args[i] = np.asarray(x)
        return jnp.asarray(derivative(*hand_args))

    if mode == "fwd":
        f = jax.custom_jvp(f_of)
        f.defjvp(lambda primals, tangents: (f_of(primals[0]), jnp.sum(hand(primals[0]) * tangents[0])))
    else:
        f = jax.custom_vjp(f_of)
        f.defvjp(lambda x: (f_of(x), x), lambda x, cotangent: (cotangent * hand(x),))
    try:
        check_grads(f, (jnp.asarray(args[i]),), order=1, modes=(mode,))
    except AssertionError:
        return True
    return False


def suite_catches(entry, derivative, args) -> dict[str, bool]:
    result = run_entry(dataclasses.replace(entry, derivative=derivative), args=args)
    autodiff = [c for c in result.checks if c.oracle == "autodiff"]
    fd = [c for c in result.checks if c.check == "fd"]
    return {
        "this suite: fd": not all(c.passed for c in fd),
        "this suite: autodiff": not all(c.passed for c in autodiff),
        "this suite": not result.passed,
    }


def measure(names=IDENTITIES, deltas=DELTAS, seed: int = 0) -> dict:
    """{(identity, δ): {checker: caught}} for every identity and planted δ."""
    from .identities import BY_NAME

    table = {}
    for name in names:
        entry = BY_NAME[name]
        args, i = _inputs(entry, seed)
        for delta in deltas:
            wrong = planted(entry.derivative, delta)
            row = {
                "torch gradcheck": torch_gradcheck_catches(entry, wrong, args, i, fast_mode=False),
                "torch gradcheck fast": torch_gradcheck_catches(entry, wrong, args, i, fast_mode=True),
                "jax check_grads fwd": jax_check_grads_catches(entry, wrong, args, i, "fwd"),
                "jax check_grads rev": jax_check_grads_catches(entry, wrong, args, i, "rev"),
                **suite_catches(entry, wrong, args),
            }
            table[(name, delta)] = row
    return table


def markdown(table: dict, names=IDENTITIES, deltas=DELTAS) -> str:
    """Rows δ, columns checkers; a cell counts the identities whose planted error was caught."""
    n = len(names)
    head = "| planted relative error | " + " | ".join(c for c, _ in CHECKERS) + " |"
    lines = [
        f"Caught / planted, over {n} identities ({', '.join(f'`{x}`' for x in names)}), float64, seed 0.",
        "",
        head,
        "| " + " | ".join(["---"] * (len(CHECKERS) + 1)) + " |",
    ]
    for delta in deltas:
        cells = []
        for checker, _ in CHECKERS:
            caught = sum(table[(name, delta)][checker] for name in names)
            cells.append("caught" if caught == n else ("missed" if caught == 0 else f"{caught}/{n}"))
        lines.append(f"| {delta:.0e} | " + " | ".join(cells) + " |")
    lines += ["", "Checkers:", ""] + [f"- **{c}**: {d}" for c, d in CHECKERS]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """Exit status 0, or 2 on a usage error (one line on stderr)."""
    parser = argparse.ArgumentParser(prog="python -m verify.sensitivity", description=__doc__.split("\n\n")[0],
                                     epilog="The table README.md shows is this command's output at --seed 0 (python -m verify.readme rewrites it).")
    parser.add_argument("--seed", type=int, default=0, help="seed of the inputs (default 0, the README's table)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if not 0 <= args.seed <= 2**64 - 1:
        print(f"python -m verify.sensitivity: error: --seed must be an integer from 0 to 2**64 - 1, not {args.seed}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"measuring {len(IDENTITIES)} identities x {len(DELTAS)} planted errors x {len(CHECKERS)} checkers (about 10 s) ...", file=sys.stderr, flush=True)
    try:
        print(markdown(measure(seed=args.seed)), end="")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
