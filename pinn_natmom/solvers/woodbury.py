"""Sample-space solve: ``d = Jᵀ (JJᵀ + λI)⁻¹ r`` with an ``N × N`` Cholesky (cost ``N² P + N³/3``).

Equal to the parameter-space direction for ``λ > 0`` by the push-through identity
``(JᵀJ + λI)⁻¹Jᵀ = Jᵀ(JJᵀ + λI)⁻¹``; cheaper when ``N < P``.
"""
from __future__ import annotations

from torch import Tensor

from .cholesky import solve_damped
from .gram import lower_gram


def solve(jacobian: Tensor, rhs: Tensor, damping: float) -> tuple[Tensor, float]:
    """The damped Gauss–Newton direction through the sample-space kernel, and the damping used."""
    coefficients, used = solve_damped(lower_gram(jacobian), rhs, damping, overwrite=True)
    return jacobian.T @ coefficients, used
