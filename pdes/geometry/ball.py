"""The ball ``{x : |x − c| ≤ r}`` in any dimension (a disk in 2-d), with one boundary part ``"boundary"``."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from pinn_natmom.problem import Sampler

from .base import Domain
from .box import Box
from .sampling import KINDS, check_kind


class Ball(Domain):
    """The ball of ``center`` (a sequence of ``d`` numbers) and ``radius > 0``."""

    def __init__(self, center: tuple[float, ...] | list[float], radius: float) -> None:
        self.center = tuple(float(v) for v in center)
        self.radius = float(radius)
        if not self.center:
            raise ValueError("a ball needs a center with at least one coordinate")
        if not self.radius > 0:
            raise ValueError(f"a ball needs a positive radius, got {radius}")

    def __repr__(self) -> str:
        return f"Ball({self.center}, {self.radius})"

    @property
    def dim(self) -> int:
        return len(self.center)

    @property
    def bounding_box(self) -> Box:
        return Box(tuple(c - self.radius for c in self.center), tuple(c + self.radius for c in self.center))

    @property
    def parts(self) -> tuple[str, ...]:
        return ("boundary",)

    @property
    def measure(self) -> float:
        """``π^{d/2} r^d / Γ(d/2 + 1)``."""
        d = self.dim
        return math.pi ** (d / 2) * self.radius**d / math.gamma(d / 2 + 1)

    @property
    def boundary_measures(self) -> dict[str, float]:
        """``d π^{d/2} r^{d−1} / Γ(d/2 + 1)`` (2 points for ``d = 1``)."""
        return {"boundary": self.dim * self.measure / self.radius}

    def _offset(self, x: Tensor) -> Tensor:
        return x - torch.tensor(self.center, dtype=x.dtype, device=x.device)

    def contains(self, x: Tensor, tol: float = 1e-12) -> Tensor:
        """``|x − c| ≤ r + tol``."""
        return torch.linalg.norm(self._offset(x), dim=-1) <= self.radius + tol

    def distance(self, x: Tensor) -> Tensor:
        """``r − |x − c|``."""
        return self.radius - torch.linalg.norm(self._offset(x), dim=-1)

    def boundary_distance(self, x: Tensor) -> Tensor:
        return self.distance(x).abs()

    def adf(self, x: Tensor) -> Tensor:
        """``(r² − |x − c|²) / (2r)``."""
        y = self._offset(x)
        return (self.radius**2 - (y * y).sum(dim=-1)) / (2.0 * self.radius)

    def normal(self, x: Tensor) -> Tensor:
        """``(x − c) / |x − c|`` (``e_1`` at the centre)."""
        y = self._offset(x)
        norm = torch.linalg.norm(y, dim=-1, keepdim=True)
        y = torch.where(norm > 0, y, torch.eye(self.dim, dtype=x.dtype, device=x.device)[0])
        return y / torch.linalg.norm(y, dim=-1, keepdim=True)

    def part_of(self, x: Tensor) -> Tensor:
        return torch.zeros(len(x), dtype=torch.long, device=x.device)

    def interior_sampler(self, kind: str = "uniform") -> Sampler:
        """``uniform``: ``c + r U^{1/d} g/|g|`` with ``g`` standard Gaussian and ``U`` uniform; ``sobol``, ``lhs``:
        rejection from the bounding box."""
        check_kind(kind, KINDS)
        if kind != "uniform":
            return super().interior_sampler(kind)

        def sample(n: int, generator: torch.Generator) -> Tensor:
            g = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
            u = torch.rand(n, 1, generator=generator, dtype=torch.float64)
            direction = g / torch.linalg.norm(g, dim=-1, keepdim=True)
            return torch.tensor(self.center, dtype=torch.float64) + self.radius * u ** (1.0 / self.dim) * direction

        return sample

    @property
    def boundary_arity(self) -> int:
        return 1 if self.dim <= 2 else self.dim

    def boundary_map(self, u: Tensor, chosen: tuple[int, ...]) -> Tensor:
        """1-d: the two end points by ``u < 1/2``; 2-d: the angle ``2πu``; ``d ≥ 3``: the direction of the Gaussian
        ``√2 erf⁻¹(2u − 1)``."""
        if self.dim == 1:
            direction = torch.where(u < 0.5, -1.0, 1.0).to(torch.float64)
        elif self.dim == 2:
            angle = 2.0 * math.pi * u[:, 0]
            direction = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
        else:
            eps = torch.finfo(torch.float64).eps
            g = math.sqrt(2.0) * torch.erfinv(2.0 * u.clamp(eps, 1.0 - eps) - 1.0)
            direction = g / torch.linalg.norm(g, dim=-1, keepdim=True)
        return torch.tensor(self.center, dtype=torch.float64) + self.radius * direction

    def outline(self, spacing: float) -> np.ndarray:
        """2-d: ``⌈2πr/h⌉`` equally spaced points; 3-d: a Fibonacci sphere of about ``4πr²/h²`` points; 1-d: the
        two end points."""
        c = np.array(self.center)
        if self.dim == 1:
            return np.array([[c[0] - self.radius], [c[0] + self.radius]])
        if self.dim == 2:
            m = max(8, math.ceil(2 * math.pi * self.radius / spacing))
            angle = 2 * math.pi * np.arange(m) / m
            return c + self.radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        if self.dim == 3:
            m = max(12, math.ceil(4 * math.pi * self.radius**2 / spacing**2))
            z = 1 - (2 * np.arange(m) + 1) / m
            angle = math.pi * (3 - math.sqrt(5)) * np.arange(m)
            ring = np.sqrt(1 - z**2)
            return c + self.radius * np.stack([ring * np.cos(angle), ring * np.sin(angle), z], axis=1)
        raise ValueError(f"output meshes exist for 1-, 2- and 3-d domains, not {self.dim}-d")
