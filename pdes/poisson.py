"""Poisson's equation ``−Δu = f`` on a domain (the unit box by default) with Dirichlet data ``u = g`` on its boundary.

Residuals: interior ``ρ = −Δu − f``, boundary ``ρ = u − g``. Given an exact solution ``u*``, ``f = −Δu*`` and
``g = u*`` are derived by automatic differentiation.

From ``HIGH_DIMENSION`` on, the boundary term's mean-square residual is weighted by ``λ₁²``, with ``λ₁ = π² Σ_i
1/w_i²`` the first Dirichlet eigenvalue of ``−Δ`` on the domain's bounding box (widths ``w_i``): the error
``e = u − u*`` solves ``−Δe = ρ_interior`` with ``e = ρ_boundary`` on the boundary, so an interior residual reaches
the error through ``(−Δ)⁻¹``, of norm ``1/λ₁``, and a boundary residual undamped; the weight puts both on the scale
of the error they cause. Below 4-d the weight is 1 (the comparison: results/boundary-weight/README.md).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pinn_natmom.problem import Jet, Problem

from .common import dirichlet_problem, zero
from .geometry import Box, Domain
from .manufactured import Field, laplacian_of
from .neumann import parse_faces
from .ondomain import as_domain, describe, domain_problem, neumann_parts


def default_exact(dim: int, bounds: tuple[tuple[float, float], ...] | None = None) -> tuple[Field, str]:
    """The manufactured solution used when none is given, and its formula.

    d ≤ 3: ``Π sin(π x_i)`` on the unit box; on a domain with another bounding box ``Π [lo_i, hi_i]``, the same bump
    stretched onto it, ``Π sin(π (x_i − lo_i)/(hi_i − lo_i))`` (one half-wave across the domain, whatever its size);
    4 ≤ d ≤ 10: ``Σ cos(π x_i)``; d > 10: ``Σ_k x_{2k−1} x_{2k}`` (harmonic, as in the high-dimensional benchmarks).
    """
    if dim <= 3:
        if bounds is None or all(b == (0.0, 1.0) for b in bounds):
            return (lambda x: torch.sin(math.pi * x).prod(dim=-1)), " · ".join(f"sin(πx{i + 1})" for i in range(dim))
        lo = torch.tensor([b[0] for b in bounds], dtype=torch.float64)
        width = torch.tensor([b[1] - b[0] for b in bounds], dtype=torch.float64)
        return (lambda x: torch.sin(math.pi * (x - lo.to(x)) / width.to(x)).prod(dim=-1)), " · ".join(
            f"sin(π(x{i + 1} {'−' if b[0] >= 0 else '+'} {abs(b[0]):g})/{b[1] - b[0]:g})" for i, b in enumerate(bounds))
    if dim <= 10:
        return (lambda x: torch.cos(math.pi * x).sum(dim=-1)), f"Σ_{{i=1..{dim}}} cos(πx_i)"
    pairs = dim // 2
    return (lambda x: (x[..., 0 : 2 * pairs : 2] * x[..., 1 : 2 * pairs : 2]).sum(dim=-1)), (
        f"Σ_{{k=1..{pairs}}} x_(2k−1) x_(2k)"
    )


HIGH_DIMENSION = 4
POINTS = {"interior": 900, "boundary": 120, "neumann": 120}
"""Point counts per term, except where ``recommendation`` says otherwise."""


def recommendation(dim: int) -> tuple[dict[str, int], dict[str, object]]:
    """The point counts and run options this family recommends in dimension ``dim``: from d = 4, a ``d→64→1``
    network on 2,000 + 500 points redrawn every step, for 400 steps; in 3-d, 3,000 + 600 points (more points than
    the 1,217 parameters of the default network) for 150 steps; otherwise 900 + 120 points (700 + 100 in 2-d). The measurements
    behind them are in ``results/pdes/README.md``."""
    if dim >= HIGH_DIMENSION:
        return ({"interior": 2000, "boundary": 500, "neumann": 500},
                {"hidden": (64,), "steps": 400, "resample_every": 1})
    if dim == 3:
        return {"interior": 3000, "boundary": 600, "neumann": 600}, {"steps": 150}
    if dim == 2:
        return {"interior": 700, "boundary": 100, "neumann": 100}, {}
    return dict(POINTS), {}


def dirichlet_eigenvalue(bounds: Sequence[tuple[float, float]]) -> float:
    """``λ₁ = π² Σ_i 1/(hi_i − lo_i)²``, the first eigenvalue of ``−Δ`` with zero Dirichlet data on the box
    ``bounds``."""
    return math.pi**2 * sum(1.0 / (hi - lo) ** 2 for lo, hi in bounds)


def default_boundary_weight(bounds: Sequence[tuple[float, float]]) -> float:
    """The boundary term's weight when none is given: ``dirichlet_eigenvalue(bounds)²`` from ``HIGH_DIMENSION`` on,
    else 1 (module docstring)."""
    return dirichlet_eigenvalue(bounds) ** 2 if len(bounds) >= HIGH_DIMENSION else 1.0


def interior_residual(x: Tensor, jet: Jet, f: Tensor | None) -> Tensor:
    """``ρ = −Δu − f``."""
    return -jet.laplacian - f


def poisson(
    dim: int | None = None,
    exact: Field | None = None,
    source: Field | None = None,
    boundary: Field | None = None,
    sampler: str = "uniform",
    neumann: str | Sequence[str] = "",
    flux: Field | None = None,
    hard_bc: bool | None = None,
    domain: str | Domain | None = None,
    boundary_weight: float | None = None,
) -> Problem:
    """``−Δu = f`` on ``[0, 1]^d`` (or ``domain``) with ``u = g`` on the boundary, or ``∂u/∂n = h`` on the
    ``neumann`` faces (boundary parts).

    Give ``exact`` to derive ``f``, ``g`` and ``h`` from it; or give ``source`` (and optionally ``boundary`` and
    ``flux``, default 0) for a problem without a known solution, where no error is reported. With neither, the
    default manufactured solution of ``default_exact`` is used.

    Args:
        dim: spatial dimension, default 2 or the domain's (the default solution: Π sin πx_i up to 3, Σ cos πx_i up
            to 10, else Σ x_(2k−1) x_(2k)).
        exact: the exact solution, a torch function of points ``x`` (shape ``(…, d)``).
        source: ``f``, when no exact solution is given.
        boundary: ``g`` (default 0), when no exact solution is given.
        sampler: interior points: uniform, sobol, lhs or grid (the number of points must be a d-th power).
        neumann: faces (boundary parts) with Neumann data ∂u/∂n = h instead of Dirichlet data, e.g. "x1=0,x2=1".
        flux: ``h`` on the Neumann faces (default 0), when no exact solution is given.
        hard_bc: impose the Dirichlet data exactly by an output transform u = g̃ + φ·N (drops the boundary term);
            default: exactly on the unit box with Dirichlet data on every face up to 3-d, else a boundary term.
        domain: box (the unit box, default), disk, lshape, annulus, plate-with-hole (2-d), a pdes.geometry.Domain,
            or the path of a triangle or tetrahedron mesh file meshio reads.
        boundary_weight: the weight of the boundary term's mean-square residual against the interior's; default
            from 4-d on λ₁², the square of the first Dirichlet eigenvalue of −Δ on the domain's bounding box, else 1
            (module docstring).
    """
    chosen = as_domain(domain, dim, "poisson", 2)
    if boundary_weight is not None and not boundary_weight > 0:
        raise ValueError(f"poisson: the boundary weight must be > 0, got {boundary_weight}")
    weight = default_boundary_weight(chosen.bounds) if boundary_weight is None else boundary_weight
    dim = chosen.dim
    if dim < 1:
        raise ValueError(f"poisson: dimension must be at least 1, got {dim}")
    if exact is not None and (source is not None or boundary is not None or flux is not None):
        raise ValueError("poisson: give either an exact solution (the data are derived from it) or source/boundary/flux "
                         "data, not both")
    faces = parse_faces(neumann, dim) if isinstance(chosen, Box) else neumann_parts(neumann, chosen, "poisson")
    formula = "user-defined"
    if exact is None and source is None:
        exact, formula = default_exact(dim, chosen.bounds)
    if exact is not None:
        minus_laplacian = laplacian_of(exact)
        source, boundary = (lambda x: -minus_laplacian(x)), exact
    points, recommended = recommendation(dim)
    if not isinstance(chosen, Box):
        return domain_problem(
            "poisson", chosen, interior_residual, source, boundary or zero, exact,
            f"−Δu = f on {describe(chosen)}, u = g on the boundary; u* = {formula}", points, recommended, sampler,
            faces, flux, hard_bc, boundary_weight=weight,
        )
    return dirichlet_problem(
        "poisson", chosen, interior_residual, source, boundary, exact,
        f"−Δu = f on [0,1]^{dim}, u = g on the boundary; u* = {formula}", points, recommended, sampler=sampler,
        neumann=faces, flux=flux, hard_bc=hard_bc, boundary_weight=weight,
    )
