"""Shared fixtures: results of the registry, computed once per session."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@functools.lru_cache(maxsize=None)
def entry_result(name: str, seed: int = 0, trials: int = 1, dtype: str = "float64"):
    """The engine's result for one registry entry (cached across tests)."""
    from verify.engine import run_entry
    from verify.identities import BY_NAME

    return run_entry(BY_NAME[name], seed=seed, trials=trials, dtype=dtype)


@pytest.fixture
def repo_root() -> Path:
    return ROOT


# Hypothesis profiles (tests/test_properties.py): "ci" is bounded and deterministic and
# is what `make test` runs; `make test-long` selects "long" (≥ 1000 draws per chapter).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", max_examples=10, derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long", max_examples=1000, derandomize=False, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")
