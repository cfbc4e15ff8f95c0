"""Derivatives of the network field at points: a forward-Laplacian fast path and a torch.func reference.

Forward Laplacian. Every layer carries three channel groups for the points ``x_n``: the value ``z`` (``*K × N × w``),
the gradient ``∂_j z`` (``*K × d × N × w``) and the Laplacian over a coordinate set ``S``, ``Δ_S z`` (``*K × N × w``).
Through a linear layer every channel is multiplied by ``Wᵀ`` (the bias enters the value only); through ``y = σ(z)``:

.. math::
    ∂_j y = σ'(z)\\,∂_j z, \\qquad Δ_S y = σ'(z)\\,Δ_S z + σ''(z) \\sum_{j \\in S} (∂_j z)^2 ,

with ``σ' = 1 − y²``, ``σ'' = −2y(1 − y²)`` for ``tanh`` and ``σ' = cos z``, ``σ'' = −sin z`` for ``sin``.

The first layer needs no products for its derivative channels: ``∂_j z = W_{:, j}`` at every point and ``Δz = 0``
(``input_layer``). The gradient channels of the last hidden layer are only formed when the output's gradient is
asked for; the Laplacian alone needs just their squares.

θ may be one vector ``P`` or a batch ``K × P`` (the line search evaluates many step sizes in one pass).
The reference computes the same quantities point by point with ``torch.func.grad`` and ``torch.func.hessian``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import grad as fgrad
from torch.func import hessian

from .network import MLP, affine, tanh_in_place
from .problem import Jet


@dataclass(frozen=True)
class Channels:
    """Value, gradient and Laplacian channels of one layer's activations (parts not needed are ``None``)."""

    value: Tensor
    grad: Tensor | None = None
    laplacian: Tensor | None = None


def channel_count(dim: int, needs: frozenset[str]) -> int:
    """``C``: one value channel, ``d`` gradient channels if any derivative is needed, one Laplacian channel if needed."""
    derivatives = "grad" in needs or "laplacian" in needs
    return 1 + (dim if derivatives else 0) + (1 if "laplacian" in needs else 0)


def input_layer(x: Tensor, w: Tensor, b: Tensor, derivatives: bool) -> tuple[Channels, Channels]:
    """The input channels and those of the first linear layer ``z = W x + b``.

    The input is ``x`` with ``∂x/∂x_j = e_j`` and ``Δx = 0``, so ``∂_j z = W_{:, j}`` at every point and ``Δz = 0``:
    no product is needed for the derivative channels (broadcastable ``d × 1 × w`` tensors) and no Laplacian channel
    is carried (``None`` reads as zero). The input's own channels are its value ``x`` alone.
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
    grad = None if a.grad is None else linear(a.grad, w, a_batched)
    laplacian = None if a.laplacian is None else linear(a.laplacian, w, a_batched)
    return Channels(value, grad, laplacian)


def activation_channels(z: Channels, mask: Tensor | None, activation: str, laplacian: bool, keep_grad: bool,
                        in_place: bool = False) -> Channels:
    """Push channels through ``y = σ(z)`` with the chain rules in the module docstring; ``mask`` (``d × 1 × 1``) selects
    ``S``. ``tanh``: ``σ' = 1 − y²``, ``σ'' = −2yσ'``; ``sin``: ``σ' = cos z``, ``σ'' = −y``.

    ``laplacian``: compute ``Δ_S y`` (a missing ``Δ_S z`` is zero); ``keep_grad``: return the gradient channels
    ``∂_j y`` (later layers or the output need them), else only use ``∂_j z`` for the Laplacian. ``in_place`` (no
    autograd): ``y`` overwrites ``z``'s value channel (``pinn_natmom.network.IN_PLACE``).
    """
    if activation == "tanh":
        y = tanh_in_place(z.value) if in_place else torch.tanh(z.value)
        if z.grad is None:
            return Channels(y)
        slope, curvature = tanh_derivatives(y)
    else:
        slope = None if z.grad is None else torch.cos(z.value)
        y = z.value.sin_() if in_place else torch.sin(z.value)
        if slope is None:
            return Channels(y)
        curvature = -y
    lap = None
    if laplacian:
        squares = squared_gradient(z.grad, mask)
        lap = curvature * squares if z.laplacian is None else slope * z.laplacian + curvature * squares
    grad = slope.unsqueeze(-3) * z.grad if keep_grad else None
    return Channels(y, grad, lap)


def tanh_derivatives(y: Tensor) -> tuple[Tensor, Tensor]:
    """``(σ', σ'')`` of ``σ = tanh`` from its value ``y``: ``σ' = 1 − y²``, ``σ'' = −2yσ'``."""
    slope = 1.0 - y * y
    return slope, -2.0 * y * slope


def squared_gradient(grad: Tensor, mask: Tensor | None) -> Tensor:
    """``Q = Σ_{j∈S} (∂_j z)²``, summed over the gradient channels (axis −3) of ``grad``; ``mask`` selects ``S``."""
    return (grad * grad if mask is None else grad * grad * mask).sum(dim=-3)


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


def forward_jet(
    mlp: MLP,
    theta: Tensor,
    x: Tensor,
    needs: frozenset[str],
    laplacian_dims: Sequence[int] | None = None,
    trace: list[tuple[Channels, Channels]] | None = None,
    in_place: bool = False,
) -> Jet:
    """The ``Jet`` of ``u_θ`` at points ``x`` (``N × d``) by the forward Laplacian.

    θ may be ``(P,)`` or a batch ``(K, P)`` (then every part gains a leading ``K``). When ``trace`` is a list, the pair
    (layer input channels, layer output channels) of every linear layer is appended to it, for the Jacobian
    (``jacobian``). ``in_place`` (no autograd, no ``trace``): activations overwrite their layer's value channel.
    """
    if in_place and trace is not None:
        raise ValueError("in-place activations would overwrite the traced layer outputs")
    mask = dims_mask(x.shape[-1], laplacian_dims, x)
    layers = mlp.unflatten(theta)
    derivatives, laplacian = "grad" in needs or "laplacian" in needs, "laplacian" in needs
    a, z = input_layer(x, *layers[0], derivatives)
    last = len(layers) - 1
    for i in range(last + 1):
        if i > 0:
            z = linear_channels(a, *layers[i], a_batched=theta.dim() > 1)
        if trace is not None:
            trace.append((a, z))
        if i < last:
            a = activation_channels(z, mask, mlp.activation, laplacian, i + 1 < last or "grad" in needs, in_place)
    return Jet(
        value=z.value[..., 0],
        grad=z.grad[..., 0].transpose(-1, -2) if "grad" in needs else None,
        laplacian=z.laplacian[..., 0] if "laplacian" in needs else None,
    )


def reference_jet(
    mlp: MLP, theta: Tensor, x: Tensor, needs: frozenset[str], laplacian_dims: Sequence[int] | None = None
) -> Jet:
    """The ``Jet`` of ``u_θ`` at one point ``x`` (shape ``d``) by ``torch.func`` (for use under ``vmap``)."""

    def u(point: Tensor) -> Tensor:
        return mlp.forward(theta, point)

    value = u(x)
    grad = fgrad(u)(x) if "grad" in needs else None
    laplacian = None
    if "laplacian" in needs:
        h = torch.diagonal(hessian(u)(x))
        laplacian = h.sum() if laplacian_dims is None else h[list(laplacian_dims)].sum()
    return Jet(value=value, grad=grad, laplacian=laplacian)
