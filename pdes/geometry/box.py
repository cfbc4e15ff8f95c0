"""The box ``[lo_1, hi_1] × … × [lo_d, hi_d]`` and its samplers.

Its boundary parts are the faces, named as in ``pdes.neumann``: ``"x1=0"`` is ``x_1 = lo_1`` (normal ``−e_1``),
``"x1=1"`` is ``x_1 = hi_1`` (normal ``+e_1``), coordinates counted from 1 whatever ``lo`` and ``hi`` are; face
index ``2j`` is ``x_{j+1} = lo``, ``2j + 1`` is ``x_{j+1} = hi`` (the order of ``parts``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from pinn_natmom.problem import Sampler

from .base import Domain
from .rfunctions import conjunction
from .sampling import box_interior, check_kind, pick
from .triangulate import kuhn


@dataclass(frozen=True)
class Box(Domain):
    """The box ``[lo_1, hi_1] × … × [lo_d, hi_d]`` (``lo``, ``hi`` any sequences of numbers, stored as float tuples)."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "lo", tuple(float(v) for v in self.lo))
        object.__setattr__(self, "hi", tuple(float(v) for v in self.hi))
        if len(self.lo) != len(self.hi) or not self.lo:
            raise ValueError(f"box bounds must have the same positive length, got {self.lo} and {self.hi}")
        if any(h <= lo for lo, h in zip(self.lo, self.hi, strict=True)):
            raise ValueError(f"box needs lo < hi in every coordinate, got {self.lo} and {self.hi}")

    @classmethod
    def unit(cls, dim: int) -> Box:
        """``[0, 1]^d``."""
        return cls((0.0,) * dim, (1.0,) * dim)

    @property
    def dim(self) -> int:
        return len(self.lo)

    @property
    def bounding_box(self) -> Box:
        return self

    @property
    def bounds(self) -> tuple[tuple[float, float], ...]:
        """``((lo_1, hi_1), …, (lo_d, hi_d))``."""
        return tuple(zip(self.lo, self.hi, strict=True))

    @property
    def widths(self) -> Tensor:
        return torch.tensor(self.hi, dtype=torch.float64) - torch.tensor(self.lo, dtype=torch.float64)

    def scale(self, unit_points: Tensor) -> Tensor:
        """Map points of ``[0, 1]^d`` affinely onto the box."""
        return torch.tensor(self.lo, dtype=torch.float64) + unit_points * self.widths

    def face_measures(self) -> Tensor:
        """The (d−1)-dimensional measure of each face, ordered ``(lo_1, hi_1, lo_2, hi_2, …)`` (1 for ``d = 1``)."""
        w = self.widths
        if self.dim == 1:
            return torch.ones(2, dtype=torch.float64)
        per_axis = torch.stack([w[torch.arange(self.dim) != j].prod() for j in range(self.dim)])
        return per_axis.repeat_interleave(2)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(f"x{j + 1}={side}" for j in range(self.dim) for side in (0, 1))

    @property
    def measure(self) -> float:
        """``Π_j (hi_j − lo_j)``."""
        return math.prod(h - lo for lo, h in zip(self.lo, self.hi, strict=True))

    @property
    def boundary_measures(self) -> dict[str, float]:
        return dict(zip(self.parts, self.face_measures().tolist(), strict=True))

    def _lo_hi(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return (torch.tensor(self.lo, dtype=x.dtype, device=x.device),
                torch.tensor(self.hi, dtype=x.dtype, device=x.device))

    def contains(self, x: Tensor, tol: float = 1e-12) -> Tensor:
        """``lo_j − tol ≤ x_j ≤ hi_j + tol`` for every ``j``."""
        lo, hi = self._lo_hi(x)
        return ((x >= lo - tol) & (x <= hi + tol)).all(dim=-1)

    def part_of(self, x: Tensor) -> Tensor:
        """The face nearest to each point (``argmin_j min(|x_j − lo_j|, |x_j − hi_j|)``, lower faces first on ties)."""
        lo, hi = self._lo_hi(x)
        gaps = torch.stack([(x - lo).abs(), (x - hi).abs()], dim=-1).reshape(*x.shape[:-1], 2 * self.dim)
        return gaps.argmin(dim=-1)

    def normal(self, x: Tensor) -> Tensor:
        """``∓e_j`` of the nearest face."""
        face = self.part_of(x)
        n = torch.zeros_like(x)
        n[torch.arange(len(x), device=x.device), face // 2] = torch.where(face % 2 == 1, 1.0, -1.0).to(x.dtype)
        return n

    def distance(self, x: Tensor) -> Tensor:
        """With ``q_j = max(lo_j − x_j, x_j − hi_j)``: ``−(|max(q, 0)| + min(max_j q_j, 0))``."""
        lo, hi = self._lo_hi(x)
        q = torch.maximum(lo - x, x - hi)
        return -(torch.linalg.norm(q.clamp_min(0.0), dim=-1) + q.max(dim=-1).values.clamp_max(0.0))

    def boundary_distance(self, x: Tensor) -> Tensor:
        return self.distance(x).abs()

    def adf(self, x: Tensor) -> Tensor:
        """The R-conjunction of the slabs ``s_j = (x_j − lo_j)(hi_j − x_j) / (hi_j − lo_j)``."""
        lo, hi = self._lo_hi(x)
        slabs = (x - lo) * (hi - x) / (hi - lo)
        phi = slabs[..., 0]
        for j in range(1, self.dim):
            phi = conjunction(phi, slabs[..., j])
        return phi

    def interior_sampler(self, kind: str = "uniform") -> Sampler:
        """``INTERIOR_SAMPLERS[kind]`` on the box (``uniform``, ``sobol``, ``lhs``, ``grid``)."""
        return interior_sampler(kind, self)

    def boundary_sampler(self, parts: tuple[str, ...] | None = None, kind: str = "uniform") -> Sampler:
        """``uniform``: ``uniform_boundary`` on the chosen faces; ``sobol``: the boundary map of Sobol points."""
        if kind == "uniform":
            return uniform_boundary(self, self.part_indices(parts))
        return super().boundary_sampler(parts, kind)

    @property
    def boundary_arity(self) -> int:
        return self.dim

    def boundary_map(self, u: Tensor, chosen: tuple[int, ...]) -> Tensor:
        """``u_1`` picks the face, ``u_2 … u_d`` fill the other coordinates in order."""
        n = len(u)
        face = torch.tensor(chosen)[pick(self.face_measures()[list(chosen)], u[:, 0])]
        axis, side = face // 2, face % 2
        unit = torch.zeros(n, self.dim, dtype=torch.float64)
        others = torch.arange(self.dim - 1).expand(n, -1)
        others = others + (others >= axis.unsqueeze(1)).long()
        unit.scatter_(1, others, u[:, 1:])
        points = self.scale(unit)
        lo, hi = self._lo_hi(points)
        points[torch.arange(n), axis] = torch.where(side == 0, lo[axis], hi[axis])
        return points

    def _grid(self, spacing: float) -> tuple[np.ndarray, tuple[int, ...]]:
        counts = tuple(max(2, math.ceil((h - lo) / spacing) + 1) for lo, h in self.bounds)
        axes = [np.linspace(lo, h, c) for (lo, h), c in zip(self.bounds, counts, strict=True)]
        return np.stack([c.reshape(-1) for c in np.meshgrid(*axes, indexing="ij")], axis=1), counts

    def outline(self, spacing: float) -> np.ndarray:
        """The points of the grid of spacing ``≤ spacing`` that lie on a face."""
        grid, _ = self._grid(spacing)
        return grid[((grid == np.array(self.lo)) | (grid == np.array(self.hi))).any(axis=1)]

    def output_mesh(self, resolution: int) -> tuple[np.ndarray, np.ndarray]:
        """The Kuhn triangulation of the grid of spacing ``≤ (largest width) / resolution``."""
        grid, counts = self._grid(float(self.widths.max()) / resolution)
        return grid, kuhn(counts)


def uniform_interior(box: Box) -> Sampler:
    """Independent uniform points in the box."""
    return box_interior(box, "uniform")


def sobol_interior(box: Box) -> Sampler:
    """Scrambled Sobol points in the box (torch's ``SobolEngine``), the scrambling seeded from ``generator``."""
    return box_interior(box, "sobol")


def latin_hypercube_interior(box: Box) -> Sampler:
    """Latin hypercube: in every coordinate each of the ``n`` strata ``[i/n, (i+1)/n)`` holds exactly one point."""
    return box_interior(box, "lhs")


def grid_interior(box: Box) -> Sampler:
    """The tensor grid of cell centres, ``m`` per coordinate; ``n`` must be ``m^d`` (the same points every draw)."""

    def sample(n: int, generator: torch.Generator) -> Tensor:
        m = round(n ** (1.0 / box.dim))
        if m**box.dim != n:
            raise ValueError(f"the grid sampler needs a number of points that is a {box.dim}-th power, got {n} "
                             f"(e.g. {max(m, 1) ** box.dim} or {(m + 1) ** box.dim})")
        axis = (torch.arange(m, dtype=torch.float64) + 0.5) / m
        mesh = torch.meshgrid(*([axis] * box.dim), indexing="ij")
        return box.scale(torch.stack([c.reshape(-1) for c in mesh], dim=1))

    return sample


def uniform_boundary(box: Box, faces: tuple[int, ...] | None = None) -> Sampler:
    """Uniform points on the chosen faces of the box (all by default), each face hit in proportion to its measure.

    Face ``2j`` is ``x_j = lo_j``, face ``2j + 1`` is ``x_j = hi_j``.
    """
    chosen = tuple(range(2 * box.dim)) if faces is None else faces
    measures = box.face_measures()[list(chosen)]

    def sample(n: int, generator: torch.Generator) -> Tensor:
        points = box.scale(torch.rand(n, box.dim, generator=generator, dtype=torch.float64))
        which = torch.multinomial(measures, n, replacement=True, generator=generator)
        face = torch.tensor(chosen)[which]
        axis, side = face // 2, face % 2
        lo, hi = torch.tensor(box.lo, dtype=torch.float64), torch.tensor(box.hi, dtype=torch.float64)
        points[torch.arange(n), axis] = torch.where(side == 0, lo[axis], hi[axis])
        return points

    return sample


INTERIOR_SAMPLERS = {
    "uniform": uniform_interior, "sobol": sobol_interior, "lhs": latin_hypercube_interior, "grid": grid_interior,
}


def interior_sampler(name: str, box: Box) -> Sampler:
    """The interior sampler ``name`` of ``INTERIOR_SAMPLERS`` on ``box``."""
    check_kind(name, tuple(INTERIOR_SAMPLERS))
    return INTERIOR_SAMPLERS[name](box)
