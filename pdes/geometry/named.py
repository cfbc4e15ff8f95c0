"""Named domains, for choosing a domain by name (e.g. on the command line).

- ``box``: the unit square ``[0, 1]²``, faces ``x1=0``, ``x1=1``, ``x2=0``, ``x2=1``;
- ``disk``: the unit disk (centre ``(0, 0)``, radius 1), part ``boundary``;
- ``lshape``: the polygon ``(0,0), (2,0), (2,1), (1,1), (1,2), (0,2)`` (area 3, perimeter 8), parts ``edge0`` …
  ``edge5`` (``edge0`` on ``y = 0``, ``edge2``/``edge3`` the re-entrant sides);
- ``annulus``: the unit disk minus the disk of radius ½ about the origin, parts ``outer`` and ``inner``;
- ``plate-with-hole``: ``[0, 1]²`` minus the disk of radius 0.2 about ``(½, ½)``, parts the four faces and ``hole``.
"""
from __future__ import annotations

from collections.abc import Callable

from .ball import Ball
from .base import Domain
from .box import Box
from .csg import Difference
from .polygon import Polygon

NAMED: dict[str, Callable[[], Domain]] = {
    "box": lambda: Box.unit(2),
    "disk": lambda: Ball((0.0, 0.0), 1.0),
    "lshape": lambda: Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]),
    "annulus": lambda: Difference(Ball((0.0, 0.0), 1.0), Ball((0.0, 0.0), 0.5),
                                  names={"a.boundary": "outer", "b.boundary": "inner"}),
    "plate-with-hole": lambda: Difference(Box.unit(2), Ball((0.5, 0.5), 0.2), names={"boundary": "hole"}),
}


def named(name: str) -> Domain:
    """The domain ``NAMED[name]``; a ``ValueError`` listing the names for unknown ones."""
    if name not in NAMED:
        raise ValueError(f"unknown domain {name!r}; choose from {', '.join(NAMED)}")
    return NAMED[name]()


def describe() -> str:
    """One line per named domain: its name, the domain, its measure and its boundary parts."""
    lines = []
    for name, make in NAMED.items():
        domain = make()
        lines.append(f"{name}: {domain!r}, measure {domain.measure:.6g}, parts {', '.join(domain.parts)}")
    return "\n".join(lines)
