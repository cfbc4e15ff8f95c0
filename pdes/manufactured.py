"""Data derived by automatic differentiation from an exact solution written as a torch function.

An exact solution is a function ``u*(x)`` of points ``x`` with shape ``(…, d)`` returning shape ``(…)``, written with
``...`` indexing (e.g. ``torch.sin(pi * x[..., 0])``). The derived quantities are evaluated point by point with
``torch.func`` and batched with ``vmap``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.func import grad, hessian, vmap

Field = Callable[[Tensor], Tensor]


def laplacian_of(u: Field, dims: Sequence[int] | None = None) -> Field:
    """``x ↦ Σ_{j ∈ dims} ∂²u/∂x_j²`` (all coordinates when ``dims`` is ``None``)."""

    def point(x: Tensor) -> Tensor:
        h = torch.diagonal(hessian(u)(x))
        return h.sum() if dims is None else h[list(dims)].sum()

    return lambda x: _pointwise(point, x)


def gradient_of(u: Field) -> Callable[[Tensor], Tensor]:
    """``x ↦ ∇u(x)``, shape ``(…, d)``."""
    return lambda x: _pointwise(grad(u), x)


def _pointwise(f: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Apply a one-point function to points of shape ``(…, d)``."""
    flat = x.reshape(-1, x.shape[-1])
    out = vmap(f)(flat)
    return out.reshape(*x.shape[:-1], *out.shape[1:])
