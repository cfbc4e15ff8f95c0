"""Point sets in the unit cube and the samplers built from them.

Every sampler has the signature ``(n, generator) -> n × d`` float64 tensor on the CPU, so that the same seed gives
the same points on every device; the engine converts them to the run's dtype and device.

- ``uniform``: independent uniform points;
- ``sobol``: scrambled Sobol points (torch's ``SobolEngine``), the scrambling seeded from the generator;
- ``lhs``: a Latin hypercube, in every coordinate each of the ``n`` strata ``[i/n, (i+1)/n)`` holds exactly one point.

On a box these are scaled affinely (``box_interior``); on any other domain ``rejection_interior`` keeps the points of
such designs in the bounding box that fall inside.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from pinn_natmom.problem import Sampler

if TYPE_CHECKING:
    from .base import Domain
    from .box import Box

KINDS = ("uniform", "sobol", "lhs")
BOUNDARY_KINDS = ("uniform", "sobol")


def check_kind(kind: str, kinds: tuple[str, ...]) -> None:
    """A ``ValueError`` naming ``kinds`` unless ``kind`` is one of them."""
    if kind not in kinds:
        raise ValueError(f"unknown sampler {kind!r}; choose from {', '.join(kinds)}")


def sobol_seed(generator: torch.Generator) -> int:
    """The scrambling seed of a Sobol engine, drawn from ``generator``."""
    return int(torch.randint(0, 2**31 - 1, (1,), generator=generator))


def latin_hypercube(n: int, dim: int, generator: torch.Generator) -> Tensor:
    """A Latin hypercube of ``n`` points in ``[0, 1)^dim``."""
    strata = torch.stack([torch.randperm(n, generator=generator) for _ in range(dim)], dim=1)
    jitter = torch.rand(n, dim, generator=generator, dtype=torch.float64)
    return (strata + jitter) / n


def unit_stream(kind: str, dim: int, generator: torch.Generator) -> Callable[[int], Tensor]:
    """A function ``m ↦ m × dim`` points of ``[0, 1)^dim`` of the design ``kind``; successive calls continue one
    Sobol sequence (seeded once from ``generator``) or draw fresh uniform points or Latin hypercubes."""
    check_kind(kind, KINDS)
    if kind == "sobol":
        engine = torch.quasirandom.SobolEngine(dim, scramble=True, seed=sobol_seed(generator))
        return lambda m: engine.draw(m, dtype=torch.float64)
    if kind == "lhs":
        return lambda m: latin_hypercube(m, dim, generator)
    return lambda m: torch.rand(m, dim, generator=generator, dtype=torch.float64)


def box_interior(box: Box, kind: str) -> Sampler:
    """The design ``kind`` scaled onto ``box``."""
    check_kind(kind, KINDS)

    def sample(n: int, generator: torch.Generator) -> Tensor:
        return box.scale(unit_stream(kind, box.dim, generator)(n))

    return sample


def rejection_interior(domain: Domain, kind: str) -> Sampler:
    """Points of the design ``kind`` in the bounding box that lie in ``domain``, drawn in batches of about
    ``1.1 (n − kept) |box| / |domain| + 16`` until ``n`` are kept (the first ``n`` kept, in order).

    A Sobol stream is continued across batches, so the kept points are the first ``n`` points of one scrambled Sobol
    sequence inside the domain; a Latin hypercube keeps its one-point-per-stratum property only before rejection."""
    check_kind(kind, KINDS)
    box = domain.bounding_box
    acceptance = domain.measure / box.measure

    def sample(n: int, generator: torch.Generator) -> Tensor:
        stream = unit_stream(kind, domain.dim, generator)
        kept, count = [], 0
        while count < n:
            candidates = box.scale(stream(math.ceil(1.1 * (n - count) / acceptance) + 16))
            inside = candidates[domain.contains(candidates, tol=0.0)]
            kept.append(inside)
            count += len(inside)
        return torch.cat(kept)[:n]

    return sample


def pick(weights: Tensor, u: Tensor) -> Tensor:
    """Indices ``k`` with probability ``weights[k] / Σ weights`` by the inverse distribution function at ``u ∈ [0, 1)``."""
    cumulative = torch.cumsum(weights, dim=0)
    index = torch.searchsorted(cumulative, u * cumulative[-1], right=True)
    return index.clamp_(max=len(weights) - 1)


def boundary_stream(kind: str, arity: int, generator: torch.Generator) -> Callable[[int], Tensor]:
    """``m ↦ m × arity`` uniform or scrambled Sobol points of ``[0, 1)^arity`` for a boundary map."""
    check_kind(kind, BOUNDARY_KINDS)
    return unit_stream(kind, arity, generator)
