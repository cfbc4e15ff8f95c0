"""Where a trained run's residual lies: what sets its error floor.

A Gauss–Newton step can remove the part of the residual ``r`` that lies in the range of ``J``, and only cheaply the
part along large singular values: with ``J = U Σ Vᵀ`` and ``c = Uᵀ r``, removing the component ``c_i`` takes a step
of length ``|c_i| / σ_i`` in θ. ``residual_spectrum`` splits ``‖r‖²`` into bands of the relative singular value
``σ_i / σ_max``,

.. math:: ‖r‖² = \\sum_{\\text{bands } b} \\sum_{σ_i ∈ b} c_i² \\; + \\; ‖(I − UUᵀ) r‖²,

the last part outside the range of ``J`` (no step of this network on these points removes it). ``floor_report``
adds the loss on fresh points of the same counts (far above the training loss: the points fit better than the
field between them) and the loss of every term (which term's residual is left).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .linearise import Linearised, Points, residual_vector
from .problem import Problem
from .train import Trainer, sample_points

BAND_EDGES = (1.0, 1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12, 1e-14, 0.0)
"""Edges of the bands of ``σ_i / σ_max``, from the top: ``(1e-2, 1]``, ``(1e-4, 1e-2]``, …, ``[0, 1e-14]``."""


@dataclass(frozen=True)
class Band:
    """The singular values with ``lower < σ_i / σ_max ≤ upper`` (``lower = 0`` includes zero): how many, and their
    share ``Σ c_i² / ‖r‖²`` of the residual."""

    upper: float
    lower: float
    count: int
    share: float


@dataclass(frozen=True)
class Spectrum:
    """``‖r‖²`` split by ``residual_spectrum``: the bands, the share outside the range of ``J``, ``σ_max``, and the
    relative singular values above the rounding level with the share of each (``c_i² / ‖r‖²``), largest first."""

    bands: tuple[Band, ...]
    outside: float
    sigma_max: float
    relative_sigma: Tensor
    shares: Tensor


def residual_spectrum(lin: Linearised, edges: Sequence[float] = BAND_EDGES) -> Spectrum:
    """The split of ``‖r‖²`` of the module docstring for ``r`` and ``J`` of ``lin`` (one process's whole system),
    by a thin SVD of ``J``; ``edges`` decreasing from ``1`` to ``0``. Singular values at the rounding level
    (``σ_i ≤ ε max(N, P) σ_max``) count as zero: their directions are outside the range."""
    if lin.rows is not None:
        raise ValueError("residual_spectrum takes the whole system, not a block of its rows")
    if not all(a > b for a, b in zip(edges, edges[1:], strict=False)) or edges[0] < 1 or edges[-1] != 0:
        raise ValueError(f"band edges must decrease from ≥ 1 to 0, got {tuple(edges)}")
    u, s, _ = torch.linalg.svd(lin.jacobian, full_matrices=False)
    total = float(lin.residual @ lin.residual)
    if total == 0:
        raise ValueError("the residual is zero: there is no floor to analyse")
    rank = s > s[0] * torch.finfo(s.dtype).eps * max(lin.jacobian.shape)
    u, s = u[:, rank], s[rank]
    shares = (u.T @ lin.residual).square() / total
    relative = s / s[0]
    bands = []
    for upper, lower in zip(edges, edges[1:], strict=False):
        inside = (relative <= upper) & ((relative > lower) if lower > 0 else (relative >= 0))
        bands.append(Band(upper, lower, int(inside.sum()), float(shares[inside].sum())))
    return Spectrum(tuple(bands), max(0.0, 1.0 - float(shares.sum())), float(s[0]), relative, shares)


@dataclass(frozen=True)
class FloorReport:
    """A trained ``θ`` on its training points: the loss there and on fresh points of the same counts, each term's
    loss on the training points, and the spectrum of the training residual."""

    loss: float
    fresh_loss: float
    term_losses: dict[str, float]
    spectrum: Spectrum


def term_losses(problem: Problem, points: Points, residual: Tensor) -> dict[str, float]:
    """``½ w_t Σ ρ_t²`` of every term ``t`` from the stacked weighted residual ``r`` on ``points`` (its rows in the
    order of ``problem.terms``, ``pinn_natmom.linearise``)."""
    parts = residual.split([len(points[term.name]) for term in problem.terms])
    return {term.name: 0.5 * float(part @ part) for term, part in zip(problem.terms, parts, strict=True)}


def floor_report(trainer: Trainer, theta: Tensor, fresh_seed: int = 1_000_003) -> FloorReport:
    """The ``FloorReport`` of ``θ`` on the trainer's current points; the fresh points are drawn in the same counts
    with a generator seeded ``fresh_seed``."""
    problem = trainer.problem
    lin = trainer.compute.linearise(theta, trainer.points)
    fresh = sample_points(problem, trainer.config.n_points, torch.Generator().manual_seed(fresh_seed), trainer.dtype,
                          trainer.device)
    with torch.no_grad():
        fresh_residual = residual_vector(trainer.network, problem, theta, fresh)
    return FloorReport(float(lin.loss), 0.5 * float(fresh_residual @ fresh_residual),
                       term_losses(problem, trainer.points, lin.residual), residual_spectrum(lin))
