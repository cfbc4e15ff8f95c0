"""Damped Cholesky factorisations that never return NaN.

``factor_damped(A, λ)`` returns the Cholesky factor ``L`` of ``A + λI`` for a symmetric positive semi-definite ``A``
of which only the lower triangle is read. When the factorisation fails (``A + λI`` not numerically positive
definite), ``λ`` is raised — to at least ``ε·mean(diag A)`` and then tenfold per try — and the factorisation retried
on the same device.

Each try costs one host synchronisation: the factorisation status and the finiteness of the input's diagonal (a NaN
or infinity anywhere in ``J`` reaches the diagonal of ``JᵀJ`` or ``JJᵀ``) are read back together.
"""
from __future__ import annotations

import torch
from torch import Tensor

MAX_TRIES = 30
NOT_FINITE = "the Jacobian or the residual contains NaN or infinity"


class NonFiniteError(ValueError):
    """NaN or infinity in the system or in its solution."""


class FactorizationError(RuntimeError):
    """The damped system could not be factorised even with the largest damping tried."""


def factor_damped(a: Tensor, damping: float, overwrite: bool = False) -> tuple[Tensor, float]:
    """``(L, λ_used)`` with ``L Lᵀ = A + λ_used I``, ``λ_used ≥ λ``.

    With ``overwrite`` the diagonal of ``A`` is shifted in place (no copy of ``A``; the caller's matrix is consumed).
    """
    if a.dim() != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"matrix must be square, got {tuple(a.shape)}")
    shifted = a if overwrite else a.clone()
    diag = shifted.diagonal()
    finite_input = torch.isfinite(diag).all()
    floor = torch.finfo(a.dtype).eps * diag.abs().mean().clamp_min(torch.finfo(a.dtype).tiny)
    lam, applied = float(damping), 0.0
    for _ in range(MAX_TRIES):
        diag.add_(lam - applied)
        applied = lam
        factor, info = torch.linalg.cholesky_ex(shifted)
        finite, factorised = torch.stack([finite_input, info == 0]).tolist()
        if not finite:
            raise NonFiniteError(NOT_FINITE)
        if factorised:
            return factor, lam
        lam = max(10.0 * lam, float(floor))
    raise FactorizationError(f"could not factorise the {a.shape[0]}×{a.shape[0]} system even with damping {lam:.3g}")


def cholesky_apply(factor: Tensor, b: Tensor) -> Tensor:
    """``(L Lᵀ)⁻¹ B`` for ``B`` of shape ``n`` or ``n × m``."""
    x = torch.cholesky_solve(b.unsqueeze(-1) if b.dim() == 1 else b, factor)
    return x.squeeze(-1) if b.dim() == 1 else x
