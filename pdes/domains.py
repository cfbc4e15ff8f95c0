"""Boxes and the samplers that draw collocation points in them (kept here for existing imports; the geometry layer,
with other domains, is ``pdes.geometry``).

Every sampler has the signature ``(n, generator) -> n × d`` float64 tensor on the CPU, so that the same seed gives
the same points on every device; the engine converts them to the run's dtype and device.
"""
from __future__ import annotations

from .geometry.box import (
    INTERIOR_SAMPLERS,
    Box,
    grid_interior,
    interior_sampler,
    latin_hypercube_interior,
    sobol_interior,
    uniform_boundary,
    uniform_interior,
)

__all__ = ["INTERIOR_SAMPLERS", "Box", "grid_interior", "interior_sampler", "latin_hypercube_interior",
           "sobol_interior", "uniform_boundary", "uniform_interior"]
