"""More than the one point: check a derivative at perturbations of the caller's arguments.

A derivative can be right at the point it is checked at and wrong everywhere else: at
γ = 1 a LayerNorm backward that forgets γ agrees with the right one, at A = Aᵀ a gradient
that writes A where Aᵀ belongs does too. ``verify.check(..., trials=k)`` checks at k further
points drawn here (or by the caller's ``sample(rng)``), and says when the given point passed
but a trial failed: the given point was degenerate.

A perturbation keeps each argument's structure, so that a right derivative stays right:

- integer and boolean arrays (labels, indices, masks) are left as they are, and so are
  float arrays of 0s and 1s that are neither all 0 nor all 1 (one-hot labels, masks);
- shapes and dtypes are kept; a 0-d argument stays 0-d;
- signs are kept: an all-positive argument is multiplied by exp(σ z) (it stays positive,
  as ln x or a standard deviation needs), an all-negative one likewise; entries in [0, 1]
  move in logit space and stay there, and rows that sum to 1 (probabilities) are
  renormalised;
- other arguments (mixed signs, all zeros) move by σ · scale · z, scale = rms(a), or 1
  for all zeros;

with z standard normal, entry by entry, and σ = TRIAL_SCALE. That moves them off the
degenerate values that hide mistakes: all ones, all zeros, equal entries and symmetric
matrices. A perturbation at which the primal raises or is not finite is redrawn at half
the scale, up to REDRAWS times; failing that, the trial is skipped and the report says so.
"""

from __future__ import annotations

import numpy as np

TRIAL_SCALE = 0.5
REDRAWS = 4
TRIAL_SEED = 7919  # keeps the trials' draws apart from the engine's probe draws


def degeneracies(args: tuple) -> list[tuple[int, str]]:
    """(argument index, what) for each float argument at a value that hides mistakes."""
    found = []
    for i, a in enumerate(args):
        a = np.asarray(a)
        if not _is_float(a) or a.size < 2:
            continue
        if np.all(a == 1):
            found.append((i, "all-ones"))
        elif np.all(a == 0):
            found.append((i, "all-zeros"))
        elif np.all(a == a.reshape(-1)[0]):
            found.append((i, "equal entries"))
        elif a.ndim >= 2 and a.shape[-1] == a.shape[-2] and np.array_equal(a, np.swapaxes(a, -1, -2)):
            found.append((i, "a symmetric matrix"))
    return found


def _is_float(a: np.ndarray) -> bool:
    return bool(np.issubdtype(a.dtype, np.floating) or a.dtype.name == "bfloat16")


def _binary_structure(a: np.ndarray) -> bool:
    """0s and 1s, not all of one: a mask or one-hot labels, kept as they are."""
    return bool(np.all((a == 0) | (a == 1)) and np.any(a == 0) and np.any(a == 1))


def perturb_one(a, rng: np.random.Generator, scale: float = TRIAL_SCALE):
    """One argument moved at random, its structure kept (see the module docstring)."""
    array = np.asarray(a)
    if not _is_float(array) or array.size == 0 or _binary_structure(array):
        return a
    x = array.astype(np.float64)
    z = rng.standard_normal(x.shape)
    with np.errstate(all="ignore"):
        if np.all(x > 0) and np.all(x < 1) or (np.all(x >= 0) and np.all(x <= 1) and np.any((x > 0) & (x < 1))):
            p = np.clip(x, 1e-12, 1 - 1e-12)
            if x.ndim >= 1 and x.shape[-1] > 1 and np.allclose(np.sum(x, axis=-1), 1.0):
                logits = np.log(p) + scale * z  # stays on the simplex
                moved = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
                moved /= np.sum(moved, axis=-1, keepdims=True)
            else:
                moved = 1 / (1 + np.exp(-(np.log(p) - np.log1p(-p) + scale * z)))  # stays in (0, 1)
        elif np.all(x > 0) or np.all(x < 0):
            moved = x * np.exp(scale * z)  # keeps its sign
        else:
            rms = float(np.sqrt(np.mean(x**2)))
            moved = x + scale * (rms if rms > 0 else 1.0) * z
    moved = moved.astype(array.dtype)
    return moved if isinstance(a, np.ndarray) or np.ndim(a) else moved[()]


def perturb(args: tuple, rng: np.random.Generator, scale: float = TRIAL_SCALE) -> tuple:
    """Every argument moved (``perturb_one``), in one draw."""
    return tuple(perturb_one(a, rng, scale) for a in args)


def _valid(function, args: tuple) -> bool:
    """The primal runs and is finite at these arguments."""
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(function(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]), dtype=np.float64)
    except Exception:
        return False
    return bool(np.all(np.isfinite(out)))


def trial_arguments(function, args: tuple, trial: int, seed: int, sample=None):
    """The arguments of trial ``trial`` (1, 2, …): ``sample(rng)`` when given, else a
    perturbation of ``args`` at which the primal is finite (None if none was found)."""
    rng = np.random.default_rng([seed, TRIAL_SEED, trial])
    if sample is not None:
        drawn = sample(rng)
        drawn = tuple(drawn) if isinstance(drawn, (tuple, list)) else (drawn,)
        return tuple(np.asarray(a) if isinstance(a, (list, float, int)) else a for a in drawn)
    scale = TRIAL_SCALE
    for _ in range(REDRAWS):
        moved = perturb(args, rng, scale)
        if _valid(function, moved):
            return moved
        scale /= 2
    return None


def run_trials(function, args: tuple, given, run, *, trials: int, seed: int = 0, sample=None, names=()) -> list[str]:
    """Check at ``trials`` further points and merge them into ``given`` (an EntryResult from
    the given arguments): each check keeps its worst trial, with its ``trial`` number.
    ``run(args)`` checks at one set of arguments and returns its EntryResult. Returns the
    notes to report: what was checked, skipped trials, and when the given point passed but
    a trial failed, that the given point is degenerate (naming the values it moved off)."""
    from .engine import _worse, describe_argument

    by_check = {c.check: c for c in given.checks}
    given_passed = given.passed
    notes, failed_at, skipped = [], [], []
    for trial in range(1, trials + 1):
        moved = trial_arguments(function, args, trial, seed, sample)
        if moved is None:
            skipped.append(trial)
            continue
        result = run(moved)
        for note in result.notes:
            if note not in given.notes:
                given.notes.append(note)
        for c in result.checks:
            c.trial = trial
            by_check[c.check] = _worse(by_check[c.check], c) if c.check in by_check else c
        if not result.passed:
            failed_at.append(trial)
    given.checks = list(by_check.values())
    drawn = "drawn by sample(rng)" if sample is not None else "perturbations of the given arguments"
    ran = trials - len(skipped)
    notes.append(f"also checked at {ran} further point{'s' if ran != 1 else ''} (trials={trials}, {drawn}); each check reports its worst")
    if skipped:
        notes.append(f"trial{'s' if len(skipped) > 1 else ''} {', '.join(map(str, skipped))} skipped: the primal raised or was not finite "
                     f"at every perturbation tried ({REDRAWS}, the last at scale {TRIAL_SCALE / 2 ** (REDRAWS - 1):g})")
    if given_passed and failed_at:
        moved_off = [f"{describe_argument(i, list(names))} perturbed off {what}" for i, what in degeneracies(args)] if sample is None else []
        why = f" ({'; '.join(moved_off)})" if moved_off else ""
        notes.append(f"the given point is degenerate: {given.name} passes at the given arguments but fails at trial {failed_at[0]}{why}")
    return notes
