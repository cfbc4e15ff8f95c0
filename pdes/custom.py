"""Your own PDE: ``pdes.custom(operator, domain, …)`` with the interior residual ``ρ = operator(x, u) − f(x)``.

``operator(x, u)`` is written with ``...`` indexing against a field ``u`` that exposes

- ``u.value`` (``…``), ``u.grad`` (``…, d``: the spatial gradient), ``u.laplacian`` (``…``: the spatial
  Laplacian), ``u.hessian`` (``…, d, d``: every spatial second derivative, the mixed ones included),
- and, for a space-time problem (``final_time`` given), ``u.dt`` (``…``), the time derivative;

linear or not in them, e.g. ``lambda x, u: -u.laplacian + u.value ** 3`` or
``lambda x, u: u.dt + u.value * u.grad[..., 0] - 0.05 * u.hessian[..., 0, 0]``. The engine computes only what the
operator reads: one call on a recording field at two points finds it (``derivatives_read``); an operator that
cannot be probed so gets every derivative.

With ``exact``, ``f = operator(x, u*)`` by automatic differentiation (``torch.func``), so that any operator gets a
manufactured problem from one line, and the Dirichlet (and initial) data are ``u*``; otherwise ``source`` is ``f``
(default 0) and ``boundary`` the Dirichlet data (default 0), which also gives the initial data ``u(x, 0)`` of a
space-time problem. ``neumann`` names boundary parts that carry ``∂u/∂n = h`` instead (``h`` from ``exact``, else
0). A space-time problem lives on ``domain × [0, final_time]`` with points ``(x…, t)`` as in ``pdes.heat``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import grad, hessian, vmap

from pinn_natmom.problem import Jet, Problem

from .common import zero
from .geometry import Domain
from .manufactured import Field
from .ondomain import as_domain, describe, domain_problem, neumann_parts

Operator = Callable[[Tensor, "FieldView"], Tensor]
POINTS = {"interior": 1000, "boundary": 200, "neumann": 200, "initial": 200}
"""Point counts per term."""
NEEDS = {"value": "value", "grad": "grad", "dt": "grad", "laplacian": "laplacian", "hessian": "hessian"}
"""The engine's derivative (``pinn_natmom.problem.DERIVATIVES``) behind each attribute an operator may read."""


@dataclass(frozen=True)
class FieldView:
    """What an operator sees of ``u``: the engine's jet over the inputs ``(x…[, t])``, cut to the spatial
    coordinates (the first ``spatial``); ``u.dt`` is the derivative along the last input of a space-time problem."""

    jet: Jet
    spatial: int
    timed: bool

    @property
    def value(self) -> Tensor:
        return self.jet.value

    @property
    def grad(self) -> Tensor:
        return self.jet.grad[..., : self.spatial]

    @property
    def laplacian(self) -> Tensor:
        if self.jet.laplacian is not None:
            return self.jet.laplacian
        return torch.diagonal(self.hessian, dim1=-2, dim2=-1).sum(dim=-1)

    @property
    def hessian(self) -> Tensor:
        return self.jet.hessian[..., : self.spatial, : self.spatial]

    @property
    def dt(self) -> Tensor:
        if not self.timed:
            raise AttributeError("u.dt exists for space-time problems only (give final_time)")
        return self.jet.grad[..., self.spatial]


class _Recorder:
    """A stand-in for ``FieldView`` that records which attributes an operator reads and answers with zeros."""

    def __init__(self, batch: int, spatial: int, timed: bool, dtype: torch.dtype) -> None:
        self.read: set[str] = set()
        self._shapes = {"value": (batch,), "grad": (batch, spatial), "laplacian": (batch,),
                        "hessian": (batch, spatial, spatial), "dt": (batch,)}
        self._timed, self._dtype = timed, dtype

    def __getattr__(self, name: str) -> Tensor:
        if name not in NEEDS or (name == "dt" and not self._timed):
            raise AttributeError(name)
        self.read.add(name)
        return torch.zeros(self._shapes[name], dtype=self._dtype)


def derivatives_read(operator: Operator, spatial: int, timed: bool) -> frozenset[str]:
    """The engine derivatives ``operator`` reads, found by calling it once on a recording field at two points; every
    derivative when that call fails."""
    recorder = _Recorder(2, spatial, timed, torch.float64)
    x = torch.full((2, spatial + timed), 0.5, dtype=torch.float64)
    try:
        operator(x, recorder)
    except Exception:  # an operator that cannot run on zeros is given everything
        return frozenset(NEEDS.values())
    return frozenset(NEEDS[name] for name in recorder.read) | {"value"}


def exact_jet(exact: Field, x: Tensor, spatial: int) -> Jet:
    """The value, gradient, Laplacian (over the first ``spatial`` inputs) and Hessian of ``exact`` at points ``x``,
    by ``torch.func``."""
    flat, batch = x.reshape(-1, x.shape[-1]), x.shape[:-1]
    h = vmap(hessian(exact))(flat)
    laplacian = torch.diagonal(h, dim1=-2, dim2=-1)[:, :spatial].sum(dim=-1)
    return Jet(exact(flat).reshape(batch), vmap(grad(exact))(flat).reshape(*batch, -1), laplacian.reshape(batch),
               h.reshape(*batch, *h.shape[-2:]))


def custom(
    operator: Operator,
    domain: str | Domain | None = None,
    exact: Field | None = None,
    source: Field | None = None,
    boundary: Field | None = None,
    final_time: float | None = None,
    neumann: str | Sequence[str] = "",
    name: str | None = None,
) -> Problem:
    """The problem ``operator(x, u) = f`` on ``domain`` (default the unit square), or on ``domain × [0,
    final_time]`` with an initial condition, with Dirichlet data on every boundary part but the ``neumann`` ones
    (module docstring)."""
    label = name or "custom"
    chosen = as_domain(domain, None, label, 2)
    if final_time is not None and not (math.isfinite(final_time) and final_time > 0):
        raise ValueError(f"{label}: final time must be a finite number > 0, got {final_time}")
    if exact is not None and (source is not None or boundary is not None):
        raise ValueError(f"{label}: give either an exact solution (the data are derived from it) or source/boundary "
                         "data, not both")
    spatial, timed = chosen.dim, final_time is not None
    needs = derivatives_read(operator, spatial, timed)
    faces = neumann_parts(neumann, chosen, label)
    if exact is not None:
        source = lambda x: operator(x, FieldView(exact_jet(exact, x, spatial), spatial, timed))
        boundary = exact
    source, boundary = source or zero, boundary or zero

    def residual(x: Tensor, jet: Jet, f: Tensor | None) -> Tensor:
        """``ρ = operator(x, u) − f``."""
        return operator(x, FieldView(jet, spatial, timed)) - f

    over = f" × [0,{final_time:g}]" if timed else ""
    return domain_problem(label, chosen, residual, source, boundary, exact,
                          f"{label}: operator(x, u) = f on {describe(chosen)}{over}", POINTS, {}, "uniform", faces,
                          None, False, needs=needs, final_time=final_time, initial=boundary)
