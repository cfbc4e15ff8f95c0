"""Optimizers selectable by name (``OPTIMIZERS``), all with the update contract of ``contract``.

``engd`` is the natural gradient, ``engd-geodesic`` the same along the geodesic path (``geodesic``);
``natural-heavy-ball``, ``natural-heavy-ball-fd``, ``quasi-natural-heavy-ball`` and ``natural-nesterov`` add
natural momentum (``momentum``), ``natural-auto`` (the default) combines it with the geodesic bend (``auto``);
``spring`` puts it inside the sample-space solve (``spring``); ``adam`` and ``lbfgs`` are first-order baselines
(``first_order``). The natural ones compose the rules of ``base``.
``WarmStart`` runs Adam for a number of steps before another optimizer.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from ..linearise import Linearised
from ..residual_map import ResidualMap
from .auto import NaturalAuto
from .base import Natural
from .contract import ROW_STATE, Regularisation, State, StepInfo
from .engd import ENGD
from .first_order import LBFGS, Adam
from .geodesic import GeodesicENGD
from .momentum import NaturalHeavyBall, NaturalHeavyBallDifference, NaturalNesterov, QuasiNaturalHeavyBall
from .spring import SPRING
from .trust_region import TrustRegion

OPTIMIZERS: dict[str, type] = {
    "engd": ENGD,
    "engd-geodesic": GeodesicENGD,
    "natural-heavy-ball": NaturalHeavyBall,
    "natural-heavy-ball-fd": NaturalHeavyBallDifference,
    "natural-nesterov": NaturalNesterov,
    "quasi-natural-heavy-ball": QuasiNaturalHeavyBall,
    "spring": SPRING,
    "natural-auto": NaturalAuto,
    "adam": Adam,
    "lbfgs": LBFGS,
}
MOMENTUM_OPTIMIZERS = frozenset(
    {"natural-heavy-ball", "natural-heavy-ball-fd", "natural-nesterov", "quasi-natural-heavy-ball", "natural-auto", "spring"}
)


def make(name: str, **options: Any) -> Any:
    """The optimizer ``name`` with ``options`` (``None`` values mean the optimizer's default).

    An option the optimizer does not take is an error naming it, e.g. ``momentum`` for ``engd`` or ``damping`` for
    ``adam``; the natural optimizers' solver options are silently not passed to the first-order ones.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    cls = OPTIMIZERS[name]
    fields = {f.name for f in dataclasses.fields(cls)}
    given = {k: v for k, v in options.items() if v is not None}
    if "momentum" in given and name not in MOMENTUM_OPTIMIZERS:
        raise ValueError(f"{name} takes no momentum; momentum applies to {', '.join(sorted(MOMENTUM_OPTIMIZERS))}")
    if not issubclass(cls, Natural):
        given = {k: v for k, v in given.items() if k not in SOLVER_OPTIONS}
    unknown = sorted(set(given) - fields)
    if unknown:
        raise ValueError(f"{name} does not take the option(s) {', '.join(unknown)}")
    return cls(**given)


SOLVER_OPTIONS = frozenset({"damping", "rcond", "solver", "line_search", "exhaustive_search", "sketch_size", "cg_steps",
                            "trust_region"})


@dataclass(frozen=True)
class WarmStart:
    """``steps`` updates of ``first`` (e.g. Adam), then ``then`` (a natural optimizer) from where it left off. The
    state counts the updates up to ``steps`` only, so that it repeats once ``then`` repeats its own."""

    first: Any
    steps: int
    then: Any

    def needs_jacobian_at(self, state: State) -> bool:
        return (self.first if state["count"] < self.steps else self.then).needs_jacobian

    def cautious(self) -> WarmStart:
        return dataclasses.replace(self, first=self.first.cautious(), then=self.then.cautious())

    def init(self, theta: Tensor) -> State:
        return {"count": 0, "first": self.first.init(theta), "then": self.then.init(theta)}

    def update(self, state: State, theta: Tensor, lin: Linearised | None, residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        key, optimizer = ("first", self.first) if state["count"] < self.steps else ("then", self.then)
        theta, inner, info = optimizer.update(state[key], theta, lin, residuals)
        return theta, {**state, key: inner, "count": min(state["count"] + 1, self.steps)}, info


def needs_jacobian(optimizer: Any, state: State) -> bool:
    """Whether the next update of ``optimizer`` takes ``J`` (the loop skips the linearisation otherwise)."""
    at = getattr(optimizer, "needs_jacobian_at", None)
    return at(state) if at is not None else optimizer.needs_jacobian


def exploring_steps(state: State) -> int:
    """The exploring steps ``natural-auto`` took by ``state`` (under a warm start, its second optimizer's); ``0``
    for the other optimizers."""
    inner = state.get("then", state)
    return int(inner.get("explored", 0)) if isinstance(inner, dict) else 0


__all__ = [
    "OPTIMIZERS", "MOMENTUM_OPTIMIZERS", "ROW_STATE", "make", "WarmStart", "needs_jacobian", "exploring_steps", "State", "StepInfo", "Regularisation", "ResidualMap",
    "ENGD", "GeodesicENGD", "Adam", "LBFGS", "SPRING", "NaturalAuto", "NaturalHeavyBall", "NaturalHeavyBallDifference",
    "NaturalNesterov", "QuasiNaturalHeavyBall", "TrustRegion",
]
