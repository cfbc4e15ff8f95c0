"""A tanh multilayer perceptron whose parameters are one flat vector θ.

Layout of θ: for each layer ℓ = 1..L, the weight ``W_ℓ`` (out × in, row-major) followed by the bias ``b_ℓ`` (out).
The network is ``u(x) = W_L σ(… σ(W_1 x + b_1) …) + b_L`` with ``σ = tanh`` and a scalar output.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class MLP:
    """Shapes of a tanh MLP ``in_dim → hidden… → 1``; it holds no parameters (those are θ)."""

    in_dim: int
    hidden: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.in_dim < 1:
            raise ValueError(f"network input dimension must be at least 1, got {self.in_dim}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden widths must be positive integers, got {list(self.hidden)}")

    @classmethod
    def of(cls, in_dim: int, hidden: Sequence[int]) -> MLP:
        return cls(in_dim, tuple(int(h) for h in hidden))

    @property
    def widths(self) -> tuple[int, ...]:
        """All layer widths, input and output included."""
        return (self.in_dim, *self.hidden, 1)

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """``(out, in)`` of each linear layer."""
        w = self.widths
        return [(w[i + 1], w[i]) for i in range(len(w) - 1)]

    @property
    def num_params(self) -> int:
        return sum(o * i + o for o, i in self.layer_shapes)

    def unflatten(self, theta: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Views ``(W, b)`` per layer of θ with shape ``(*K, P)``: ``W`` is ``(*K, out, in)``, ``b`` is ``(*K, out)``."""
        if theta.shape[-1] != self.num_params:
            raise ValueError(f"θ has {theta.shape[-1]} entries but the network {self.widths} has {self.num_params}")
        batch = theta.shape[:-1]
        layers, offset = [], 0
        for out, inp in self.layer_shapes:
            w = theta[..., offset : offset + out * inp].reshape(*batch, out, inp)
            offset += out * inp
            layers.append((w, theta[..., offset : offset + out]))
            offset += out
        return layers

    def init(self, generator: torch.Generator, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> Tensor:
        """Glorot-normal weights, zero biases: ``W_ij ~ N(0, 2/(in+out))``."""
        parts = []
        for out, inp in self.layer_shapes:
            std = math.sqrt(2.0 / (inp + out))
            parts.append(torch.randn(out * inp, generator=generator, dtype=torch.float64) * std)
            parts.append(torch.zeros(out, dtype=torch.float64))
        return torch.cat(parts).to(dtype=dtype, device=device)

    def forward(self, theta: Tensor, x: Tensor) -> Tensor:
        """``u_θ(x)`` for ``x`` of shape ``(…, in)``; with θ of shape ``(K, P)`` and x ``(N, in)`` the result is ``(K, N)``."""
        layers = self.unflatten(theta)
        z = x
        for i, (w, b) in enumerate(layers):
            z = affine(z, w, b)
            if i < len(layers) - 1:
                z = torch.tanh(z)
        return z[..., 0]


def affine(z: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """``z Wᵀ + b``; for batched ``W`` of shape ``(K, out, in)``, ``z`` is ``(…, in)`` or ``(K, …, in)`` with one middle axis."""
    if w.dim() == 2:
        return z @ w.T + b
    return z @ w.transpose(-1, -2) + b.unsqueeze(-2)
