"""PNG pictures of fields along a line (one varying coordinate), drawn with matplotlib.

Left: the prediction ``u`` (solid) and the exact solution ``u*`` (dashed) when known. Right, on a log scale: the
absolute error ``|u − u*|``, or the residual magnitude ``|ρ|`` when the exact solution is unknown.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .fields import picture_fields
from .sections import Section

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100


def line_picture(
    section: Section, fields: Mapping[str, np.ndarray], path: Path, size: tuple[int, int], title: str
) -> Path:
    """The module's two panels for one set of ``fields`` (as from ``fields.evaluate_fields``)."""
    figure, (left, right) = _figure(size, title)
    x = section.axis_values()[0]
    (_, u), (second, values) = picture_fields(fields).items()
    left.plot(x, u, color="C0", label="prediction $u_\\theta$")
    if "u_exact" in fields:
        left.plot(x, fields["u_exact"], color="black", linestyle="--", linewidth=1.2, label="exact $u^*$")
    right.semilogy(x, values, color="C3")
    _label(left, right, section.axis_names[0], second)
    left.legend()
    return _save(figure, path)


def line_snapshots(
    section: Section, snapshots: Sequence[tuple[float, Mapping[str, np.ndarray]]], path: Path,
    size: tuple[int, int], title: str,
) -> Path:
    """The module's two panels with one curve per ``(time, fields)`` snapshot, coloured by time."""
    from matplotlib import colormaps

    figure, (left, right) = _figure(size, title)
    x = section.axis_values()[0]
    exact = "u_exact" in snapshots[0][1]
    for shade, (time, fields) in zip(np.linspace(0.0, 0.85, len(snapshots)), snapshots, strict=True):
        colour = colormaps["viridis"](shade)
        (_, u), (second, values) = picture_fields(fields).items()
        left.plot(x, u, color=colour, label=f"t = {time:.3g}")
        if exact:
            left.plot(x, fields["u_exact"], color=colour, linestyle="--", linewidth=1.0)
        right.semilogy(x, values, color=colour, label=f"t = {time:.3g}")
    _label(left, right, section.axis_names[0], second)
    if exact:
        left.plot([], [], color="gray", linestyle="--", linewidth=1.0, label="exact $u^*$")
    left.legend(fontsize="small")
    right.legend(fontsize="small")
    return _save(figure, path)


def _figure(size: tuple[int, int], title: str) -> tuple[Figure, tuple[Axes, Axes]]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, layout="constrained")
    left, right = figure.subplots(1, 2)
    figure.suptitle(title)
    return figure, (left, right)


def _label(left: Axes, right: Axes, coordinate: str, second: str) -> None:
    left.set(xlabel=coordinate, ylabel="u", title="prediction u")
    right.set(xlabel=coordinate, ylabel=second, title=second)
    for axes in (left, right):
        axes.grid(alpha=0.3)


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    return path
