"""Truncated-SVD pseudo-inverse: ``d = V_k Σ_k⁻¹ U_kᵀ r`` over the singular values ``σ_i > rcond · σ_max`` of ``J``.

Works on ``J`` itself, so its resolution is ``eps·σ_max`` rather than the ``√eps·σ_max`` of any method that forms
``JᵀJ`` or ``JJᵀ``: directions the Gram matrix cannot resolve in float64 are kept, and the noise directions below the
cut-off are dropped instead of damped. For a tall ``J`` (``N > P``) a QR factorisation ``J = QR`` first reduces the
SVD to the ``P × P`` factor ``R``; for a wide one, the same on ``Jᵀ``. On CUDA the SVD of ``R`` uses cuSOLVER's Jacobi
driver (``gesvdj``): accurate to full precision and, measured on an H100 at ``n = 1,020``, 2× faster than the default
QR-iteration driver (92 against 177 ms; see results/gpu).
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
    """Thin SVD, with the Jacobi driver on CUDA."""
    return torch.linalg.svd(matrix, driver="gesvdj" if matrix.is_cuda else None)
