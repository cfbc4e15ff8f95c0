"""Helmholtz's equation ``−Δu − k²u = f`` on ``[0, 1]^d`` (d = 1…3) with Dirichlet data on the boundary.

Residuals: interior ``ρ = −Δu − k²u − f``, boundary ``ρ = u − g``. Given an exact solution, ``f`` and ``g`` are
derived by automatic differentiation. Default: ``u* = Π_i sin(k x_i)`` with ``k = 4π`` (d = 2, 3) or ``k = 4.5π``
(d = 1, where ``k = 4π`` is resonant). The operator ``−Δ − k²`` with Dirichlet conditions is singular when ``k²`` is
an eigenvalue ``π² Σ_i n_i²`` (all ``n_i ≥ 1``) — the solution is then not unique — so such ``k`` are refused.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from pinn_natmom.problem import Jet, Problem

from .common import dirichlet_problem
from .domains import Box
from .manufactured import Field, laplacian_of

MAX_DIM = 3
DEFAULT_WAVENUMBER = 4.0 * math.pi
DEFAULT_WAVENUMBER_1D = 4.5 * math.pi


def resonant(k: float, dim: int, tolerance: float = 1e-9) -> bool:
    """Whether ``(k/π)²`` is, up to ``tolerance``, a sum of ``dim`` squares of positive integers."""
    target = (k / math.pi) ** 2
    limit = int(math.isqrt(int(target) + 1)) + 1

    def sums(count: int) -> set[int]:
        if count == 0:
            return {0}
        return {n * n + rest for n in range(1, limit + 1) for rest in sums(count - 1) if n * n + rest <= target + 1}

    return any(abs(target - value) <= tolerance * max(1.0, target) for value in sums(dim))


def helmholtz(
    dim: int = 2,
    k: float | None = None,
    exact: Field | None = None,
    source: Field | None = None,
    boundary: Field | None = None,
    sampler: str = "uniform",
) -> Problem:
    """``−Δu − k²u = f`` on ``[0, 1]^dim`` with ``u = g`` on the boundary (``exact`` or ``source`` as for Poisson;
    ``k`` defaults as in the module docstring)."""
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(f"helmholtz: dimension must be 1…{MAX_DIM}, got {dim}")
    if k is None:
        k = DEFAULT_WAVENUMBER_1D if dim == 1 else DEFAULT_WAVENUMBER
    if not (math.isfinite(k) and k > 0):
        raise ValueError(f"helmholtz: wave number k must be a finite number > 0, got {k}")
    if resonant(k, dim):
        raise ValueError(f"helmholtz: k = {k:.6g} makes k² a Dirichlet eigenvalue of −Δ on [0,1]^{dim} (no unique "
                         "solution); choose another k")
    if exact is not None and (source is not None or boundary is not None):
        raise ValueError("helmholtz: give either an exact solution (the data are derived from it) or source/boundary data, not both")
    formula = "user-defined"
    if exact is None and source is None:
        exact = lambda x: torch.sin(k * x).prod(dim=-1)
        formula = " · ".join(f"sin({k:.4g} x{i + 1})" for i in range(dim))
    if exact is not None:
        laplacian = laplacian_of(exact)
        source = lambda x: -laplacian(x) - k * k * exact(x)
        boundary = exact

    def interior_residual(x: Tensor, jet: Jet, f: Tensor | None) -> Tensor:
        """``ρ = −Δu − k²u − f``."""
        return -jet.laplacian - k * k * jet.value - f

    return dirichlet_problem(
        "helmholtz", Box.unit(dim), interior_residual, source, boundary, exact,
        f"−Δu − k²u = f on [0,1]^{dim}, k = {k:.4g}; u* = {formula}",
        sampler=sampler,
    )
