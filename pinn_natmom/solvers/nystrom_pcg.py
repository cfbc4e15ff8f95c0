"""Sample-space solve by preconditioned conjugate gradients: ``d = Jᵀ u`` with ``(JJᵀ + λI) u = r``.

The preconditioner is the Nyström approximation of ``nystrom``, ``M = K̂ + λI`` with ``K̂ = UΛ̂Uᵀ ≈ K = JJᵀ``
(Frangella, Tropp & Udell 2023, with ``M`` unscaled on the complement of ``U``), applied by the Woodbury identity.
CG starts from the Nyström solution ``u₀ = M⁻¹ r`` (zero steps give ``nystrom``'s direction) and takes ``cg_steps``
steps, each one product ``(K + λI)v = J(Jᵀv) + λv`` (``4NP`` FLOPs per right-hand side; ``K`` is never formed):

.. math:: ρ_0 = r − (K + λI)u_0,\\ z_0 = p_0 = M^{-1}ρ_0; \\quad
          α_k = \\frac{ρ_kᵀz_k}{p_kᵀ(K + λI)p_k},\\ u_{k+1} = u_k + α_k p_k,\\ ρ_{k+1} = ρ_k − α_k (K + λI) p_k,\\
          z_{k+1} = M^{-1}ρ_{k+1},\\ p_{k+1} = z_{k+1} + \\frac{ρ_{k+1}ᵀz_{k+1}}{ρ_kᵀz_k} p_k.

Several right-hand sides (``N × m``) run together, with ``α`` and ``β`` per column; a column that has converged
exactly (``pᵀ(K + λI)p = 0`` or ``ρᵀz = 0``) stays where it is. The steps are a fixed count: no host synchronisation.
The error in the ``(K + λI)``-norm falls at every step and reaches the exact Woodbury direction at the rate set by the
preconditioned condition number, about ``(λ̂_ℓ + λ)/λ`` with ``λ̂_ℓ`` the ``ℓ``-th eigenvalue of ``K``.

On a block of the rows (``rows``), ``u`` and the CG vectors stay in rows: a product ``(K + λI)v`` is
``J_a Σ_b J_bᵀv_b + λv_a`` (one sum of ``P`` entries per right-hand side) and the inner products are sums too.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from . import nystrom
from .cg import conjugate_gradients
from .nystrom import SEED, SKETCH_SIZE
from .rows import RowBlock
from .strategy import Cost, Solver

CG_STEPS = 20
"""Default number of CG steps: on the 5-d Poisson Jacobians of results/solvers (``P = 10,065``, ``λ = 10⁻⁸``) the
default sketch reaches the Woodbury direction to its rounding within 5 steps; 20 cost about a fifth of the sketch."""


@dataclass(frozen=True)
class PreconditionedDecomposition:
    """The Nyström sketch of ``JJᵀ``, the preconditioner of ``cg_steps`` CG steps at any damping."""

    sketch: nystrom.SketchDecomposition
    cg_steps: int

    def solve(self, damping: float) -> tuple[Callable[[Tensor], Tensor], float]:
        """``rhs ↦ Jᵀ u`` with ``u`` after ``cg_steps`` preconditioned CG steps on ``(JJᵀ + λI)u = rhs``, and ``λ``."""
        preconditioner = self.sketch.at(damping)
        lam, total, jacobian = preconditioner.damping, preconditioner.rows.sum, self.sketch.jacobian

        def kernel(v: Tensor) -> Tensor:
            return jacobian @ total(jacobian.T @ v) + lam * v

        def inner(a: Tensor, b: Tensor) -> Tensor:
            return total((a * b).sum(dim=0))

        def apply(rhs: Tensor) -> Tensor:
            columns = rhs.unsqueeze(-1) if rhs.dim() == 1 else rhs
            u = conjugate_gradients(kernel, preconditioner.solve, columns, self.cg_steps, inner)
            d = total(jacobian.T @ u)
            return d.squeeze(-1) if rhs.dim() == 1 else d

        return apply, lam


def decompose(jacobian: Tensor, sketch_size: int = SKETCH_SIZE, seed: int = SEED, cg_steps: int = CG_STEPS,
              rows: RowBlock | None = None) -> PreconditionedDecomposition:
    """The sketch of ``nystrom``, kept as the preconditioner."""
    if cg_steps < 0:
        raise ValueError(f"the number of CG steps must be ≥ 0, got {cg_steps}")
    return PreconditionedDecomposition(nystrom.decompose(jacobian, sketch_size, seed, rows), cg_steps)


def factorize(jacobian: Tensor, damping: float, sketch_size: int = SKETCH_SIZE, seed: int = SEED,
              cg_steps: int = CG_STEPS, rows: RowBlock | None = None) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦ Jᵀ u`` with ``u`` after ``cg_steps`` preconditioned CG steps on ``(JJᵀ + λI)u = rhs``, and ``λ`` used."""
    return decompose(jacobian, sketch_size, seed, cg_steps, rows).solve(damping)


def cost(n_rows: int, n_params: int, itemsize: int, sketch_size: int = SKETCH_SIZE, cg_steps: int = CG_STEPS,
         **options: object) -> Cost:
    """The sketch of ``nystrom.cost``, and ``cg_steps`` CG steps of ``4NP + 4Nℓ`` each (a product with the
    kernel through ``J`` and one with the preconditioner), reading ``J`` twice per step."""
    base = nystrom.cost(n_rows, n_params, itemsize, sketch_size)
    ell = min(sketch_size, n_rows, n_params)
    steps = cg_steps * (4.0 * n_rows * n_params + 4.0 * n_rows * ell)
    return Cost(base.products + steps, base.factorisation, base.kind, base.memory,
                base.traffic + cg_steps * 2.0 * itemsize * n_rows * n_params)


SOLVER = Solver("nystrom-pcg", factorize, cost, decompose, blockwise=True,
                options=frozenset({"sketch_size", "seed", "cg_steps"}))
