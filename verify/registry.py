"""The registry's vocabulary: an ``Identity`` (a derivative to check) and a ``Claim``.

Each identity of the curriculum is declared once, in ``verify/identities/<chapter>.py``;
the CLI rows, the pytest cases, the pairing test and the curriculum table are all
generated from the list gathered in ``verify.identities.REGISTRY``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

KINDS = ("derivative", "gradient", "jacobian", "hessian", "jvp", "vjp", "hvp")
"""What a hand-coded derivative returns, for primal f and the argument(s) ``wrt``:

- derivative: f is elementwise; returns f'(x) shaped like x (the Jacobian is diag(f'(x)))
- gradient:   f is scalar; returns ∇f shaped like x
- jacobian:   returns J shaped f(x).shape + x.shape (numerator layout)
- hessian:    f is scalar; returns H shaped x.shape + x.shape
- jvp:        called as derivative(*args, tangent); returns J·tangent shaped like f(x)
- vjp:        called as derivative(*args, cotangent); returns cotangentᵀJ shaped like x
- hvp:        called as derivative(*args, vector); returns H·vector shaped like x

With several ``wrt`` arguments, gradient/jacobian/vjp return a tuple (one per argument)
and jvp receives a tuple of tangents.
"""

PROBED_KINDS = ("jvp", "vjp", "hvp")
PROBE_NAMES = {"jvp": "tangent", "vjp": "cotangent", "hvp": "vector"}


from .results import UsageError  # noqa: E402,F401  (the one usage error; defined with the results)

SECOND_ORDER_KINDS = ("hessian", "hvp")


@dataclass(frozen=True)
class Identity:
    """One derivative identity: a primal, its hand-coded derivative, and how to sample."""

    name: str
    chapter: str
    statement: str
    derivation: str  # path relative to the repository root
    function: Callable  # the primal, written once against the array API
    derivative: Callable  # the hand-coded numpy derivative
    kind: str
    sample: Callable[[np.random.Generator], tuple]  # draws (*args) inside the domain
    wrt: int | tuple[int, ...] = 0
    holomorphic: bool = False  # enables the complex-step oracle
    tolerance: dict = field(default_factory=dict)  # {oracle: value} overrides ...
    tolerance_reason: str = ""  # ... each with its written reason
    fd_step: float = 0.05  # initial step of the finite-difference oracle
    reference: Callable | None = None  # verify.check(reference=): an independent implementation of f

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {KINDS}")
        if self.tolerance and not self.tolerance_reason:
            raise ValueError(f"{self.name}: a tolerance override needs a tolerance_reason")
        if self.kind in SECOND_ORDER_KINDS and len(self.wrt_tuple) != 1:
            raise ValueError(f"{self.name}: {self.kind} entries take exactly one wrt argument")

    @property
    def wrt_tuple(self) -> tuple[int, ...]:
        return (self.wrt,) if isinstance(self.wrt, int) else tuple(self.wrt)

    @property
    def multiple_wrt(self) -> bool:
        return not isinstance(self.wrt, int)


@dataclass(frozen=True)
class ClaimCheck:
    """One measured fact of a claim: ``value <= bound`` must hold."""

    label: str
    value: float
    bound: float
    detail: str = ""

    @property
    def holds(self) -> bool:
        return bool(np.isfinite(self.value) and self.value <= self.bound)


@dataclass(frozen=True)
class Claim:
    """A concept that is not a formula (a tangent touches, a descent step decreases f).

    ``verify(implementation, rng)`` measures the claim on ``implementation`` (the
    project's function, or a planted wrong one in the tests) and returns ClaimChecks.
    """

    name: str
    chapter: str
    statement: str
    derivation: str
    implementation: Callable
    verify: Callable[[Callable, np.random.Generator], Sequence[ClaimCheck]]
    kind: str = "claim"
    requires: tuple[str, ...] = ()  # frameworks the measurement needs ("torch"): without them it is not run, with a note


Entry = Identity | Claim
