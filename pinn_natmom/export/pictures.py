"""PNG pictures of sampled fields on surfaces and volumes, rendered off screen with PyVista.

A surface (two varying coordinates) is drawn flat, seen from above with a parallel projection; a volume (three) by
its three orthogonal slices through the centre inside its outline. Colours are unlit, so that a colour reads as
its value on the colour bar, which sits in a narrow column of its own to the right of its panel or row.

On Linux without a display, VTK is pointed at its EGL window (``VTK_DEFAULT_OPENGL_WINDOW``, unless already set),
sparing a failed X connection and its warning; VTK falls back to its other windows where EGL is missing.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .fields import picture_fields
from .sections import MeshSection, Section
from .vtkfiles import section_mesh

if TYPE_CHECKING:
    import pyvista

COLOUR_MAPS = ("viridis", "inferno")
"""The colour map of the prediction (first field of a picture) and of the error or residual (second)."""
AXES = dict(color="black", font_size=14, location="outer", ticks="outside", minor_ticks=False, n_xlabels=3,
            n_ylabels=3, n_zlabels=3, bold=False)
BAR_COLUMN = 0.3
"""Width of a colour-bar column relative to a panel's."""
TITLE_PIXELS = 40


def field_picture(
    section: Section | MeshSection, fields: Mapping[str, np.ndarray], path: Path, size: tuple[int, int], title: str
) -> Path:
    """The prediction and the error (or residual) of ``fields`` (as from ``fields.evaluate_fields`` at the
    section's points) side by side, each with its colour bar, under ``title``."""
    shown = picture_fields(fields)
    plotter = _plotter(1, [1.0, BAR_COLUMN] * len(shown), size)
    for k, (name, values) in enumerate(shown.items()):
        plotter.subplot(1, 2 * k)
        actor = _draw(plotter, section, values, COLOUR_MAPS[k % 2], None, zoom=1.0)
        plotter.add_text(name, position="upper_edge", font_size=12, color="black")
        plotter.subplot(1, 2 * k + 1)
        _colour_bar(plotter, actor, name)
    return _save(plotter, path, title)


def snapshot_picture(
    section: Section | MeshSection, snapshots: Sequence[tuple[float, Mapping[str, np.ndarray]]], path: Path, size: tuple[int, int],
    title: str,
) -> Path:
    """A grid of panels: one column per ``(time, fields)`` snapshot, a row for the prediction and one for the error
    (or residual), each row on one colour scale with one colour bar."""
    shown = [(time, picture_fields(fields)) for time, fields in snapshots]
    names = list(shown[0][1])
    plotter = _plotter(len(names), [1.0] * len(shown) + [BAR_COLUMN], size)
    for row, name in enumerate(names):
        values = np.concatenate([fields[name] for _, fields in shown])
        limits = (float(values.min()), float(values.max()))
        for column, (time, fields) in enumerate(shown):
            plotter.subplot(row + 1, column)
            actor = _draw(plotter, section, fields[name], COLOUR_MAPS[row % 2], limits, zoom=0.85)
            plotter.add_text(f"{name}, t = {time:.3g}", position="upper_edge", font_size=10, color="black")
        plotter.subplot(row + 1, len(shown))
        _colour_bar(plotter, actor, name)
    return _save(plotter, path, title)


def _plotter(rows: int, column_weights: list[float], size: tuple[int, int]) -> pyvista.Plotter:
    """A white off-screen plotter: a title row (subplot row 0, all columns) above ``rows`` rows of columns."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import pyvista

    title_weight = TITLE_PIXELS * rows / (size[1] - TITLE_PIXELS)
    plotter = pyvista.Plotter(off_screen=True, window_size=list(size), shape=(rows + 1, len(column_weights)),
                              border=False, row_weights=[title_weight, *[1.0] * rows], col_weights=column_weights,
                              groups=[(0, np.s_[:])])
    plotter.set_background("white")
    return plotter


def _draw(
    plotter: pyvista.Plotter, section: Section | MeshSection, values: np.ndarray, cmap: str, limits: tuple[float, float] | None,
    zoom: float,
) -> pyvista.Actor:
    """Draw ``values`` on the section in the active panel, with labelled axes, the camera fitted to the section and
    moved closer by ``zoom``; return the coloured actor."""
    mesh = section_mesh(section, {"values": values}, {})
    shown = mesh.slice_orthogonal() if section.dim == 3 else mesh
    actor = plotter.add_mesh(shown, scalars="values", cmap=cmap, clim=limits, lighting=False, show_scalar_bar=False)
    names = section.axis_names
    if section.dim == 3:
        plotter.add_mesh(mesh.outline(), color="black")
        plotter.show_bounds(xtitle=names[0], ytitle=names[1], ztitle=names[2], **AXES)
        plotter.view_isometric()
        plotter.camera.zoom(0.8 * zoom)
    else:
        plotter.show_bounds(xtitle=names[0], ytitle=names[1], show_zaxis=False, show_zlabels=False, **AXES)
        plotter.view_xy()
        plotter.enable_parallel_projection()
        plotter.camera.zoom(zoom)
    return actor


def _colour_bar(plotter: pyvista.Plotter, actor: pyvista.Actor, name: str) -> None:
    """A vertical colour bar of ``actor``'s colours in the active (narrow) panel; ``name`` only keys it."""
    plotter.add_scalar_bar(title=name, mapper=actor.mapper, vertical=True, position_x=0.05, position_y=0.15,
                           width=0.22, height=0.7, label_font_size=14, fmt="%.2e", color="black", n_labels=5,
                           unconstrained_font_size=True)
    plotter.scalar_bars[name].SetTitle("")


def _save(plotter: pyvista.Plotter, path: Path, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    plotter.subplot(0, 0)
    plotter.add_text(title, position="upper_edge", font_size=13, color="black")
    plotter.screenshot(path)
    plotter.close()
    return path
