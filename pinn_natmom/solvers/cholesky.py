"""Damped Cholesky solves that never return NaN.

``solve_damped(A, B, λ)`` returns ``X = (A + λI)⁻¹ B`` for a symmetric positive semi-definite ``A`` of which only the
lower triangle is read. When the factorisation fails (``A + λI`` not numerically positive definite), ``λ`` is raised —
to at least ``ε·mean(diag A)`` and then tenfold per try — and the factorisation retried on the same device.

Each try costs one host synchronisation: the factorisation status, the finiteness of the solution and of the inputs
(a NaN or infinity anywhere in ``J`` reaches the diagonal of ``JᵀJ`` or ``JJᵀ``) are read back together.
"""
from __future__ import annotations

import torch
from torch import Tensor

MAX_TRIES = 30
NOT_FINITE = "the Jacobian or the residual contains NaN or infinity"


class FactorizationError(RuntimeError):
    """The damped system could not be factorised even with the largest damping tried."""


def solve_damped(a: Tensor, b: Tensor, damping: float, overwrite: bool = False) -> tuple[Tensor, float]:
    """``((A + λI)⁻¹ B, λ_used)`` by Cholesky; ``λ_used ≥ λ`` is the damping that factorised.

    With ``overwrite`` the diagonal of ``A`` is shifted in place (no copy of ``A``; the caller's matrix is consumed).
    """
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"matrix must be square, got {tuple(a.shape)}")
    shifted = a if overwrite else a.clone()
    diag = shifted.diagonal()
    inputs_finite = torch.isfinite(diag).all() & torch.isfinite(b).all()
    floor = torch.finfo(a.dtype).eps * diag.abs().mean().clamp_min(torch.finfo(a.dtype).tiny)
    lam, applied = float(damping), 0.0
    for _ in range(MAX_TRIES):
        diag.add_(lam - applied)
        applied = lam
        factor, info = torch.linalg.cholesky_ex(shifted)
        x = torch.cholesky_solve(b.unsqueeze(-1) if b.dim() == 1 else b, factor)
        finite, factorised, solved = torch.stack([inputs_finite, info == 0, torch.isfinite(x).all()]).tolist()
        if not finite:
            raise ValueError(NOT_FINITE)
        if factorised and solved:
            return (x.squeeze(-1) if b.dim() == 1 else x), lam
        lam = max(10.0 * lam, float(floor))
    raise FactorizationError(f"could not factorise the {a.shape[0]}×{a.shape[0]} system even with damping {lam:.3g}")
