"""Simplex meshes of point sets for output files: Delaunay triangulations (1-d: sorted segments, 2-d: matplotlib's
``Triangulation``, 3-d: pyvista's ``delaunay_3d``) and the Kuhn triangulation of a structured grid."""
from __future__ import annotations

import itertools
import math

import numpy as np


def delaunay(points: np.ndarray) -> np.ndarray:
    """Cells ``(k, d + 1)`` of the Delaunay triangulation of distinct ``points`` ``(m, d)``, ``d ∈ {1, 2, 3}``
    (matplotlib and pyvista are imported on first use, to keep importing the package fast)."""
    dim = points.shape[1]
    if dim == 1:
        order = np.argsort(points[:, 0], kind="stable")
        return np.stack([order[:-1], order[1:]], axis=1)
    if dim == 2:
        from matplotlib.tri import Triangulation

        return np.asarray(Triangulation(points[:, 0], points[:, 1]).triangles, dtype=np.int64)
    if dim == 3:
        import pyvista as pv

        grid = pv.PolyData(points).delaunay_3d(tol=1e-12)
        return np.asarray(grid.cells_dict[pv.CellType.TETRA], dtype=np.int64)
    raise ValueError(f"output meshes exist for 1-, 2- and 3-d domains, not {dim}-d")


def kuhn(counts: tuple[int, ...]) -> np.ndarray:
    """Cells of the Kuhn triangulation of the grid with ``counts[j]`` points along axis ``j`` (C order): every grid
    cube is split into the ``d!`` simplices ``v, v + e_{π1}, v + e_{π1} + e_{π2}, …`` over the permutations ``π``."""
    dim = len(counts)
    if not 1 <= dim <= 3:
        raise ValueError(f"output meshes exist for 1-, 2- and 3-d domains, not {dim}-d")
    index = np.arange(math.prod(counts)).reshape(counts)
    corner = index[tuple(slice(0, c - 1) for c in counts)].reshape(-1)
    strides = np.array(index.strides) // index.itemsize
    cells = []
    for perm in itertools.permutations(range(dim)):
        steps = np.cumsum([strides[j] for j in perm])
        cells.append(np.stack([corner, *(corner + s for s in steps)], axis=1))
    return np.concatenate(cells).astype(np.int64)


def simplex_measures(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``|det(v_1 − v_0, …)| / d!`` of every cell."""
    vertices = points[cells]
    edges = vertices[:, 1:, :] - vertices[:, :1, :]
    return np.abs(np.linalg.det(edges)) / math.factorial(points.shape[1])


def compress(points: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``points`` and ``cells`` without the points no cell uses, renumbered."""
    used, inverse = np.unique(cells, return_inverse=True)
    return points[used], inverse.reshape(cells.shape).astype(np.int64)
