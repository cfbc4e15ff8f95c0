"""The step rule of the natural optimizers: candidate paths, each searched, the best one taken.

A candidate is the path ``θ(α) = origin − α d + ½ α² a`` (``a = None``: the straight step): a momentum rule proposes
one or more (the natural step from ``θ_k``; a step from a momentum-shifted origin; a step bent by the curvature), the
optimizer's step rule (``Natural.step``: the grid line search, or ``α = lr``) searches each against the loss at
``θ_k``, and the one reaching the lowest loss is taken. Where none lowers the loss and the momentum rule gave a
restart (the plain natural step from ``θ_k``, built only when needed), the momentum is dropped for this step and the
restart is searched instead (adaptive restart, O'Donoghue & Candès 2015); where that lowers nothing either, ``θ`` stays.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import Tensor

from ..linearise import Linearised
from ..linesearch import path
from ..residual_map import ResidualMap
from .contract import Found, Regularisation, State, StepInfo

if TYPE_CHECKING:
    from .base import Natural


@dataclass(frozen=True)
class Candidate:
    """The path ``origin − α direction + ½ α² bend`` (``bend = None``: straight)."""

    origin: Tensor
    direction: Tensor
    bend: Tensor | None = None

    def at(self, step_size: float) -> Tensor:
        """The point of the path at ``α = step_size``."""
        return path(self.origin, self.direction, self.bend, step_size)


Restart = Callable[[], Candidate]
"""The candidate searched when no proposed one lowers the loss (built only then)."""


def search(optimizer: Natural, residuals: ResidualMap, lin: Linearised, state: State, theta: Tensor,
           used: Regularisation, candidates: Sequence[Candidate],
           restart: Restart | None = None) -> tuple[Tensor, State, StepInfo]:
    """``(θ_{k+1}, state after the search taken, StepInfo)`` from ``θ_k = theta``: every candidate searched by
    ``optimizer.step`` from the same ``state`` against ``lin.loss``, the lowest loss taken (the first on ties), else
    ``restart`` searched (``restarted``), else ``θ_k`` kept with step size 0. ``used``: the regularisation of the
    solves behind the candidates, reported in the ``StepInfo``."""
    (found, searched), taken = min(
        ((optimizer.step(residuals, c.origin, c.direction, lin.loss, state, c.bend), c) for c in candidates),
        key=lambda result: _loss_of(result[0][0]))
    restarted = restart is not None and not found.improved
    if restarted:
        taken = restart()
        found, searched = optimizer.step(residuals, taken.origin, taken.direction, lin.loss, state, taken.bend)
    if not found.improved:
        return theta, searched, StepInfo(0.0, used, lin.loss, restarted)
    return taken.at(found.step_size), searched, StepInfo(found.step_size, used, found.loss, restarted)


def _loss_of(found: Found) -> float:
    return float(found.loss) if found.improved else math.inf
