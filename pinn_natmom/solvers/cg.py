"""Preconditioned conjugate gradients on ``A u = b`` for every column of ``b``, a fixed number of steps:

.. math:: u_0 = M^{-1}b,\\ ρ_0 = b − A u_0,\\ z_0 = p_0 = M^{-1}ρ_0; \\quad
          α_k = \\frac{ρ_kᵀz_k}{p_kᵀA p_k},\\ u_{k+1} = u_k + α_k p_k,\\ ρ_{k+1} = ρ_k − α_k A p_k,\\
          z_{k+1} = M^{-1}ρ_{k+1},\\ p_{k+1} = z_{k+1} + \\frac{ρ_{k+1}ᵀz_{k+1}}{ρ_kᵀz_k} p_k,

with ``α`` and ``β`` per column; a column that has converged exactly (``pᵀAp = 0`` or ``ρᵀz = 0``) stays where it is.
No host synchronisation. Used by ``nystrom_pcg`` and ``refine``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def column_inner(a: Tensor, b: Tensor) -> Tensor:
    """``aᵢᵀbᵢ`` for every column ``i``."""
    return (a * b).sum(dim=0)


def conjugate_gradients(operator: Callable[[Tensor], Tensor], preconditioner: Callable[[Tensor], Tensor], rhs: Tensor,
                        steps: int, inner: Callable[[Tensor, Tensor], Tensor] = column_inner) -> Tensor:
    """``steps`` PCG steps on ``A u = b`` for every column of ``b`` (``N × m``), from ``u₀ = M⁻¹b``; ``inner`` gives
    the column-wise inner products."""
    u = preconditioner(rhs)
    residual = rhs - operator(u)
    z = preconditioner(residual)
    p = z
    rz = inner(residual, z)
    for _ in range(steps):
        q = operator(p)
        curvature = inner(p, q)
        alpha = torch.where(curvature > 0, rz / torch.where(curvature > 0, curvature, 1.0), 0.0)
        u = u + alpha * p
        residual = residual - alpha * q
        z = preconditioner(residual)
        rz_next = inner(residual, z)
        beta = torch.where(rz > 0, rz_next / torch.where(rz > 0, rz, 1.0), 0.0)
        p = z + beta * p
        rz = rz_next
    return u
