"""Neumann data on chosen faces of a box: the residual ``ρ = ∂u/∂n − h`` with ``n`` the outward unit normal.

Faces are named by a coordinate and a side, ``"x1=0"`` (``x_1 = lo_1``, normal ``−e_1``) or ``"x2=1"`` (``x_2 = hi_2``,
normal ``+e_2``), coordinates counted from 1; face ``2j`` of ``pdes.domains.uniform_boundary`` is ``x_{j+1} = lo``
and ``2j + 1`` is ``x_{j+1} = hi``. A point belongs to the face whose coordinate equals the bound exactly (the
boundary sampler sets it exactly; corners have measure zero and are never drawn).
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import Tensor

from pinn_natmom.problem import Jet, Term

from .domains import Box, uniform_boundary
from .manufactured import Field, gradient_of

FACE = re.compile(r"^x(\d+)=([01])$")


def parse_faces(faces: str | Sequence[str], spatial_dim: int) -> tuple[int, ...]:
    """Face indices of names like ``"x1=0,x2=1"`` (or a list of them), for a box whose first ``spatial_dim``
    coordinates may carry Neumann data; a clear ``ValueError`` for anything else."""
    names = [name.strip() for name in (faces.split(",") if isinstance(faces, str) else faces) if name.strip()]
    indices = []
    for name in names:
        match = FACE.match(name.replace(" ", ""))
        axis = int(match.group(1)) - 1 if match else -1
        if not match or not 0 <= axis < spatial_dim:
            raise ValueError(f"Neumann face {name!r} is not one of x1=0 … x{spatial_dim}=1 (a coordinate x1…x{spatial_dim} "
                             "and a side 0 or 1, comma-separated)")
        indices.append(2 * axis + int(match.group(2)))
    if len(set(indices)) != len(indices):
        raise ValueError(f"Neumann faces repeat a face: {', '.join(names)}")
    return tuple(sorted(indices))


def outward_normal(box: Box, faces: tuple[int, ...], x: Tensor) -> Tensor:
    """``n(x)`` (shape ``(…, d)``) of the face among ``faces`` that each point lies on (zero off them)."""
    columns = [torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device) for _ in range(box.dim)]
    for face in faces:
        axis, side = divmod(face, 2)
        bound = box.hi[axis] if side else box.lo[axis]
        columns[axis] = columns[axis] + (1.0 if side else -1.0) * (x[..., axis] == bound).to(x.dtype)
    return torch.stack(columns, dim=-1)


def neumann_term(box: Box, faces: tuple[int, ...], flux: Field, points: int) -> Term:
    """The term ``ρ = ∇u · n − h`` on ``faces``, with ``h = flux(x)``, drawing ``points`` points by default."""

    def residual(x: Tensor, jet: Jet, h: Tensor | None) -> Tensor:
        """``ρ = ∂u/∂n − h``."""
        return (jet.grad * outward_normal(box, faces, x)).sum(dim=-1) - h

    return Term("neumann", residual, uniform_boundary(box, faces), data=flux, needs=frozenset({"grad"}), points=points)


def normal_derivative_of(exact: Field, box: Box, faces: tuple[int, ...]) -> Field:
    """``x ↦ ∇u*(x) · n(x)``, the Neumann data of an exact solution."""
    gradient = gradient_of(exact)
    return lambda x: (gradient(x) * outward_normal(box, faces, x)).sum(dim=-1)


def dirichlet_faces(box: Box, neumann: tuple[int, ...], spatial_dim: int) -> tuple[int, ...]:
    """The faces of the first ``spatial_dim`` coordinates that keep Dirichlet data."""
    return tuple(face for face in range(2 * spatial_dim) if face not in neumann)


def face_names(faces: tuple[int, ...]) -> str:
    """``"x1=0, x2=1"`` for face indices."""
    return ", ".join(f"x{face // 2 + 1}={face % 2}" for face in faces)
