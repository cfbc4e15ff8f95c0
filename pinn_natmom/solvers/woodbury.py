"""Sample-space solve: ``d = Jᵀ (JJᵀ + λI)⁻¹ r`` with an ``N × N`` Cholesky (cost ``N² P + N³/3``).

Equal to the parameter-space direction for ``λ > 0`` by the push-through identity
``(JᵀJ + λI)⁻¹Jᵀ = Jᵀ(JJᵀ + λI)⁻¹``; cheaper when ``N < P``. With ``refine`` the solve is taken a decade below the
damping the factorisation reached (``refine``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from .cholesky import cholesky_apply, factor_damped
from .gram import lower_gram
from .refine import refined
from .strategy import Cost, Solver, cholesky_cost


@dataclass(frozen=True)
class KernelDecomposition:
    """The kernel ``JJᵀ`` (lower triangle), factorised afresh at every damping."""

    jacobian: Tensor
    kernel: Tensor
    refine: bool = False

    def solve(self, damping: float) -> tuple[Callable[[Tensor], Tensor], float]:
        """``rhs ↦ Jᵀ(JJᵀ + λI)⁻¹ rhs`` and the damping used (with ``refine``, a tenth of the one factorised)."""
        jacobian = self.jacobian
        factor, used = factor_damped(self.kernel, damping, overwrite=True)
        self.kernel.diagonal().sub_(used)
        if not self.refine:
            return (lambda rhs: jacobian.T @ cholesky_apply(factor, rhs)), used
        solve, lam = refined(factor, used, lambda y: jacobian @ (jacobian.T @ y))
        return (lambda rhs: jacobian.T @ solve(rhs)), lam


def decompose(jacobian: Tensor, refine: bool = False) -> KernelDecomposition:
    """The kernel ``JJᵀ``."""
    return KernelDecomposition(jacobian, lower_gram(jacobian), refine)


def factorize(jacobian: Tensor, damping: float, refine: bool = False) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦ Jᵀ(JJᵀ + λI)⁻¹ rhs`` from one factorisation of the kernel, and the damping used."""
    return decompose(jacobian, refine).solve(damping)


def cost(n_rows: int, n_params: int, itemsize: int, **options: object) -> Cost:
    """The ``N × N`` kernel (``s N²`` bytes), its Cholesky factor in place, one solve."""
    return cholesky_cost(n_rows, n_params, itemsize, n_rows)


SOLVER = Solver("woodbury", factorize, cost, decompose, options=frozenset({"refine"}))
