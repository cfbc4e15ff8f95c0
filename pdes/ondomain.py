"""Problems on any domain of the contract ``pdes.geometry.Domain``: choosing the domain, Dirichlet and Neumann
data on its named boundary parts, and the exact Dirichlet constraint through its approximate distance function.

The families (``poisson``, ``heat``, ``helmholtz``) take ``domain=``: ``None`` for today's unit box, a ``Domain``,
a name of ``pdes.geometry.NAMED`` or the path of a mesh file meshio reads. A box keeps the box's own samplers,
face names (``x1=0`` …) and transfinite exact constraint (``pdes.hard``); every other domain gets the terms built
here:

- interior points from ``domain.interior_sampler(sampler)``, Dirichlet points from ``domain.boundary_sampler`` on
  the parts without Neumann data, each part in proportion to its measure;
- Neumann data ``ρ = ∇u · n − h`` on the named parts, with the outward unit normal ``n = domain.normal(x)``
  computed once per point set (the term's data packs ``h`` and ``n``);
- the error measured on points uniform in the domain, and the output written on ``domain.output_mesh``;
- ``hard_bc``: ``u = g + φ N`` with ``φ = domain.adf`` (R-functions, Sukumar & Srivastava 2022) and ``g`` the
  Dirichlet data itself, evaluated inside the domain too (so ``g`` must be defined there: an exact solution, or
  boundary data written as a field of ``x``). Off unless asked for (``hard_bc=True``): where ``g`` is an exact
  solution the constraint starts from the solution itself.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor

from pinn_natmom.problem import Jet, Problem, Residual, Sampler, Term

from .common import data_residual, zero
from .geometry import NAMED, Box, Domain, Mesh
from .hard import lifted
from .manufactured import Field, gradient_of


def as_domain(domain: str | Domain | None, dim: int | None, family: str, default_dim: int) -> Domain:
    """The domain a family's ``domain`` and ``dim`` arguments name: the unit box of ``dim`` (default
    ``default_dim``) for ``None`` or ``"box"``, a named domain, or a mesh file; a ``ValueError`` when ``dim`` is given
    and differs from the domain's."""
    if dim is not None and dim < 1:
        raise ValueError(f"{family}: dimension must be at least 1, got {dim}")
    if domain is None or domain == "box":
        return Box.unit(default_dim if dim is None else dim)
    if isinstance(domain, str):
        if domain in NAMED:
            chosen = NAMED[domain]()
        elif Path(domain).suffix:
            if not Path(domain).is_file():
                raise ValueError(f"{family}: no mesh file {domain}; give the path of a triangle or tetrahedron mesh "
                                 "meshio reads, or a named domain: " + ", ".join(NAMED))
            chosen = Mesh.read(domain)
        else:
            raise ValueError(f"{family}: unknown domain {domain!r}; choose from {', '.join(NAMED)} or give the path "
                             "of a mesh file")
    elif isinstance(domain, Domain):
        chosen = domain
    else:
        raise ValueError(f"{family}: domain must be a pdes.geometry.Domain, a name or a mesh file's path, got "
                         f"{type(domain).__name__}")
    if dim is not None and dim != chosen.dim:
        raise ValueError(f"{family}: the domain is {chosen.dim}-d but dim = {dim} was given; leave dim out")
    return chosen


def neumann_parts(neumann: str | Sequence[str], domain: Domain, family: str) -> tuple[str, ...]:
    """The boundary parts named in ``neumann`` (comma-separated or a list), checked against ``domain.parts``."""
    names = [name.strip() for name in (neumann.split(",") if isinstance(neumann, str) else neumann) if name.strip()]
    unknown = [name for name in names if name not in domain.parts]
    if unknown:
        raise ValueError(f"{family}: Neumann data on unknown boundary part(s) {', '.join(unknown)}; the parts of "
                         f"{domain!r} are {', '.join(domain.parts)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{family}: Neumann parts repeat a part: {', '.join(names)}")
    if names and set(names) == set(domain.parts):
        raise ValueError(f"{family}: at least one boundary part must keep Dirichlet data (with Neumann data "
                         "everywhere the solution is defined only up to a constant)")
    return tuple(names)


def normals(domain: Domain, x: Tensor, spatial: int) -> Tensor:
    """``(…, d_x)`` outward unit normals of ``domain`` at the first ``spatial`` coordinates of boundary points
    ``x``, padded with zeros for the remaining (time) coordinates."""
    flat = x.reshape(-1, x.shape[-1])
    n = domain.normal(flat[:, :spatial].to(torch.float64)).to(x.dtype)
    padded = torch.cat([n, torch.zeros(len(flat), x.shape[-1] - spatial, dtype=x.dtype, device=x.device)], dim=-1)
    return padded.reshape(x.shape)


def neumann_term(domain: Domain, sampler: Sampler, flux: Field | None, exact: Field | None, points: int,
                 spatial: int | None = None) -> Term:
    """``ρ = ∇u · n − h`` on the points of ``sampler``, with ``h = flux`` (default 0), or ``∇u* · n`` for an exact
    solution; ``spatial``: the coordinates the domain spans (default all)."""
    span = domain.dim if spatial is None else spatial
    gradient = None if exact is None else gradient_of(exact)

    def data(x: Tensor) -> Tensor:
        n = normals(domain, x, span)
        if gradient is not None:
            h = (gradient(x) * n).sum(dim=-1)
        elif flux is not None:
            h = flux(x)
        else:
            h = torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
        return torch.cat([h.unsqueeze(-1), n], dim=-1)

    def residual(x: Tensor, jet: Jet, packed: Tensor | None) -> Tensor:
        """``ρ = ∂u/∂n − h``."""
        return (jet.grad * packed[..., 1:]).sum(dim=-1) - packed[..., 0]

    return Term("neumann", residual, sampler, data=data, needs=frozenset({"grad"}), points=points)


def with_distance_constraint(problem: Problem, domain: Domain, boundary: Field, spatial: int | None = None) -> Problem:
    """``problem`` with its ``boundary`` term replaced by ``u = g + φ N``, ``φ = domain.adf`` of the first
    ``spatial`` coordinates (module docstring)."""
    span = domain.dim if spatial is None else spatial

    def phi(x: Tensor) -> Tensor:
        return domain.adf(x[..., :span])

    terms = tuple(lifted(term, boundary, phi, problem.dim) for term in problem.terms if term.name != "boundary")
    return dataclasses.replace(problem, terms=terms, output=lambda x: (boundary(x), phi(x)),
                               description=f"{problem.description}; Dirichlet data imposed exactly through the "
                                           "domain's distance function")


def domain_problem(
    name: str,
    domain: Domain,
    interior_residual: Residual,
    source: Field | None,
    boundary: Field,
    exact: Field | None,
    description: str,
    points: Mapping[str, int],
    recommended: Mapping[str, object],
    sampler: str,
    neumann: tuple[str, ...],
    flux: Field | None,
    hard_bc: bool | None,
    needs: frozenset[str] = frozenset({"laplacian"}),
    final_time: float | None = None,
    initial: Field | None = None,
    boundary_weight: float = 1.0,
) -> Problem:
    """An interior residual reading ``needs`` on ``domain`` (or, with ``final_time``, on ``domain × [0,
    final_time]`` with points ``(x…, t)``, the Laplacian spatial and ``u = initial`` at ``t = 0``) with data
    ``source``, ``u = boundary`` on every part but the ``neumann`` ones and ``∂u/∂n = flux`` there (derived from
    ``exact`` when given); the boundary term's mean-square residual weighted by ``boundary_weight``."""
    if hard_bc and neumann:
        raise ValueError(f"{name}: the exact (hard) Dirichlet constraint needs Dirichlet data on every boundary part; "
                         "drop the Neumann parts or the hard constraint")
    spatial, timed = domain.dim, final_time is not None

    def where(sampler: Sampler) -> Sampler:
        return over_time(sampler, final_time) if timed else sampler

    dirichlet = tuple(part for part in domain.parts if part not in neumann)
    terms = [
        Term("interior", interior_residual, where(domain.interior_sampler(sampler)), data=source, needs=needs,
             laplacian_dims=tuple(range(spatial)) if timed else None, points=points["interior"]),
        Term("boundary", data_residual, where(domain.boundary_sampler(dirichlet if neumann else None)), data=boundary,
             mean_weight=boundary_weight, points=points["boundary"]),
    ]
    if neumann:
        terms.append(neumann_term(domain, where(domain.boundary_sampler(neumann)), flux, exact, points["neumann"],
                                  spatial=spatial))
    if timed:
        terms.append(Term("initial", data_residual, at_start(domain.interior_sampler(sampler)), data=initial or zero,
                          points=points["initial"]))
    problem = Problem(
        name=name, dim=spatial + timed, terms=tuple(terms), domain_sampler=where(domain.interior_sampler("uniform")),
        exact=exact, description=description + (f"; ∂u/∂n = h on {', '.join(neumann)}" if neumann else ""),
        recommended=recommended, bounds=(*domain.bounds, *(((0.0, float(final_time)),) if timed else ())),
        time_axis=spatial if timed else None, mesh=domain.output_mesh if spatial <= 3 else None,
    )
    return with_distance_constraint(problem, domain, boundary, spatial=spatial) if hard_bc else problem


def over_time(sampler: Sampler, final_time: float) -> Sampler:
    """Points ``(x, t)``: ``x`` from ``sampler``, then ``t`` uniform in ``[0, final_time]``."""

    def sample(n: int, generator: torch.Generator) -> Tensor:
        x = sampler(n, generator)
        return torch.cat([x, final_time * torch.rand(n, 1, generator=generator, dtype=torch.float64)], dim=1)

    return sample


def at_start(sampler: Sampler) -> Sampler:
    """Points ``(x, 0)`` with ``x`` from ``sampler``."""

    def sample(n: int, generator: torch.Generator) -> Tensor:
        x = sampler(n, generator)
        return torch.cat([x, torch.zeros(n, 1, dtype=torch.float64)], dim=1)

    return sample


def describe(domain: Domain) -> str:
    """``"the disk Ball(…) (measure 3.14159)"``-style text for problem descriptions."""
    return f"{domain!r} (measure {domain.measure:.6g})"
