"""Parameter-space solve: ``d = (JᵀJ + λI)⁻¹ Jᵀ r`` with a ``P × P`` Cholesky (cost ``N P² + P³/3``).

On a block of rows (``rows``) the Gram matrix ``Σ_a J_aᵀJ_a`` and ``Σ_a J_aᵀr_a`` are each one sum over the
blocks (``P² + P`` entries), and every holder factorises the same matrix. With ``refine`` the solve is taken a decade
below the damping the factorisation reached (``refine``; each CG product ``Σ_a J_aᵀ(J_a x)`` is one more sum).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from .cholesky import cholesky_apply, factor_damped
from .gram import lower_gram
from .refine import refined
from .rows import RowBlock, whole
from .strategy import Cost, Solver, cholesky_cost


@dataclass(frozen=True)
class GramDecomposition:
    """The Gram matrix ``Σ_a J_aᵀJ_a`` (lower triangle), factorised afresh at every damping."""

    jacobian: Tensor
    gram: Tensor
    total: Callable[[Tensor], Tensor]
    refine: bool = False

    def solve(self, damping: float) -> tuple[Callable[[Tensor], Tensor], float]:
        """``rhs ↦ (JᵀJ + λI)⁻¹ Jᵀ rhs`` and the damping used (with ``refine``, a tenth of the one factorised)."""
        jacobian, total = self.jacobian, self.total
        factor, used = factor_damped(self.gram, damping, overwrite=True)
        self.gram.diagonal().sub_(used)
        if not self.refine:
            return (lambda rhs: cholesky_apply(factor, total(jacobian.T @ rhs))), used
        solve, lam = refined(factor, used, lambda x: total(jacobian.T @ (jacobian @ x)))
        return (lambda rhs: solve(total(jacobian.T @ rhs))), lam


def decompose(jacobian: Tensor, rows: RowBlock | None = None, refine: bool = False) -> GramDecomposition:
    """The Gram matrix of ``J`` summed over the row blocks."""
    total = (rows or whole(jacobian.shape[0])).sum
    return GramDecomposition(jacobian, total(lower_gram(jacobian.T)), total, refine)


def factorize(jacobian: Tensor, damping: float, rows: RowBlock | None = None,
              refine: bool = False) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦ (JᵀJ + λI)⁻¹ Jᵀ rhs`` from one factorisation of the Gram matrix, and the damping used."""
    return decompose(jacobian, rows, refine).solve(damping)


def cost(n_rows: int, n_params: int, itemsize: int, **options: object) -> Cost:
    """The ``P × P`` Gram matrix (``s P²`` bytes), its Cholesky factor in place, one solve."""
    return cholesky_cost(n_rows, n_params, itemsize, n_params)


SOLVER = Solver("dense", factorize, cost, decompose, blockwise=True, options=frozenset({"refine"}))
