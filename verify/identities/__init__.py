"""The registry: every entry of the curriculum, declared once, in chapter order.

One module per chapter declares ``ENTRIES``; this package gathers them into
``REGISTRY``. Everything else (CLI rows, pytest cases, the pairing test, the
curriculum table in derivations/README.md) is generated from this list.
"""

from __future__ import annotations

from ..registry import Claim, Identity
from . import directional, matrix_calculus, multivariable, single_variable

CHAPTERS = {
    "01_single_variable_derivatives": "Single variable derivatives: rates of change",
    "02_multivariable_derivatives": "Multivariable derivatives: functions of many variables",
    "03_directional_derivatives": "Directional derivatives: rates of change in any direction",
    "04_matrix_calculus": "Matrix calculus: derivatives involving matrices and vectors",
}

REGISTRY: list[Identity | Claim] = [
    *single_variable.ENTRIES,
    *multivariable.ENTRIES,
    *directional.ENTRIES,
    *matrix_calculus.ENTRIES,
]


def _check_unique() -> None:
    seen = set()
    for entry in REGISTRY:
        if entry.name in seen:
            raise ValueError(f"two registry entries are named {entry.name!r}")
        if entry.chapter not in CHAPTERS:
            raise ValueError(f"{entry.name}: unknown chapter {entry.chapter!r}")
        seen.add(entry.name)


_check_unique()
BY_NAME = {entry.name: entry for entry in REGISTRY}
