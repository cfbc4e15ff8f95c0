"""Boxes and the samplers that draw collocation points in them.

Every sampler has the signature ``(n, generator) -> n × d`` float64 tensor on the CPU, so that the same seed gives
the same points on every device; the engine converts them to the run's dtype and device.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from pinn_natmom.problem import Sampler


@dataclass(frozen=True)
class Box:
    """The box ``[lo_1, hi_1] × … × [lo_d, hi_d]``."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]

    def __post_init__(self) -> None:
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
        """The (d−1)-dimensional measure of each face, ordered ``(lo_1, hi_1, lo_2, hi_2, …)``."""
        w = self.widths
        if self.dim == 1:
            return torch.ones(2, dtype=torch.float64)
        per_axis = torch.stack([w[torch.arange(self.dim) != j].prod() for j in range(self.dim)])
        return per_axis.repeat_interleave(2)


def uniform_interior(box: Box) -> Sampler:
    """Independent uniform points in the box."""

    def sample(n: int, generator: torch.Generator) -> Tensor:
        return box.scale(torch.rand(n, box.dim, generator=generator, dtype=torch.float64))

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
        values = torch.where(side == 0, torch.tensor(box.lo, dtype=torch.float64)[axis], torch.tensor(box.hi, dtype=torch.float64)[axis])
        points[torch.arange(n), axis] = values
        return points

    return sample


def sobol_interior(box: Box) -> Sampler:
    """Scrambled Sobol points in the box (torch's ``SobolEngine``), the scrambling seeded from ``generator``."""

    def sample(n: int, generator: torch.Generator) -> Tensor:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        engine = torch.quasirandom.SobolEngine(box.dim, scramble=True, seed=seed)
        return box.scale(engine.draw(n, dtype=torch.float64))

    return sample


def latin_hypercube_interior(box: Box) -> Sampler:
    """Latin hypercube: in every coordinate each of the ``n`` strata ``[i/n, (i+1)/n)`` holds exactly one point."""

    def sample(n: int, generator: torch.Generator) -> Tensor:
        strata = torch.stack([torch.randperm(n, generator=generator) for _ in range(box.dim)], dim=1)
        jitter = torch.rand(n, box.dim, generator=generator, dtype=torch.float64)
        return box.scale((strata + jitter) / n)

    return sample


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


INTERIOR_SAMPLERS = {
    "uniform": uniform_interior, "sobol": sobol_interior, "lhs": latin_hypercube_interior, "grid": grid_interior,
}


def interior_sampler(name: str, box: Box) -> Sampler:
    """The interior sampler ``name`` of ``INTERIOR_SAMPLERS`` on ``box``."""
    if name not in INTERIOR_SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose from {', '.join(INTERIOR_SAMPLERS)}")
    return INTERIOR_SAMPLERS[name](box)
