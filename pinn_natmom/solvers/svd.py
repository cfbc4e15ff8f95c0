"""Truncated-SVD pseudo-inverse: ``d = V_k Σ_k⁻¹ U_kᵀ r`` over the singular values ``σ_i > rcond · σ_max`` of ``J``.

Works on ``J`` itself, so its resolution is ``eps·σ_max`` rather than the ``√eps·σ_max`` of any method that forms
``JᵀJ`` or ``JJᵀ``: directions the Gram matrix cannot resolve in float64 are kept, and the noise directions below the
cut-off are dropped instead of damped. For a tall ``J`` (``N > P``) a QR factorisation ``J = QR`` first reduces the
SVD to the ``P × P`` factor ``R``; for a wide one, the same on ``Jᵀ``. On CUDA the SVD of ``R`` uses cuSOLVER's
QR-iteration driver (``gesvd``): on an H100, with the ``R`` of the default 2-d networks' Jacobians (singular values
spread over many decades), the Jacobi driver (``gesvdj``) needs many sweeps and made steps 4× slower (Poisson 2-d
0.42 against 0.10 s per step, same errors; see results/gpu).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .pinv import scale_rows


def factorize(jacobian: Tensor, rcond: float) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦`` the minimum-norm least-squares solution of ``J d ≈ rhs`` restricted to ``σ_i > rcond·σ_max``."""
    n, p = jacobian.shape
    if n >= p:
        q, r_factor = torch.linalg.qr(jacobian)
        u, s, vh = _svd(r_factor)
        left, right = q @ u, vh.T
    else:
        q, r_factor = torch.linalg.qr(jacobian.T)
        u, s, vh = _svd(r_factor.T)
        left, right = u, q @ vh.T
    keep = s > rcond * s[0]
    inverse = torch.where(keep, 1.0 / torch.where(keep, s, torch.ones_like(s)), torch.zeros_like(s))
    return (lambda rhs: right @ scale_rows(inverse, left.T @ rhs)), rcond


def _svd(matrix: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Thin SVD, with the QR-iteration driver on CUDA."""
    return torch.linalg.svd(matrix, driver="gesvd" if matrix.is_cuda else None)
