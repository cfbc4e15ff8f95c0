"""What ``pinn_natmom.export.render_run`` writes (set from the command line by the settings ``grid``, ``frames``
and ``slice`` of ``pinn_natmom.config``)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderOptions:
    """Options of a rendering.

    Attributes:
        grid: points per varying coordinate of the sampling grid; ``None``: 1000 on a line, 200 on a surface,
            64 in a volume, fewer beyond 10 input coordinates (``sections.section_for``).
        frames: output times of a time-dependent problem, ``linspace(t_start, t_end, frames)``.
        slice: the section of a problem with more than three spatial coordinates (or of any problem), in the format
            of ``pinn_natmom.export.sections``, e.g. ``"x1,x3;x2=0.25"``; ``None``: the default section.
        plots: whether to write the PNG pictures (the VTK files are always written).
        image_size: width and height of every PNG in pixels.
    """

    grid: int | None = None
    frames: int = 11
    slice: str | None = None
    plots: bool = True
    image_size: tuple[int, int] = (1600, 700)

    def __post_init__(self) -> None:
        if self.grid is not None and self.grid < 2:
            raise ValueError(f"the grid needs at least 2 points per axis, got {self.grid}")
        if self.frames < 1:
            raise ValueError(f"frames must be ≥ 1, got {self.frames}")
        if len(self.image_size) != 2 or min(self.image_size) < 200:
            raise ValueError(f"image size must be two numbers of pixels ≥ 200, got {self.image_size}")
