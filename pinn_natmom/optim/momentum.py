"""Natural momentum: inertia in function space, projected onto the model's tangent space (Nouy & Somacal).

With ``d_k = J_k⁺ r_k``, ``p_k = θ_{k+1} − θ_k`` and ``β`` the momentum:

- ``natural-heavy-ball``: ``p_k = J_k⁺(β u_{k−1} − α r_k)`` with the previous step's function-space velocity
  ``u_{k−1} = J_{k−1} p_{k−1}``, stored after the step while the points stay, else one Jacobian–vector product at
  ``θ_{k−1}`` on the new points;
- ``natural-heavy-ball-fd``: the same with ``u_{k−1} = r_k − r_{k−1}`` (``r_{k−1}`` on the current points: stored, or
  one residual evaluation after resampling);
- ``quasi-natural-heavy-ball``: ``p_k = β p_{k−1} − α d_k``;
- ``natural-nesterov``: ``q_k = J_k⁺(r_k − r_{k−1})``, ``y_k = θ_k + β q_k``, ``θ_{k+1} = y_k − α J_k⁺ r(y_k)``
  (``J_k`` reused; one extra residual evaluation).

``natural-auto`` (``.auto``) combines the Gauss–Newton model, the geodesic bend and natural Nesterov.
Every flavour factorises ``J_k`` once and applies ``J⁺`` to all its right-hand sides together; each is a momentum rule
(``propose``: the candidate path from the momentum-shifted origin, and the restart) on ``Natural``'s other rules. α is chosen by the line search from the momentum-shifted origin against the loss at
``θ_k``; when no step lowers the loss the momentum is dropped for that step (adaptive restart) and a plain
natural-gradient step is searched instead. ``β = 0`` gives ENGD.
Default ``β`` per flavour: the best of {0.3, 0.6, 0.9} in steps to rel_l2 1e-6 on 2-d Poisson (results/benchmark).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from ..residual_map import ResidualMap
from .base import Natural, Proposal, stack_columns
from .candidates import Candidate
from .contract import State


@dataclass(frozen=True)
class _ShiftedNatural(Natural):
    """``θ_{k+1} = θ_k + shift − α d_k``, with ``shift`` from the momentum and a restart (``θ_k − α J_k⁺ r_k``) when it
    does not pay; every step remembered (``remember_step``)."""

    def remember(self, state: State, theta: Tensor, new_theta: Tensor, lin: Linearised, residuals: ResidualMap) -> State:
        return remember_step(state, theta, new_theta, lin, residuals)


def shifted(theta: Tensor, shift: Tensor, d: Tensor) -> Proposal:
    """The candidate ``θ + shift − α d``, and the restart ``θ − α d``."""
    return [Candidate(theta + shift, d)], lambda: Candidate(theta, d)


@dataclass(frozen=True)
class _ProjectedHeavyBall(_ShiftedNatural):
    """``p_k = J_k⁺(β u_{k−1} − α r_k)`` for a function-space velocity ``u_{k−1}`` given by ``velocity``."""

    def propose(self, apply, state, theta, lin, residuals):
        if not (self.momentum > 0 and "step" in state):
            return super().propose(apply, state, theta, lin, residuals)
        both = solvers.check_finite(apply(stack_columns(lin.residual, self.velocity(state, lin, residuals))))
        return shifted(theta, self.momentum * both[:, 1], both[:, 0])

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

    def propose(self, apply, state, theta, lin, residuals):
        if not (self.momentum > 0 and "step" in state):
            return super().propose(apply, state, theta, lin, residuals)
        return shifted(theta, self.momentum * state["step"], solvers.check_finite(apply(lin.residual)))


@dataclass(frozen=True)
class NaturalNesterov(_ShiftedNatural):
    """Look-ahead ``y_k = θ_k + β J_k⁺(r_k − r_{k−1})``, then the natural step from ``y_k`` with ``J_k`` reused; the
    restart's direction is ``J_k⁺ r_k``, solved only when needed."""

    momentum: float = 0.6

    def propose(self, apply, state, theta, lin, residuals):
        if not (self.momentum > 0 and "step" in state):
            return super().propose(apply, state, theta, lin, residuals)
        ahead = theta + self.momentum * solvers.check_finite(apply(lin.residual - previous_residual(state, residuals)))
        restart = lambda: Candidate(theta, solvers.check_finite(apply(lin.residual)))  # noqa: E731
        return [Candidate(ahead, solvers.check_finite(apply(residuals.residual(ahead))))], restart


def remember_step(state: State, theta: Tensor, new_theta: Tensor, lin: Linearised, residuals: ResidualMap) -> State:
    """``state`` with what the next step needs: ``θ_k``, ``p_k = θ_{k+1} − θ_k``, ``r_k`` and the points' version."""
    return {**state, "theta": theta, "step": new_theta - theta, "residual": lin.residual, "version": residuals.version}


def previous_residual(state: State, residuals: ResidualMap) -> Tensor:
    """``r(θ_{k−1})`` on the current points: stored while the points stay, else evaluated again."""
    return state["residual"] if state["version"] == residuals.version else residuals.residual(state["theta"])
