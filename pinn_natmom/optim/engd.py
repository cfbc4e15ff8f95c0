"""Energy natural gradient descent (Gauss–Newton in function space):

.. math:: d_k = J_k^+ r_k = (J_kᵀJ_k + λI)^{-1} J_kᵀ r_k, \\qquad θ_{k+1} = θ_k − α_k d_k,

with ``α_k`` from the grid line search (or a fixed step).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from ..residual_map import ResidualMap
from .base import Natural, State, StepInfo


@dataclass(frozen=True)
class ENGD(Natural):
    """The natural gradient without momentum (the baseline)."""

    def update(self, state: State, theta: Tensor, lin: Linearised, residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        apply, used = self.pseudo_inverse(lin)
        d = solvers.check_finite(apply(lin.residual))
        found, state = self.step(residuals, theta, d, lin.loss, state)
        alpha = found.step_size if found.improved else 0.0
        return theta - alpha * d, state, StepInfo(alpha, used, found.loss if found.improved else lin.loss)
