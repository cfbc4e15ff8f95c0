"""Damped Cholesky solves that never return NaN.

``solve_damped(A, B, λ)`` returns ``X = (A + λI)⁻¹ B`` for a symmetric positive semi-definite ``A``. When the
factorisation fails (``A + λI`` not numerically positive definite), ``λ`` is raised — to at least
``ε·mean(diag A)`` and then tenfold per try — and the factorisation retried on the same device.
"""
from __future__ import annotations

import torch
from torch import Tensor

MAX_TRIES = 30


class FactorizationError(RuntimeError):
    """The damped system could not be factorised even with the largest damping tried."""


def solve_damped(a: Tensor, b: Tensor, damping: float) -> tuple[Tensor, float]:
    """``((A + λI)⁻¹ B, λ_used)`` by Cholesky; ``λ_used ≥ λ`` is the damping that factorised."""
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"matrix must be square, got {tuple(a.shape)}")
    floor = torch.finfo(a.dtype).eps * float(a.diagonal().abs().mean().clamp_min(torch.finfo(a.dtype).tiny))
    lam = float(damping)
    diag = a.diagonal()
    for _ in range(MAX_TRIES):
        shifted = a.clone()
        shifted.diagonal().copy_(diag + lam)
        factor, info = torch.linalg.cholesky_ex(shifted)
        if int(info) == 0:
            x = torch.cholesky_solve(b.unsqueeze(-1) if b.dim() == 1 else b, factor)
            if bool(torch.isfinite(x).all()):
                return (x.squeeze(-1) if b.dim() == 1 else x), lam
        lam = max(10.0 * lam, floor)
    raise FactorizationError(f"could not factorise the {a.shape[0]}×{a.shape[0]} system even with damping {lam:.3g}")
