"""Truncated pseudo-inverse through the eigendecomposition of the smaller Gram matrix.

With ``K`` the smaller of ``JᵀJ`` (``P × P``) and ``JJᵀ`` (``N × N``) and ``K = V diag(μ) Vᵀ`` (``μ_i = σ_i²``),
keep the eigenvalues ``μ_i > rcond² · μ_max`` — the singular values ``σ_i > rcond · σ_max``, as in :mod:`.svd` — and

.. math:: d = V_k \\,\\mathrm{diag}(1/μ_k)\\, V_kᵀ Jᵀ r \\quad (N ≥ P), \\qquad d = Jᵀ V_k \\,\\mathrm{diag}(1/μ_k)\\, V_kᵀ r \\quad (N < P).

This is the regularisation of a least-squares solve of the Gram system (the reference ENGD's ``lstsq``, whose default
cut-off ``P·eps`` on ``μ`` is ``rcond ≈ 3·10⁻⁷`` on ``σ``), computed by a symmetric eigensolver on the device.
Forming the Gram matrix squares the singular values, so it cannot resolve ``σ_i ≲ 10⁻⁸ σ_max``; :mod:`.svd` can,
at a higher cost.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .gram import lower_gram


def solve(jacobian: Tensor, rhs: Tensor, rcond: float) -> tuple[Tensor, float]:
    """The truncated pseudo-inverse direction and ``rcond``."""
    n, p = jacobian.shape
    tall = n >= p
    gram = lower_gram(jacobian.T if tall else jacobian)
    mu, v = torch.linalg.eigh(gram)
    keep = mu > rcond * rcond * mu[-1]
    inverse = torch.where(keep, 1.0 / torch.where(keep, mu, torch.ones_like(mu)), torch.zeros_like(mu))
    if tall:
        return v @ (inverse * (v.T @ (jacobian.T @ rhs))), rcond
    return jacobian.T @ (v @ (inverse * (v.T @ rhs))), rcond
