"""What a solver keeps of ``J`` between regularisations: a :class:`Decomposition` is computed once per linearisation
and solved at any damping ``λ``, so that a trust region can try several ``λ`` at one ``θ`` for the price of the
small part of the work (a re-weighting of an SVD or eigendecomposition, or one Cholesky factorisation of a Gram
matrix already formed)."""
from __future__ import annotations

from typing import Protocol

from .strategy import Apply


class Decomposition(Protocol):
    """``J`` decomposed by one solver."""

    def solve(self, damping: float) -> tuple[Apply, float]:
        """``(rhs ↦ J⁺_λ rhs, λ_used)`` with ``J⁺_λ = (JᵀJ + λI)⁻¹Jᵀ`` (restricted to the directions the solver
        keeps); ``λ_used ≥ λ`` where the solver had to raise it."""
