"""The command ``plot.py``: render a saved run again, without training — VTK files for ParaView, PNG pictures of
the field and the curves.

    python scripts/plot.py results/runs/poisson-20260101-120000
    python scripts/plot.py RUN_DIR --grid 400 --slice "x1,x3;x2=0.25" --frames 21

Reads RUN_DIR/config.json and RUN_DIR/checkpoint.pt and writes field.vtu (heat: field.pvd and frames/), field.png
and curves.png into RUN_DIR (or --out). Usage errors exit with status 2 and a one-line message.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import export
from . import settings
from .reload import load_result


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other usage error
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parser() -> Parser:
    p = Parser(prog="plot.py", description="Render a saved run again, without training.")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder written by solve.py")
    p.add_argument("--out", type=Path, default=None, help="folder for the files (default RUN_DIR)")
    settings.add_arguments(p, ("grid", "frames", "slice"))
    return p


def main(argv: list[str] | None = None) -> int:
    """The command ``plot.py``: its exit status (0 written, 2 usage error)."""
    args = parser().parse_args(argv)
    try:
        chosen = {**settings.defaults(), **settings.given(args)}
        options = export.RenderOptions(grid=chosen["grid"], frames=chosen["frames"], slice=chosen["slice"])
        result = load_result(args.run_dir)
        export.section_for(result.problem, options.slice, options.grid)
    except (ValueError, OSError) as error:
        print(f"plot.py: error: {error}", file=sys.stderr)
        return 2
    written = export.render_run(result, args.out or args.run_dir, options)
    print(f"wrote {len(written)} files into {args.out or args.run_dir}")
    return 0

