"""SPRING (Goldshlager et al.; for ENGD by Guzmán-Cordero et al.): momentum inside the sample-space solve,

.. math:: φ_k = μ φ_{k−1} + J_k^+ (−r_k − μ J_k φ_{k−1}), \\qquad θ_{k+1} = θ_k + \\min(η, \\sqrt{C}/‖φ_k‖)\\, φ_k,

with ``J⁺ = Jᵀ(JJᵀ + λI)⁻¹`` (any solver of ``pinn_natmom.solvers``), ``μ`` the momentum, ``η = lr`` the fixed
step and ``C = norm_cap``. With the line search on, the step along ``φ_k`` is searched on the grid instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from ..residual_map import ResidualMap
from .base import Natural, stack_columns
from .contract import State, StepInfo


@dataclass(frozen=True)
class SPRING(Natural):
    line_search: bool = False
    lr: float = 0.064
    momentum: float = 0.83
    norm_cap: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.norm_cap > 0:
            raise ValueError(f"norm cap must be > 0, got {self.norm_cap}")

    def attempt(self, state: State, theta: Tensor, lin: Linearised,
                residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        """Its own direction and step rules (the module docstring); the trust region of ``Natural.update`` around."""
        apply, used = self.pseudo_inverse(lin)
        previous = state.get("phi")
        if previous is None or self.momentum == 0:
            phi = -solvers.check_finite(apply(lin.residual))
        else:
            both = solvers.check_finite(apply(stack_columns(lin.residual, lin.jacobian @ previous)))
            phi = self.momentum * previous - both[:, 0] - self.momentum * both[:, 1]
        if self.line_search:
            found, state = self.step(residuals, theta, -phi, lin.loss, state)
            scale, loss = (found.step_size, found.loss) if found.improved else (0.0, lin.loss)
        else:
            capped = torch.clamp(self.norm_cap**0.5 / phi.norm(), max=self.lr)
            loss = residuals.losses((theta + capped * phi).unsqueeze(0))[0]
            scale = float(capped)
        kept = {**state, "phi": phi} if scale > 0 else {k: v for k, v in state.items() if k != "phi"}
        return theta + scale * phi, kept, StepInfo(scale, used, loss, restarted=scale == 0)
