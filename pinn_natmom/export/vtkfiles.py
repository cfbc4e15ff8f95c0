"""VTK files of sampled fields for ParaView: one ``.vtu`` per section, and a ``.pvd`` collection for a time series.

Why ``.vtu`` (unstructured grid) rather than ``.vti`` (image data): ``.vtu`` is what our users ask for, and it is
read by meshio as well as by VTK, ParaView and PyVista (meshio reads no ``.vti``), so a file opens in plain Python
too. A section's points are stored with their coordinates and its cells are VTK lines, quads or hexahedra (1, 2 or
3 varying coordinates), the coordinate ``axes[k]`` of the section being VTK's ``x``, ``y``, ``z`` in turn; a
domain's own mesh (``MeshSection``) keeps its nodes and its segments, triangles or tetrahedra. The file
is written by VTK's XML writer in binary, zlib-compressed; coordinates and fields are stored in float64, as computed,
so that ``u − u_exact`` formed in ParaView shows the error of a run that reaches 1e-9, not float32 rounding.

Field data (whole-file values) describe the run: numbers as float64 arrays (``rel_l2``, ``steps``, ``time`` of a
frame, and ``fixed_<name>`` for every coordinate held fixed), and text as an array named ``key=value`` holding the
single number 1 (``pde=poisson``, ``optimizer=engd``, ``axes=x1,x2``), since meshio cannot read VTK string arrays.
``read_metadata`` turns either back into a dictionary.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .sections import MeshSection, Section

if TYPE_CHECKING:
    import pyvista

Metadata = Mapping[str, str | float]


SIMPLEX_CELLS = {1: "LINE", 2: "TRIANGLE", 3: "TETRA"}
"""The VTK cell type of a simplex of each dimension."""


def section_mesh(section: Section | MeshSection, fields: Mapping[str, np.ndarray],
                 metadata: Metadata) -> pyvista.UnstructuredGrid:
    """The section's grid (or mesh) with ``fields`` (each of length ``section.num_points``) as float64 point data,
    the fixed coordinates and ``metadata`` as field data (module docstring)."""
    import pyvista

    local = section.local_points()
    xyz = np.zeros((local.shape[0], 3), dtype=np.float64)
    xyz[:, : section.dim] = local
    if isinstance(section, MeshSection):
        cell_type = getattr(pyvista.CellType, SIMPLEX_CELLS[section.dim])
        mesh = pyvista.UnstructuredGrid({cell_type: section.cells}, xyz)
    else:
        grid = pyvista.StructuredGrid()
        grid.points = xyz
        grid.dimensions = (*section.counts, *(1,) * (3 - section.dim))
        mesh = grid.cast_to_unstructured_grid()
    for name, values in fields.items():
        mesh.point_data[name] = np.asarray(values, dtype=np.float64)
    entries: dict[str, str | float] = {**metadata, "axes": ",".join(section.axis_names)}
    entries.update({f"fixed_{section.names[j]}": value for j, value in section.fixed})
    for key, value in entries.items():
        if isinstance(value, str):
            mesh.field_data[f"{key}={value}"] = np.ones(1, dtype=np.uint8)
        else:
            mesh.field_data[key] = np.array([value], dtype=np.float64)
    return mesh


def write_vtu(path: Path, mesh: pyvista.UnstructuredGrid) -> Path:
    """Write ``mesh`` as binary, zlib-compressed ``.vtu``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh.save(path, binary=True, compression="zlib")
    return path


def write_pvd(path: Path, frames: Sequence[tuple[float, Path]]) -> Path:
    """A ParaView collection listing ``(time, file)`` pairs (files relative to the ``.pvd``'s folder)."""
    root = ET.Element("VTKFile", type="Collection", version="0.1", byte_order="LittleEndian")
    collection = ET.SubElement(root, "Collection")
    for time, file in frames:
        ET.SubElement(collection, "DataSet", timestep=repr(float(time)), group="", part="0",
                      file=Path(file).relative_to(path.parent).as_posix())
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def read_metadata(field_data: Mapping[str, np.ndarray]) -> dict[str, str | float]:
    """Invert the field-data encoding of the module docstring: ``{"pde": "poisson", "rel_l2": 1.2e-3, …}``."""
    metadata: dict[str, str | float] = {}
    for name, values in field_data.items():
        key, equals, text = name.partition("=")
        metadata[key] = text if equals else float(np.asarray(values).ravel()[0])
    return metadata
