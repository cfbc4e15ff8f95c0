"""The contract between the engine and a PDE library.

A problem is a list of ``Term`` objects. Each term owns its collocation points (drawn by its sampler),
a pointwise residual ``ρ(x, jet)`` written against the derivatives of a parameter-free field ``u``, and a weight
``w`` (default ``1/N_term``). The engine stacks ``r_i = √w · ρ(x_i)`` over all terms, so that the loss is

.. math:: L(θ) = \\tfrac12 \\sum_{t} w_t \\sum_{i \\in t} ρ_t(θ; x_i)^2 .
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor

DERIVATIVES = ("value", "grad", "laplacian", "hessian")


@dataclass(frozen=True)
class Jet:
    """Derivatives of a scalar field at points with batch shape ``B``.

    ``value``: ``B``; ``grad``: ``B × d`` (∂u/∂x_j, all coordinates); ``laplacian``: ``B``, the sum of
    ∂²u/∂x_j² over the term's ``laplacian_dims`` (all coordinates unless the term says otherwise); ``hessian``:
    ``B × d × d``, all second derivatives ∂²u/∂x_i∂x_j (mixed ones included; symmetric), e.g. ``u_xy`` is
    ``hessian[..., 0, 1]``. Parts a term did not ask for are ``None``.
    """

    value: Tensor
    grad: Tensor | None = None
    laplacian: Tensor | None = None
    hessian: Tensor | None = None


Residual = Callable[[Tensor, Jet, Tensor | None], Tensor]
Sampler = Callable[[int, torch.Generator], Tensor]
PointData = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Collocation:
    """The points ``x`` (``N × d``) of one term and its data ``g(x)`` (``N``, or ``None``), in the run's dtype and device.

    ``share_of``: when these points are a share of a larger set (the rest held elsewhere), that set's size, which the
    term's weight ``1/N`` is taken from; ``None`` when they are the whole set.
    """

    x: Tensor
    data: Tensor | None = None
    share_of: int | None = None

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def set_size(self) -> int:
        """The number of points of the whole set."""
        return len(self) if self.share_of is None else self.share_of


@dataclass(frozen=True)
class Term:
    """One residual term of a PDE problem.

    Attributes:
        name: the role of the term, e.g. ``"interior"``, ``"boundary"``, ``"initial"``; point counts are given per name.
        residual: ``ρ(x, jet, g) -> B`` for ``x`` of shape ``B × d`` and the term's data ``g = data(x)`` of shape ``B``.
            Written with ``...`` indexing so that it works on any batch shape (the engine evaluates it with extra
            leading dimensions in the line search, and point by point in the reference Jacobian).
        data: pointwise data ``g(x)`` the residual reads (source term, boundary or initial values), evaluated once
            per point set rather than at every residual evaluation; ``None`` if the residual needs none.
        sampler: ``(n, generator) -> n × d`` points in the term's region, in float64 on the CPU.
        needs: the parts of the ``Jet`` that ``residual`` reads, from ``DERIVATIVES`` (``value`` is always computed).
            Ask for ``laplacian`` when the operator is a Laplacian (its own, cheaper channel) and for ``hessian`` when
            it reads mixed or differently weighted second derivatives.
        laplacian_dims: coordinates summed in ``jet.laplacian`` (``None``: all). Heat uses the spatial ones only.
            ``jet.hessian`` always holds every coordinate.
        weight: ``w`` in the loss; ``None`` means ``mean_weight / N_term``.
        mean_weight: the weight of the term's mean-square residual, used where ``weight`` is ``None`` (so that it
            holds for any number of points).
        points: the number of points drawn for the term unless the run says otherwise (``n_points``).
    """

    name: str
    residual: Residual
    sampler: Sampler
    data: PointData | None = None
    needs: frozenset[str] = frozenset({"value"})
    laplacian_dims: tuple[int, ...] | None = None
    weight: float | None = None
    mean_weight: float = 1.0
    points: int = 1000

    def __post_init__(self) -> None:
        unknown = set(self.needs) - set(DERIVATIVES)
        if unknown:
            raise ValueError(f"term {self.name!r} needs unknown derivatives {sorted(unknown)}; choose from {DERIVATIVES}")
        if self.points < 1:
            raise ValueError(f"term {self.name!r}: the number of points must be ≥ 1, got {self.points}")
        if not self.mean_weight > 0:
            raise ValueError(f"term {self.name!r}: the weight of its mean-square residual must be > 0, "
                             f"got {self.mean_weight}")

    def collocate(self, x: Tensor) -> Collocation:
        """Attach the term's data to points ``x`` (already in the run's dtype and device)."""
        return Collocation(x, None if self.data is None else self.data(x))

    def weight_for(self, n_points: int) -> float:
        """The weight ``w`` of this term when it owns ``n_points`` points."""
        return self.mean_weight / n_points if self.weight is None else self.weight


@dataclass(frozen=True)
class Problem:
    """A PDE problem: residual terms on a domain of dimension ``dim``, with the exact solution when known.

    ``domain_sampler`` draws points of the whole domain, used to measure the error against ``exact``.
    ``bounds`` are the extents ``(lo_j, hi_j)`` of the domain's bounding box per input coordinate (``None``: not
    stated); ``time_axis`` is the input coordinate that is time, if any (heat: the last one). ``output``: when set,
    the field is ``u(x) = a(x) + b(x) N(x)`` with ``(a, b) = output(x)`` and ``N`` the network (an exactly imposed
    Dirichlet condition, ``pdes.hard``); the terms' residuals already read ``u``.
    ``mesh``: when set, ``mesh(resolution)`` returns a simplicial mesh of the spatial domain, ``(points, cells)`` as
    NumPy arrays ``m × d_s`` (float) and ``k × (d_s + 1)`` (int; segments, triangles or tetrahedra), with about
    ``resolution`` cells across its widest side, on which the output files are written; ``None``: the bounding
    box's grid.
    ``recommended`` are the run options (fields of ``pinn_natmom.options.Options``, e.g. ``hidden``) that this
    problem's library recommends where the user sets none.
    """

    name: str
    dim: int
    terms: tuple[Term, ...]
    domain_sampler: Sampler
    exact: Callable[[Tensor], Tensor] | None = None
    description: str = ""
    recommended: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    bounds: tuple[tuple[float, float], ...] | None = None
    time_axis: int | None = None
    output: Callable[[Tensor], tuple[Tensor, Tensor]] | None = None
    mesh: Callable[[int], tuple[Any, Any]] | None = None

    def field(self, network: Tensor, x: Tensor) -> Tensor:
        """``u(x)`` from the network's values ``N(x)`` (``network``; any leading batch shape)."""
        if self.output is None:
            return network
        offset, scale = self.output(x)
        return offset + scale * network

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"problem {self.name!r}: dimension must be at least 1, got {self.dim}")
        names = [t.name for t in self.terms]
        if len(set(names)) != len(names):
            raise ValueError(f"problem {self.name!r}: term names must be unique, got {names}")
        for term in self.terms:
            dims = term.laplacian_dims
            if dims is not None and (len(set(dims)) != len(dims) or not all(0 <= j < self.dim for j in dims)):
                raise ValueError(f"problem {self.name!r}: term {term.name!r} has Laplacian coordinates {dims}; "
                                 f"they must be distinct and within 0…{self.dim - 1}")
        if self.bounds is not None and (len(self.bounds) != self.dim or any(lo >= hi for lo, hi in self.bounds)):
            raise ValueError(f"problem {self.name!r}: bounds must be {self.dim} pairs (lo, hi) with lo < hi, got {self.bounds}")
        if self.time_axis is not None and not 0 <= self.time_axis < self.dim:
            raise ValueError(f"problem {self.name!r}: time axis must be within 0…{self.dim - 1}, got {self.time_axis}")

    @property
    def term_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.terms)

    @property
    def coordinate_names(self) -> tuple[str, ...]:
        """``x1, x2, …`` for the spatial coordinates in order and ``t`` for the time axis, e.g. ``("x1", "t")``."""
        spatial = iter(range(1, self.dim + 1))
        return tuple("t" if j == self.time_axis else f"x{next(spatial)}" for j in range(self.dim))
