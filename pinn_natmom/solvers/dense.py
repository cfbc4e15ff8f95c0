"""Parameter-space solve: ``d = (JᵀJ + λI)⁻¹ Jᵀ r`` with a ``P × P`` Cholesky (cost ``N P² + P³/3``).

On a block of rows (``rows``) the Gram matrix ``Σ_a J_aᵀJ_a`` and ``Σ_a J_aᵀr_a`` are each one sum over the
blocks (``P² + P`` entries), and every holder factorises the same matrix. With ``refine`` the solve is taken a decade
below the damping the factorisation reached (``refine``; each CG product ``Σ_a J_aᵀ(J_a x)`` is one more sum).
"""
from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .cholesky import cholesky_apply, factor_damped
from .gram import lower_gram
from .refine import refined
from .rows import RowBlock, whole
from .strategy import Cost, Solver, cholesky_cost


def factorize(jacobian: Tensor, damping: float, rows: RowBlock | None = None,
              refine: bool = False) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦ (JᵀJ + λI)⁻¹ Jᵀ rhs`` from one factorisation of the Gram matrix, and the damping used (with
    ``refine``, a tenth of the one factorised)."""
    total = (rows or whole(jacobian.shape[0])).sum
    factor, used = factor_damped(total(lower_gram(jacobian.T)), damping, overwrite=True)
    if not refine:
        return (lambda rhs: cholesky_apply(factor, total(jacobian.T @ rhs))), used
    solve, lam = refined(factor, used, lambda x: total(jacobian.T @ (jacobian @ x)))
    return (lambda rhs: solve(total(jacobian.T @ rhs))), lam


def cost(n_rows: int, n_params: int, itemsize: int, **options: object) -> Cost:
    """The ``P × P`` Gram matrix (``s P²`` bytes), its Cholesky factor in place, one solve."""
    return cholesky_cost(n_rows, n_params, itemsize, n_params)


SOLVER = Solver("dense", factorize, cost, blockwise=True, options=frozenset({"refine"}))
