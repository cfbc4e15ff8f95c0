"""Visualisation of a trained run: VTK files for ParaView, PNG pictures of the field and training curves.

``render_run(result, out_dir, options)`` writes them. PyVista and VTK are imported only when a file is written.
"""
from .options import RenderOptions
from .render import render_run
from .sections import Section, parse_slice, section_for
from .vtkfiles import read_metadata

__all__ = ["RenderOptions", "Section", "parse_slice", "read_metadata", "render_run", "section_for"]
