"""The update contract every optimizer shares: an update is a pure function
``update(state, θ, lin, residuals) -> (θ_new, state_new, StepInfo)``; ``lin`` holds ``r(θ)`` and ``J(θ)`` on the
current points (``None`` for optimizers that need no Jacobian), ``residuals`` (``ResidualMap``) evaluates the residual
map on the same points, and ``state`` is a dict of tensors and plain numbers the training loop checkpoints.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torch import Tensor

State = dict[str, Any]
ROW_STATE = frozenset({"residual", "velocity"})
"""Optimizer state entries that hold one value per collocation row (a residual, a function-space velocity)."""


@dataclass(frozen=True)
class Regularisation:
    """How a direction solve was regularised: the damping ``λ`` of ``(JᵀJ + λI)`` (absolute inside an update; the
    trust region reports it relative to ``‖J‖²_F``) and the relative singular-value cut-off ``rcond`` of a truncated
    solver; NaN where it does not apply."""

    damping: float = math.nan
    rcond: float = math.nan


@dataclass(frozen=True)
class StepInfo:
    """What one update did: the step size taken, the regularisation of its solve, the loss at the new θ (same
    points), whether the momentum was dropped (restart), and the trust region's ratio ``ρ`` of actual to predicted
    decrease (NaN without one)."""

    step_size: float
    regularisation: Regularisation
    loss: Tensor
    restarted: bool = False
    ratio: float = math.nan


@dataclass(frozen=True)
class Found:
    """A step size along a direction and the loss it gives; ``improved`` is False when no step lowered the loss."""

    step_size: float
    loss: Tensor
    improved: bool
