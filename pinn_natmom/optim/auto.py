"""``natural-auto``, the default optimizer: natural momentum with the Gauss–Newton model and the geodesic bend,
then the geodesic path at the floor; optionally (``explore_steps``, ``explore_seconds``) after an exploring stage,
and (``sprint_seconds``) after a sprint before it.

The sprint: the stages below from the initial ``θ₀`` until they reach the floor (the state's ``"geodesic"``) or
have spent ``sprint_seconds`` of their own updates. The run then starts again from ``θ₀`` and keeps the sprint's
``θ`` as its fallback (``.fallback``), dropped once the new trajectory's loss is lower; a run that ends before
returns the sprint's ``θ``. So the stage delays the time to a given error by no more than the sprint's length, and
never leaves a run above the sprint's loss.

The exploring stage of ``.explore`` (trust-radius Levenberg–Marquardt steps held to a low ratio of actual to
predicted decrease) lasts for as long as either budget lasts: ``explore_steps`` updates, or ``explore_seconds``
seconds of its own updates (the loop's linearisations and error measurements aside); the first update past both
ends it for good. A budget of seconds that would not buy ``MIN_EXPLORE_STEPS`` steps at the fastest step's cost so
far ends the stage after its second step: ended that early, it leaves the run where the stages below descend more
slowly than from the start (results/explore/README.md), so the run goes on from the sprint's fallback where it has
one. The stage also ends once it has stalled (``.explore.stalled``). It ends where the stages below reach deeper
floors. The sprint and the stage are skipped where the rows of ``J`` are shared among processes.

Before the floor, two candidates, each with its own line search, and the one with the lower loss is taken:

- the model step ``θ_k − t m_k + ½ t² a_k`` with ``m_k = a d_k − b p_{k−1}``, where ``(a, b)`` minimise the
  Gauss–Newton model ``‖r_k − J_k m_k‖²`` (a 2 × 2 least-squares problem from ``J d`` and ``J p``), bent by the
  geodesic acceleration ``a_k = −J_k⁺ r_vv`` along ``v = −m_k`` (``geodesic.acceleration``, the central difference a
  tenth of the last step size long, so that it measures the curvature at the scale of the steps the line search
  takes); the first step is ``d_0`` bent;
- the ``natural-nesterov`` step from the look-ahead ``θ_k + β J_k⁺(r_k − r_{k−1})`` (``β = momentum``; ``0`` leaves
  the model step alone).

A restart searches the straight ``d_k``. The model alone is degenerate where ``d_k`` is the exact Gauss–Newton step
(``J d_k`` is then the projection of ``r_k``, so ``b = 0``): it sees only the linearisation, while the bend and the
look-ahead's residual ``r(y_k)`` carry the curvature along the new and the previous step. The bend costs two residual
evaluations and one more right-hand side; it lets the line search take the long steps that the straight model step
bends off (results/benchmark/README.md).

At the floor — once a step starts from a loss below ``FLOOR_LOSS_RATIO`` of the first one and keeps more than
``CREEP_RATIO`` of it (the state's ``"geodesic"``) — every step is the geodesic path ``θ_k − α d̃_k + ½ α² a_k`` of
``geodesic`` from the damped solve instead, which keeps descending where the truncated solves stall; a truncated
solver's cut-off, unless the run sets one, is lowered there to ``FLOOR_RCOND``: the residual left at the floor lies
along singular values just below the default cut-off (results/floors/README.md).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from time import perf_counter

import torch
from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from ..residual_map import ResidualMap
from . import fallback
from .base import Natural, Proposal, stack_columns
from .candidates import Candidate, search
from .contract import Regularisation, State, StepInfo
from .explore import INITIAL_RADIUS, explore_step, stalled
from .geodesic import DIFFERENCE_STEP, acceleration, bent_natural_step, damped_pseudo_inverse
from .momentum import previous_residual, remember_step

MIN_EXPLORE_STEPS = 50
"""The fewest exploring steps a budget of seconds must buy for the stage to go on past its second step."""
FLOOR_LOSS_RATIO = 1e-10
"""``natural-auto`` takes a run to be at its floor once a step starts from a loss below this fraction of the first
step's loss and keeps more than ``CREEP_RATIO`` of it."""
CREEP_RATIO = 0.99
FLOOR_RCOND = 1e-15
"""The relative cut-off of the truncated solvers (``svd``, ``pinv``) at the floor, where the run sets none."""


@dataclass(frozen=True)
class NaturalAuto(Natural):
    """The stages of the module docstring; ``momentum`` is the Nesterov candidate's ``β``; ``explore_steps`` and
    ``explore_seconds`` the exploring stage's budgets; ``sprint_seconds`` the sprint's (``0``: no sprint)."""

    momentum: float = 0.6
    explore_steps: int = 0
    explore_seconds: float = 0.0
    sprint_seconds: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.explore_steps >= 0:
            raise ValueError(f"the number of exploring steps must be ≥ 0, got {self.explore_steps}")
        if not self.explore_seconds >= 0:
            raise ValueError(f"the exploring stage's seconds must be ≥ 0, got {self.explore_seconds}")
        if not self.sprint_seconds >= 0:
            raise ValueError(f"the sprint's seconds must be ≥ 0, got {self.sprint_seconds}")

    def update(self, state: State, theta: Tensor, lin: Linearised,
               residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        """A sprint step while its budget is left (``sprint``); then an exploring step while a budget of the stage
        is left (state ``"explored"``: its updates, ``"explore_spent"``: their seconds, ``"explore_fastest"``: the
        fastest one's, ``"radius"``) and the rows of ``J`` are all here; then, for good (state ``"explore_over"``),
        the trust region around ``attempt``. Both need the rows of ``J`` here."""
        if self.sprint_seconds and lin.rows is None and not state.get("sprint_over", False):
            return self.sprint(state, theta, lin, residuals)
        taken, spent = state.get("explored", 0), state.get("explore_spent", 0.0)
        budget_left = taken < self.explore_steps or spent < self.explore_seconds
        if budget_left and lin.rows is None and not state.get("explore_over", False):
            started = perf_counter()
            new_theta, radius, info = explore_step(lin, residuals, theta, state.get("radius", INITIAL_RADIUS))
            seconds = perf_counter() - started
            fastest = min(seconds, state.get("explore_fastest", seconds))
            too_short = (taken + 1 >= 2 and taken + 1 >= self.explore_steps
                         and fastest * MIN_EXPLORE_STEPS > self.explore_seconds)
            window, stuck = stalled(state, float(info.loss), taken + 1)
            first = state.get("first_loss", float(lin.loss))
            counts = {"explored": taken + 1, "explore_spent": spent + seconds, "explore_fastest": fastest}
            kept = fallback.held(state)
            if too_short and kept is not None:
                back, loss, own = kept
                return back, {**own, **counts, "explore_over": True}, StepInfo(0.0, Regularisation(),
                                                                              lin.loss.new_tensor(loss), restarted=True)
            return new_theta, {**state, **window, **counts, "radius": radius, "first_loss": first,
                               "explore_over": too_short or stuck}, info
        new_theta, new_state, info = super().update(state, theta, lin, residuals)
        return new_theta, fallback.beaten({**new_state, "explore_over": True}, float(info.loss)), info

    def sprint(self, state: State, theta: Tensor, lin: Linearised,
               residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        """A step of the stages below from the sprint's state; once it reaches the floor (``"geodesic"``) or its
        updates have spent ``sprint_seconds`` (state ``"sprint_spent"``), the restart instead: ``θ₀`` (state
        ``"origin"``, with its loss ``"origin_loss"``) with the initial state, the step's ``θ`` kept as the fallback."""
        started = perf_counter()
        origin, origin_loss = state.get("origin", theta), state.get("origin_loss", float(lin.loss))
        new_theta, new_state, info = super().update(state, theta, lin, residuals)
        spent = state.get("sprint_spent", 0.0) + perf_counter() - started
        marks = {"origin": origin, "origin_loss": origin_loss, "sprint_spent": spent}
        if spent < self.sprint_seconds and not new_state.get("geodesic", False):
            return new_theta, {**new_state, **marks}, info
        own = {key: value for key, value in new_state.items() if key not in marks}
        restart = fallback.kept({**self.init(origin), "sprint_spent": spent, "sprint_over": True},
                                new_theta, float(info.loss), {**own, "sprint_over": True})
        return origin, restart, StepInfo(0.0, Regularisation(), lin.loss.new_tensor(origin_loss), restarted=True)

    def attempt(self, state: State, theta: Tensor, lin: Linearised,
                residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        if state.get("geodesic", False):
            floor_solver = self if self.rcond is not None else dataclasses.replace(self, rcond=FLOOR_RCOND)
            apply, used = damped_pseudo_inverse(floor_solver, lin)
            candidates, restart = bent_natural_step(apply, theta, lin, residuals), None
        else:
            apply, used = self.pseudo_inverse(lin)
            candidates, restart = self.propose(apply, state, theta, lin, residuals)
        new_theta, searched, info = search(self, residuals, lin, state, theta, used, candidates, restart)
        first = state.get("first_loss", float(lin.loss))
        at_floor = float(lin.loss) < FLOOR_LOSS_RATIO * first and float(info.loss) > CREEP_RATIO * float(lin.loss)
        remembered = remember_step(searched, theta, new_theta, lin, residuals)
        return new_theta, {**remembered, "first_loss": first, "geodesic": state.get("geodesic", False) or at_floor}, info

    def propose(self, apply: solvers.Apply, state: State, theta: Tensor, lin: Linearised,
                residuals: ResidualMap) -> Proposal:
        """The bent model step and the Nesterov step (the first step: ``d_0`` bent alone); the restart ``d_k``."""
        if "step" not in state:
            d = solvers.check_finite(apply(lin.residual))
            return [Candidate(theta, d, self.bend(residuals, theta, d, lin, apply, state))], None
        both = solvers.check_finite(apply(stack_columns(lin.residual, lin.residual - previous_residual(state, residuals))))
        d = both[:, 0]
        a, b = optimal_coefficients(lin, d, state["step"])
        modelled = a * d - b * state["step"]
        candidates = [Candidate(theta, modelled, self.bend(residuals, theta, modelled, lin, apply, state))]
        if self.momentum > 0:
            ahead = theta + self.momentum * both[:, 1]
            candidates.append(Candidate(ahead, solvers.check_finite(apply(residuals.residual(ahead)))))
        return candidates, lambda: Candidate(theta, d)

    def bend(self, residuals: ResidualMap, theta: Tensor, d: Tensor, lin: Linearised, apply: solvers.Apply,
             state: State) -> Tensor:
        """The geodesic acceleration along ``−d``, its central difference ``DIFFERENCE_STEP`` times the last step
        size long (``2^{−j}`` of the grid, the state's ``"grid_index"``, or ``lr`` without the line search)."""
        last = 2.0 ** -state["grid_index"] if self.line_search else self.lr
        return acceleration(residuals, theta, d, lin.residual, apply, DIFFERENCE_STEP * last)


def optimal_coefficients(lin: Linearised, d: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
    """``(a, b)`` minimising ``‖r − a J d + b J p‖²`` (least squares with the columns ``J d`` and ``−J p``), for ``J``
    and ``r`` of ``lin``.

    Solved through the 2 × 2 normal equations with a relative ridge of ``10⁻¹²`` (collinear columns, ``p = 0``), on the
    device. ``(a, b) = (1, 0)`` is ENGD's unit step.
    """
    columns = stack_columns(lin.jacobian @ d, -(lin.jacobian @ p))
    gram = lin.inner(columns, columns)
    ridge = (1e-12 * gram.diagonal().sum()).clamp_min(torch.finfo(gram.dtype).tiny)
    right = lin.inner(columns, lin.residual)
    coefficients = torch.linalg.solve(gram + ridge * torch.eye(2, dtype=gram.dtype, device=gram.device), right)
    return coefficients[0], coefficients[1]
