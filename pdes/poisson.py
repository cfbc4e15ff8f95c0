"""Poisson's equation ``−Δu = f`` on a box with Dirichlet data ``u = g`` on its boundary.

Residuals: interior ``ρ = −Δu − f``, boundary ``ρ = u − g``. Given an exact solution ``u*``, ``f = −Δu*`` and
``g = u*`` are derived by automatic differentiation.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from types import MappingProxyType

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
HIGH_DIMENSION_RUN = MappingProxyType({
    "hidden": (64,), "init": "glorot", "solver": "pinv", "rcond": 1e-6, "steps": 400, "resample_every": 1,
    "optimizer": "natural-auto", "n_points": {"interior": 2000, "boundary": 500, "neumann": 500},
})
"""From d = 4: a 5→64→1 network with the Glorot initialisation, pinv with cut-off 1e-6, 2,000 + 500 points redrawn every
step, natural-auto. At d = 5 on the 2-core CPU, seeds 0–2, natural-auto is at 1.4e-5, 5.5e-6 and 6.7e-6 after 400
steps, natural-nesterov at 1.0e-5, 1.2e-4 and 3.0e-5, engd at 2.2e-5, 5.0e-6 and 5.9e-5; over 300 s they end at
medians of 5.7e-6, 1.6e-5 and 3.4e-5 (results/benchmark/acceptance). With natural-nesterov, 400 steps, seeds 0–4,
rel_l2 with cut-off 1e-6: 1.0e-5, 1.2e-4, 3.0e-5, 2.0e-5, 3.0e-5 (median 3.0e-5). The uniform initialisation of the other tanh networks ended at
2.8e-5, 4.6e-5, 4.6e-5, 3.4e-5 and 3.3e-5, and over 300 s on seed 0 it sat at 2e-5…6e-5 where Glorot sat at 7e-6…1e-5
(results/benchmark/uniform-init-300s). Cut-off 1e-7 with Glorot: 4.6e-3, 2.4e-5, 7.2e-6, 2.1e-4, 1.7e-5 (median
2.4e-5). The smaller cut-off keeps directions along singular values down to 10⁻⁷σ_max, which fit the current draw of
points: on seed 0 the line search shrank the steps to α ≈ 10⁻³ from step 130 to 360 while the error grew from 1.6e-2
to 2.8e-2, and seed 3 sat at 2.3e-4 from step 260. Both cut-offs stall on some seeds (1e-6 at 1.2e-4 on seed 1); the
larger one ends 1.3× higher in the median and 38× lower in the worst case. With 60 s of training and cut-off 1e-7,
seeds 0–2 (results/benchmark/poisson5d.csv): natural-nesterov ended at 2.8e-5, 3.8e-6 and 3.0e-5, engd at 2.5e-3,
1.2e-2 and 2.5e-4. The d = 2 network and solver (2 hidden layers of 32, svd, 900 + 120 fixed points) end at 2.7e-2
after 60 steps; cut-offs 3e-7 and 3e-8, points drawn once, width 128 and two hidden layers did worse in 60 s
(results/pdes)."""


PLANE_RUN = MappingProxyType({"optimizer": "natural-auto", "n_points": {"interior": 700, "boundary": 100, "neumann": 100}})
"""At d = 2: 700 + 100 points (the default network 2→32→32→1 and svd solver) and natural-auto. On the 2-core CPU, 60
steps, seeds 0–2: natural-auto ends at 2.7e-8, 9.2e-9 and 5.5e-9 in 9.3, 6.0 and 7.7 s, engd at 7.7e-9, 1.7e-8 and
1.4e-8 in 11.1, 12.6 and 11.6 s; with 900 + 120 points and 60 s natural-auto reaches engd's median final error first
(results/benchmark/bent-model-step). With engd, seeds 0–3, 60 steps: rel_l2 1e-7 after 23, 32, 55 and 27 steps
(10.0–21.9 s of training), ending at 7.7e-9, 1.7e-8, 1.4e-8 and 7.9e-9. The point counts were chosen with the Glorot
initialisation used before (``--init glorot``), which reached 1e-7 after 36, 31, 30 and 29 steps; with it the 900 + 120
points used before took 45 and 23 steps on seeds 0 and 2 and stayed at 0.66 on seed 3, at 1.5× the cost of a step (the
SVD of the 1,020-row system against the 800-row one); 500 + 100 points reached 1e-7 in 27–45 steps but ended as high as
7e-8."""


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

    Give ``exact`` (a torch function of ``x``) to derive ``f``, ``g`` and ``h`` from it; or give ``source`` (and
    optionally ``boundary`` and ``flux``, default 0) for a problem without a known solution, where no error is
    reported. With neither, the default manufactured solution of :func:`default_exact` is used. ``neumann``: faces
    such as ``"x1=0,x2=1"`` (:func:`pdes.neumann.parse_faces`).
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
    return dirichlet_problem(
        "poisson", Box.unit(dim), interior_residual, source, boundary, exact,
        f"−Δu = f on [0,1]^{dim}, u = g on the boundary; u* = {formula}",
        run_defaults=HIGH_DIMENSION_RUN if dim >= HIGH_DIMENSION else (PLANE_RUN if dim == 2 else None), sampler=sampler,
        neumann=faces, flux=flux, hard_bc=hard_bc,
    )
