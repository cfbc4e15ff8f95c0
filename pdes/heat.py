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
from .hard import hard_dirichlet
from .manufactured import Field, gradient_of, laplacian_of
from .neumann import dirichlet_faces, face_names, neumann_term, normal_derivative_of, parse_faces

DEFAULT_DIFFUSIVITY = 0.25
RUN_DEFAULTS = MappingProxyType({"solver": "pinv", "rcond": 1.5e-7, "steps": 200, "optimizer": "natural-auto"})
"""The truncated eigen-solver: on 1+1d with 2→32→32→1 it reached rel_l2 1e-6 in 45 steps (H100), where the svd solver
(``auto``'s choice for N < P) made no progress in 56 steps. Its default cut-off 3e-7 plateaus at 1.2e-6 on seed 0;
1.5e-7 reached 1e-6 on seeds 0 and 1 in 101 and 171 steps (39 s, 65 s on the 2-core CPU), where 1e-7 stalls seed 1
in the first phase (results/pdes; all with the Glorot initialisation used before, ``--init glorot``). With the
uniform initialisation, seeds 0–3 reach 1e-6 after 25, 54, 170 and 83 steps and end at 2.0e-7, 4.5e-7, 5.8e-7 and
2.0e-7 after 200 (engd).

``natural-auto``: on 1+1d, seeds 0–2, it reaches 1e-6 after 31, 20 and 162 steps (8.5 s, 6.4 s and 45.4 s) against
engd's 25, 54 and 170, and ends 200 steps at 5.2e-7, 1.5e-7 and 6.0e-7 against engd's 2.0e-7, 4.5e-7 and 5.8e-7: all
of them floors where the line search finds no step that lowers the loss, the same for every optimizer (the floor test of
results/benchmark/acceptance), and no lower with 2,000 points (results/benchmark/heat-more-points). Those were the
two-candidate ``natural-auto``; switching to the geodesic path at that floor, with its solve refined a decade below
the factorised damping, it ends 120 s at 1.0e-8, 2.0e-8 and 2.1e-8 against engd's 2.0e-7, 3.1e-7 and 5.8e-7
(results/benchmark/geodesic-refined)."""


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
    dim: int = 1,
    diffusivity: float = DEFAULT_DIFFUSIVITY,
    final_time: float = 1.0,
    exact: Field | None = None,
    source: Field | None = None,
    boundary: Field | None = None,
    initial: Field | None = None,
    sampler: str = "uniform",
    neumann: str | Sequence[str] = "",
    flux: Field | None = None,
    hard_bc: bool = False,
) -> Problem:
    """``∂_t u = κ Δ_x u + f`` on ``[0, 1]^dim × [0, final_time]``.

    Give ``exact`` to derive ``f``, ``g`` and ``u₀``; or ``source`` (and optionally ``boundary`` and ``initial``,
    default 0) for a problem without a known solution. With neither, :func:`default_exact` is used. ``sampler`` names
    the interior sampler (:data:`pdes.domains.INTERIOR_SAMPLERS`). ``neumann``: spatial faces (``"x1=0"``…) with
    ``∂u/∂n = flux`` (default 0, derived from ``exact`` when given) instead of Dirichlet data. ``hard_bc``: the
    spatial Dirichlet data imposed exactly by an output transform (:mod:`pdes.hard`); the initial condition stays a
    residual term.
    """
    if dim < 1:
        raise ValueError(f"heat: spatial dimension must be at least 1, got {dim}")
    if not (math.isfinite(diffusivity) and diffusivity > 0):
        raise ValueError(f"heat: diffusivity must be a finite number > 0, got {diffusivity}")
    if not (math.isfinite(final_time) and final_time > 0):
        raise ValueError(f"heat: final time must be a finite number > 0, got {final_time}")
    faces = parse_faces(neumann, dim)
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
    box = Box((0.0,) * dim + (0.0,), (1.0,) * dim + (float(final_time),))
    if exact is not None and faces:
        flux = normal_derivative_of(exact, box, faces)
    dirichlet = dirichlet_faces(box, faces, dim)

    def interior_residual(x: Tensor, jet: Jet, f: Tensor | None) -> Tensor:
        """``ρ = ∂_t u − κ Δ_x u − f``."""
        return jet.grad[..., dim] - diffusivity * jet.laplacian - f

    problem = Problem(
        name="heat",
        dim=dim + 1,
        terms=(
            Term("interior", interior_residual, interior_sampler(sampler, box), data=source,
                 needs=frozenset({"grad", "laplacian"}), laplacian_dims=spatial),
            *([Term("boundary", data_residual, uniform_boundary(box, dirichlet), data=boundary)] if dirichlet else []),
            *([neumann_term(box, faces, flux or zero)] if faces else []),
            Term("initial", data_residual, uniform_boundary(box, (2 * dim,)), data=initial),
        ),
        domain_sampler=uniform_interior(box),
        exact=exact,
        description=f"∂_t u = {diffusivity:g} Δu + f on [0,1]^{dim} × [0,{final_time:g}]; u* = {formula}"
        + (f"; ∂u/∂n = h on {face_names(faces)}" if faces else ""),
        run_defaults=RUN_DEFAULTS,
        bounds=box.bounds,
        time_axis=dim,
    )
    return hard_dirichlet(problem, box, spatial, boundary) if hard_bc else problem
