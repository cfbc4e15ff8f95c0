"""A block of the rows of ``J`` and ``r``: the part of a larger system one holder (e.g. one process) has.

``J`` stacks blocks ``J_a`` held by different holders: ``JᵀJ = Σ_a J_aᵀJ_a`` and ``Jᵀr = Σ_a J_aᵀr_a`` need one sum
over the holders (``sum``), while ``JJᵀ`` couples every pair of blocks and needs the whole of ``J`` (``gather``).
The solvers that work on their block (``blockwise``, ``Solver``) take a ``RowBlock``; the
others are handed the gathered ``J`` and right-hand sides.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class RowBlock:
    """Rows ``start … start + count`` of a system of ``total`` rows. ``sum(t)`` returns the sum of ``t`` over all the
    blocks (the same tensor on every holder); ``gather(t)`` stacks the blocks' rows of ``t`` in order."""

    start: int
    count: int
    total: int
    sum: Callable[[Tensor], Tensor]
    gather: Callable[[Tensor], Tensor]


def whole(n_rows: int) -> RowBlock:
    """The block that is the whole system: sums and gathers are the identity."""
    return RowBlock(0, n_rows, n_rows, _identity, _identity)


def _identity(t: Tensor) -> Tensor:
    return t
