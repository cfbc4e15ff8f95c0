"""The PDE library: families of problems (factories that build ``pinn_natmom.problem.Problem`` objects).

``FAMILIES`` maps a name to its factory; the command line finds it through the entry point ``pinn_natmom.families``
(``pyproject.toml``). ``make`` builds one by name with a clear error for unknown names. Domains (``Box``, ``Ball``,
``Polygon``, ``Mesh`` and their set operations, all ``Domain``) are in ``pdes.geometry``; your own equation is
``custom`` (``pdes.custom``, worked examples in ``pdes.examples``).
"""
from __future__ import annotations

from collections.abc import Callable

from pinn_natmom.problem import Problem

from .custom import custom
from .geometry import Ball, Box, Domain, Mesh, Polygon
from .heat import heat
from .helmholtz import helmholtz
from .poisson import poisson

FAMILIES: dict[str, Callable[..., Problem]] = {"poisson": poisson, "heat": heat, "helmholtz": helmholtz}


def make(name: str, **options: object) -> Problem:
    """Build the problem of the family ``name`` with ``options`` passed to its factory."""
    if name not in FAMILIES:
        raise ValueError(f"unknown PDE {name!r}; choose from {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name](**options)


__all__ = ["FAMILIES", "make", "poisson", "heat", "helmholtz", "custom", "Box", "Ball", "Polygon", "Mesh", "Domain"]
