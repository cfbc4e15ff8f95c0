"""Domains for the PDE library: the contract ``Domain`` (``base``), the shapes ``Box``, ``Ball``, ``Polygon`` and
``Mesh``, set operations ``Union``, ``Intersection``, ``Difference`` (``a | b``, ``a & b``, ``a - b``), the
samplers' designs (``sampling``), approximate distance functions (``rfunctions``) and named domains (``named``)."""
from __future__ import annotations

from .ball import Ball
from .base import Domain
from .box import Box
from .csg import Difference, Intersection, Union
from .mesh import Mesh
from .named import NAMED, describe, named
from .polygon import Polygon

__all__ = ["Ball", "Box", "Difference", "Domain", "Intersection", "Mesh", "NAMED", "Polygon", "Union", "describe",
           "named"]
