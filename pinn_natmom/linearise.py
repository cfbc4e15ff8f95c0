"""The stacked weighted residual ``r(θ)`` and its Jacobian ``J = ∂r/∂θ``.

``r`` stacks ``√w_t · ρ_t(θ; x_i)`` over the terms ``t`` of a problem and their points, in the order of
``problem.terms``; ``L = ½‖r‖²`` and ``∇L = Jᵀ r``.

Fast Jacobian (``method="forward"``): the forward Laplacian (``diffops.forward_jet``) records, for every linear layer ℓ,
its input channels ``A_ℓ`` (``N × C × in``) and output channels ``Z_ℓ = A_ℓ W_ℓᵀ (+ b_ℓ on the value channel)``. Since
``r_n`` depends on point ``n`` alone, one reverse pass of ``Σ_n r_n`` gives ``G_ℓ[n] = ∂r_n/∂Z_ℓ[n]``, and

.. math:: ∂r_n/∂W_ℓ = \\sum_c G_ℓ[n, c]^T A_ℓ[n, c], \\qquad ∂r_n/∂b_ℓ = G_ℓ[n, 0] .

Reference (``method="reference"``): ``vmap(jacrev(ρ))`` with the point's derivatives from ``torch.func``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import jacrev, vmap

from .diffops import Channels, channel_count, forward_jet, reference_jet
from .model import MLP
from .problem import Collocation, Problem, Term

Points = Mapping[str, Collocation]
JACOBIAN_METHODS = ("forward", "reference")


@dataclass(frozen=True)
class Linearised:
    """``r`` (``N``) and ``J`` (``N × P``) at one θ."""

    residual: Tensor
    jacobian: Tensor

    @property
    def loss(self) -> Tensor:
        """``L = ½ rᵀr``."""
        return 0.5 * torch.dot(self.residual, self.residual)

    def gradient(self) -> Tensor:
        """``∇L = Jᵀ r``."""
        return self.jacobian.T @ self.residual


def sqrt_weight(term: Term, points: Points) -> float:
    """``√w`` of a term for its current number of points."""
    return math.sqrt(term.weight_for(len(points[term.name])))


def linearise(mlp: MLP, problem: Problem, theta: Tensor, points: Points, method: str = "forward") -> Linearised:
    """``r(θ)`` and ``J(θ)`` on ``points`` (one :class:`Collocation` per term name)."""
    if method not in JACOBIAN_METHODS:
        raise ValueError(f"unknown Jacobian method {method!r}; choose from {JACOBIAN_METHODS}")
    build = _term_jacobian_forward if method == "forward" else _term_jacobian_reference
    parts = [build(mlp, term, theta, points[term.name], sqrt_weight(term, points)) for term in problem.terms]
    return Linearised(torch.cat([r for r, _ in parts]), torch.cat([j for _, j in parts]))


def residual_vector(mlp: MLP, problem: Problem, theta: Tensor, points: Points) -> Tensor:
    """``r(θ)``: shape ``N`` for θ of shape ``P``, or ``K × N`` for a batch of parameter vectors ``K × P``."""
    parts = []
    for term in problem.terms:
        pts = points[term.name]
        jet = forward_jet(mlp, theta, pts.x, term.needs, term.laplacian_dims)
        parts.append(sqrt_weight(term, points) * term.residual(pts.x, jet, pts.data))
    return torch.cat(parts, dim=-1)


def batched_losses(mlp: MLP, problem: Problem, thetas: Tensor, points: Points, max_bytes: int = 2**28) -> Tensor:
    """``L(θ_k) = ½‖r(θ_k)‖²`` for every row of ``thetas`` (``K × P``), in chunks of at most ``max_bytes`` of activations."""
    per_theta = sum(
        len(points[t.name]) * channel_count(problem.dim, t.needs) * max(mlp.widths) for t in problem.terms
    ) * thetas.element_size() * 4
    chunk = max(1, max_bytes // max(per_theta, 1))
    with torch.no_grad():
        losses = [
            0.5 * residual_vector(mlp, problem, block, points).square().sum(dim=-1) for block in thetas.split(chunk)
        ]
    return torch.cat(losses)


def _term_jacobian_forward(
    mlp: MLP, term: Term, theta: Tensor, pts: Collocation, scale: float
) -> tuple[Tensor, Tensor]:
    trace: list[tuple[Channels, Channels]] = []
    x = pts.x
    with torch.enable_grad():
        theta = theta.detach().requires_grad_(True)
        jet = forward_jet(mlp, theta, x, term.needs, term.laplacian_dims, trace=trace)
        r = scale * term.residual(x, jet, pts.data)
        outputs = [t for _, z in trace for t in z.tensors()]
        flat_grads = torch.autograd.grad(r.sum(), outputs, materialize_grads=True)
    blocks, used = [], 0
    for a, z in trace:
        count = len(z.tensors())
        g = Channels(*_pad(flat_grads[used : used + count], z)).stacked()
        used += count
        blocks.append(torch.einsum("cno,cni->noi", g, a.stacked().detach()).reshape(len(pts), -1))
        blocks.append(g[0])
    return r.detach(), torch.cat(blocks, dim=1)


def _pad(grads: tuple[Tensor, ...], like: Channels) -> list[Tensor | None]:
    """Put the gradients of the present channels of ``like`` back in the (value, grad, laplacian) slots."""
    it = iter(grads)
    return [None if t is None else next(it) for t in (like.value, like.grad, like.laplacian)]


def _term_jacobian_reference(
    mlp: MLP, term: Term, theta: Tensor, pts: Collocation, scale: float
) -> tuple[Tensor, Tensor]:
    def rho(th: Tensor, point: Tensor, data: Tensor | None) -> Tensor:
        return scale * term.residual(point, reference_jet(mlp, th, point, term.needs, term.laplacian_dims), data)

    data_dim = None if pts.data is None else 0
    r = vmap(rho, in_dims=(None, 0, data_dim))(theta, pts.x, pts.data)
    return r, vmap(jacrev(rho), in_dims=(None, 0, data_dim))(theta, pts.x, pts.data)
