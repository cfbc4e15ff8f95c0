"""The heat equation ``∂_t u = κ Δ_x u + f`` on ``[0, 1]^d × [0, T]`` with Dirichlet data on the spatial boundary and
an initial condition.

Points are ``(x_1, …, x_d, t)``: the network's input dimension is ``d + 1``. Residuals: interior
``ρ = ∂_t u − κ Δ_x u − f`` (the Laplacian over the spatial coordinates only), boundary ``ρ = u − g`` on the faces
``x_j ∈ {0, 1}``, initial ``ρ = u − u₀`` at ``t = 0``. Given an exact solution ``u*(x, t)`` (a torch function of the
``d + 1`` coordinates), ``f``, ``g`` and ``u₀`` are derived by automatic differentiation.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from types import MappingProxyType

import torch
from torch import Tensor

from pinn_natmom.problem import Jet, Problem, Term

from .common import data_residual, zero
from .domains import Box, interior_sampler, uniform_boundary, uniform_interior
from .geometry import Domain
from .hard import exact_by_default, hard_dirichlet
from .manufactured import Field, gradient_of, laplacian_of
from .neumann import dirichlet_faces, face_names, neumann_term, normal_derivative_of, parse_faces
from .ondomain import as_domain, describe, domain_problem, neumann_parts

DEFAULT_DIFFUSIVITY = 0.25
RECOMMENDED = MappingProxyType({"steps": 200})
"""The run options this family recommends: 200 steps."""
POINTS = {"interior": 900, "boundary": 120, "neumann": 120, "initial": 120}
"""Point counts per term."""


def default_exact(dim: int, diffusivity: float) -> tuple[Field, str]:
    """d = 1: ``e^{−κπ²t} sin(πx)``; d ≥ 2: ``e^{−4κt} Σ_i sin(2x_i)`` (with κ = ¼: ``e^{−t} Σ sin 2x_i``). Both solve
    the homogeneous equation, so ``f = 0``."""
    if dim == 1:
        rate = diffusivity * math.pi**2
        return (lambda x: torch.exp(-rate * x[..., 1]) * torch.sin(math.pi * x[..., 0])), f"exp(−{rate:.4g} t) sin(πx)"
    rate = 4.0 * diffusivity
    return (lambda x: torch.exp(-rate * x[..., -1]) * torch.sin(2.0 * x[..., :-1]).sum(dim=-1)), (
        f"exp(−{rate:.4g} t) Σ_{{i=1..{dim}}} sin(2x_i)"
    )


def heat(
    dim: int | None = None,
    diffusivity: float = DEFAULT_DIFFUSIVITY,
    final_time: float = 1.0,
    exact: Field | None = None,
    source: Field | None = None,
    boundary: Field | None = None,
    initial: Field | None = None,
    sampler: str = "uniform",
    neumann: str | Sequence[str] = "",
    flux: Field | None = None,
    hard_bc: bool | None = None,
    domain: str | Domain | None = None,
) -> Problem:
    """``∂_t u = κ Δ_x u + f`` on ``[0, 1]^dim × [0, final_time]`` (or ``domain × [0, final_time]``).

    Give ``exact`` to derive ``f``, ``g`` and ``u₀``; or ``source`` (and optionally ``boundary`` and ``initial``,
    default 0) for a problem without a known solution. With neither, ``default_exact`` is used.

    Args:
        dim: spatial dimension, default 1 or the domain's (the default solution: e^(−κπ²t) sin πx in 1-d,
            e^(−4κt) Σ sin 2x_i beyond).
        diffusivity: κ.
        final_time: T of the time interval [0, T].
        exact: the exact solution, a torch function of points ``(x…, t)``.
        source: ``f``, when no exact solution is given.
        boundary: ``g`` on the spatial boundary (default 0), when no exact solution is given.
        initial: ``u₀`` at t = 0 (default 0), when no exact solution is given.
        sampler: interior points: uniform, sobol, lhs or grid (the number of points must be a (d+1)-th power).
        neumann: spatial faces with Neumann data ∂u/∂n = h instead of Dirichlet data, e.g. "x1=0".
        flux: ``h`` on the Neumann faces (default 0), when no exact solution is given.
        hard_bc: impose the spatial Dirichlet data exactly by an output transform u = g̃ + φ·N (drops the boundary
            term; the initial condition stays a residual term); default: exactly on the unit box with Dirichlet data
            on every spatial face up to 3-d, else a boundary term.
        domain: the spatial domain: box (the unit box, default), disk, lshape, annulus, plate-with-hole (2-d), a
            pdes.geometry.Domain, or the path of a triangle or tetrahedron mesh file meshio reads.
    """
    chosen = as_domain(domain, dim, "heat", 1)
    dim = chosen.dim
    if dim < 1:
        raise ValueError(f"heat: spatial dimension must be at least 1, got {dim}")
    if not (math.isfinite(diffusivity) and diffusivity > 0):
        raise ValueError(f"heat: diffusivity must be a finite number > 0, got {diffusivity}")
    if not (math.isfinite(final_time) and final_time > 0):
        raise ValueError(f"heat: final time must be a finite number > 0, got {final_time}")
    on_box = isinstance(chosen, Box)
    faces = parse_faces(neumann, dim) if on_box else neumann_parts(neumann, chosen, "heat")
    if hard_bc and faces:
        raise ValueError("heat: the exact (hard) Dirichlet constraint needs Dirichlet data on every spatial face; drop the "
                         "Neumann faces or the hard constraint")
    if exact is not None and (source is not None or boundary is not None or initial is not None or flux is not None):
        raise ValueError("heat: give either an exact solution (the data are derived from it) or source/boundary/initial data, not both")
    formula = "user-defined"
    if exact is None and source is None:
        exact, formula = default_exact(dim, diffusivity)
    spatial = tuple(range(dim))
    if exact is not None:
        time_derivative, spatial_laplacian = gradient_of(exact), laplacian_of(exact, spatial)
        source = lambda x: time_derivative(x)[..., dim] - diffusivity * spatial_laplacian(x)
        boundary, initial = exact, exact
    boundary, initial = boundary or zero, initial or zero

    def interior_residual(x: Tensor, jet: Jet, f: Tensor | None) -> Tensor:
        """``ρ = ∂_t u − κ Δ_x u − f``."""
        return jet.grad[..., dim] - diffusivity * jet.laplacian - f

    if not on_box:
        return domain_problem(
            "heat", chosen, interior_residual, source, boundary, exact,
            f"∂_t u = {diffusivity:g} Δu + f on {describe(chosen)} × [0,{final_time:g}]; u* = {formula}", POINTS,
            RECOMMENDED, sampler, faces, flux, hard_bc, needs=frozenset({"grad", "laplacian"}),
            final_time=float(final_time), initial=initial,
        )
    box = Box((0.0,) * dim + (0.0,), (1.0,) * dim + (float(final_time),))
    if exact is not None and faces:
        flux = normal_derivative_of(exact, box, faces)
    dirichlet = dirichlet_faces(box, faces, dim)
    problem = Problem(
        name="heat",
        dim=dim + 1,
        terms=(
            Term("interior", interior_residual, interior_sampler(sampler, box), data=source,
                 needs=frozenset({"grad", "laplacian"}), laplacian_dims=spatial, points=POINTS["interior"]),
            *([Term("boundary", data_residual, uniform_boundary(box, dirichlet), data=boundary,
                    points=POINTS["boundary"])] if dirichlet else []),
            *([neumann_term(box, faces, flux or zero, POINTS["neumann"])] if faces else []),
            Term("initial", data_residual, uniform_boundary(box, (2 * dim,)), data=initial, points=POINTS["initial"]),
        ),
        domain_sampler=uniform_interior(box),
        exact=exact,
        description=f"∂_t u = {diffusivity:g} Δu + f on [0,1]^{dim} × [0,{final_time:g}]; u* = {formula}"
        + (f"; ∂u/∂n = h on {face_names(faces)}" if faces else ""),
        recommended=RECOMMENDED,
        bounds=box.bounds,
        time_axis=dim,
    )
    return hard_dirichlet(problem, box, spatial, boundary) if exact_by_default(hard_bc, faces, dim) else problem
