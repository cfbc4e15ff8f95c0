"""Derivatives of the network field at points: a forward Laplacian and Hessian, and a torch.func reference.

Forward Laplacian. Every layer carries channel groups for the points ``x_n``: the value ``z`` (``*K × N × w``), the
gradient ``∂_j z`` (``*K × d × N × w``) and either the Laplacian over a coordinate set ``S``, ``Δ_S z``
(``*K × N × w``), or — when the term reads the Hessian — the ``m = d(d+1)/2`` second derivatives ``∂_i∂_j z``,
``i ≤ j`` (``*K × m × N × w``, in the row-major order of ``Pairs``). Through a linear layer every channel is
multiplied by ``Wᵀ`` (the bias enters the value only); through ``y = σ(z)``:

.. math::
    ∂_j y = σ'(z)\\,∂_j z, \\qquad Δ_S y = σ'(z)\\,Δ_S z + σ''(z) \\sum_{j \\in S} (∂_j z)^2 , \\qquad
    ∂_i∂_j y = σ'(z)\\,∂_i∂_j z + σ''(z)\\,∂_i z\\,∂_j z ,

with ``σ'`` and ``σ''`` from the activation table (``pinn_natmom.activations``). The output's Hessian is assembled as
the symmetric ``d × d`` matrix; a Laplacian asked for beside it is its trace over ``S``, so a term reading both
carries the Hessian channels alone. A term reading the Laplacian but no Hessian carries the single Laplacian channel.

The first layer needs no products for its derivative channels: ``∂_j z = W_{:, j}`` at every point and ``Δz = 0``,
``∂_i∂_j z = 0`` (``input_layer``). The gradient channels of the last hidden layer are only formed when the output's
gradient is asked for; the second-order channels need only their products.

θ may be one vector ``P`` or a batch ``K × P`` (the line search evaluates many step sizes in one pass).
The reference computes the same quantities point by point with ``torch.func.grad`` and ``torch.func.hessian``.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import grad as fgrad
from torch.func import hessian as fhessian

from .activations import Activation, activation
from .network import MLP, affine
from .problem import Jet


@dataclass(frozen=True)
class Channels:
    """Value, gradient, Laplacian and Hessian channels of one layer's activations (parts not carried are ``None``)."""

    value: Tensor
    grad: Tensor | None = None
    laplacian: Tensor | None = None
    hessian: Tensor | None = None

    def parts(self) -> tuple[Tensor | None, ...]:
        """``(value, grad, laplacian, hessian)``, the arguments that rebuild these channels."""
        return self.value, self.grad, self.laplacian, self.hessian


@dataclass(frozen=True)
class Pairs:
    """The ``m = d(d+1)/2`` coordinate pairs ``(i, j)``, ``i ≤ j``, of the Hessian channels, in row-major order.

    ``first``, ``second``: ``i`` and ``j`` of each pair (``m``); ``index``: ``d × d``, the pair of ``(i, j)`` and of
    ``(j, i)``, ``p = i d − i(i−1)/2 + j − i`` for ``i ≤ j``. Built on the device without host-to-device copies.
    """

    first: Tensor
    second: Tensor
    index: Tensor

    @classmethod
    def of(cls, dim: int, device: torch.device) -> Pairs:
        first, second = torch.triu_indices(dim, dim, device=device)
        coordinate = torch.arange(dim, device=device)
        lo = torch.minimum(coordinate.unsqueeze(-1), coordinate)
        hi = torch.maximum(coordinate.unsqueeze(-1), coordinate)
        return cls(first, second, lo * dim - lo * (lo - 1) // 2 + hi - lo)


@dataclass(frozen=True)
class ChannelPlan:
    """The channels a term's ``needs`` take through the network.

    ``derivatives``: gradient channels (any derivative is read); ``laplacian``: the Laplacian channel (the Laplacian
    is read, the Hessian not); ``pairs``: the Hessian channels (the Hessian is read), else ``None``; ``mask``: the
    ``d × 1 × 1`` mask of the Laplacian's coordinates ``S`` (``dims_mask``).
    """

    needs: frozenset[str]
    derivatives: bool
    laplacian: bool
    pairs: Pairs | None
    mask: Tensor | None

    @classmethod
    def of(cls, needs: Collection[str], laplacian_dims: Sequence[int] | None, x: Tensor) -> ChannelPlan:
        """The plan for points ``x`` (``N × d``)."""
        needs = frozenset(needs)
        hessian = "hessian" in needs
        return cls(
            needs=needs,
            derivatives=bool(needs & {"grad", "laplacian", "hessian"}),
            laplacian="laplacian" in needs and not hessian,
            pairs=Pairs.of(x.shape[-1], x.device) if hessian else None,
            mask=dims_mask(x.shape[-1], laplacian_dims, x),
        )


def channel_count(dim: int, needs: Collection[str]) -> int:
    """``C``: one value channel, ``d`` gradient channels if any derivative is needed, then ``d(d+1)/2`` Hessian
    channels if the Hessian is needed, else one Laplacian channel if the Laplacian is."""
    if "hessian" in needs:
        return 1 + dim + dim * (dim + 1) // 2
    derivatives = "grad" in needs or "laplacian" in needs
    return 1 + (dim if derivatives else 0) + (1 if "laplacian" in needs else 0)


def input_layer(x: Tensor, w: Tensor, b: Tensor, derivatives: bool) -> tuple[Channels, Channels]:
    """The input channels and those of the first linear layer ``z = W x + b``.

    The input is ``x`` with ``∂x/∂x_j = e_j`` and vanishing second derivatives, so ``∂_j z = W_{:, j}`` at every
    point: no product is needed for the derivative channels (broadcastable ``d × 1 × w`` tensors) and no second-order
    channel is carried (``None`` reads as zero). The input's own channels are its value ``x`` alone.
    """
    value = affine(x, w, b)
    if not derivatives:
        return Channels(x), Channels(value)
    return Channels(x), Channels(value, w.transpose(-1, -2).unsqueeze(-2))


def linear(t: Tensor, w: Tensor, t_batched: bool) -> Tensor:
    """``t Wᵀ`` as one matrix product, for ``W`` of shape ``(out, in)`` or a batch ``(K, out, in)``.

    ``t`` is ``(…, in)``, shared by every ``W`` of a batch, or — when ``t_batched`` — ``(K, …, in)``, one per ``W``.
    """
    if w.dim() == 2:
        return (t.reshape(-1, t.shape[-1]) @ w.T).reshape(*t.shape[:-1], w.shape[0])
    k = w.shape[0]
    inner = t.shape[1:-1] if t_batched else t.shape[:-1]
    rows = t.reshape(k, -1, t.shape[-1]) if t_batched else t.reshape(-1, t.shape[-1])
    return torch.matmul(rows, w.transpose(-1, -2)).reshape(k, *inner, w.shape[1])


def linear_channels(a: Channels, w: Tensor, b: Tensor, a_batched: bool) -> Channels:
    """The linear layer ``z = W a + b`` on every channel (bias on the value only)."""
    value = affine(a.value, w, b)
    return Channels(value, *(None if t is None else linear(t, w, a_batched) for t in a.parts()[1:]))


def activation_channels(z: Channels, sigma: Activation, plan: ChannelPlan, keep_grad: bool,
                        in_place: bool = False) -> Channels:
    """Push channels through ``y = σ(z)`` with the chain rules in the module docstring (a missing second-order
    channel of ``z`` is zero).

    ``keep_grad``: return the gradient channels ``∂_j y`` (later layers or the output need them), else only use
    ``∂_j z`` for the second-order channels. ``in_place`` (no autograd): ``y`` overwrites ``z``'s value channel
    (``pinn_natmom.network.IN_PLACE``).
    """
    if z.grad is None:
        return Channels(sigma.in_place(z.value) if in_place else sigma.function(z.value))
    y, slope, curvature = sigma.value_and_derivatives(z.value, in_place)
    laplacian = hessian = None
    if plan.laplacian:
        laplacian = second_order(z.laplacian, squared_gradient(z.grad, plan.mask), slope, curvature)
    if plan.pairs is not None:
        products = pair_products(z.grad, plan.pairs)
        hessian = second_order(z.hessian, products, slope.unsqueeze(-3), curvature.unsqueeze(-3))
    grad = slope.unsqueeze(-3) * z.grad if keep_grad else None
    return Channels(y, grad, laplacian, hessian)


def second_order(previous: Tensor | None, products: Tensor, slope: Tensor, curvature: Tensor) -> Tensor:
    """``σ' s + σ'' q`` for a second-order channel ``s`` of ``z`` (``None``: zero) and its products ``q`` of first
    derivatives."""
    return curvature * products if previous is None else slope * previous + curvature * products


def squared_gradient(grad: Tensor, mask: Tensor | None) -> Tensor:
    """``Q = Σ_{j∈S} (∂_j z)²``, summed over the gradient channels (axis −3) of ``grad``; ``mask`` selects ``S``."""
    return (grad * grad if mask is None else grad * grad * mask).sum(dim=-3)


def pair_products(grad: Tensor, pairs: Pairs) -> Tensor:
    """``∂_i z ∂_j z`` for every pair ``(i, j)`` of ``pairs``, from the gradient channels (axis −3) of ``grad``."""
    return grad.index_select(-3, pairs.first) * grad.index_select(-3, pairs.second)


def dims_mask(dim: int, laplacian_dims: Sequence[int] | None, like: Tensor) -> Tensor | None:
    """A ``d × 1 × 1`` 0/1 mask of the coordinates in the Laplacian, or ``None`` for all of them.

    Built from device-side comparisons only (no host-to-device copy), so that it can be recorded into a CUDA graph.
    """
    if laplacian_dims is None or sorted(laplacian_dims) == list(range(dim)):
        return None
    index = torch.arange(dim, device=like.device)
    mask = torch.zeros(dim, dtype=like.dtype, device=like.device)
    for j in laplacian_dims:
        mask = mask + (index == j).to(like.dtype)
    return mask.reshape(dim, 1, 1)


def forward_channels(
    mlp: MLP,
    theta: Tensor,
    x: Tensor,
    plan: ChannelPlan,
    trace: list[tuple[Channels, Channels]] | None = None,
    in_place: bool = False,
) -> Channels:
    """The output layer's channels (width 1) at points ``x`` (``N × d``) as ``plan`` says (``forward_jet``)."""
    if in_place and trace is not None:
        raise ValueError("in-place activations would overwrite the traced layer outputs")
    sigma = activation(mlp.activation)
    layers = mlp.unflatten(theta)
    a, z = input_layer(x, *layers[0], plan.derivatives)
    last = len(layers) - 1
    for i in range(last + 1):
        if i > 0:
            z = linear_channels(a, *layers[i], a_batched=theta.dim() > 1)
        if trace is not None:
            trace.append((a, z))
        if i < last:
            a = activation_channels(z, sigma, plan, i + 1 < last or "grad" in plan.needs, in_place)
    return z


def output_jet(z: Channels, plan: ChannelPlan) -> Jet:
    """The ``Jet`` of the parts in ``plan.needs`` from the output layer's channels ``z`` (width 1): the Hessian as the
    symmetric ``d × d`` matrix, a Laplacian beside it as its trace over ``S``."""
    needs = plan.needs
    hessian = None if plan.pairs is None else z.hessian[..., 0].movedim(-2, -1)[..., plan.pairs.index]
    laplacian = None
    if "laplacian" in needs:
        laplacian = z.laplacian[..., 0] if hessian is None else masked_trace(hessian, plan.mask)
    return Jet(
        value=z.value[..., 0],
        grad=z.grad[..., 0].transpose(-1, -2) if "grad" in needs else None,
        laplacian=laplacian,
        hessian=hessian,
    )


def masked_trace(matrix: Tensor, mask: Tensor | None) -> Tensor:
    """``Σ_{j∈S} M_jj`` of ``matrix`` (``… × d × d``); ``mask`` (``d × 1 × 1``, ``None``: all) selects ``S``."""
    diagonal = matrix.diagonal(dim1=-2, dim2=-1)
    return (diagonal if mask is None else diagonal * mask.reshape(-1)).sum(dim=-1)


def forward_jet(
    mlp: MLP,
    theta: Tensor,
    x: Tensor,
    needs: Collection[str],
    laplacian_dims: Sequence[int] | None = None,
    trace: list[tuple[Channels, Channels]] | None = None,
    in_place: bool = False,
) -> Jet:
    """The ``Jet`` of ``u_θ`` at points ``x`` (``N × d``) by the forward Laplacian and Hessian.

    θ may be ``(P,)`` or a batch ``(K, P)`` (then every part gains a leading ``K``). When ``trace`` is a list, the pair
    (layer input channels, layer output channels) of every linear layer is appended to it, for the Jacobian
    (``jacobian``). ``in_place`` (no autograd, no ``trace``): activations overwrite their layer's value channel.
    """
    plan = ChannelPlan.of(needs, laplacian_dims, x)
    return output_jet(forward_channels(mlp, theta, x, plan, trace, in_place), plan)


def reference_jet(
    mlp: MLP, theta: Tensor, x: Tensor, needs: Collection[str], laplacian_dims: Sequence[int] | None = None
) -> Jet:
    """The ``Jet`` of ``u_θ`` at one point ``x`` (shape ``d``) by ``torch.func`` (for use under ``vmap``)."""

    def u(point: Tensor) -> Tensor:
        return mlp.forward(theta, point)

    value = u(x)
    grad = fgrad(u)(x) if "grad" in needs else None
    second = fhessian(u)(x) if "laplacian" in needs or "hessian" in needs else None
    laplacian = None
    if "laplacian" in needs:
        h = torch.diagonal(second)
        laplacian = h.sum() if laplacian_dims is None else h[list(laplacian_dims)].sum()
    return Jet(value=value, grad=grad, laplacian=laplacian, hessian=second if "hessian" in needs else None)
