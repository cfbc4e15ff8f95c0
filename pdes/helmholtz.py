"""Helmholtz's equation ``−Δu − k²u = f`` on ``[0, 1]^d`` (d = 1…3) with Dirichlet data on the boundary.

Residuals: interior ``ρ = −Δu − k²u − f``, boundary ``ρ = u − g``. Given an exact solution, ``f`` and ``g`` are
derived by automatic differentiation. Default: ``u* = Π_i sin(k x_i)`` with ``k = 4π`` (d = 2, 3) or ``k = 4.5π``
(d = 1, where ``k = 4π`` is resonant). The operator ``−Δ − k²`` with Dirichlet conditions is singular when ``k²`` is
an eigenvalue ``π² Σ_i n_i²`` (all ``n_i ≥ 1``) — the solution is then not unique — so such ``k`` are refused.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pinn_natmom.problem import Jet, Problem

from .common import dirichlet_problem
from .domains import Box
from .manufactured import Field, laplacian_of
from .neumann import parse_faces

MAX_DIM = 3
DEFAULT_WAVENUMBER = 4.0 * math.pi
DEFAULT_WAVENUMBER_1D = 4.5 * math.pi


def run_defaults(k: float) -> dict[str, object]:
    """A sine network 2→32→32→1 with first-layer frequency ``ω = k``, 1,600 + 400 points, the svd solver and
    natural-auto. At k = 4π on the 2-core CPU, 120 s of training, seeds 0–7 (results/benchmark/bent-model-step):
    natural-auto ends at a median 6.1e-7 and reaches 1e-6 on 7 seeds (median 25.9 s), natural-nesterov at 9.4e-7 and
    engd at 9.5e-7, each reaching 1e-6 on 4. With 60 s and an earlier engd, seeds 0–2 (results/benchmark/helmholtz2d.csv):
    natural-nesterov ended at 4.8e-7, 1.1e-6 and 1.5e-6, engd at 1.9e-5, 1.8e-3 and 6.1e-3. Tanh networks (any width,
    points, solver or damping tried) stay at the zero field: their Gauss–Newton steps are cut to α ≈ 1e-8 by the line
    search (results/pdes)."""
    return {"activation": "sin", "frequency": float(k), "solver": "svd", "optimizer": "natural-auto",
            "n_points": {"interior": 1600, "boundary": 400, "neumann": 400}}


def resonant(k: float, dim: int, tolerance: float = 1e-9, neumann: tuple[int, ...] = ()) -> bool:
    """Whether ``k²`` is, up to ``tolerance``, an eigenvalue of ``−Δ`` on ``[0, 1]^dim`` with Dirichlet data on every
    face but the ``neumann`` ones: ``π² Σ_i μ_i²`` with ``μ_i`` in ``{1, 2, …}`` (both faces of axis ``i``
    Dirichlet), ``{½, 3/2, …}`` (one of each) or ``{0, 1, …}`` (both Neumann)."""
    target = (k / math.pi) ** 2
    limit = int(math.isqrt(int(target) + 1)) + 2

    def roots(axis: int) -> list[float]:
        kinds = (2 * axis in neumann) + (2 * axis + 1 in neumann)
        return [n + 0.5 * (kinds == 1) for n in range(0 if kinds else 1, limit)]

    def sums(axis: int) -> set[float]:
        if axis == dim:
            return {0.0}
        return {m * m + rest for m in roots(axis) for rest in sums(axis + 1) if m * m + rest <= target + 1}

    return any(abs(target - value) <= tolerance * max(1.0, target) for value in sums(0))


def helmholtz(
    dim: int = 2,
    k: float | None = None,
    exact: Field | None = None,
    source: Field | None = None,
    boundary: Field | None = None,
    sampler: str = "uniform",
    neumann: str | Sequence[str] = "",
    flux: Field | None = None,
    hard_bc: bool = False,
) -> Problem:
    """``−Δu − k²u = f`` on ``[0, 1]^dim`` with ``u = g`` on the boundary, or ``∂u/∂n = h`` on the ``neumann`` faces
    (``exact`` or ``source`` as for Poisson; ``k`` defaults as in the module docstring)."""
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(f"helmholtz: dimension must be 1…{MAX_DIM}, got {dim}")
    if k is None:
        k = DEFAULT_WAVENUMBER_1D if dim == 1 else DEFAULT_WAVENUMBER
    if not (math.isfinite(k) and k > 0):
        raise ValueError(f"helmholtz: wave number k must be a finite number > 0, got {k}")
    faces = parse_faces(neumann, dim)
    if resonant(k, dim, neumann=faces):
        raise ValueError(f"helmholtz: k = {k:.6g} makes k² an eigenvalue of −Δ on [0,1]^{dim} with these boundary "
                         "conditions (no unique solution); choose another k")
    if exact is not None and (source is not None or boundary is not None or flux is not None):
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
        run_defaults=run_defaults(k), sampler=sampler, neumann=faces, flux=flux, hard_bc=hard_bc,
    )
