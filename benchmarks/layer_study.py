"""Custom layers, checked as they are written: verify.check against torch.autograd.gradcheck
and jax.test_util.check_grads.

    python -m benchmarks.layer_study [--quick] [--layer NAME ...] [--out FILE]

For every layer of benchmarks/layers (each written natively in torch or JAX) and every version
of it (the correct one and each planted mistake), three tools check the layer's own
derivative (its registered backward, jvp or custom rule) at the layer's example inputs:

- verify.check(layer, *inputs, wrt=..., reference=...), the derivative omitted (kind vjp, or
  jvp for a custom_jvp rule): what is checked is the framework's registered rule, against finite differences, the
  framework's forward mode where the layer has a forward rule, and the autodiff of the
  plain reference implementation where the layer has one;
- torch layers: torch.autograd.gradcheck in its default mode and with fast_mode=True (with
  check_forward_ad=True for a layer that defines a jvp), the same inputs with
  requires_grad on the differentiable ones; a module is called through
  torch.func.functional_call with its parameters as extra inputs;
- JAX layers: jax.test_util.check_grads(order=1) in reverse mode, and forward mode too
  for a custom_jvp rule, the integer arguments held fixed.

Each check runs ``repeats`` times (1 with --quick, else 3) on fresh copies of the inputs;
the time is the median. The verdicts: a correct layer that a tool rejects is a false alarm,
a wrong one that it passes is a miss. Writes benchmarks/results/layer_study.md (--quick:
out/layer_study_quick.md unless --out is given).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.layers import LAYERS, Layer, Variant, names_its_class  # noqa: E402

REPEATS, QUICK_REPEATS = 3, 1


@dataclass
class Outcome:
    """One tool's verdict on one version of a layer."""

    passed: bool | None  # None: the tool raised instead of giving a verdict
    seconds: float
    detail: str = ""  # verify's diagnosis line for a failure, or the exception of an error
    classes: tuple[str, ...] = ()  # verify: the diagnosis classes its failed checks name


@dataclass
class Row:
    layer: Layer
    variant: Variant
    outcomes: dict[str, Outcome] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# The tools
# --------------------------------------------------------------------------------------


def _is_float(a) -> bool:
    import torch

    if isinstance(a, torch.Tensor):
        return a.is_floating_point()
    return np.issubdtype(np.asarray(a).dtype, np.floating)


def verify_outcome(layer: Layer, variant: Variant, args: tuple) -> tuple[bool, str, tuple[str, ...]]:
    import verify

    options = {}
    if layer.wrt is not None:
        options["wrt"] = layer.wrt
    if layer.reference is not None:
        options["reference"] = layer.reference
    report = verify.check(variant.function, *args, **options)
    classes = tuple(sorted({c.diagnosis_class for c in report.failures if c.diagnosis_class}))
    return report.passed, ("" if report.passed else diagnosis_line(report)), classes


def diagnosis_line(report) -> str:
    """Which checks fail, and the most telling failed check's line (error, where, likely mistake)."""
    failures = list(report.failures)
    if not failures:
        return report.message().splitlines()[0]

    def telling(c):  # a recognised mistake first, then a located one
        recognised = bool(c.diagnosis) and "no recognisable" not in c.diagnosis
        return (not recognised, c.worst_index is None)

    worst = min(failures, key=telling)
    line = worst.message().split(": FAIL: ", 1)[-1]
    checks = "; ".join(sorted({f"{c.backend} {c.mode}" for c in failures}))
    return f"{len(failures)} of {len(report.checks)} checks fail ({checks}); {worst.backend} {worst.mode}: {line}"


def torch_call(layer: Layer, variant: Variant, args: tuple):
    """(function, inputs) for gradcheck: leaves with requires_grad on the differentiable inputs;
    a module's parameters become extra inputs of a functional_call."""
    import torch

    if layer.is_module:
        module = variant.function
        names = [n for n, _ in module.named_parameters()]
        leaves = [a.detach().clone().requires_grad_(_is_float(a)) for a in args]
        params = [p.detach().clone().requires_grad_(True) for _, p in module.named_parameters()]
        count = len(leaves)

        def function(*flat):
            return torch.func.functional_call(module, dict(zip(names, flat[count:])), tuple(flat[:count]))

        return function, (*leaves, *params)
    leaves = tuple(a.detach().clone().requires_grad_(i in layer.wrt) for i, a in enumerate(args))
    return variant.function.apply, leaves


def gradcheck_outcome(layer: Layer, variant: Variant, args: tuple, fast_mode: bool) -> tuple[bool, str]:
    import torch

    function, inputs = torch_call(layer, variant, args)
    passed = torch.autograd.gradcheck(function, inputs, fast_mode=fast_mode, check_forward_ad=layer.forward_rule,
                                      raise_exception=False)
    return bool(passed), ""


def check_grads_outcome(layer: Layer, variant: Variant, args: tuple) -> tuple[bool, str]:
    from jax.test_util import check_grads

    wrt = layer.wrt
    fixed = {i: a for i, a in enumerate(args) if i not in wrt}

    def function(*differentiable):
        it = iter(differentiable)
        return variant.function(*[fixed[i] if i in fixed else next(it) for i in range(len(args))])

    modes = ("fwd", "rev") if layer.forward_rule else ("rev",)
    try:
        check_grads(function, tuple(args[i] for i in wrt), order=1, modes=modes)
    except AssertionError as error:
        return False, str(error).strip().splitlines()[0]
    return True, ""


def tools(layer: Layer) -> dict:
    common = {"verify.check": verify_outcome}
    if layer.framework == "torch":
        return {**common, "gradcheck": lambda l, v, a: gradcheck_outcome(l, v, a, False),
                "gradcheck fast_mode": lambda l, v, a: gradcheck_outcome(l, v, a, True)}
    return {**common, "check_grads": check_grads_outcome}


def run_tool(tool, layer: Layer, variant: Variant, seed: int, repeats: int) -> Outcome:
    """The tool's verdict and its median time over ``repeats`` runs on fresh inputs; with more
    than one run, a first untimed run pays for imports, tracing and caches."""
    times, verdict, detail, classes = [], None, "", ()
    for _ in range(repeats + (repeats > 1)):
        args = layer.make_inputs(seed)
        start = time.perf_counter()
        try:
            verdict, detail, *more = tool(layer, variant, args)
            classes = tuple(more[0]) if more else ()
        except Exception as error:  # an error is a result too: recorded, never a verdict
            frame = traceback.extract_tb(error.__traceback__)[-1]
            return Outcome(None, time.perf_counter() - start,
                           f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''} "
                           f"({Path(frame.filename).name}:{frame.lineno})")
        times.append(time.perf_counter() - start)
    return Outcome(verdict, statistics.median(times[-repeats:]), detail, classes)


def run(layers=LAYERS, repeats: int = REPEATS, seed: int = 0, log=print) -> list[Row]:
    import torch

    torch.set_num_threads(1)
    rows = []
    for layer in layers:
        for variant in layer.variants:
            row = Row(layer, variant)
            for name, tool in tools(layer).items():
                row.outcomes[name] = run_tool(tool, layer, variant, seed, repeats)
            rows.append(row)
            if log:
                verdicts = ", ".join(f"{n} {_cell(row, n)} {o.seconds:.3f}s" for n, o in row.outcomes.items())
                log(f"{layer.name} [{variant.bug or 'correct'}]: {verdicts}")
    return rows


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------


def _cell(row: Row, tool: str) -> str:
    outcome = row.outcomes.get(tool)
    if outcome is None:
        return "–"
    if outcome.passed is None:
        return "error"
    if row.variant.bug is None:
        return "pass" if outcome.passed else "**false alarm**"
    return "**miss**" if outcome.passed else "caught"


def _seconds(row: Row, tool: str) -> str:
    outcome = row.outcomes.get(tool)
    return "–" if outcome is None else f"{outcome.seconds:.3f}"


def _ratio(row: Row, tool: str) -> float | None:
    mine, theirs = row.outcomes.get("verify.check"), row.outcomes.get(tool)
    if mine is None or theirs is None or theirs.seconds <= 0 or mine.passed is None or theirs.passed is None:
        return None
    return mine.seconds / theirs.seconds


def tally(rows: list[Row], tool: str) -> dict:
    judged = [r for r in rows if tool in r.outcomes]
    correct = [r for r in judged if r.variant.bug is None]
    wrong = [r for r in judged if r.variant.bug is not None]
    return {
        "correct": len(correct), "wrong": len(wrong),
        "false_alarms": [r for r in correct if r.outcomes[tool].passed is False],
        "misses": [r for r in wrong if r.outcomes[tool].passed is True],
        "errors": [r for r in judged if r.outcomes[tool].passed is None],
    }


def diagnosis_tally(rows: list[Row]) -> dict:
    """verify's diagnoses of the mistakes it caught, against the class each mistake belongs to."""
    caught = [r for r in rows if r.variant.bug and r.outcomes["verify.check"].passed is False]
    classed = [r for r in caught if r.variant.shape]
    named = lambda r: r.outcomes["verify.check"].classes
    return {
        "caught": caught, "classed": classed,
        "right": [r for r in classed if names_its_class(r.variant, named(r))],
        "silent": [r for r in caught if not named(r)],
        "wrong": [r for r in caught if named(r) and not names_its_class(r.variant, named(r))],
    }


def _median_ratio(rows: list[Row], tool: str) -> float | None:
    ratios = [x for r in rows if (x := _ratio(r, tool)) is not None]
    return statistics.median(ratios) if ratios else None


def _tally_text(rows, tool) -> str:
    t = tally(rows, tool)
    text = (f"{len(t['false_alarms'])} false alarm{'s' if len(t['false_alarms']) != 1 else ''} on {t['correct']} correct layers, "
            f"{len(t['misses'])} miss{'es' if len(t['misses']) != 1 else ''} on {t['wrong']} wrong versions")
    if t["errors"]:
        text += f", {len(t['errors'])} error{'s' if len(t['errors']) != 1 else ''}"
    return text


def markdown(rows: list[Row], repeats: int, load: dict, seconds: float) -> str:
    import jax
    import torch

    layers = list(dict.fromkeys(r.layer.name for r in rows))
    frameworks = {r.layer.name: r.layer.framework for r in rows}
    count = {fw: sum(1 for n in layers if frameworks[n] == fw) for fw in ("torch", "jax")}
    ratio_text = []
    for tool in ("gradcheck", "gradcheck fast_mode", "check_grads"):
        value = _median_ratio(rows, tool)
        if value is not None:
            ratio_text.append(f"{value:.1f}× {tool}")
    d = diagnosis_tally(rows)
    diagnosis_text = (f"**Diagnosis.** Of the {len(d['caught'])} mistakes verify.check catches, {len(d['classed'])} belong to a class "
                      f"of verify/diagnose.py (labelled in the registry): {len(d['right'])} get that class named, "
                      f"{len([r for r in d['classed'] if r in d['silent']])} get no diagnosis; {len(d['silent'])} in all get no diagnosis, "
                      f"and {len(d['wrong'])} get a class that is not theirs (a wrong confident diagnosis)"
                      + (": " + ", ".join(f"{r.layer.name} / {r.variant.bug} named {', '.join(r.outcomes['verify.check'].classes)}" for r in d["wrong"]) if d["wrong"] else "")
                      + ". A factor named with the size it equals (axis) counts as the factor class.")
    lines = [
        "# Custom layers: verify.check against gradcheck and check_grads",
        "",
        "Written by `python -m benchmarks.layer_study`" + (" --quick" if repeats == QUICK_REPEATS else "")
        + f": {len(layers)} layers of [benchmarks/layers](../layers/) ({count['torch']} torch, {count['jax']} JAX), "
        f"each correct and with {sum(1 for r in rows if r.variant.bug)} planted mistakes in all, "
        "written natively: `torch.autograd.Function`s with a hand-written backward (and jvp), `nn.Module`s, "
        "`jax.custom_vjp` and `jax.custom_jvp` rules. Each tool checks the layer's own registered derivative "
        "at the layer's example inputs (float64). A correct layer rejected is a **false alarm**, a wrong one "
        "passed a **miss**.",
        "",
        f"**Summary.** verify.check: {_tally_text(rows, 'verify.check')}. "
        + "; ".join(f"{tool}: {_tally_text(rows, tool)}" for tool in ("gradcheck", "gradcheck fast_mode", "check_grads")
                    if any(tool in r.outcomes for r in rows))
        + (f". Time per check, verify.check against the others (the median over layer versions of the ratio of median times): "
           f"{', '.join(ratio_text)}." if ratio_text else "."),
        "",
        diagnosis_text,
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, "
        + ("**shared with other jobs while this ran** " if max(load["before"], load["after"]) > 0.75 * (os.cpu_count() or 1)
           else "quiet (nothing else running) ")
        + f"(load average {load['before']:.2f} before, {load['after']:.2f} after); torch {torch.__version__} with "
        f"`torch.set_num_threads(1)`, JAX {jax.__version__}. Times are medians of {repeats} run{'s' if repeats > 1 else ''} "
        f"per check, fresh inputs each run" + (", after one untimed first run (imports, tracing, caches)" if repeats > 1 else "")
        + f"; the whole study took {seconds:.0f} s. Absolute times move with the load.",
        "",
        "How each tool is called: `verify.check(layer, *inputs, wrt=..., reference=...)` (the derivative "
        "omitted: the registered rule is what is checked; kind vjp, jvp for a custom_jvp); `torch.autograd.gradcheck(Function.apply, inputs, fast_mode=..., "
        "check_forward_ad=<layer has a jvp>)`, a module through `torch.func.functional_call` with its parameters as inputs; "
        "`jax.test_util.check_grads(f, inputs, order=1, modes=(\"rev\",))`, with `\"fwd\"` too for a custom_jvp rule. "
        "gradcheck's fast_mode, on a failure, reruns the slow mode to word its message: that rerun is inside its time.",
        "",
        "| layer | version | verify.check | gradcheck | fast_mode | check_grads | verify s | gradcheck s | fast_mode s | check_grads s | verify ÷ gradcheck (or check_grads) | verify ÷ fast_mode |",
        "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        base = _ratio(r, "gradcheck") if r.layer.framework == "torch" else _ratio(r, "check_grads")
        fast = _ratio(r, "gradcheck fast_mode")
        lines.append(
            f"| {r.layer.name} ({r.layer.framework}) | {r.variant.bug or 'correct'} | "
            + " | ".join(_cell(r, t) for t in ("verify.check", "gradcheck", "gradcheck fast_mode", "check_grads")) + " | "
            + " | ".join(_seconds(r, t) for t in ("verify.check", "gradcheck", "gradcheck fast_mode", "check_grads")) + " | "
            + (f"{base:.1f}" if base is not None else "–") + " | " + (f"{fast:.1f}" if fast is not None else "–") + " |")
    lines += ["", "## The planted mistakes and what verify.check says about each", ""]
    for r in rows:
        if r.variant.bug is None:
            continue
        outcome = r.outcomes["verify.check"]
        said = ("passed (a miss)" if outcome.passed else
                f"error: {outcome.detail}" if outcome.passed is None else outcome.detail)
        shape = f"; its class: {r.variant.shape}" if r.variant.shape else ""
        lines.append(f"- **{r.layer.name} / {r.variant.bug}** ({r.variant.description}{shape}): {said}")
    awkward = [r.layer for r in rows if r.variant.bug is None and r.layer.awkward]
    if awkward:
        lines += ["", "## Awkward inputs", ""]
        lines += [f"- {layer.name}: {layer.awkward}" for layer in awkward]
    problems = [(tool, r) for tool in ("verify.check", "gradcheck", "gradcheck fast_mode", "check_grads")
                for key in ("false_alarms", "misses", "errors") for r in tally(rows, tool)[key]]
    if problems:
        lines += ["", "## False alarms, misses and errors", ""]
        for tool, r in problems:
            o = r.outcomes[tool]
            what = "error" if o.passed is None else ("false alarm" if r.variant.bug is None else "miss")
            lines.append(f"- {tool} on {r.layer.name} / {r.variant.bug or 'correct'}: {what}"
                         + (f": {o.detail}" if o.detail else ""))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run per check (default: 3, the median)")
    parser.add_argument("--layer", action="append", help="only these layers (repeatable)")
    parser.add_argument("--out", type=Path, help="the markdown file to write")
    options = parser.parse_args(argv)
    from benchmarks.layers import BY_NAME

    unknown = [n for n in options.layer or [] if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown layer(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    layers = [BY_NAME[n] for n in options.layer] if options.layer else LAYERS
    repeats = QUICK_REPEATS if options.quick else REPEATS
    out = options.out or (ROOT / ("out/layer_study_quick.md" if options.quick or options.layer else "benchmarks/results/layer_study.md"))
    load = {"before": os.getloadavg()[0]}
    start = time.perf_counter()
    rows = run(layers, repeats)
    seconds = time.perf_counter() - start
    load["after"] = os.getloadavg()[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(rows, repeats, load, seconds))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
