"""Pieces the PDE families share: the data residual, the zero field, and the interior-plus-Dirichlet problem on a box."""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from pinn_natmom.problem import Problem, Residual, Term

from .domains import Box, interior_sampler, uniform_boundary, uniform_interior
from .hard import exact_by_default, hard_dirichlet
from .manufactured import Field
from .neumann import dirichlet_faces, face_names, neumann_term, normal_derivative_of


def data_residual(x: Tensor, jet, g: Tensor | None) -> Tensor:
    """``ρ = u − g`` (Dirichlet, boundary or initial data)."""
    return jet.value - g


def zero(x: Tensor) -> Tensor:
    """The zero field, the default boundary data of a problem given by its source alone."""
    return torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)


def dirichlet_problem(
    name: str,
    box: Box,
    interior_residual: Residual,
    source: Field | None,
    boundary: Field | None,
    exact: Field | None,
    description: str,
    points: Mapping[str, int],
    recommended: Mapping[str, object] | None = None,
    sampler: str = "uniform",
    neumann: tuple[int, ...] = (),
    flux: Field | None = None,
    hard_bc: bool | None = None,
    boundary_weight: float = 1.0,
) -> Problem:
    """An interior residual (reading the Laplacian) with data ``source``, ``u = boundary`` (default 0) on every face
    but the ``neumann`` ones, and ``∂u/∂n = flux`` (default 0; derived from ``exact`` when given) on those.

    ``points``: the point count of each term (``interior``, ``boundary``, ``neumann``); ``recommended``: the run
    options the family recommends (``pinn_natmom.problem.Problem.recommended``).
    ``sampler`` names the interior points' sampler (``pdes.domains.INTERIOR_SAMPLERS``); boundary points are uniform.
    ``hard_bc``: the Dirichlet data imposed exactly by an output transform (``pdes.hard``; every face Dirichlet);
    ``None``: exactly where ``pdes.hard.exact_by_default`` says so, else a boundary term, its mean-square residual
    weighted by ``boundary_weight`` (``pinn_natmom.problem.Term.mean_weight``).
    """
    if hard_bc and neumann:
        raise ValueError(f"{name}: the exact (hard) Dirichlet constraint needs Dirichlet data on every face; drop the "
                         "Neumann faces or the hard constraint")
    dirichlet = dirichlet_faces(box, neumann, box.dim)
    if not dirichlet:
        raise ValueError(f"{name}: at least one face must keep Dirichlet data (with Neumann data on every face the "
                         "solution is defined only up to a constant)")
    if exact is not None and neumann:
        flux = normal_derivative_of(exact, box, neumann)
    terms = [
        Term("interior", interior_residual, interior_sampler(sampler, box), data=source, needs=frozenset({"laplacian"}),
             points=points["interior"]),
        Term("boundary", data_residual, uniform_boundary(box, dirichlet if neumann else None), data=boundary or zero,
             mean_weight=boundary_weight, points=points["boundary"]),
    ]
    if neumann:
        terms.append(neumann_term(box, neumann, flux or zero, points["neumann"]))
    problem = Problem(
        name=name,
        dim=box.dim,
        terms=tuple(terms),
        domain_sampler=uniform_interior(box),
        exact=exact,
        description=description + (f"; ∂u/∂n = h on {face_names(neumann)}" if neumann else ""),
        bounds=box.bounds,
        **({} if recommended is None else {"recommended": recommended}),
    )
    exact_data = exact_by_default(hard_bc, neumann, box.dim)
    return hard_dirichlet(problem, box, range(box.dim), boundary or zero) if exact_data else problem
