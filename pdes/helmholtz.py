"""Helmholtz's equation ``−Δu − k²u = f`` on ``[0, 1]^d`` (d = 1…3) or another domain with Dirichlet data on the
boundary.

Residuals: interior ``ρ = −Δu − k²u − f``, boundary ``ρ = u − g``. Given an exact solution, ``f`` and ``g`` are
derived by automatic differentiation. Default: ``u* = Π_i sin(k x_i)`` with ``k = 4π`` (d = 2, 3) or ``k = 4.5π``
(d = 1, where ``k = 4π`` is resonant). The operator ``−Δ − k²`` with Dirichlet conditions is singular when ``k²`` is
an eigenvalue ``π² Σ_i n_i²`` (all ``n_i ≥ 1``) — the solution is then not unique — so such ``k`` are refused on
the unit box; on other domains the eigenvalues are not known in closed form, and no ``k`` is refused.
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

MAX_DIM = 3
DEFAULT_WAVENUMBER = 4.0 * math.pi
DEFAULT_WAVENUMBER_1D = 4.5 * math.pi


POINTS = {"interior": 1600, "boundary": 400, "neumann": 400}
"""Point counts per term."""


def recommended(k: float) -> dict[str, object]:
    """The run options this family recommends for wave number ``k``: a sine network with first-layer frequency
    ``ω = k``, whose features start at the solution's frequency (a tanh network stays at the zero field; the
    measurements are in ``results/pdes/README.md``)."""
    return {"activation": "sin", "frequency": float(k)}


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
    dim: int | None = None,
    k: float | None = None,
    exact: Field | None = None,
    source: Field | None = None,
    boundary: Field | None = None,
    sampler: str = "uniform",
    neumann: str | Sequence[str] = "",
    flux: Field | None = None,
    hard_bc: bool | None = None,
    domain: str | Domain | None = None,
) -> Problem:
    """``−Δu − k²u = f`` on ``[0, 1]^dim`` with ``u = g`` on the boundary, or ``∂u/∂n = h`` on the ``neumann`` faces
    (``exact`` or ``source`` as for ``pdes.poisson``).

    Args:
        dim: spatial dimension, 1 to 3, default 2 or the domain's (the default solution: Π sin(k x_i)).
        k: wave number (default 4π; 4.5π in 1-d, where 4π is resonant).
        exact: the exact solution, a torch function of points ``x`` (shape ``(…, d)``).
        source: ``f``, when no exact solution is given.
        boundary: ``g`` (default 0), when no exact solution is given.
        sampler: interior points: uniform, sobol, lhs or grid (the number of points must be a d-th power).
        neumann: faces with Neumann data ∂u/∂n = h instead of Dirichlet data, e.g. "x1=0,x2=1".
        flux: ``h`` on the Neumann faces (default 0), when no exact solution is given.
        hard_bc: impose the Dirichlet data exactly by an output transform u = g̃ + φ·N (drops the boundary term);
            default: exactly on the unit box with Dirichlet data on every face up to 3-d, else a boundary term.
        domain: box (the unit box, default), disk, lshape, annulus, plate-with-hole (2-d), a pdes.geometry.Domain,
            or the path of a triangle or tetrahedron mesh file meshio reads.
    """
    chosen = as_domain(domain, dim, "helmholtz", 2)
    dim = chosen.dim
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(f"helmholtz: dimension must be 1…{MAX_DIM}, got {dim}")
    if k is None:
        k = DEFAULT_WAVENUMBER_1D if dim == 1 else DEFAULT_WAVENUMBER
    if not (math.isfinite(k) and k > 0):
        raise ValueError(f"helmholtz: wave number k must be a finite number > 0, got {k}")
    on_box = isinstance(chosen, Box)
    faces = parse_faces(neumann, dim) if on_box else neumann_parts(neumann, chosen, "helmholtz")
    if on_box and resonant(k, dim, neumann=faces):
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

    if not on_box:
        return domain_problem(
            "helmholtz", chosen, interior_residual, source, boundary or zero, exact,
            f"−Δu − k²u = f on {describe(chosen)}, k = {k:.4g}; u* = {formula}", POINTS, recommended(k), sampler,
            faces, flux, hard_bc,
        )
    return dirichlet_problem(
        "helmholtz", chosen, interior_residual, source, boundary, exact,
        f"−Δu − k²u = f on [0,1]^{dim}, k = {k:.4g}; u* = {formula}", POINTS, recommended(k), sampler=sampler,
        neumann=faces, flux=flux, hard_bc=hard_bc,
    )
