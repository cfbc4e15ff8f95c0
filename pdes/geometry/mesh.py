"""A domain given by a simplex mesh: triangles in 2-d, tetrahedra in 3-d.

- Boundary: the facets (edges in 2-d, triangles in 3-d) that belong to exactly one cell, with the outward normal
  pointing away from that cell's opposite vertex. Boundary parts come from groups of facets (gmsh physical groups,
  i.e. ``cell_data["gmsh:physical"]`` named by ``field_data``, or else meshio ``cell_sets``) on the line (2-d) or
  triangle (3-d) cells that match boundary facets, in the order of their tags or sets; a facet in several groups
  belongs to the first, facets in none to the part ``"boundary"``.
- Interior samples: a cell in proportion to its measure, then uniform barycentric coordinates (normalised
  exponentials); ``sobol`` and ``lhs`` by rejection from the bounding box. Boundary samples: a facet in proportion to
  its measure, then a uniform point on it.
- ``contains``: barycentric coordinates ``≥ −10⁻¹²`` in some cell (cells found through ``BucketIndex``), or within
  ``tol`` of a boundary facet; ``distance``/``normal``/``part_of`` from the nearest boundary facet (exact distance;
  facets within ``10⁻⁶ ×`` diameter found through buckets, farther ones by bounding-box distance first).
"""
from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import meshio
import numpy as np
import torch
from torch import Tensor

from pinn_natmom.problem import Sampler

from .base import Domain
from .box import Box
from .buckets import BucketIndex
from .sampling import KINDS, check_kind, pick
from .simplices import barycentric, cell_measures, facet_distance, facet_measures, facet_normals

CELL_TYPES = {2: "triangle", 3: "tetra"}
FACET_TYPES = {2: "line", 3: "triangle"}
CHUNK = 4096
MARGIN = 1e-6


class Mesh(Domain):
    """The union of the simplex ``cells`` ``(k, d + 1)`` over ``points`` ``(m, d)``, ``d ∈ {2, 3}`` (2-d points may
    carry a third column of zeros); ``groups`` name boundary facets ``(g, d)`` (vertex indices) by part."""

    def __init__(self, points: np.ndarray, cells: np.ndarray, groups: Mapping[str, np.ndarray] | None = None,
                 source: str = "the mesh") -> None:
        points, cells = np.asarray(points, dtype=np.float64), np.asarray(cells, dtype=np.int64)
        if cells.ndim != 2 or cells.shape[1] not in (3, 4):
            raise ValueError(f"{source}: cells must be triangles (k, 3) or tetrahedra (k, 4), got shape {cells.shape}")
        dim = cells.shape[1] - 1
        if points.ndim == 2 and dim == 2 and points.shape[1] == 3:
            if np.any(points[:, 2] != 0):
                raise ValueError(f"{source}: its triangles do not lie in the plane z = 0 (a surface in 3-d space is "
                                 "not a domain); give a planar 2-d mesh or a tetrahedron mesh")
            points = points[:, :2]
        if points.ndim != 2 or points.shape[1] != dim:
            raise ValueError(f"{source}: {CELL_TYPES[dim]} cells need points of shape (m, {dim}), got {points.shape}")
        if len(cells) == 0 or cells.min() < 0 or cells.max() >= len(points):
            raise ValueError(f"{source}: cells must be nonempty and index its {len(points)} points")
        self.source, self.points, self.cells = source, points, cells
        vertices = torch.from_numpy(points)[torch.from_numpy(cells)]
        self.volumes = cell_measures(vertices)
        used = points[np.unique(cells)]
        self.diameter = float(np.linalg.norm(used.max(axis=0) - used.min(axis=0)))
        small = int(self.volumes.argmin())
        if float(self.volumes[small]) <= 1e-13 * self.diameter**dim:
            raise ValueError(f"{source}: cell {small} (points {cells[small].tolist()}) is degenerate (zero "
                             f"{'area' if dim == 2 else 'volume'}); remove it or remesh")
        self._box = Box(tuple(used.min(axis=0)), tuple(used.max(axis=0)))
        self.origins = vertices[:, 0]
        self.inverses = torch.linalg.inv((vertices[:, 1:] - vertices[:, :1]).transpose(-1, -2))
        self.cell_index = BucketIndex(vertices.min(dim=1).values, vertices.max(dim=1).values)
        self._boundary(groups or {})

    def _boundary(self, groups: Mapping[str, np.ndarray]) -> None:
        """Boundary facets, their outward normals, measures, parts and bucket index."""
        k, dim = len(self.cells), self.dim
        faces = np.concatenate([np.delete(self.cells, j, axis=1) for j in range(dim + 1)])
        _, first, counts = np.unique(np.sort(faces, axis=1), axis=0, return_index=True, return_counts=True)
        first = np.sort(first[counts == 1])
        facets = faces[first]
        opposite = torch.from_numpy(self.points[self.cells[first % k, first // k]])
        self.facets = torch.from_numpy(self.points)[torch.from_numpy(facets)]
        normals = facet_normals(self.facets)
        inward = ((opposite - self.facets[:, 0]) * normals).sum(dim=-1) > 0
        self.normals = torch.where(inward.unsqueeze(-1), -normals, normals)
        self.facet_sizes = facet_measures(self.facets)
        lookup = {tuple(row): i for i, row in enumerate(np.sort(facets, axis=1).tolist())}
        owner = np.full(len(facets), -1)
        names = []
        for name, members in groups.items():
            rows = np.sort(np.asarray(members, dtype=np.int64).reshape(-1, dim), axis=1).tolist()
            hits = np.array([lookup[tuple(row)] for row in rows if tuple(row) in lookup], dtype=np.int64)
            hits = hits[owner[hits] < 0] if len(hits) else hits
            if len(hits):
                owner[hits] = len(names)
                names.append(name)
        if (owner < 0).any():
            if "boundary" not in names:
                names.append("boundary")
            owner[owner < 0] = names.index("boundary")
        self._parts = tuple(names)
        self.facet_part = torch.from_numpy(owner)
        self.facet_lo, self.facet_hi = self.facets.min(dim=1).values, self.facets.max(dim=1).values
        margin = MARGIN * self.diameter
        self.facet_index = BucketIndex(self.facet_lo - margin, self.facet_hi + margin)

    @classmethod
    def read(cls, path: str | PathLike[str]) -> Mesh:
        """The triangle or tetrahedron mesh in the file ``path`` (any format meshio reads); boundary parts from its
        gmsh physical groups or cell sets (module docstring)."""
        try:
            mesh = meshio.read(path)
        except SystemExit as error:  # meshio exits after printing "Couldn't read file … as <formats>"
            raise ValueError(f"cannot read the mesh file {path}: meshio could not parse it in the format(s) its "
                             "extension names; give a mesh file meshio reads (.msh, .vtu, .xdmf, …)") from error
        except Exception as error:  # meshio raises many kinds of errors for unreadable files
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"cannot read the mesh file {path}: {reason}; give a mesh file meshio reads "
                             "(.msh, .vtu, .xdmf, …)") from error
        types = [block.type for block in mesh.cells]
        dim = 3 if "tetra" in types else 2 if "triangle" in types else None
        if dim is None:
            found = ", ".join(sorted(set(types))) or "none"
            raise ValueError(f"the mesh file {path} has no triangle or tetra cells (its cell types: {found}); give a "
                             "triangle (2-d) or tetrahedron (3-d) mesh")
        cells = np.concatenate([block.data for block in mesh.cells if block.type == CELL_TYPES[dim]])
        return cls(mesh.points, cells, _groups(mesh, FACET_TYPES[dim]), source=f"the mesh file {Path(path)}")

    def __repr__(self) -> str:
        return f"Mesh({self.source}: {len(self.points)} points, {len(self.cells)} {CELL_TYPES[self.dim]} cells)"

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    @property
    def bounding_box(self) -> Box:
        return self._box

    @property
    def parts(self) -> tuple[str, ...]:
        return self._parts

    @property
    def measure(self) -> float:
        """The sum of the cell measures."""
        return float(self.volumes.sum())

    @property
    def boundary_measures(self) -> dict[str, float]:
        sums = torch.zeros(len(self.parts), dtype=torch.float64).index_add_(0, self.facet_part, self.facet_sizes)
        return dict(zip(self.parts, sums.tolist(), strict=True))

    def _locate(self, x: Tensor) -> Tensor:
        """``(n,)`` the index of a cell holding each point, ``−1`` for none."""
        found = []
        for chunk in x.split(CHUNK):
            candidates = self.cell_index.candidates(chunk)
            safe = candidates.clamp_min(0)
            lam = barycentric(chunk.unsqueeze(1), self.origins[safe], self.inverses[safe])
            hit = (candidates >= 0) & (lam.min(dim=-1).values >= -1e-12)
            first = hit.to(torch.int8).argmax(dim=1)
            found.append(torch.where(hit.any(dim=1), candidates.gather(1, first.unsqueeze(1)).squeeze(1), -1))
        return torch.cat(found) if found else torch.empty(0, dtype=torch.long)

    def _candidate_distances(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Distances ``(n, K)`` to the facets within the bucket margin (``inf`` for padding) and their indices."""
        candidates = self.facet_index.candidates(x)
        distance = facet_distance(x.unsqueeze(1), self.facets[candidates.clamp_min(0)])
        return torch.where(candidates >= 0, distance, torch.inf), candidates

    def _nearest_facet(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(distance, index)`` of the nearest boundary facet: among the bucket's candidates when one lies within the
        margin, else ``_nearest_far``."""
        x = x.detach().to(torch.float64).cpu()
        distances, indices = [], []
        for chunk in x.split(CHUNK):
            near, candidates = self._candidate_distances(chunk)
            best, arg = near.min(dim=1)
            index = candidates.gather(1, arg.unsqueeze(1)).squeeze(1)
            far = torch.nonzero(best > MARGIN * self.diameter).squeeze(1)
            step = max(1, CHUNK * 16 // len(self.facets))
            for start in range(0, len(far), step):
                rows = far[start:start + step]
                best[rows], index[rows] = self._nearest_far(chunk[rows])
            distances.append(best)
            indices.append(index)
        return torch.cat(distances), torch.cat(indices)

    def _nearest_far(self, x: Tensor, count: int = 16) -> tuple[Tensor, Tensor]:
        """The nearest facet by exact distances to the ``count`` facets of smallest bounding-box distance; points whose
        best exceeds the ``count``-th box distance (a nearer facet may hide beyond) are checked against all facets."""
        y = x.unsqueeze(1)
        box_gap = sum(((lo - p).clamp_min(0.0) + (p - hi).clamp_min(0.0)) ** 2 for p, lo, hi in
                      zip(y.unbind(-1), self.facet_lo.unbind(-1), self.facet_hi.unbind(-1), strict=True))
        bound, near = box_gap.topk(min(count, len(self.facets)), dim=1, largest=False)
        exact = facet_distance(y, self.facets[near])
        best, arg = exact.min(dim=1)
        index = near.gather(1, arg.unsqueeze(1)).squeeze(1)
        unsure = torch.nonzero(best**2 > bound[:, -1]).squeeze(1)
        if len(unsure) and near.shape[1] < len(self.facets):
            best[unsure], index[unsure] = facet_distance(y[unsure], self.facets.unsqueeze(0)).min(dim=1)
        return best, index

    def _near_boundary(self, x: Tensor, radius: float) -> Tensor:
        """Which points lie within ``radius`` of a boundary facet."""
        if len(x) == 0:
            return torch.zeros(0, dtype=torch.bool)
        if radius <= MARGIN * self.diameter:
            return torch.cat([self._candidate_distances(c)[0].min(dim=1).values <= radius for c in x.split(CHUNK)])
        return self._nearest_facet(x)[0] <= radius

    def contains(self, x: Tensor, tol: float = 1e-12) -> Tensor:
        """In a cell (barycentric ``≥ −10⁻¹²``) or within ``tol`` of the boundary; ``tol < 0``: in a cell and at least
        ``|tol|`` from the boundary."""
        y = x.detach().to(torch.float64).cpu()
        inside = self._locate(y) >= 0
        if tol > 0 and not inside.all():
            inside[~inside] = self._near_boundary(y[~inside], tol)
        elif tol < 0 and inside.any():
            located = torch.nonzero(inside).squeeze(1)
            inside[located] = ~self._near_boundary(y[located], -tol)
        return inside.to(x.device)

    def distance(self, x: Tensor) -> Tensor:
        """``±`` the distance to the nearest boundary facet, positive inside."""
        gap = self._nearest_facet(x)[0]
        return torch.where(self._locate(x.detach().to(torch.float64).cpu()) >= 0, gap, -gap).to(x)

    def boundary_distance(self, x: Tensor) -> Tensor:
        return self._nearest_facet(x)[0].to(x)

    def normal(self, x: Tensor) -> Tensor:
        return self.normals[self._nearest_facet(x)[1]].to(x)

    def part_of(self, x: Tensor) -> Tensor:
        return self.facet_part[self._nearest_facet(x)[1]].to(x.device)

    def interior_sampler(self, kind: str = "uniform") -> Sampler:
        """``uniform``: a cell by measure (``u_0``), barycentric coordinates ``E_i / Σ E_j`` with ``E`` standard
        exponentials; ``sobol``, ``lhs``: rejection from the bounding box."""
        check_kind(kind, KINDS)
        if kind != "uniform":
            return super().interior_sampler(kind)
        points, cells = torch.from_numpy(self.points), torch.from_numpy(self.cells)

        def sample(n: int, generator: torch.Generator) -> Tensor:
            cell = pick(self.volumes, torch.rand(n, generator=generator, dtype=torch.float64))
            weights = torch.empty(n, self.dim + 1, dtype=torch.float64).exponential_(generator=generator)
            weights = weights / weights.sum(dim=1, keepdim=True)
            return (weights.unsqueeze(-1) * points[cells[cell]]).sum(dim=1)

        return sample

    @property
    def boundary_arity(self) -> int:
        return self.dim

    def boundary_map(self, u: Tensor, chosen: tuple[int, ...]) -> Tensor:
        """``u_1`` picks the facet by measure; 2-d: ``a + u_2 (b − a)``; 3-d: ``a + s (b − a) + t (c − a)`` with
        ``(s, t) = (u_2, u_3)``, reflected to ``(1 − u_2, 1 − u_3)`` when ``u_2 + u_3 > 1``."""
        pool = torch.nonzero(torch.isin(self.facet_part, torch.tensor(chosen))).squeeze(1)
        facet = self.facets[pool[pick(self.facet_sizes[pool], u[:, 0])]]
        st = u[:, 1:]
        if self.dim == 3:
            st = torch.where((st.sum(dim=1) > 1).unsqueeze(1), 1.0 - st, st)
        edges = facet[:, 1:] - facet[:, :1]
        return facet[:, 0] + (st.unsqueeze(-1) * edges).sum(dim=1)

    def outline(self, spacing: float) -> np.ndarray:
        """The vertices of the boundary facets."""
        return np.unique(self.facets.reshape(-1, self.dim).numpy(), axis=0)

    def output_mesh(self, resolution: int) -> tuple[np.ndarray, np.ndarray]:
        """The mesh's own points (``(m, d)``) and cells, whatever ``resolution``."""
        return self.points, self.cells


def _groups(mesh: meshio.Mesh, facet_type: str) -> dict[str, np.ndarray]:
    """Facets ``(g, d)`` of each named group: gmsh physical groups (by tag, named by ``field_data``, else
    ``"physical<tag>"``; tag 0 means none) if the file has them, else meshio cell sets."""
    blocks: dict[str, list[np.ndarray]] = {}
    physical = mesh.cell_data.get("gmsh:physical")
    if physical is not None:
        dim = {"line": 1, "triangle": 2}[facet_type]
        names = {int(v[0]): name for name, v in mesh.field_data.items() if len(v) > 1 and int(v[1]) == dim}
        tagged = [(block.data, np.asarray(tags).reshape(-1)) for block, tags in zip(mesh.cells, physical, strict=True)
                  if block.type == facet_type]
        for tag in sorted({int(t) for _, tags in tagged for t in tags} - {0}):
            name = names.get(tag, f"physical{tag}")
            blocks[name] = [data[tags == tag] for data, tags in tagged]
    else:
        for name, per_block in mesh.cell_sets.items():
            if name.startswith("gmsh:"):
                continue
            for block, members in zip(mesh.cells, per_block, strict=False):
                if block.type == facet_type and members is not None and len(members):
                    blocks.setdefault(name, []).append(block.data[np.asarray(members)])
    return {name: np.concatenate(parts) for name, parts in blocks.items() if parts}
