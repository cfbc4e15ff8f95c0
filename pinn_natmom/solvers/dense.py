"""Parameter-space solve: ``d = (JᵀJ + λI)⁻¹ Jᵀ r`` with a ``P × P`` Cholesky (cost ``N P² + P³/3``)."""
from __future__ import annotations

from torch import Tensor

from .cholesky import solve_damped


def solve(jacobian: Tensor, rhs: Tensor, damping: float) -> tuple[Tensor, float]:
    """The damped Gauss–Newton direction in parameter space, and the damping used."""
    return solve_damped(jacobian.T @ jacobian, jacobian.T @ rhs, damping)
