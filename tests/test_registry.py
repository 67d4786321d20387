"""The registry run as tests: every identity x every generated check passes."""

from __future__ import annotations

import pytest

from verify.engine import check_specs
from verify.identities import REGISTRY
from verify.registry import Claim

from .conftest import entry_result


def _cases():
    for entry in REGISTRY:
        if isinstance(entry, Claim):
            yield pytest.param(entry.name, None, id=f"{entry.name}-claim")
        else:
            for spec in check_specs(entry):
                yield pytest.param(entry.name, spec.id, id=f"{entry.name}-{spec.id}")


@pytest.mark.parametrize("name, check", list(_cases()))
def test_identity_check_passes(name, check):
    result = entry_result(name)
    checks = result.checks if check is None else [c for c in result.checks if c.check == check]
    assert checks, f"{name}: check {check} did not run"
    for c in checks:
        assert c.passed, c.message()


def test_every_kind_generates_its_checks():
    kinds = {e.kind for e in REGISTRY if not isinstance(e, Claim)}
    for entry in REGISTRY:
        if isinstance(entry, Claim):
            continue
        ids = {s.id for s in check_specs(entry)}
        assert {"jax.fwd", "jax.rev", "torch.fwd", "torch.rev", "torch.tape", "fd"} <= ids, entry.name
        assert ("cstep" in ids) == (entry.holomorphic and entry.kind not in ("hessian", "hvp"))
    assert kinds, "the registry declares no identity"


def test_float32_run_passes_with_dtype_aware_tolerances():
    for entry in REGISTRY[:6]:
        result = entry_result(entry.name, dtype="float32")
        assert result.passed, result.message()


def test_several_trials_draw_different_inputs():
    from verify.engine import entry_rng
    from verify.identities import BY_NAME

    entry = BY_NAME["logsumexp"]
    a = entry.sample(entry_rng(0, entry.name, 0))[0]
    b = entry.sample(entry_rng(0, entry.name, 1))[0]
    assert not (a == b).all()
    assert entry_result("logsumexp", trials=3).passed
