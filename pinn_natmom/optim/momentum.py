"""Natural momentum: inertia in function space, projected onto the model's tangent space (Nouy & Somacal).

With ``d_k = J_k⁺ r_k``, ``p_k = θ_{k+1} − θ_k`` and ``β`` the momentum:

- ``natural-heavy-ball``: ``p_k = J_k⁺(β u_{k−1} − α r_k)`` with the previous step's function-space velocity
  ``u_{k−1} = J_{k−1} p_{k−1}``, stored after the step while the points stay, else one Jacobian–vector product at
  ``θ_{k−1}`` on the new points;
- ``natural-heavy-ball-fd``: the same with ``u_{k−1} = r_k − r_{k−1}`` (``r_{k−1}`` on the current points: stored, or
  one residual evaluation after resampling);
- ``quasi-natural-heavy-ball``: ``p_k = β p_{k−1} − α d_k``;
- ``natural-nesterov``: ``q_k = J_k⁺(r_k − r_{k−1})``, ``y_k = θ_k + β q_k``, ``θ_{k+1} = y_k − α J_k⁺ r(y_k)``
  (``J_k`` reused; one extra residual evaluation);
- ``natural-auto``: two candidates, each with its own line search, and the one with the lower loss is taken. The model
  step ``θ_k − t m_k + ½ t² a_k`` with ``m_k = a d_k − b p_{k−1}``, where ``(a, b)`` minimise the Gauss–Newton model
  ``‖r_k − J_k m_k‖²`` (a 2 × 2 least-squares problem from ``J d`` and ``J p``), bent by the geodesic acceleration
  ``a_k = −J_k⁺ r_vv`` along ``v = −m_k`` (``geodesic.acceleration``, the central difference a tenth of the last
  step size long, so that it measures the curvature at the scale of the steps the line search takes); and the
  ``natural-nesterov`` step. The model alone is degenerate where ``d_k`` is the exact Gauss–Newton step (``J d_k`` is
  then the projection of ``r_k``, so ``b = 0``): it sees only the linearisation, while the bend and the look-ahead's
  residual ``r(y_k)`` carry the curvature along the new and the previous step. The bend costs two residual
  evaluations and one more right-hand side; it lets the line search take the long steps that the straight model step
  bends off (results/benchmark/README.md). Once the loss has fallen ten orders of magnitude and the steps creep,
  ``natural-auto`` takes the geodesic path of ``geodesic`` from the damped solve instead, which keeps descending
  where the truncated solves stall.

Every flavour factorises ``J_k`` once (``natural-auto`` at its floor with the damped solver) and applies ``J⁺`` to all
its right-hand sides together. α is chosen by the line search from the momentum-shifted origin against the loss at
``θ_k``; when no step lowers the loss the momentum is dropped for that step (adaptive restart) and a plain
natural-gradient step is searched instead. ``β = 0`` gives ENGD.
Default ``β`` per flavour: the best of {0.3, 0.6, 0.9} in steps to rel_l2 1e-6 on 2-d Poisson (results/benchmark).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from ..linesearch import path
from ..residual_map import ResidualMap
from .base import Natural, State, StepInfo, stack_columns
from .geodesic import DIFFERENCE_STEP, acceleration, geodesic_step


@dataclass(frozen=True)
class _ShiftedNatural(Natural):
    """``θ_{k+1} = θ_k + shift − α d_k``, with ``shift`` from the momentum and a restart when it does not pay."""

    def update(self, state: State, theta: Tensor, lin: Linearised, residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        apply, used = self.pseudo_inverse(lin)
        d, shift = self.directions(apply, state, theta, lin, residuals)
        restarted = False
        found, state = self.step(residuals, theta + shift if shift is not None else theta, d, lin.loss, state)
        if shift is not None and not found.improved and self.line_search:
            d = solvers.check_finite(apply(lin.residual)) if self.rebuilds_direction else d
            found, state = self.step(residuals, theta, d, lin.loss, state)
            shift, restarted = None, True
        if found.improved:
            new_theta = (theta if shift is None else theta + shift) - found.step_size * d
        else:
            new_theta = theta
        info = StepInfo(found.step_size if found.improved else 0.0, used, found.loss if found.improved else lin.loss,
                        restarted)
        return new_theta, self.remember(state, theta, new_theta, lin, residuals), info

    rebuilds_direction = False

    def directions(self, apply, state, theta, lin, residuals) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def remember(self, state: State, theta: Tensor, new_theta: Tensor, lin: Linearised, residuals: ResidualMap) -> State:
        return remember_step(state, theta, new_theta, lin, residuals)


@dataclass(frozen=True)
class _ProjectedHeavyBall(_ShiftedNatural):
    """``p_k = J_k⁺(β u_{k−1} − α r_k)`` for a function-space velocity ``u_{k−1}`` given by ``velocity``."""

    def directions(self, apply, state, theta, lin, residuals):
        if not (self.momentum > 0 and "step" in state):
            return solvers.check_finite(apply(lin.residual)), None
        both = solvers.check_finite(apply(stack_columns(lin.residual, self.velocity(state, lin, residuals))))
        return both[:, 0], self.momentum * both[:, 1]

    def velocity(self, state: State, lin: Linearised, residuals: ResidualMap) -> Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class NaturalHeavyBall(_ProjectedHeavyBall):
    """``u_{k−1} = J_{k−1} p_{k−1}``: the previous step's velocity, re-fitted in the current tangent space."""

    momentum: float = 0.3

    def velocity(self, state, lin, residuals):
        if state["version"] == residuals.version:
            return state["velocity"]
        return residuals.tangent(state["theta"], state["step"])

    def remember(self, state, theta, new_theta, lin, residuals):
        remembered = super().remember(state, theta, new_theta, lin, residuals)
        return {**remembered, "velocity": lin.jacobian @ remembered["step"]}


@dataclass(frozen=True)
class NaturalHeavyBallDifference(_ProjectedHeavyBall):
    """``u_{k−1} = r_k − r_{k−1}``: the velocity from the difference of successive residuals."""

    momentum: float = 0.3

    def velocity(self, state, lin, residuals):
        return lin.residual - previous_residual(state, residuals)


@dataclass(frozen=True)
class QuasiNaturalHeavyBall(_ShiftedNatural):
    """``p_k = β p_{k−1} − α J_k⁺ r_k``: the old step kept in parameter space, not re-fitted."""

    momentum: float = 0.3

    def directions(self, apply, state, theta, lin, residuals):
        d = solvers.check_finite(apply(lin.residual))
        shift = self.momentum * state["step"] if self.momentum > 0 and "step" in state else None
        return d, shift


@dataclass(frozen=True)
class NaturalNesterov(_ShiftedNatural):
    """Look-ahead ``y_k = θ_k + β J_k⁺(r_k − r_{k−1})``, then the natural step from ``y_k`` with ``J_k`` reused."""

    momentum: float = 0.6

    rebuilds_direction = True

    def directions(self, apply, state, theta, lin, residuals):
        if not (self.momentum > 0 and "step" in state):
            return solvers.check_finite(apply(lin.residual)), None
        shift = self.momentum * solvers.check_finite(apply(lin.residual - previous_residual(state, residuals)))
        return solvers.check_finite(apply(residuals.residual(theta + shift))), shift


FLOOR_LOSS_RATIO = 1e-10
"""``natural-auto`` takes a run to be at its floor once a step starts from a loss below this fraction of the first
step's loss and keeps more than ``CREEP_RATIO`` of it."""
CREEP_RATIO = 0.99


@dataclass(frozen=True)
class NaturalAuto(Natural):
    """Two momentum candidates every step, the one whose searched step gives the lower loss kept: the
    Gauss–Newton-model step ``−a d_k + b p_{k−1}`` from ``θ_k``, bent by the curvature along it (the first step: ``d_0``
    bent), and the natural Nesterov step from the look-ahead ``θ_k + β q_k`` (``β = momentum``; ``0`` leaves the model
    step alone); a restart searches the straight ``d_k``. Once the run is at its floor
    (``FLOOR_LOSS_RATIO``; the state's ``"geodesic"``), where those steps creep, every step is the geodesic path
    ``θ_k − α d̃_k + ½ α² a_k`` of ``geodesic`` instead, from the damped solve (``engd-geodesic``'s step)."""

    momentum: float = 0.6

    def update(self, state: State, theta: Tensor, lin: Linearised, residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        if state.get("geodesic", False):
            return self.geodesic_update(state, theta, lin, residuals)
        apply, used = self.pseudo_inverse(lin)
        ahead = None
        if "step" not in state:
            d = modelled = solvers.check_finite(apply(lin.residual))
        else:
            both = solvers.check_finite(apply(stack_columns(lin.residual, lin.residual - previous_residual(state, residuals))))
            d = both[:, 0]
            a, b = optimal_coefficients(lin, d, state["step"])
            modelled = a * d - b * state["step"]
            if self.momentum > 0:
                ahead = theta + self.momentum * both[:, 1]
        bend = acceleration(residuals, theta, modelled, lin.residual, apply, DIFFERENCE_STEP * self.last_step_size(state))
        candidates: list[tuple[Tensor, Tensor, Tensor | None]] = [(theta, modelled, bend)]
        if ahead is not None:
            candidates.append((ahead, solvers.check_finite(apply(residuals.residual(ahead))), None))
        (found, searched), origin, direction, bend = min(
            ((self.step(residuals, origin, direction, lin.loss, state, bend), origin, direction, bend)
             for origin, direction, bend in candidates),
            key=lambda result: float(result[0][0].loss) if result[0][0].improved else math.inf)
        restarted = "step" in state and not found.improved and self.line_search
        if restarted:
            (found, searched), origin, direction, bend = self.step(residuals, theta, d, lin.loss, state), theta, d, None
        new_theta = path(origin, direction, bend, found.step_size) if found.improved else theta
        info = StepInfo(found.step_size if found.improved else 0.0, used, found.loss if found.improved else lin.loss,
                        restarted)
        first = state.get("first_loss", float(lin.loss))
        floor = float(lin.loss) < FLOOR_LOSS_RATIO * first and float(info.loss) > CREEP_RATIO * float(lin.loss)
        remembered = remember_step(searched, theta, new_theta, lin, residuals)
        return new_theta, {**remembered, "first_loss": first, "geodesic": floor}, info

    def last_step_size(self, state: State) -> float:
        """The step size of the last searched step, ``2^{−j}`` of the grid (the state's ``"grid_index"``), or ``lr``
        without the line search."""
        return 2.0 ** -state["grid_index"] if self.line_search else self.lr

    def geodesic_update(self, state: State, theta: Tensor, lin: Linearised,
                        residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        """The step at the floor: the geodesic path alone, searched from ``θ_k``."""
        new_theta, searched, info = geodesic_step(self, state, theta, lin, residuals)
        return new_theta, remember_step(searched, theta, new_theta, lin, residuals), info


def remember_step(state: State, theta: Tensor, new_theta: Tensor, lin: Linearised, residuals: ResidualMap) -> State:
    """``state`` with what the next step needs: ``θ_k``, ``p_k = θ_{k+1} − θ_k``, ``r_k`` and the points' version."""
    return {**state, "theta": theta, "step": new_theta - theta, "residual": lin.residual, "version": residuals.version}


def previous_residual(state: State, residuals: ResidualMap) -> Tensor:
    """``r(θ_{k−1})`` on the current points: stored while the points stay, else evaluated again."""
    return state["residual"] if state["version"] == residuals.version else residuals.residual(state["theta"])


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
