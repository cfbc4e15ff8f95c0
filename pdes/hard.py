"""Dirichlet data imposed exactly by an output transform: ``u(x) = g̃(x) + φ(x) N(x)`` with ``N`` the network.

On a box with Dirichlet data ``g`` on both faces of the axes ``A``:

- ``φ(x) = Π_{j∈A} 4 (x_j − lo_j)(hi_j − x_j) / w_j²`` vanishes on those faces and is 1 at the centre;
- ``g̃`` is the transfinite (Coons) interpolant of the boundary values, the Boolean sum of the projectors
  ``P_j f(x) = ((hi_j − x_j) f(x|x_j=lo_j) + (x_j − lo_j) f(x|x_j=hi_j)) / w_j``:

  .. math:: g̃ = \\Big(I − \\prod_{j∈A} (I − P_j)\\Big) g = \\sum_{∅≠S⊆A} (−1)^{|S|+1} \\prod_{j∈S} P_j\\, g ,

  which equals ``g`` on every face of ``A`` and reads ``g`` only there (``3^{|A|} − 1`` evaluations per point), so a
  manufactured solution's interior values are never used.

The boundary term is dropped; every other term reads the jet of ``u`` from the network's by

.. math:: u = g̃ + φN, \\quad ∇u = ∇g̃ + φ∇N + N∇φ, \\quad Δu = Δg̃ + φΔN + 2∇φ·∇N + NΔφ ,

with the jets of ``g̃`` and ``φ`` computed once per point set (as the term's data) by automatic differentiation.
"""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import torch
from torch import Tensor

from pinn_natmom.problem import Jet, Problem, Term

from .domains import Box
from .manufactured import Field, gradient_of, laplacian_of


def transfinite(g: Field, box: Box, axes: Sequence[int]) -> Field:
    """``g̃`` of the module docstring."""

    def extension(x: Tensor) -> Tensor:
        total = torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
        for size in range(1, len(axes) + 1):
            for subset in itertools.combinations(axes, size):
                for corner in itertools.product((0, 1), repeat=size):
                    weight, y = 1.0, x
                    for axis, side in zip(subset, corner, strict=True):
                        lo, hi = box.lo[axis], box.hi[axis]
                        weight = weight * ((x[..., axis] - lo) if side else (hi - x[..., axis])) / (hi - lo)
                        mask = torch.zeros(x.shape[-1], dtype=x.dtype, device=x.device)
                        mask[axis] = 1.0
                        y = y * (1.0 - mask) + (hi if side else lo) * mask
                    total = total + (-1.0) ** (size + 1) * weight * g(y)
        return total

    return extension


def bubble(box: Box, axes: Sequence[int]) -> Field:
    """``φ`` of the module docstring."""

    def phi(x: Tensor) -> Tensor:
        out = torch.ones(x.shape[:-1], dtype=x.dtype, device=x.device)
        for axis in axes:
            lo, hi = box.lo[axis], box.hi[axis]
            out = out * 4.0 * (x[..., axis] - lo) * (hi - x[..., axis]) / (hi - lo) ** 2
        return out

    return phi


def lifted(term: Term, extension: Field, phi: Field, dim: int) -> Term:
    """``term`` reading the jet of ``u = g̃ + φN``; its data gains the jets of ``g̃`` and ``φ`` (columns: own data,
    g̃, ∇g̃, Δg̃, φ, ∇φ, Δφ)."""
    dims = term.laplacian_dims
    jets = [(f, gradient_of(f), laplacian_of(f, dims)) for f in (extension, phi)]
    sizes = [1, 1, dim, 1, 1, dim, 1]

    def data(x: Tensor) -> Tensor:
        own = term.data(x) if term.data is not None else torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
        parts = [own.unsqueeze(-1)]
        for value, gradient, laplacian in jets:
            parts += [value(x).unsqueeze(-1), gradient(x), laplacian(x).unsqueeze(-1)]
        return torch.cat(parts, dim=-1)

    def residual(x: Tensor, jet: Jet, packed: Tensor | None) -> Tensor:
        own, gv, gg, gl, pv, pg, pl = (part.squeeze(-1) if size == 1 else part
                                       for part, size in zip(packed.split(sizes, dim=-1), sizes, strict=True))
        grad = None if jet.grad is None else gg + pv.unsqueeze(-1) * jet.grad + jet.value.unsqueeze(-1) * pg
        laplacian = None
        if jet.laplacian is not None:
            cross = pg * jet.grad if dims is None else (pg * jet.grad)[..., list(dims)]
            laplacian = gl + pv * jet.laplacian + 2.0 * cross.sum(dim=-1) + jet.value * pl
        u = Jet(gv + pv * jet.value, grad, laplacian)
        return term.residual(x, u, own if term.data is not None else None)

    needs = term.needs | ({"grad"} if "laplacian" in term.needs else set())
    return dataclasses.replace(term, residual=residual, data=data, needs=frozenset(needs))


EXACT_DIRICHLET_MAX_AXES = 3
"""The most axes whose faces ``hard_bc=None`` constrains exactly: the extension ``g̃`` reads the data ``3^{|A|} − 1``
times per point (26 in 3-d, 242 in 5-d); the cost beyond is measured in results/floors/README.md."""


def exact_by_default(hard_bc: bool | None, neumann: Sequence[object], axes: int) -> bool:
    """``hard_bc`` resolved on a box: as given, or (``None``) exact where every face of the ``axes`` constrained axes
    has Dirichlet data and ``axes ≤ EXACT_DIRICHLET_MAX_AXES``, else a boundary term (the comparison:
    results/floors/README.md)."""
    if hard_bc is not None:
        return hard_bc
    return not neumann and axes <= EXACT_DIRICHLET_MAX_AXES


def hard_dirichlet(problem: Problem, box: Box, axes: Sequence[int], boundary: Field) -> Problem:
    """``problem`` with the ``boundary`` term's data imposed exactly on both faces of ``axes`` (module docstring)."""
    extension, phi = transfinite(boundary, box, axes), bubble(box, axes)
    terms = tuple(lifted(term, extension, phi, box.dim) for term in problem.terms if term.name != "boundary")
    faces = ", ".join(f"x{axis + 1}" for axis in axes)
    return dataclasses.replace(
        problem, terms=terms, output=lambda x: (extension(x), phi(x)),
        description=f"{problem.description}; Dirichlet data on the faces of {faces} imposed exactly",
    )

