"""Parameter-space solve: ``d = (JᵀJ + λI)⁻¹ Jᵀ r`` with a ``P × P`` Cholesky (cost ``N P² + P³/3``)."""
from __future__ import annotations

from torch import Tensor

from .cholesky import solve_damped
from .gram import lower_gram


def solve(jacobian: Tensor, rhs: Tensor, damping: float) -> tuple[Tensor, float]:
    """The damped Gauss–Newton direction in parameter space, and the damping used."""
    return solve_damped(lower_gram(jacobian.T), jacobian.T @ rhs, damping, overwrite=True)
