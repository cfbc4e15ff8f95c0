"""Poisson's equation ``−Δu = f`` on a box with Dirichlet data ``u = g`` on its boundary.

Residuals: interior ``ρ = −Δu − f``, boundary ``ρ = u − g``. Given an exact solution ``u*``, ``f = −Δu*`` and
``g = u*`` are derived by automatic differentiation.
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


def default_exact(dim: int) -> tuple[Field, str]:
    """The manufactured solution used when none is given, and its formula.

    d ≤ 3: ``Π sin(π x_i)``; 4 ≤ d ≤ 10: ``Σ cos(π x_i)``; d > 10: ``Σ_k x_{2k−1} x_{2k}`` (harmonic, as in the
    high-dimensional benchmarks).
    """
    if dim <= 3:
        return (lambda x: torch.sin(math.pi * x).prod(dim=-1)), " · ".join(f"sin(πx{i + 1})" for i in range(dim))
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
    network on 2,000 + 500 points redrawn every step, for 400 steps; from d = 3, 3,000 + 600 points (more points than
    the 1,217 parameters of the default network); otherwise 900 + 120 points (700 + 100 in 2-d). The measurements
    behind them are in ``results/pdes/README.md``."""
    if dim >= HIGH_DIMENSION:
        return ({"interior": 2000, "boundary": 500, "neumann": 500},
                {"hidden": (64,), "steps": 400, "resample_every": 1})
    if dim == 3:
        return {"interior": 3000, "boundary": 600, "neumann": 600}, {}
    if dim == 2:
        return {"interior": 700, "boundary": 100, "neumann": 100}, {}
    return dict(POINTS), {}


def interior_residual(x: Tensor, jet: Jet, f: Tensor | None) -> Tensor:
    """``ρ = −Δu − f``."""
    return -jet.laplacian - f


def poisson(
    dim: int = 2,
    exact: Field | None = None,
    source: Field | None = None,
    boundary: Field | None = None,
    sampler: str = "uniform",
    neumann: str | Sequence[str] = "",
    flux: Field | None = None,
    hard_bc: bool = False,
) -> Problem:
    """``−Δu = f`` on ``[0, 1]^d`` with ``u = g`` on the boundary, or ``∂u/∂n = h`` on the ``neumann`` faces.

    Give ``exact`` to derive ``f``, ``g`` and ``h`` from it; or give ``source`` (and optionally ``boundary`` and
    ``flux``, default 0) for a problem without a known solution, where no error is reported. With neither, the
    default manufactured solution of ``default_exact`` is used.

    Args:
        dim: spatial dimension (the default solution: Π sin πx_i up to 3, Σ cos πx_i up to 10, else Σ x_(2k−1) x_(2k)).
        exact: the exact solution, a torch function of points ``x`` (shape ``(…, d)``).
        source: ``f``, when no exact solution is given.
        boundary: ``g`` (default 0), when no exact solution is given.
        sampler: interior points: uniform, sobol, lhs or grid (the number of points must be a d-th power).
        neumann: faces with Neumann data ∂u/∂n = h instead of Dirichlet data, e.g. "x1=0,x2=1".
        flux: ``h`` on the Neumann faces (default 0), when no exact solution is given.
        hard_bc: impose the Dirichlet data exactly by an output transform u = g̃ + φ·N (drops the boundary term).
    """
    if dim < 1:
        raise ValueError(f"poisson: dimension must be at least 1, got {dim}")
    if exact is not None and (source is not None or boundary is not None or flux is not None):
        raise ValueError("poisson: give either an exact solution (the data are derived from it) or source/boundary/flux "
                         "data, not both")
    faces = parse_faces(neumann, dim)
    formula = "user-defined"
    if exact is None and source is None:
        exact, formula = default_exact(dim)
    if exact is not None:
        minus_laplacian = laplacian_of(exact)
        source, boundary = (lambda x: -minus_laplacian(x)), exact
    points, recommended = recommendation(dim)
    return dirichlet_problem(
        "poisson", Box.unit(dim), interior_residual, source, boundary, exact,
        f"−Δu = f on [0,1]^{dim}, u = g on the boundary; u* = {formula}", points, recommended, sampler=sampler,
        neumann=faces, flux=flux, hard_bc=hard_bc,
    )
