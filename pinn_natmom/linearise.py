"""The stacked weighted residual ``r(θ)`` and its Jacobian ``J = ∂r/∂θ``.

``r`` stacks ``√w_t · ρ_t(θ; x_i)`` over the terms ``t`` of a problem and their points, in the order of
``problem.terms``; ``L = ½‖r‖²`` and ``∇L = Jᵀ r``.

Fast Jacobian (``method="forward"``): the forward Laplacian and a hand-written reverse pass through it, point by
point (``jacobian``), each block written straight into its rows of ``J``.

Reference (``method="reference"``): ``vmap(jacrev(ρ))`` with the point's derivatives from ``torch.func``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch.func import jacrev, vmap

from .diffops import channel_count, forward_jet, reference_jet
from .jacobian import residual_and_jacobian
from .network import MLP
from .problem import Collocation, Problem, Term
from .solvers import RowBlock

Points = Mapping[str, Collocation]
JACOBIAN_METHODS = ("forward", "reference")


@dataclass(frozen=True)
class Linearised:
    """``r`` (``N``) and ``J`` (``N × P``) at one θ; or, with ``rows``, this block of the rows of a larger system
    (``RowBlock``), whose sums over the rows run over all the blocks. ``decompositions`` keeps the solvers'
    decompositions of this ``J`` (``pinn_natmom.solvers.decompose``), so that several dampings cost one."""

    residual: Tensor
    jacobian: Tensor
    rows: RowBlock | None = None
    decompositions: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def loss(self) -> Tensor:
        """``L = ½ rᵀr``."""
        return 0.5 * self.inner(self.residual, self.residual)

    def gradient(self) -> Tensor:
        """``∇L = Jᵀ r``."""
        return self.inner(self.jacobian, self.residual)

    @property
    def system_shape(self) -> tuple[int, int]:
        """``(N, P)`` of the whole system (all blocks' rows)."""
        n_rows = self.jacobian.shape[0] if self.rows is None else self.rows.total
        return n_rows, self.jacobian.shape[1]

    def inner(self, a: Tensor, b: Tensor) -> Tensor:
        """``aᵀb`` summed over the rows of the system, for ``a``, ``b`` vectors or matrices of its rows."""
        product = torch.tensordot(a, b, dims=([0], [0]))
        return product if self.rows is None else self.rows.sum(product)


def sqrt_weight(term: Term, points: Points) -> float:
    """``√w`` of a term for its current number of points."""
    return math.sqrt(term.weight_for(points[term.name].set_size))


JACOBIAN_PASS_BYTES = 2**30
"""The most memory one pass of the Jacobian build may take; larger point sets are linearised in row blocks."""
ACTIVATION_COPIES = 4
"""Tensors of the forward Laplacian's width kept per layer and channel while a block of ``J`` is built: the layer's
input and output channels, the gradients of the outputs, and the activation derivatives."""


def rows_per_pass(mlp: MLP, dim: int, term: Term, itemsize: int, max_bytes: int = JACOBIAN_PASS_BYTES) -> int:
    """Points of ``term`` linearised in one pass within ``max_bytes``: a point takes ``C·Σ_ℓ(w_ℓ)·copies`` entries of
    activations (``C`` channels, widths ``w_ℓ``, ``ACTIVATION_COPIES``) and ``2P`` for its row of ``J`` and the
    per-layer blocks it is assembled from."""
    per_point = channel_count(dim, term.needs) * sum(mlp.widths) * ACTIVATION_COPIES + 2 * mlp.num_params
    return max(1, max_bytes // (per_point * itemsize))


def linearise(mlp: MLP, problem: Problem, theta: Tensor, points: Points, method: str = "forward",
              max_bytes: int = JACOBIAN_PASS_BYTES) -> Linearised:
    """``r(θ)`` and ``J(θ)`` on ``points`` (one ``Collocation`` per term name), written into one ``N × P`` tensor
    block by block (``rows_per_pass``), so building ``J`` needs at most ``max_bytes`` beside it."""
    if method not in JACOBIAN_METHODS:
        raise ValueError(f"unknown Jacobian method {method!r}; choose from {JACOBIAN_METHODS}")
    n_rows = sum(len(points[term.name]) for term in problem.terms)
    residual, jacobian = theta.new_empty(n_rows), theta.new_empty(n_rows, mlp.num_params)
    start = 0
    for term in problem.terms:
        pts, scale = points[term.name], sqrt_weight(term, points)
        block = rows_per_pass(mlp, problem.dim, term, theta.element_size(), max_bytes)
        for first in range(0, len(pts), block):
            taken = slice(first, first + block)
            part = Collocation(pts.x[taken], None if pts.data is None else pts.data[taken], pts.set_size)
            rows = slice(start, start + len(part))
            if method == "forward":
                residual[rows] = residual_and_jacobian(mlp, term, theta, part, scale, out=jacobian[rows])[0]
            else:
                residual[rows], jacobian[rows] = _term_jacobian_reference(mlp, term, theta, part, scale)
            start += len(part)
    return Linearised(residual, jacobian)


def residual_vector(mlp: MLP, problem: Problem, theta: Tensor, points: Points, in_place: bool = False) -> Tensor:
    """``r(θ)``: shape ``N`` for θ of shape ``P``, or ``K × N`` for a batch of parameter vectors ``K × P``.

    ``in_place``: the activations overwrite their layers' outputs (no autograd through it)."""
    parts = []
    for term in problem.terms:
        pts = points[term.name]
        jet = forward_jet(mlp, theta, pts.x, term.needs, term.laplacian_dims, in_place=in_place)
        parts.append(sqrt_weight(term, points) * term.residual(pts.x, jet, pts.data))
    return torch.cat(parts, dim=-1)


def loss_and_gradient(mlp: MLP, problem: Problem, theta: Tensor, points: Points) -> tuple[Tensor, Tensor]:
    """``(L(θ), ∇L(θ))`` by one reverse pass, without forming ``J``."""
    with torch.enable_grad():
        leaf = theta.detach().requires_grad_(True)
        residual = residual_vector(mlp, problem, leaf, points)
        loss = 0.5 * torch.dot(residual, residual)
        (grad,) = torch.autograd.grad(loss, leaf)
    return loss.detach(), grad


def batched_losses(mlp: MLP, problem: Problem, thetas: Tensor, points: Points, max_bytes: int = 2**28) -> Tensor:
    """``L(θ_k) = ½‖r(θ_k)‖²`` for every row of ``thetas`` (``K × P``), in chunks of at most ``max_bytes`` of activations."""
    per_theta = sum(
        len(points[t.name]) * channel_count(problem.dim, t.needs) * max(mlp.widths) for t in problem.terms
    ) * thetas.element_size() * 4
    chunk = max(1, max_bytes // max(per_theta, 1))
    with torch.no_grad():
        losses = [
            0.5 * residual_vector(mlp, problem, block, points, in_place=True).square().sum(dim=-1)
            for block in thetas.split(chunk)
        ]
    return torch.cat(losses)


def _term_jacobian_reference(
    mlp: MLP, term: Term, theta: Tensor, pts: Collocation, scale: float
) -> tuple[Tensor, Tensor]:
    def rho(th: Tensor, point: Tensor, data: Tensor | None) -> Tensor:
        return scale * term.residual(point, reference_jet(mlp, th, point, term.needs, term.laplacian_dims), data)

    data_dim = None if pts.data is None else 0
    r = vmap(rho, in_dims=(None, 0, data_dim))(theta, pts.x, pts.data)
    return r, vmap(jacrev(rho), in_dims=(None, 0, data_dim))(theta, pts.x, pts.data)
