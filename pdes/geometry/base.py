"""The contract of a domain: a closed, bounded set ``Ω ⊂ R^d`` with a named, piecewise smooth boundary.

Points are ``(n, d)`` tensors; samplers have the signature ``(n, generator) -> (n, d)`` float64 CPU tensor and give
the same points for the same generator state. Boundary parts are named (``parts``); ``part_of`` returns indices into
``parts``. ``contains(x, tol)`` tests the closed set grown by ``tol`` (``tol < 0``: only points at least ``|tol|``
inside count). Domains of one dimension combine by ``a | b`` (union), ``a & b`` (intersection) and ``a - b``
(difference), see ``pdes.geometry.csg``.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from pinn_natmom.problem import Sampler

from .sampling import KINDS, boundary_stream, check_kind, rejection_interior
from .triangulate import compress, delaunay, simplex_measures

if TYPE_CHECKING:
    from .box import Box
    from .csg import Difference, Intersection, Union


class Domain(ABC):
    """A closed bounded domain of ``R^dim``; see the module docstring for the conventions."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """The space dimension ``d``."""

    @property
    @abstractmethod
    def bounding_box(self) -> Box:
        """The smallest axis-aligned box holding the domain (or a box slightly larger, for set operations)."""

    @property
    def bounds(self) -> tuple[tuple[float, float], ...]:
        """``((lo_1, hi_1), …, (lo_d, hi_d))`` of the bounding box, the form ``Problem.bounds`` takes."""
        return self.bounding_box.bounds

    @property
    @abstractmethod
    def parts(self) -> tuple[str, ...]:
        """The names of the boundary parts."""

    @property
    @abstractmethod
    def measure(self) -> float:
        """The ``d``-dimensional volume."""

    @property
    @abstractmethod
    def boundary_measures(self) -> dict[str, float]:
        """The ``(d − 1)``-dimensional measure of each boundary part, keyed as ``parts``."""

    @abstractmethod
    def contains(self, x: Tensor, tol: float = 1e-12) -> Tensor:
        """``(n,)`` bool: which points lie in the domain grown by ``tol`` (boundary included)."""

    @abstractmethod
    def normal(self, x: Tensor) -> Tensor:
        """``(n, d)`` outward unit normals at boundary points ``x``, from the part each lies on."""

    @abstractmethod
    def part_of(self, x: Tensor) -> Tensor:
        """``(n,)`` int64 index into ``parts`` of the part each boundary point lies on."""

    @abstractmethod
    def boundary_distance(self, x: Tensor) -> Tensor:
        """``(n,)`` unsigned distance to the boundary: exact for shapes, a lower bound zero on the boundary for set
        operations."""

    @abstractmethod
    def outline(self, spacing: float) -> np.ndarray:
        """Deterministic points ``(m, d)`` on the boundary about ``spacing`` apart (corners included), for meshing."""

    def distance(self, x: Tensor) -> Tensor | None:
        """``(n,)`` signed distance to the boundary, positive inside, or ``None`` where no exact one is known."""
        return None

    def adf(self, x: Tensor) -> Tensor:
        """``(n,)`` approximate distance function ``φ`` (``pdes.geometry.rfunctions``): positive inside, zero on the
        boundary, negative outside, nonzero normal derivative on the boundary, twice differentiable by autograd
        inside and finite with finite derivatives on the closed domain."""
        raise NotImplementedError(f"{self!r} has no approximate distance function; impose its Dirichlet data weakly")

    def interior_sampler(self, kind: str = "uniform") -> Sampler:
        """Points of the design ``kind`` (``uniform``, ``sobol``, ``lhs``) in the domain, by rejection from the
        bounding box (``pdes.geometry.sampling.rejection_interior``)."""
        check_kind(kind, KINDS)
        return rejection_interior(self, kind)

    def boundary_sampler(self, parts: tuple[str, ...] | None = None, kind: str = "uniform") -> Sampler:
        """Points on the chosen parts (all by default), uniform with respect to the boundary measure, each part hit in
        proportion to its measure; ``kind`` ``uniform`` or ``sobol`` (scrambled Sobol points mapped onto the parts).

        The default maps ``boundary_arity`` coordinates of the unit cube through ``boundary_map``."""
        chosen = self.part_indices(parts)

        def sample(n: int, generator: torch.Generator) -> Tensor:
            return self.boundary_map(boundary_stream(kind, self.boundary_arity, generator)(n), chosen)

        return sample

    @property
    def boundary_arity(self) -> int:
        """The number of unit-cube coordinates ``boundary_map`` reads per point."""
        raise NotImplementedError(f"{type(self).__name__} samples its boundary without a map of the unit cube")

    def boundary_map(self, u: Tensor, chosen: tuple[int, ...]) -> Tensor:
        """Points on the parts ``chosen`` (indices into ``parts``) from ``u`` ``(n, boundary_arity)``: uniform
        points of ``[0, 1)^arity`` go to uniform points on those parts (the first coordinate picks the piece, in
        proportion to its measure, by the inverse distribution function)."""
        raise NotImplementedError(f"{type(self).__name__} samples its boundary without a map of the unit cube")

    def part_indices(self, parts: tuple[str, ...] | None) -> tuple[int, ...]:
        """Indices of the named parts (all by default); a ``ValueError`` naming the parts for unknown names."""
        if parts is None:
            return tuple(range(len(self.parts)))
        if isinstance(parts, str):
            parts = (parts,)
        unknown = [name for name in parts if name not in self.parts]
        if unknown or not parts:
            raise ValueError(f"unknown boundary part(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                             f"{self!r} has parts {', '.join(self.parts)}")
        return tuple(self.parts.index(name) for name in parts)

    def output_mesh(self, resolution: int) -> tuple[np.ndarray, np.ndarray]:
        """``(points (m, d), cells (k, d + 1))`` simplices covering the domain, for output files.

        With ``h = (largest bounding-box width) / resolution``: the grid points of spacing ``h`` at least ``h/4``
        inside, plus ``outline(h)``, Delaunay-triangulated (``pdes.geometry.triangulate``); cells whose centroid lies
        outside and degenerate cells are dropped."""
        if not 1 <= self.dim <= 3:
            raise ValueError(f"output meshes exist for 1-, 2- and 3-d domains, not {self.dim}-d")
        box = self.bounding_box
        h = float(box.widths.max()) / resolution
        axes = [np.linspace(lo, hi, max(2, math.ceil((hi - lo) / h) + 1)) for lo, hi in box.bounds]
        grid = np.stack([c.reshape(-1) for c in np.meshgrid(*axes, indexing="ij")], axis=1)
        grid = grid[self.contains(torch.from_numpy(grid), tol=-0.25 * h).numpy()]
        points = np.unique(np.concatenate([grid, self.outline(h)]), axis=0)
        cells = delaunay(points)
        centroids = torch.from_numpy(points[cells].mean(axis=1))
        keep = self.contains(centroids, tol=0.0).numpy() & (simplex_measures(points, cells) > 1e-9 * h**self.dim)
        return compress(points, cells[keep])

    def __or__(self, other: Domain) -> Union:
        from .csg import Union

        return Union(self, other) if isinstance(other, Domain) else NotImplemented

    def __and__(self, other: Domain) -> Intersection:
        from .csg import Intersection

        return Intersection(self, other) if isinstance(other, Domain) else NotImplemented

    def __sub__(self, other: Domain) -> Difference:
        from .csg import Difference

        return Difference(self, other) if isinstance(other, Domain) else NotImplemented
