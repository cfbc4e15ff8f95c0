"""The PDE library: factories that build :class:`pinn_natmom.problem.Problem` objects.

``PDES`` maps a name to its factory; :func:`make` builds one by name with a clear error for unknown names.
"""
from __future__ import annotations

from collections.abc import Callable

from pinn_natmom.problem import Problem

from .heat import heat
from .helmholtz import helmholtz
from .poisson import poisson

PDES: dict[str, Callable[..., Problem]] = {"poisson": poisson, "heat": heat, "helmholtz": helmholtz}


def make(name: str, **options: object) -> Problem:
    """Build the problem registered as ``name`` with ``options`` passed to its factory."""
    if name not in PDES:
        raise ValueError(f"unknown PDE {name!r}; choose from {', '.join(sorted(PDES))}")
    return PDES[name](**options)


__all__ = ["PDES", "make", "poisson", "heat", "helmholtz"]
