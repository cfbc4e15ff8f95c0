"""A simple polygon in the plane, with one boundary part per edge: ``"edge0"`` runs from vertex 0 to vertex 1, …,
the last from the last vertex back to vertex 0.

Vertices are taken counter-clockwise; clockwise input is reversed (so edge ``i`` then runs between the reversed
vertices ``i`` and ``i + 1``), and a closing vertex equal to the first is dropped. Point location uses ``matplotlib.path.Path``, the boundary the exact distance to the
edges.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from .base import Domain
from .box import Box
from .rfunctions import equivalence, segment_adf
from .sampling import pick
from .simplices import segment_distance_squared


def _orientation(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``(q − p) × (r − p)``: positive when ``p, q, r`` turn counter-clockwise."""
    return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0])


def _crossing(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Whether the closed segments ``[a, b]`` and ``[c, d]`` meet (touching and collinear overlap included)."""
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    proper = (o1 * o2 <= 0) & (o3 * o4 <= 0)
    collinear = (o1 == 0) & (o2 == 0)
    overlap = np.ones_like(collinear)
    for axis in (0, 1):
        lo1, hi1 = np.minimum(a[..., axis], b[..., axis]), np.maximum(a[..., axis], b[..., axis])
        lo2, hi2 = np.minimum(c[..., axis], d[..., axis]), np.maximum(c[..., axis], d[..., axis])
        overlap &= (lo1 <= hi2) & (lo2 <= hi1)
    return np.where(collinear, overlap, proper)


class Polygon(Domain):
    """The simple polygon with ``vertices`` ``(m, 2)``, ``m ≥ 3`` (see the module docstring)."""

    def __init__(self, vertices: Sequence[Sequence[float]] | np.ndarray) -> None:
        v = np.asarray(vertices, dtype=np.float64)
        if v.ndim == 2 and len(v) > 3 and (v[0] == v[-1]).all():
            v = v[:-1]
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ValueError(f"a polygon needs at least 3 vertices (x, y), got an array of shape {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError("the polygon's vertices must be finite numbers")
        area = 0.5 * float(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))
        if area < 0:
            v, area = v[::-1].copy(), -area
        self.vertices = v
        self._check_simple()
        if area == 0:
            raise ValueError("the polygon has zero area: its vertices are collinear")
        self.area = area
        from matplotlib.path import Path  # imported on first use: matplotlib is slow to import

        self.path = Path(v, closed=False)
        self.start = torch.from_numpy(v)
        self.end = torch.from_numpy(np.roll(v, -1, axis=0))
        edge = self.end - self.start
        self.lengths = torch.linalg.norm(edge, dim=1)
        self.normals = torch.stack([edge[:, 1], -edge[:, 0]], dim=1) / self.lengths.unsqueeze(1)

    def _check_simple(self) -> None:
        """``ValueError`` for repeated consecutive vertices, edges that cross or touch away from their shared
        vertex, and adjacent edges that fold back onto each other."""
        a, b = self.vertices, np.roll(self.vertices, -1, axis=0)
        m = len(a)
        repeated = np.flatnonzero((a == b).all(axis=1))
        if len(repeated):
            raise ValueError(f"the polygon is not simple: vertex {repeated[0]} repeats (edge {repeated[0]} has length 0)")
        i, j = np.triu_indices(m, k=2)
        apart = ~((i == 0) & (j == m - 1))
        i, j = i[apart], j[apart]
        hit = _crossing(a[i], b[i], a[j], b[j])
        following = (np.arange(m) + 1) % m
        fold = (_orientation(a, b, b[following]) == 0) & (((b - a) * (b[following] - b)).sum(axis=1) < 0)
        pairs = [(int(p), int(q)) for p, q in zip(i[hit], j[hit], strict=True)]
        pairs += [(int(p), int(q)) for p, q in zip(np.flatnonzero(fold), following[fold], strict=True)]
        if pairs:
            p, q = min(tuple(sorted(pair)) for pair in pairs)
            raise ValueError(f"the polygon is not simple: edges {p} and {q} cross")

    def __repr__(self) -> str:
        return f"Polygon({self.vertices.tolist()})"

    @property
    def dim(self) -> int:
        return 2

    @property
    def bounding_box(self) -> Box:
        return Box(tuple(self.vertices.min(axis=0)), tuple(self.vertices.max(axis=0)))

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(f"edge{i}" for i in range(len(self.vertices)))

    @property
    def measure(self) -> float:
        """The shoelace formula ``½ Σ_i (x_i y_{i+1} − x_{i+1} y_i)``."""
        return self.area

    @property
    def boundary_measures(self) -> dict[str, float]:
        return dict(zip(self.parts, self.lengths.tolist(), strict=True))

    def _edge_distances_squared(self, x: Tensor) -> Tensor:
        """``(n, m)`` squared distances to the edges."""
        return segment_distance_squared(x.unsqueeze(-2), self.start.to(x), self.end.to(x))

    def _gap(self, x: Tensor) -> Tensor:
        """``(n,)`` distance to the nearest edge."""
        return self._edge_distances_squared(x).min(dim=-1).values.sqrt()

    def _inside(self, x: Tensor) -> Tensor:
        """Point-in-polygon by ``matplotlib.path.Path`` (undecided on the boundary itself)."""
        inside = self.path.contains_points(x.detach().cpu().numpy().astype(np.float64))
        return torch.from_numpy(inside).to(x.device)

    def contains(self, x: Tensor, tol: float = 1e-12) -> Tensor:
        """Inside the path or within ``tol`` of an edge; for ``tol < 0`` inside and at least ``|tol|`` from every edge."""
        inside = self._inside(x)
        undecided = torch.nonzero(~inside if tol >= 0 else inside).squeeze(1)
        gap = self._gap(x[undecided])
        inside[undecided] = gap <= tol if tol >= 0 else gap >= -tol
        return inside

    def distance(self, x: Tensor) -> Tensor:
        """``±min_i dist(x, edge_i)``, positive inside."""
        gap = self._gap(x)
        return torch.where(self._inside(x), gap, -gap)

    def boundary_distance(self, x: Tensor) -> Tensor:
        return self._gap(x)

    def part_of(self, x: Tensor) -> Tensor:
        """The nearest edge (the lower index on ties, e.g. at a vertex)."""
        return self._edge_distances_squared(x).argmin(dim=-1)

    def normal(self, x: Tensor) -> Tensor:
        """``(Δy, −Δx) / L`` of the nearest edge (counter-clockwise vertices: outward)."""
        return self.normals.to(x)[self.part_of(x)]

    def adf(self, x: Tensor) -> Tensor:
        """The R-equivalence ``1 / Σ_i 1/φ_i`` of the trimmed-segment ADFs ``φ_i`` of the edges
        (``pdes.geometry.rfunctions.segment_adf``), negated outside."""
        phi = equivalence(segment_adf(x, self.start.to(x), self.end.to(x)))
        return torch.where(self._inside(x), phi, -phi)

    @property
    def boundary_arity(self) -> int:
        return 2

    def boundary_map(self, u: Tensor, chosen: tuple[int, ...]) -> Tensor:
        """``u_1`` picks the edge by length, ``u_2`` the position ``a + u_2 (b − a)`` on it."""
        edge = torch.tensor(chosen)[pick(self.lengths[list(chosen)], u[:, 0])]
        return self.start[edge] + u[:, 1:2] * (self.end[edge] - self.start[edge])

    def outline(self, spacing: float) -> np.ndarray:
        """Every vertex and ``⌈L/h⌉ − 1`` equally spaced points inside each edge."""
        points = []
        for a, b, length in zip(self.start.numpy(), self.end.numpy(), self.lengths.tolist(), strict=True):
            steps = max(1, int(np.ceil(length / spacing)))
            t = np.arange(steps)[:, None] / steps
            points.append(a + t * (b - a))
        return np.concatenate(points)
