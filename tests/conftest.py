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
