"""Set operations on domains of one dimension: ``a | b`` (``Union``), ``a & b`` (``Intersection``), ``a - b``
(``Difference``).

- ``contains``: ``a ∪ b``, ``a ∩ b``, and ``a`` minus the interior of ``b`` (for ``tol < 0`` a union misses points
  near a seam inside it that are within ``|tol|`` of both operands' boundaries).
- Boundary: the pieces of each operand's boundary parts that lie on the result's boundary. A point ``p`` of
  operand ``k``'s boundary with result normal ``n`` (the operand's, negated for the subtracted ``b``) lies on it when
  ``p − εn`` is inside and ``p + εn`` outside the result (``ε = 10⁻⁸ × diameter`` of the bounding box); where both
  operands' boundaries coincide with the same orientation, the piece belongs to ``a``. Part names are the
  operands' (those present in both get the prefixes ``"a."`` and ``"b."``), or renamed by ``names``; parts whose
  measure on the result is zero are dropped.
- Measures: closed forms when one operand lies strictly inside the other (a ball whose centre is more than its
  radius from the other's boundary by exact signed distance, or a box or polygon with every vertex strictly inside a
  box or ball); otherwise quasi-Monte Carlo with ``2^20`` scrambled Sobol points (fixed seed): the volume as the
  fraction of points of the bounding box inside; each part's measure as its measure on the operand times the fraction
  of its points among ``2^20`` Sobol points on the operand's whole boundary that lie on the result's boundary
  (relative error about ``10⁻³``).
- Samplers: interior by rejection from the bounding box; boundary by choosing each point's part in proportion to
  its measure and rejecting the operand's boundary points of that part not on the result's boundary.
- ``normal``/``part_of``: from the operand whose boundary is nearer (``a`` on ties, e.g. at corners where both
  meet); ``part_of`` is ``−1`` on a dropped part. ``adf``: ``φ_a ∨ φ_b``, ``φ_a ∧ φ_b``, ``φ_a ∧ (−φ_b)``
  (``pdes.geometry.rfunctions``). ``distance`` is ``None``.
"""
from __future__ import annotations

import itertools
import math
from abc import abstractmethod
from collections.abc import Mapping
from functools import cached_property

import numpy as np
import torch
from torch import Tensor

from pinn_natmom.problem import Sampler

from .ball import Ball
from .base import Domain
from .box import Box
from .polygon import Polygon
from .rfunctions import conjunction, disjunction
from .sampling import BOUNDARY_KINDS, check_kind

QMC_POINTS = 2**20
QMC_SEED = 2022
CHUNK = 2**16


def _vertices(domain: Domain) -> Tensor | None:
    """The vertices of a box or polygon (``None`` for other domains)."""
    if isinstance(domain, Box):
        return torch.tensor(list(itertools.product(*domain.bounds)), dtype=torch.float64)
    if isinstance(domain, Polygon):
        return torch.from_numpy(domain.vertices)
    return None


def strictly_inside(inner: Domain, outer: Domain) -> bool:
    """A sufficient test that ``inner`` lies in the interior of ``outer`` (module docstring)."""
    if isinstance(inner, Ball):
        gap = outer.distance(torch.tensor([inner.center], dtype=torch.float64))
        return gap is not None and float(gap[0]) > inner.radius
    vertices = _vertices(inner)
    return vertices is not None and isinstance(outer, (Box, Ball)) and bool((outer.distance(vertices) > 0).all())


class SetOperation(Domain):
    """The common part of ``Union``, ``Intersection`` and ``Difference`` (module docstring)."""

    symbol: str
    word: str

    def __init__(self, a: Domain, b: Domain, names: Mapping[str, str] | None = None) -> None:
        if a.dim != b.dim:
            raise ValueError(f"cannot combine {a!r} with {b!r}: dimensions {a.dim} and {b.dim} differ")
        self.a, self.b = a, b
        self._box = self._bounding_box()
        self.diameter = float(torch.linalg.norm(self._box.widths))
        clash = set(a.parts) & set(b.parts)
        self.candidates = [(k, part, f"{'ab'[k]}.{part}" if part in clash else part)
                           for k, operand in enumerate((a, b)) for part in operand.parts]
        self._names = self._renamed(names or {})
        inside_b, inside_a = strictly_inside(b, a), strictly_inside(a, b)
        self._closed = (1 if inside_b else 0 if inside_a else None)
        self._measure = self._closed_measure() if self._closed is not None else self._qmc_measure()
        if self._measure <= 0:
            raise ValueError(f"the {self.word} {self!r} is empty: none of {QMC_POINTS} quasi-random points of its "
                             "bounding box lies in it")

    def _renamed(self, names: Mapping[str, str]) -> list[str]:
        defaults = [name for _, _, name in self.candidates]
        unknown = [key for key in names if key not in defaults]
        if unknown:
            raise ValueError(f"cannot rename {', '.join(map(repr, unknown))}: the parts are {', '.join(defaults)}")
        renamed = [names.get(name, name) for name in defaults]
        if len(set(renamed)) != len(renamed):
            raise ValueError(f"renaming the parts {', '.join(defaults)} by {dict(names)} repeats a name")
        return renamed

    def __repr__(self) -> str:
        return f"({self.a!r} {self.symbol} {self.b!r})"

    @property
    def dim(self) -> int:
        return self.a.dim

    @property
    def bounding_box(self) -> Box:
        return self._box

    @property
    def measure(self) -> float:
        return self._measure

    @abstractmethod
    def _bounding_box(self) -> Box:
        """A box holding the result."""

    @abstractmethod
    def _closed_measure(self) -> float:
        """The volume when operand ``self._closed`` (0: ``a``, 1: ``b``) lies strictly inside the other."""

    @abstractmethod
    def _closed_boundary(self, k: int) -> bool:
        """Whether operand ``k``'s boundary lies on the result's boundary in the closed-form case."""

    def _sign(self, k: int) -> float:
        """``+1``, or ``−1`` where operand ``k``'s outward normal points into the result."""
        return 1.0

    def _qmc_measure(self) -> float:
        engine = torch.quasirandom.SobolEngine(self.dim, scramble=True, seed=QMC_SEED)
        inside = sum(int(self.contains(self._box.scale(engine.draw(CHUNK, dtype=torch.float64)), tol=0.0).sum())
                     for _ in range(QMC_POINTS // CHUNK))
        return self._box.measure * inside / QMC_POINTS

    @cached_property
    def _part_measures(self) -> list[float]:
        """The measure of every candidate part on the result's boundary: exact in the closed-form case, else
        ``|p| × (the fraction of the Sobol boundary points of operand X on its part p that lie on the result's
        boundary)``, from ``2^20`` points on X's whole boundary."""
        if self._closed is not None:
            return [(self.a, self.b)[k].boundary_measures[part] if self._closed_boundary(k) else 0.0
                    for k, part, _ in self.candidates]
        measures = []
        for k, operand in enumerate((self.a, self.b)):
            points = operand.boundary_sampler(None, "sobol")(QMC_POINTS, torch.Generator().manual_seed(QMC_SEED))
            drawn = torch.zeros(len(operand.parts), dtype=torch.long)
            kept = torch.zeros(len(operand.parts), dtype=torch.long)
            for chunk in points.split(CHUNK):
                part, on = operand.part_of(chunk), self.on_boundary(chunk, k)
                named = part >= 0
                drawn += torch.bincount(part[named], minlength=len(operand.parts))
                kept += torch.bincount(part[named & on], minlength=len(operand.parts))
            measures += [operand.boundary_measures[p] * int(m) / max(int(n), 1)
                         for p, m, n in zip(operand.parts, kept, drawn, strict=True)]
        return measures

    @cached_property
    def _kept(self) -> list[int]:
        """Indices into ``candidates`` of the parts of positive measure, in order."""
        return [i for i, m in enumerate(self._part_measures) if m > 0]

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self._names[i] for i in self._kept)

    @property
    def boundary_measures(self) -> dict[str, float]:
        return {self._names[i]: self._part_measures[i] for i in self._kept}

    def on_boundary(self, points: Tensor, k: int) -> Tensor:
        """Which boundary points of operand ``k`` lie on the result's boundary (module docstring)."""
        operand = (self.a, self.b)[k]
        step = 1e-8 * self.diameter * self._sign(k) * operand.normal(points)
        on = self.contains(points - step, tol=0.0) & ~self.contains(points + step, tol=0.0)
        if k == 1:
            tol = 1e-10 * self.diameter
            on &= ~(self.a.contains(points, tol) & ~self.a.contains(points, -tol))
        return on

    def boundary_sampler(self, parts: tuple[str, ...] | None = None, kind: str = "uniform") -> Sampler:
        """Each point's part drawn in proportion to its measure, then the operand's boundary points of that part
        (``kind``: ``uniform`` or ``sobol``) kept while they lie on the result's boundary, in batches of about
        ``1.1 × needed / (fraction kept) + 16``."""
        check_kind(kind, BOUNDARY_KINDS)
        chosen = [self._kept[i] for i in self.part_indices(parts)]
        weights = torch.tensor([self._part_measures[i] for i in chosen], dtype=torch.float64)

        def sample(n: int, generator: torch.Generator) -> Tensor:
            which = torch.multinomial(weights, n, replacement=True, generator=generator)
            out = torch.empty(n, self.dim, dtype=torch.float64)
            for j, i in enumerate(chosen):
                mask = which == j
                if mask.any():
                    out[mask] = self._draw(i, int(mask.sum()), kind, generator)
            return out

        return sample

    def _draw(self, i: int, count: int, kind: str, generator: torch.Generator) -> Tensor:
        k, part, _ = self.candidates[i]
        operand = (self.a, self.b)[k]
        sampler = operand.boundary_sampler((part,), kind)
        acceptance = self._part_measures[i] / operand.boundary_measures[part]
        kept, got = [], 0
        while got < count:
            points = sampler(math.ceil(1.1 * (count - got) / acceptance) + 16, generator)
            points = points[self.on_boundary(points, k)]
            kept.append(points)
            got += len(points)
        return torch.cat(kept)[:count]

    def _nearer_b(self, x: Tensor) -> Tensor:
        return self.b.boundary_distance(x) < self.a.boundary_distance(x)

    def normal(self, x: Tensor) -> Tensor:
        return torch.where(self._nearer_b(x).unsqueeze(-1), self._sign(1) * self.b.normal(x), self.a.normal(x))

    def part_of(self, x: Tensor) -> Tensor:
        lookup = []
        for k, operand in enumerate((self.a, self.b)):
            table = torch.full((len(operand.parts),), -1, dtype=torch.long)
            for position, i in enumerate(self._kept):
                if self.candidates[i][0] == k:
                    table[operand.parts.index(self.candidates[i][1])] = position
            lookup.append(table.to(x.device))
        return torch.where(self._nearer_b(x), lookup[1][self.b.part_of(x)], lookup[0][self.a.part_of(x)])

    def boundary_distance(self, x: Tensor) -> Tensor:
        """``min(dist(x, ∂a), dist(x, ∂b))``, a lower bound of the distance to the result's boundary."""
        return torch.minimum(self.a.boundary_distance(x), self.b.boundary_distance(x))

    def outline(self, spacing: float) -> np.ndarray:
        """The operands' outline points in the result (within ``10⁻⁹ ×`` diameter)."""
        points = np.concatenate([self.a.outline(spacing), self.b.outline(spacing)])
        return points[self.contains(torch.from_numpy(points), tol=1e-9 * self.diameter).numpy()]


class Union(SetOperation):
    """``a ∪ b``."""

    symbol, word = "|", "union"

    def _bounding_box(self) -> Box:
        (a_lo, a_hi), (b_lo, b_hi) = zip(*self.a.bounds, strict=True), zip(*self.b.bounds, strict=True)
        return Box(tuple(map(min, a_lo, b_lo)), tuple(map(max, a_hi, b_hi)))

    def _closed_measure(self) -> float:
        return (self.a, self.b)[1 - self._closed].measure

    def _closed_boundary(self, k: int) -> bool:
        return k != self._closed

    def contains(self, x: Tensor, tol: float = 1e-12) -> Tensor:
        return self.a.contains(x, tol) | self.b.contains(x, tol)

    def adf(self, x: Tensor) -> Tensor:
        """``φ_a ∨ φ_b``."""
        return disjunction(self.a.adf(x), self.b.adf(x))


class Intersection(SetOperation):
    """``a ∩ b``."""

    symbol, word = "&", "intersection"

    def _bounding_box(self) -> Box:
        (a_lo, a_hi), (b_lo, b_hi) = zip(*self.a.bounds, strict=True), zip(*self.b.bounds, strict=True)
        lo, hi = tuple(map(max, a_lo, b_lo)), tuple(map(min, a_hi, b_hi))
        if any(low >= high for low, high in zip(lo, hi, strict=True)):
            raise ValueError(f"the intersection {self!r} is empty: the operands' bounding boxes do not overlap")
        return Box(lo, hi)

    def _closed_measure(self) -> float:
        return (self.a, self.b)[self._closed].measure

    def _closed_boundary(self, k: int) -> bool:
        return k == self._closed

    def contains(self, x: Tensor, tol: float = 1e-12) -> Tensor:
        return self.a.contains(x, tol) & self.b.contains(x, tol)

    def adf(self, x: Tensor) -> Tensor:
        """``φ_a ∧ φ_b``."""
        return conjunction(self.a.adf(x), self.b.adf(x))


class Difference(SetOperation):
    """``a`` minus the interior of ``b`` (the closure of ``a \\ b``)."""

    symbol, word = "-", "difference"

    def __init__(self, a: Domain, b: Domain, names: Mapping[str, str] | None = None) -> None:
        if a.dim == b.dim and strictly_inside(a, b):
            raise ValueError(f"the difference {a!r} - {b!r} is empty: the first lies inside the second")
        super().__init__(a, b, names)

    def _bounding_box(self) -> Box:
        return self.a.bounding_box

    def _closed_measure(self) -> float:
        return self.a.measure - self.b.measure

    def _closed_boundary(self, k: int) -> bool:
        return True

    def _sign(self, k: int) -> float:
        return -1.0 if k == 1 else 1.0

    def contains(self, x: Tensor, tol: float = 1e-12) -> Tensor:
        return self.a.contains(x, tol) & ~self.b.contains(x, -tol)

    def adf(self, x: Tensor) -> Tensor:
        """``φ_a ∧ (−φ_b)``."""
        return conjunction(self.a.adf(x), -self.b.adf(x))
