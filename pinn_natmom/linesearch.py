"""The grid line search of the ENGD papers: ``α* = argmin_{α ∈ {2⁰, 2⁻¹, …, 2⁻³⁰}} L(θ − α d)``, or along the
curved path ``θ − α d + ½ α² a`` when an acceleration ``a`` is given (``pinn_natmom.optim.geodesic``).

Candidates are evaluated in batched residual passes (``losses`` takes ``K × P`` parameter vectors). No step
(``α = 0``) is taken when no candidate lowers the loss.

By default the search brackets: it first evaluates a window of 6 grid points around a hint (the previous step's
exponent) and stops when the best of the window lies strictly inside it — the loss along a descent direction falls
and then rises again, so for a unimodal profile a minimum bracketed inside the window is the grid's argmin. When the
best lies at an end of the window, the search goes on past that end, 6 points in the next pass, then 12, 24, …,
until the best lies inside the points evaluated or the grid ends (few candidates where the minimum lies just past
the window, few passes where it lies far away). When no point evaluated lowers the loss, the steps tried were too
long for a descent direction — ``L(θ − αd) < L(θ)`` holds for every ``α`` below some ``α₀`` — so the search goes on
towards shorter steps in the same growing passes; only when the shortest grid step lowers nothing either does it
evaluate the longer steps left out before the window. ``exhaustive`` evaluates all 31 in a single pass.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

GRID_SIZE = 31
WINDOW = 6
LossBatch = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class SearchResult:
    step_size: float
    loss: Tensor
    index: int


def step_grid(like: Tensor, start: int = 0, stop: int = GRID_SIZE) -> Tensor:
    """``2^{-j}`` for ``j = start … stop−1``, in the dtype and on the device of ``like``."""
    return torch.pow(2.0, -torch.arange(start, stop, dtype=like.dtype, device=like.device))


def grid_search(
    losses: LossBatch,
    theta: Tensor,
    direction: Tensor,
    current_loss: Tensor,
    exhaustive: bool = False,
    hint: int = 0,
    acceleration: Tensor | None = None,
) -> SearchResult:
    """The best step ``α = 2^{-j}`` of the grid along ``−direction`` (bent by ``½ α² acceleration`` when given) and its
    loss (``α = 0``, ``j = -1``: no decrease).

    Each pass of candidates costs one host synchronisation (its losses are read back together).
    """
    start = 0 if exhaustive else min(max(hint - 2, 0), GRID_SIZE - WINDOW)
    stop = GRID_SIZE if exhaustive else start + WINDOW
    values = _evaluate(losses, theta, direction, acceleration, start, stop)
    *found, current = torch.cat([values, current_loss.reshape(1).to(values)]).tolist()
    i = min(range(len(found)), key=found.__getitem__)
    best_index, best = start + i, found[i]

    def consider(extra_start: int, extra_stop: int) -> bool:
        """Evaluate the grid points ``extra_start … extra_stop−1``; keep their best if it beats the best so far."""
        nonlocal best_index, best, values, i
        extra = _evaluate(losses, theta, direction, acceleration, extra_start, extra_stop)
        more = extra.tolist()
        j = min(range(len(more)), key=more.__getitem__)
        if not more[j] < best:
            return False
        best_index, best, values, i = extra_start + j, more[j], extra, j
        return True

    low, high, width = start, stop, WINDOW
    while not exhaustive:
        decreased = best < current
        if decreased and best_index == low and low > 0:
            extra_start, extra_stop = max(low - width, 0), low
        elif high < GRID_SIZE and (not decreased or best_index == high - 1):
            extra_start, extra_stop = high, min(high + width, GRID_SIZE)
        elif not decreased and low > 0:
            extra_start, extra_stop = 0, low
        else:
            break
        if not consider(extra_start, extra_stop) and decreased:
            break
        low, high, width = min(low, extra_start), max(high, extra_stop), 2 * width
    if not best < current:
        return SearchResult(0.0, current_loss, -1)
    return SearchResult(2.0**-best_index, values[i], best_index)


def path(origin: Tensor, direction: Tensor, acceleration: Tensor | None, alpha: float | Tensor) -> Tensor:
    """``origin − α direction + ½ α² acceleration`` (no acceleration: the straight step); ``α`` a number or a column of
    ``K`` step sizes (``K × 1``, giving ``K`` points)."""
    moved = origin - alpha * direction
    return moved if acceleration is None else moved + 0.5 * alpha**2 * acceleration


def _evaluate(losses: LossBatch, theta: Tensor, direction: Tensor, acceleration: Tensor | None, start: int,
              stop: int) -> Tensor:
    values = losses(path(theta, direction, acceleration, step_grid(theta, start, stop)[:, None]))
    return torch.where(torch.isfinite(values), values, torch.full_like(values, float("inf")))
