"""Custom layers written natively (benchmarks/layers): verify.check, the derivative omitted,
passes each correct layer of a small subset and rejects each planted mistake with a message
that names the identity, the backend, the mode and the error. The full study, against
gradcheck and check_grads, is benchmarks/layer_study.py."""

from __future__ import annotations

import re

import pytest

from benchmarks.layers import BY_NAME, LAYERS, names_its_class

import verify

# torch: a Function with a transposed weight gradient and a mean for a sum, a Function whose
# backward overwrites repeated indices, a module; JAX: a custom_jvp rule, a custom_vjp at the
# minimum of a loss (a zero gradient).
SUBSET = ("linear", "embedding", "batch_norm_train", "silu", "mse_at_minimum")
CASES = [pytest.param(BY_NAME[name], variant, id=f"{name}-{variant.bug or 'correct'}")
         for name in SUBSET for variant in BY_NAME[name].variants]


def check(layer, variant):
    options = {} if layer.wrt is None else {"wrt": layer.wrt}
    if layer.reference is not None:
        options["reference"] = layer.reference
    return verify.check(variant.function, *layer.make_inputs(0), **options)


def test_registry_has_twenty_layers_in_both_frameworks_each_with_a_planted_mistake():
    assert len(LAYERS) >= 20
    assert {layer.framework for layer in LAYERS} == {"torch", "jax"}
    assert len(BY_NAME) == len(LAYERS)
    for layer in LAYERS:
        assert layer.wrong, layer.name
        assert all(v.bug and v.description for v in layer.wrong), layer.name


@pytest.mark.parametrize("layer, variant", CASES)
def test_verify_check_judges_the_registered_derivative(layer, variant):
    report = check(layer, variant)
    if variant.bug is None:
        assert report.passed, report.message()
        return
    assert not report.passed, f"{layer.name} / {variant.bug} ({variant.description}) passed:\n{report.message()}"
    lines = report.message().splitlines()
    for failure in report.failures:
        assert failure.identity == getattr(variant.function, "__name__", type(variant.function).__name__)
        where = f"{failure.identity} [{failure.backend}, {failure.mode}]: FAIL: "  # the identity, the backend, the mode
        line = next((line for line in lines if line.startswith(where)), None)
        assert line is not None, f"no line starts with {where!r} in\n{report.message()}"
        assert re.search(r"max relative error \d\.\d\de[+-]\d+ > tolerance", line) or failure.reason, line  # the error
    # never a wrong confident diagnosis: a class is named only where it is the mistake's own
    named = {failure.diagnosis_class for failure in report.failures if failure.diagnosis_class}
    assert not named or names_its_class(variant, named), (variant.shape, named, report.message())
    if variant.shape in ("transpose", "axis"):  # the linear layer's two mistakes are named
        assert names_its_class(variant, named), report.message()
