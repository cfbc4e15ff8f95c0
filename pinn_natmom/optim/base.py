"""What every optimizer shares: the update contract, the residual map it may query, and the natural-gradient step.

An optimizer is a pure update ``update(state, θ, lin, residuals) -> (θ_new, state_new, info)``: ``lin`` holds ``r(θ)`` and
``J(θ)`` on the current points (``None`` for optimizers that need no Jacobian), ``residuals`` (``ResidualMap``)
evaluates the residual map on the same points, and ``state`` is a dict of tensors and plain numbers the training loop
checkpoints.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from ..linesearch import grid_search, path
from ..residual_map import ResidualMap

State = dict[str, Any]
ROW_STATE = frozenset({"residual", "velocity"})
"""Optimizer state entries that hold one value per collocation row (a residual, a function-space velocity)."""

DAMPING_FACTOR = 10.0
"""The factor by which adaptive damping lowers or raises ``λ`` per step."""
NEAR_FULL_STEP = 0.5
"""The smallest line-search step ``α`` that counts as a full step for adaptive damping."""


@dataclass(frozen=True)
class Regularisation:
    """How a direction solve was regularised: the damping ``λ`` of ``(JᵀJ + λI)`` or the relative singular-value
    cut-off ``rcond`` of a truncated pseudo-inverse; the one that does not apply is NaN."""

    damping: float = math.nan
    rcond: float = math.nan

    @classmethod
    def of(cls, solver: str, used: float) -> Regularisation:
        """What the solver ``solver`` (a resolved name) reported as used: a cut-off for the truncated ones, else ``λ``."""
        return cls(rcond=used) if solver in solvers.TRUNCATED else cls(damping=used)


@dataclass(frozen=True)
class StepInfo:
    """What one update did: the step size taken, the regularisation of its solve, the loss at the new θ (same
    points), and whether the momentum was dropped (restart)."""

    step_size: float
    regularisation: Regularisation
    loss: Tensor
    restarted: bool = False


@dataclass(frozen=True)
class Found:
    """A step size along a direction and the loss it gives; ``improved`` is False when no step lowered the loss."""

    step_size: float
    loss: Tensor
    improved: bool


@dataclass(frozen=True)
class Natural:
    """Shared options and helpers of the natural-gradient optimizers.

    Attributes:
        damping: ``λ`` in ``(JᵀJ + λI)`` for the Cholesky solvers; raised for a step if the factorisation fails.
        rcond: relative singular-value cut-off of the truncated pseudo-inverses (``None``: the solver's default in
            ``pinn_natmom.solvers.DEFAULT_RCOND``).
        solver: a name of ``pinn_natmom.solvers.SOLVER_NAMES`` (``"auto"`` is resolved at every step).
        line_search: choose the step size ``α`` on the grid ``2⁰ … 2⁻³⁰``; otherwise take ``α = lr``.
        lr: the fixed step when the line search is off.
        momentum: ``β`` (``μ`` for SPRING); ignored by ``engd``.
        exhaustive_search: evaluate all 31 grid points every step instead of bracketing.
        sketch_size: ``ℓ`` of the randomized solvers ``nystrom`` and ``nystrom-pcg`` (``None``: their default, 1,000).
        cg_steps: conjugate-gradient steps of ``nystrom-pcg`` (``None``: its default).
        adaptive_damping: Levenberg–Marquardt control of ``λ`` for the damped solvers (all but the truncated ones): step
            ``k`` uses ``λ_k = damping · s_k`` with the scale ``s_k`` kept in the state (``"damping_scale"``, ``s_0 =
            1``). From the scale ``s`` the solver actually used (above ``s_k`` when the factorisation had to raise
            ``λ``; ``s_k`` where a refined solve took a tenth of it, ``pinn_natmom.solvers.refine``): ``s_{k+1} =
            max(s / 10, 1)`` after a step that lowered the loss with a full or near-full step (line-search ``α ≥ ½``;
            any decrease with a fixed step), ``s_{k+1} = 10 s`` after a step that did not lower the loss (the line
            search found no decrease, or the fixed step raised it), else ``s``. So ``damping`` is the floor of the
            factorised ``λ``. A step the training loop rejects is retried by a ``cautious`` copy whose floor, and
            with it ``λ``, is 100× higher. Needs ``damping > 0``.

    Every subclass's ``update`` is wrapped (``__init_subclass__``) to apply the adaptive damping; with it off, the
    wrapper calls ``update`` unchanged.
    """

    damping: float = 1e-10
    rcond: float | None = None
    solver: str = "auto"
    line_search: bool = True
    lr: float = 1.0
    momentum: float = 0.0
    exhaustive_search: bool = False
    sketch_size: int | None = None
    cg_steps: int | None = None
    adaptive_damping: bool = False

    needs_jacobian: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "update" in cls.__dict__:
            cls.update = with_adaptive_damping(cls.__dict__["update"])

    def __post_init__(self) -> None:
        if not self.damping >= 0:
            raise ValueError(f"damping must be ≥ 0, got {self.damping}")
        if self.rcond is not None and not 0 <= self.rcond < 1:
            raise ValueError(f"rcond must lie in [0, 1), got {self.rcond}")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum}")
        if self.solver not in solvers.SOLVER_NAMES:
            raise ValueError(f"unknown solver {self.solver!r}; choose from {', '.join(solvers.SOLVER_NAMES)}")
        if self.sketch_size is not None and not self.sketch_size >= 1:
            raise ValueError(f"sketch size must be ≥ 1, got {self.sketch_size}")
        if self.cg_steps is not None and not self.cg_steps >= 0:
            raise ValueError(f"the number of CG steps must be ≥ 0, got {self.cg_steps}")
        if self.adaptive_damping and not self.damping > 0:
            raise ValueError("adaptive damping scales the damping λ, so it needs damping > 0")

    def cautious(self) -> Natural:
        """A more conservative copy, to retry a rejected step: ``λ`` ×100 (at least 10⁻¹⁰), the cut-off ×10 (at
        most 10⁻²), the fixed step halved."""
        rcond = self.rcond if self.rcond is not None else solvers.DEFAULT_RCOND.get(self.solver, max(solvers.DEFAULT_RCOND.values()))
        return dataclasses.replace(self, damping=max(100.0 * self.damping, 1e-10), rcond=min(10.0 * rcond, 1e-2),
                                   lr=self.lr if self.line_search else self.lr / 2)

    def init(self, theta: Tensor) -> State:
        """``grid_index``: the exponent of the last accepted grid step, where the next search starts looking."""
        return {"grid_index": 0}

    def regulariser(self, name: str) -> float:
        """The ``rcond`` of a truncated solver ``name`` (its default when unset), else the damping ``λ``."""
        if name in solvers.TRUNCATED:
            return solvers.DEFAULT_RCOND[name] if self.rcond is None else self.rcond
        return self.damping

    def solver_options(self, name: str) -> dict[str, int]:
        """The options set here that the solver ``name`` takes (``pinn_natmom.solvers.OPTIONS``)."""
        given = {"sketch_size": self.sketch_size, "cg_steps": self.cg_steps}
        taken = solvers.OPTIONS.get(name, frozenset())
        return {key: value for key, value in given.items() if value is not None and key in taken}

    def pseudo_inverse(self, lin: Linearised) -> tuple[solvers.Apply, Regularisation]:
        """``(rhs ↦ J⁺ rhs, regularisation used)`` from one factorisation of the current ``J``."""
        name = solvers.choose(self.solver, *lin.system_shape)
        apply, used = solvers.factorize(name, lin.jacobian, self.regulariser(name), lin.rows, **self.solver_options(name))
        return apply, Regularisation.of(name, used)

    def solves_damped(self, state: State, lin: Linearised) -> bool:
        """Whether the next update solves with the damping ``λ`` (rather than a cut-off), so that adaptive damping
        applies to it."""
        return solvers.choose(self.solver, *lin.system_shape) not in solvers.TRUNCATED

    def next_damping_scale(self, info: StepInfo, lin: Linearised, scale: float) -> float:
        """``s_{k+1}`` of the adaptive damping (see the class docstring) after the step ``info`` from ``lin`` taken
        with the scale ``s_k = scale`` (the scale used is never below it, also where the solve was refined below the
        damping it factorised at, ``pinn_natmom.solvers.refine``)."""
        used = max(info.regularisation.damping / self.damping, scale)
        if not float(info.loss) < float(lin.loss):
            return used * DAMPING_FACTOR
        if not self.line_search or info.step_size >= NEAR_FULL_STEP:
            return max(used / DAMPING_FACTOR, 1.0)
        return used

    def step(self, residuals: ResidualMap, origin: Tensor, d: Tensor, reference: Tensor, state: State,
             acceleration: Tensor | None = None) -> tuple[Found, State]:
        """The step ``origin − α d`` (``+ ½ α² acceleration`` when given): ``α`` by the grid line search against the
        loss ``reference`` (at the current θ), or ``α = lr``. The search starts at the previous step's exponent."""
        if not self.line_search:
            return Found(self.lr, residuals.losses(path(origin, d, acceleration, self.lr).unsqueeze(0))[0], True), state
        found = grid_search(residuals.losses, origin, d, reference, self.exhaustive_search, state["grid_index"], acceleration)
        improved = found.index >= 0
        return Found(found.step_size, found.loss, improved), ({**state, "grid_index": found.index} if improved else state)


Update = Callable[[Natural, State, Tensor, Linearised, ResidualMap], tuple[Tensor, State, StepInfo]]


def with_adaptive_damping(update: Update) -> Update:
    """``update`` run with ``λ = damping · s`` from the state, storing the next scale ``s`` after it (when
    ``adaptive_damping`` is on and the update solves with ``λ``, ``Natural.solves_damped``)."""

    @functools.wraps(update)
    def adapted(self: Natural, state: State, theta: Tensor, lin: Linearised, residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        if not self.adaptive_damping or not self.solves_damped(state, lin):
            return update(self, state, theta, lin, residuals)
        scale = state.get("damping_scale", 1.0)
        scaled = dataclasses.replace(self, damping=self.damping * scale, adaptive_damping=False)
        new_theta, new_state, info = update(scaled, state, theta, lin, residuals)
        return new_theta, {**new_state, "damping_scale": self.next_damping_scale(info, lin, scale)}, info

    return adapted


def stack_columns(*vectors: Tensor) -> Tensor:
    """``[v₁ … v_m]`` as an ``N × m`` matrix, to apply one factorisation to several right-hand sides."""
    return torch.stack(vectors, dim=1)
