"""The grid line search of the ENGD papers: ``α* = argmin_{α ∈ {2⁰, 2⁻¹, …, 2⁻³⁰}} L(θ − α d)``.

Candidates are evaluated in batched residual passes (``losses`` takes ``K × P`` parameter vectors). No step
(``α = 0``) is taken when no candidate lowers the loss.

By default the search brackets: it first evaluates a window of 6 grid points around a hint (the previous step's
exponent) and stops when the best of the window lies strictly inside it — the loss along a descent direction falls
and then rises again, so for a unimodal profile a minimum bracketed inside the window is the grid's argmin. Otherwise
it evaluates the grid points beyond the window's end where the best lay, in one more pass; when no point of the
window lowers the loss, it evaluates every other grid point. ``exhaustive`` evaluates
all 31 in a single pass.
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
) -> SearchResult:
    """The best step ``α = 2^{-j}`` of the grid along ``−direction`` and its loss (``α = 0``, ``j = -1``: no decrease).

    Each pass of candidates costs one host synchronisation (its losses are read back together).
    """
    start = 0 if exhaustive else min(max(hint - 2, 0), GRID_SIZE - WINDOW)
    stop = GRID_SIZE if exhaustive else start + WINDOW
    values = _evaluate(losses, theta, direction, start, stop)
    *found, current = torch.cat([values, current_loss.reshape(1).to(values)]).tolist()
    i = min(range(len(found)), key=found.__getitem__)
    best_index, best = start + i, found[i]
    if not exhaustive:
        if not best < current:
            ranges = [(0, start), (stop, GRID_SIZE)]
        elif i == 0 and start > 0:
            ranges = [(0, start)]
        elif i == len(found) - 1:
            ranges = [(stop, GRID_SIZE)]
        else:
            ranges = []
        for extra_start, extra_stop in ranges:
            if extra_stop <= extra_start:
                continue
            extra = _evaluate(losses, theta, direction, extra_start, extra_stop)
            more = extra.tolist()
            j = min(range(len(more)), key=more.__getitem__)
            if more[j] < best:
                best_index, best, values, i = extra_start + j, more[j], extra, j
    if not best < current:
        return SearchResult(0.0, current_loss, -1)
    return SearchResult(2.0**-best_index, values[i], best_index)


def _evaluate(losses: LossBatch, theta: Tensor, direction: Tensor, start: int, stop: int) -> Tensor:
    alphas = step_grid(theta, start, stop)
    values = losses(theta - alphas[:, None] * direction)
    return torch.where(torch.isfinite(values), values, torch.full_like(values, float("inf")))
