"""Training curves: the loss ``L = ½‖r‖²`` and the relative L2 error against step and against wall time, log scale."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

DPI = 100


def curves_picture(history: Sequence[Mapping[str, float]], path: Path, size: tuple[int, int], title: str) -> Path:
    """A 2 × 2 grid (loss, rel_l2) × (step, wall time) from the rows of ``history``; the rel_l2 row is left out when
    no row has a finite relative error (no exact solution)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    quantities = [("loss", "loss $L$")]
    if any(math.isfinite(row["rel_l2"]) for row in history):
        quantities.append(("rel_l2", "relative $L^2$ error"))
    clocks = [("step", "step"), ("wall_time_s", "wall time [s]")]
    figure = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, layout="constrained")
    grid = figure.subplots(len(quantities), len(clocks), squeeze=False)
    for row, (key, label) in enumerate(quantities):
        values = [r[key] for r in history]
        for column, (clock, clock_label) in enumerate(clocks):
            axes = grid[row][column]
            axes.semilogy([r[clock] for r in history], values, color=f"C{row}", marker="." if len(values) < 60 else None)
            axes.set(xlabel=clock_label, ylabel=label)
            if clock == "step":
                axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.grid(alpha=0.3, which="both")
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    return path
