"""Truncated (and optionally damped) pseudo-inverse through the eigendecomposition of the smaller Gram matrix.

With ``K`` the smaller of ``JᵀJ`` (``P × P``) and ``JJᵀ`` (``N × N``) and ``K = V diag(μ) Vᵀ`` (``μ_i = σ_i²``),
keep the eigenvalues ``μ_i > rcond² · μ_max`` — the singular values ``σ_i > rcond · σ_max``, as in ``svd`` — and

.. math:: d = V_k \\,\\mathrm{diag}(1/μ_k)\\, V_kᵀ Jᵀ r \\quad (N ≥ P), \\qquad d = Jᵀ V_k \\,\\mathrm{diag}(1/μ_k)\\, V_kᵀ r \\quad (N < P).

This is the regularisation of a least-squares solve of the Gram system (the reference ENGD's ``lstsq``, whose default
cut-off ``P·eps`` on ``μ`` is ``rcond ≈ 3·10⁻⁷`` on ``σ``), computed by a symmetric eigensolver on the device.
Forming the Gram matrix squares the singular values, so it cannot resolve ``σ_i ≲ 10⁻⁸ σ_max``; ``svd`` can,
at a higher cost. A damping ``λ`` (:meth:`EigenDecomposition.solve`) weights the kept eigenvalues by
``1/(μ_i + λ)`` instead of ``1/μ_i``, from the same eigendecomposition.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .gram import lower_gram
from .strategy import Cost, Solver, gram_flops


@dataclass(frozen=True)
class EigenDecomposition:
    """``K = V diag(μ) Vᵀ`` of the smaller Gram matrix, and the cut-off below which eigenvalues are dropped."""

    jacobian: Tensor
    eigenvalues: Tensor
    basis: Tensor
    tall: bool
    rcond: float

    def solve(self, damping: float) -> tuple[Callable[[Tensor], Tensor], float]:
        """``rhs ↦`` the pseudo-inverse with weights ``1/(μ_i + λ)`` on the kept eigenvalues, and ``λ``."""
        mu, v, jacobian = self.eigenvalues, self.basis, self.jacobian
        keep = mu > self.rcond * self.rcond * mu[-1]
        inverse = torch.where(keep, 1.0 / torch.where(keep, mu + damping, torch.ones_like(mu)), torch.zeros_like(mu))

        def apply(rhs: Tensor) -> Tensor:
            if self.tall:
                return v @ scale_rows(inverse, v.T @ (jacobian.T @ rhs))
            return jacobian.T @ (v @ scale_rows(inverse, v.T @ rhs))

        return apply, damping


def decompose(jacobian: Tensor, rcond: float = 3e-7) -> EigenDecomposition:
    """The eigendecomposition of the smaller of ``JᵀJ`` and ``JJᵀ``, keeping ``σ_i > rcond · σ_max``."""
    n, p = jacobian.shape
    tall = n >= p
    mu, v = torch.linalg.eigh(lower_gram(jacobian.T if tall else jacobian))
    return EigenDecomposition(jacobian, mu, v, tall, rcond)


def factorize(jacobian: Tensor, rcond: float) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦`` the truncated pseudo-inverse applied to ``rhs`` (``N`` or ``N × m``), and ``rcond``."""
    return decompose(jacobian, rcond).solve(0.0)[0], rcond


def scale_rows(weights: Tensor, x: Tensor) -> Tensor:
    """``diag(weights) x`` for ``x`` a vector or a matrix."""
    return weights.reshape(-1, *([1] * (x.dim() - 1))) * x


def cost(n_rows: int, n_params: int, itemsize: int, **options: object) -> Cost:
    """The smaller Gram matrix (``m = min(N, P)``), its symmetric eigendecomposition (``(10/3) m³``: tridiagonal
    reduction and back-transformation), one application; ``3 s m²`` bytes (the matrix, its eigenvectors and the
    eigensolver's workspace)."""
    small, large = min(n_rows, n_params), max(n_rows, n_params)
    products = gram_flops(small, large) + 4.0 * small * small + 2.0 * n_rows * n_params
    return Cost(products, 10.0 / 3.0 * small**3, "eigen", itemsize * 3.0 * small * small,
                itemsize * (n_rows * n_params + 4.0 * small * small))


SOLVER = Solver("pinv", factorize, cost, decompose, truncated=True, default_rcond=3e-7)
