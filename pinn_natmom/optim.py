"""Natural-gradient optimizers as pure updates ``update(state, θ, linearised, losses) -> (θ_new, state_new, info)``.

ENGD (energy natural gradient descent, Gauss–Newton in function space):

.. math:: d_k = (J_kᵀJ_k + λI)^{-1} J_kᵀ r_k, \\qquad θ_{k+1} = θ_k − α_k d_k,

with ``α_k`` from the grid line search (or a fixed step). ``losses(K × P) -> K`` evaluates ``L`` at a batch of
parameter vectors on the current points.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor

from . import solvers
from .linearise import Linearised
from .linesearch import LossBatch, grid_search

State = dict[str, Any]


@dataclass(frozen=True)
class StepInfo:
    """What one update did: the step size taken, the damping used, and the loss at the new θ (same points)."""

    step_size: float
    damping: float
    loss: Tensor


@dataclass(frozen=True)
class ENGD:
    """Energy natural gradient descent.

    Attributes:
        damping: ``λ`` in ``(JᵀJ + λI)`` for the Cholesky solvers; raised for a step if the factorisation fails.
        rcond: relative singular-value cut-off of the truncated pseudo-inverses (``None``: the solver's default in
            :data:`pinn_natmom.solvers.DEFAULT_RCOND`).
        solver: a name of :data:`pinn_natmom.solvers.SOLVERS` (already resolved from ``"auto"`` by the caller, or
            ``"auto"`` to resolve it at every step).
        line_search: choose ``α`` on the grid ``2⁰ … 2⁻³⁰``; otherwise take ``α = lr``.
        lr: the fixed step when the line search is off.
        exhaustive_search: evaluate all 31 grid points every step instead of coarse-to-fine.
    """

    damping: float = 1e-10
    rcond: float | None = None
    solver: str = "auto"
    line_search: bool = True
    lr: float = 1.0
    exhaustive_search: bool = False

    def __post_init__(self) -> None:
        if not self.damping >= 0:
            raise ValueError(f"damping must be ≥ 0, got {self.damping}")
        if self.rcond is not None and not 0 <= self.rcond < 1:
            raise ValueError(f"rcond must lie in [0, 1), got {self.rcond}")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if self.solver not in solvers.SOLVER_NAMES:
            raise ValueError(f"unknown solver {self.solver!r}; choose from {', '.join(solvers.SOLVER_NAMES)}")

    def init(self, theta: Tensor) -> State:
        """``grid_index``: the exponent of the last accepted grid step, where the next search starts looking."""
        return {"grid_index": 0}

    def update(
        self, state: State, theta: Tensor, lin: Linearised, losses: LossBatch
    ) -> tuple[Tensor, State, StepInfo]:
        name = solvers.choose(self.solver, *lin.jacobian.shape)
        if name in solvers.TRUNCATED:
            regulariser = solvers.DEFAULT_RCOND[name] if self.rcond is None else self.rcond
        else:
            regulariser = self.damping
        d, used = solvers.direction(name, lin.jacobian, lin.residual, regulariser)
        if self.line_search:
            found = grid_search(losses, theta, d, lin.loss, self.exhaustive_search, state["grid_index"])
            alpha, loss = found.step_size, found.loss
            state = {**state, "grid_index": max(found.index, 0)}
        else:
            alpha = self.lr
            loss = losses((theta - alpha * d).unsqueeze(0))[0]
        return theta - alpha * d, state, StepInfo(alpha, used, loss)
