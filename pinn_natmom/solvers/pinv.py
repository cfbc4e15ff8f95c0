"""Truncated pseudo-inverse through the eigendecomposition of the smaller Gram matrix.

With ``K`` the smaller of ``JᵀJ`` (``P × P``) and ``JJᵀ`` (``N × N``) and ``K = V diag(μ) Vᵀ`` (``μ_i = σ_i²``),
keep the eigenvalues ``μ_i > rcond² · μ_max`` — the singular values ``σ_i > rcond · σ_max``, as in ``svd`` — and

.. math:: d = V_k \\,\\mathrm{diag}(1/μ_k)\\, V_kᵀ Jᵀ r \\quad (N ≥ P), \\qquad d = Jᵀ V_k \\,\\mathrm{diag}(1/μ_k)\\, V_kᵀ r \\quad (N < P).

This is the regularisation of a least-squares solve of the Gram system (the reference ENGD's ``lstsq``, whose default
cut-off ``P·eps`` on ``μ`` is ``rcond ≈ 3·10⁻⁷`` on ``σ``), computed by a symmetric eigensolver on the device.
Forming the Gram matrix squares the singular values, so it cannot resolve ``σ_i ≲ 10⁻⁸ σ_max``; ``svd`` can,
at a higher cost.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .gram import lower_gram
from .strategy import Cost, Solver, gram_flops


def factorize(jacobian: Tensor, rcond: float) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦`` the truncated pseudo-inverse applied to ``rhs`` (``N`` or ``N × m``), and ``rcond``."""
    n, p = jacobian.shape
    tall = n >= p
    mu, v = torch.linalg.eigh(lower_gram(jacobian.T if tall else jacobian))
    keep = mu > rcond * rcond * mu[-1]
    inverse = torch.where(keep, 1.0 / torch.where(keep, mu, torch.ones_like(mu)), torch.zeros_like(mu))

    def apply(rhs: Tensor) -> Tensor:
        if tall:
            return v @ scale_rows(inverse, v.T @ (jacobian.T @ rhs))
        return jacobian.T @ (v @ scale_rows(inverse, v.T @ rhs))

    return apply, rcond


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


SOLVER = Solver("pinv", factorize, cost, truncated=True, default_rcond=3e-7)
