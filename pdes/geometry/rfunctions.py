"""R-functions and approximate distance functions (ADFs), after Sukumar & Srivastava, "Exact imposition of boundary
conditions with distance functions in physics-informed deep neural networks", CMAME 389 (2022) 114333.

An ADF ``φ`` of a domain is positive inside, zero on the boundary and negative outside, with a nonzero normal
derivative on the boundary. The R0 functions combine them into ADFs of set operations:

- conjunction (intersection) ``φ1 ∧ φ2 = φ1 + φ2 − √(φ1² + φ2²)``;
- disjunction (union) ``φ1 ∨ φ2 = φ1 + φ2 + √(φ1² + φ2²)``;
- difference ``φ1 ∧ (−φ2)``;

and the R-equivalence ``φ1 ~ … ~ φm = 1 / Σ_i 1/φ_i`` joins the unsigned ADFs of the pieces of one boundary.

Every function is built from torch operations that autograd differentiates twice; square roots and reciprocals
are guarded so that values and derivatives stay finite where their argument vanishes (on the boundary and at
corners), where the derivative of the guarded branch is taken as zero.
"""
from __future__ import annotations

import torch
from torch import Tensor


def safe_sqrt(s: Tensor) -> Tensor:
    """``√s`` for ``s ≥ 0`` with value and derivatives ``0`` (not ``inf``/``nan``) where ``s = 0``."""
    positive = s > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, s, torch.ones_like(s))), torch.zeros_like(s))


def conjunction(a: Tensor, b: Tensor) -> Tensor:
    """``a ∧ b = a + b − √(a² + b²)``: an ADF of the intersection."""
    return a + b - safe_sqrt(a * a + b * b)


def disjunction(a: Tensor, b: Tensor) -> Tensor:
    """``a ∨ b = a + b + √(a² + b²)``: an ADF of the union."""
    return a + b + safe_sqrt(a * a + b * b)


def equivalence(pieces: Tensor) -> Tensor:
    """``1 / Σ_i 1/φ_i`` over the last axis of ``pieces`` (``φ_i ≥ 0``), zero where any ``φ_i`` is zero."""
    on_piece = (pieces == 0).any(dim=-1)
    guarded = torch.where(pieces > 0, pieces, torch.ones_like(pieces))
    total = (1.0 / guarded).sum(dim=-1)
    return torch.where(on_piece, torch.zeros_like(total), 1.0 / torch.where(on_piece, torch.ones_like(total), total))


def segment_adf(x: Tensor, start: Tensor, end: Tensor) -> Tensor:
    """Unsigned ADFs ``(n, m)`` of the ``m`` segments ``start[i] → end[i]`` (each ``(m, 2)``) at the points ``x``
    ``(n, 2)``: with ``L`` the length, ``c`` the midpoint,

    ``f = ((x − a) × (b − a)) / L`` (signed distance to the line), ``t = ((L/2)² − |x − c|²) / L`` (trimming disk),

    ``φ = √(f² + ((√(t² + f⁴) − t) / 2)²)``, zero exactly on the segment and ``≈ |f|`` near it.
    """
    edge = end - start
    length = torch.linalg.norm(edge, dim=-1)
    rel = x.unsqueeze(-2) - start
    f = (rel[..., 0] * edge[:, 1] - rel[..., 1] * edge[:, 0]) / length
    centre = x.unsqueeze(-2) - 0.5 * (start + end)
    t = (0.25 * length**2 - (centre * centre).sum(dim=-1)) / length
    trim = 0.5 * (safe_sqrt(t * t + f**4) - t)
    return safe_sqrt(f * f + trim * trim)
