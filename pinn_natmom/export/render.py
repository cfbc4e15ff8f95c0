"""Everything a trained run leaves for a person to look at: VTK files for ParaView, PNG pictures and curves.

A stationary problem gives ``field.vtu`` (the fields on its section, see ``sections``) and ``field.png``; a
time-dependent one gives ``frames/field_<k>.vtu`` at ``frames`` times evenly spaced over its time range, the
collection ``field.pvd`` that lists them with their times, and ``field.png`` with up to four of those times.
``curves.png`` shows the training history. Pictures are skipped with ``plots=False``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .curves import curves_picture
from .fields import evaluate_fields
from .lineplots import line_picture, line_snapshots
from .options import RenderOptions
from .pictures import field_picture, snapshot_picture
from .sections import MeshSection, Section, section_for
from .vtkfiles import section_mesh, write_pvd, write_vtu

if TYPE_CHECKING:
    from ..api import Result

SNAPSHOTS = 4
"""The number of output times drawn in the picture of a time-dependent field."""


def render_run(result: Result, out_dir: Path, options: RenderOptions | None = None) -> list[Path]:
    """Write the files of the module docstring for ``result`` into ``out_dir``; return their paths.

    A ``ValueError`` for an unusable ``options.slice`` or ``options.grid`` is raised before anything is written.
    """
    options = options or RenderOptions()
    out_dir = Path(out_dir)
    problem = result.problem
    section = section_for(problem, options.slice, options.grid)
    metadata = {
        "pde": problem.name,
        "optimizer": result.options.optimizer,
        "rel_l2": float(result.metrics.get("rel_l2", float("nan"))),
        "steps": float(result.metrics.get("steps", len(result.history) - 1)),
    }
    title = _title(result, section)
    written: list[Path] = []
    if problem.time_axis is None:
        fields = evaluate_fields(problem, result.network, result.theta, section.points())
        written.append(write_vtu(out_dir / "field.vtu", section_mesh(section, fields, metadata)))
        if options.plots:
            draw = line_picture if section.dim == 1 else field_picture
            written.append(draw(section, fields, out_dir / "field.png", options.image_size, title))
    else:
        lo, hi = problem.bounds[problem.time_axis]
        times = np.linspace(lo, hi, options.frames)
        shown = set(np.round(np.linspace(0, options.frames - 1, min(SNAPSHOTS, options.frames))).astype(int).tolist())
        frames, snapshots = [], []
        for k, time in enumerate(times):
            frame = section.at_time(problem.time_axis, float(time))
            fields = evaluate_fields(problem, result.network, result.theta, frame.points())
            mesh = section_mesh(frame, fields, {**metadata, "time": float(time)})
            frames.append((float(time), write_vtu(out_dir / "frames" / f"field_{k:03d}.vtu", mesh)))
            if k in shown:
                snapshots.append((float(time), fields))
        written += [path for _, path in frames]
        written.append(write_pvd(out_dir / "field.pvd", frames))
        if options.plots:
            draw = line_snapshots if section.dim == 1 else snapshot_picture
            written.append(draw(section, snapshots, out_dir / "field.png", options.image_size, title))
    if options.plots and result.history:
        written.append(curves_picture(result.history, out_dir / "curves.png", options.image_size, title))
    return written


def _title(result: Result, section: Section | MeshSection) -> str:
    """E.g. ``poisson (5-d), engd, 30 steps, rel_l2 1.23e-03, slice x1,x2 at x3=0.5, x4=0.5, x5=0.5``."""
    problem = result.problem
    spatial = problem.dim - (problem.time_axis is not None)
    parts = [f"{problem.name} ({spatial}-d{' + time' if problem.time_axis is not None else ''})",
             result.options.optimizer, f"{result.metrics.get('steps', len(result.history) - 1)} steps"]
    rel_l2 = float(result.metrics.get("rel_l2", float("nan")))
    if np.isfinite(rel_l2):
        parts.append(f"rel_l2 {rel_l2:.2e}")
    held = [(j, v) for j, v in section.fixed if j != problem.time_axis]
    if held:
        parts.append(f"slice {','.join(section.axis_names)} at " + ", ".join(f"{section.names[j]}={v:g}" for j, v in held))
    return ", ".join(parts)
