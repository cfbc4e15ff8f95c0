"""Truncated-SVD pseudo-inverse: ``d = V_k Σ_k⁻¹ U_kᵀ r`` over the singular values ``σ_i > rcond · σ_max`` of ``J``;
with a damping ``λ``, ``d = V_k diag(σ_k/(σ_k² + λ)) U_kᵀ r`` from the same SVD.

Works on ``J`` itself, so its resolution is ``eps·σ_max`` rather than the ``√eps·σ_max`` of any method that forms
``JᵀJ`` or ``JJᵀ``: directions the Gram matrix cannot resolve in float64 are kept, and the noise directions below the
cut-off are dropped instead of damped. For a tall ``J`` (``N > P``) a QR factorisation ``J = QR`` first reduces the
SVD to the ``P × P`` factor ``R``; for a wide one, the same on ``Jᵀ``. On CUDA the SVD of ``R`` uses cuSOLVER's
QR-iteration driver (``gesvd``): with singular values spread over many decades, as a network's Jacobian has them,
the Jacobi driver (``gesvdj``) needs many sweeps (results/gpu/README.md).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .pinv import scale_rows
from .strategy import Cost, Solver


@dataclass(frozen=True)
class SingularDecomposition:
    """``J = U Σ Vᵀ`` (thin), and the cut-off below which singular values are dropped."""

    left: Tensor
    singular_values: Tensor
    right: Tensor
    rcond: float

    def solve(self, damping: float) -> tuple[Callable[[Tensor], Tensor], float]:
        """``rhs ↦ V diag(σ_i/(σ_i² + λ)) Uᵀ rhs`` over the kept ``σ_i``, and ``λ``."""
        s = self.singular_values
        keep = s > self.rcond * s[0]
        inverse = torch.where(keep, s / torch.where(keep, s * s + damping, torch.ones_like(s)), torch.zeros_like(s))
        return (lambda rhs: self.right @ scale_rows(inverse, self.left.T @ rhs)), damping


def decompose(jacobian: Tensor, rcond: float = 1e-9) -> SingularDecomposition:
    """The thin SVD of ``J`` (by a QR factorisation of the tall one of ``J``, ``Jᵀ`` first), keeping
    ``σ_i > rcond · σ_max``."""
    n, p = jacobian.shape
    if n >= p:
        q, r_factor = torch.linalg.qr(jacobian)
        u, s, vh = _svd(r_factor)
        return SingularDecomposition(q @ u, s, vh.T, rcond)
    q, r_factor = torch.linalg.qr(jacobian.T)
    u, s, vh = _svd(r_factor.T)
    return SingularDecomposition(u, s, q @ vh.T, rcond)


def factorize(jacobian: Tensor, rcond: float) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦`` the minimum-norm least-squares solution of ``J d ≈ rhs`` restricted to ``σ_i > rcond·σ_max``."""
    return decompose(jacobian, rcond).solve(0.0)[0], rcond


def _svd(matrix: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Thin SVD, with the QR-iteration driver on CUDA."""
    return torch.linalg.svd(matrix, driver="gesvd" if matrix.is_cuda else None)


def cost(n_rows: int, n_params: int, itemsize: int, **options: object) -> Cost:
    """The QR factorisation of the tall one of ``J``, ``Jᵀ`` (``M × m``: ``4 M m²``, ``Q`` and ``Q U`` formed), the
    SVD of the ``m × m`` factor (``26 m³``), one application; ``s (2 M m + 3 m²)`` bytes (``Q`` and ``Q U``, then ``R``,
    ``U`` and ``Vᵀ``)."""
    small, large = min(n_rows, n_params), max(n_rows, n_params)
    memory = itemsize * (2.0 * large * small + 3.0 * small * small)
    return Cost(4.0 * large * small * small + 4.0 * n_rows * n_params, 26.0 * small**3, "svd", memory,
                itemsize * n_rows * n_params + 2.0 * memory)


SOLVER = Solver("svd", factorize, cost, decompose, truncated=True, default_rcond=1e-9)
