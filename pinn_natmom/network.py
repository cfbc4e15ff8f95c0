"""A multilayer perceptron whose parameters are one flat vector θ.

Layout of θ: for each layer ℓ = 1..L, the weight ``W_ℓ`` (out × in, row-major) followed by the bias ``b_ℓ`` (out).
The network is ``u(x) = W_L σ(… σ(W_1 x + b_1) …) + b_L`` with a scalar output and ``σ`` an activation of
``pinn_natmom.activations.TABLE`` (``tanh``, ``sin``, ``softplus``; ``ACTIVATIONS``). A sine network whose first layer
is initialised with frequencies ``ω`` times the usual scale (``frequency``; SIREN, Sitzmann et al. 2020) starts from
oscillating features: Helmholtz's ``sin(kx)`` solutions are reached from ``ω ≈ k``, where a tanh network's
Gauss–Newton steps stay stuck at the zero field (results/pdes).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch import Tensor

from .activations import TABLE, activation

ACTIVATIONS = MappingProxyType({name: entry.function for name, entry in TABLE.items()})
"""``σ`` by activation name (``pinn_natmom.activations.TABLE``)."""
IN_PLACE = MappingProxyType({name: entry.in_place for name, entry in TABLE.items()})
"""``σ`` written over its argument, by activation name (no autograd)."""
INITS = ("auto", "uniform", "glorot")
"""Initial weight distributions (``MLP.init``); ``auto`` is ``glorot`` for sine networks, else ``uniform``."""


@dataclass(frozen=True)
class MLP:
    """Shapes of an MLP ``in_dim → hidden… → 1`` with activation ``activation``, initial weight distribution
    ``init_scheme`` (``INITS``) and first-layer init scale ``frequency``; it holds no parameters (those are θ)."""

    in_dim: int
    hidden: tuple[int, ...]
    activation: str = "tanh"
    frequency: float = 1.0
    init_scheme: str = "auto"

    def __post_init__(self) -> None:
        if self.in_dim < 1:
            raise ValueError(f"network input dimension must be at least 1, got {self.in_dim}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden widths must be positive integers, got {list(self.hidden)}")
        activation(self.activation)
        if not (math.isfinite(self.frequency) and self.frequency > 0):
            raise ValueError(f"frequency must be a finite number > 0, got {self.frequency}")
        if self.init_scheme not in INITS:
            raise ValueError(f"unknown initialisation {self.init_scheme!r}; choose from {', '.join(INITS)}")

    @classmethod
    def of(cls, in_dim: int, hidden: Sequence[int], activation: str = "tanh", frequency: float = 1.0,
           init_scheme: str = "auto") -> MLP:
        return cls(in_dim, tuple(int(h) for h in hidden), activation, float(frequency), init_scheme)

    @property
    def resolved_init(self) -> str:
        """``init_scheme`` with ``auto`` resolved: ``glorot`` for a sine network, else ``uniform``."""
        if self.init_scheme != "auto":
            return self.init_scheme
        return "glorot" if self.activation == "sin" else "uniform"

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
            w = theta[..., offset : offset + out * inp].view(*batch, out, inp)
            offset += out * inp
            layers.append((w, theta[..., offset : offset + out]))
            offset += out
        return layers

    def init(self, generator: torch.Generator, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> Tensor:
        """θ drawn from ``resolved_init``, the first layer's weights multiplied by ``frequency``:

        - ``uniform``: PyTorch's ``nn.Linear`` default, ``W_ij, b_i ~ U(−1/√in, 1/√in)``. The random biases spread
          the units' transitions ``W_i·x + b_i = 0`` over the domain; with zero biases every one passes through the
          origin, a corner of ``[0, 1]^d``.
        - ``glorot``: ``W_ij ~ N(0, 2/(in+out))``, zero biases; for a sine network with ``frequency ≈ k``, first-layer
          features ``sin(W_i·x)`` of about the solution's frequency.
        """
        parts = []
        for index, (out, inp) in enumerate(self.layer_shapes):
            scale = self.frequency if index == 0 else 1.0
            if self.resolved_init == "uniform":
                bound = 1.0 / math.sqrt(inp)
                parts.append(uniform(out * inp, bound * scale, generator))
                parts.append(uniform(out, bound, generator))
            else:
                parts.append(torch.randn(out * inp, generator=generator, dtype=torch.float64) * math.sqrt(2.0 / (inp + out)) * scale)
                parts.append(torch.zeros(out, dtype=torch.float64))
        return torch.cat(parts).to(dtype=dtype, device=device)

    def forward(self, theta: Tensor, x: Tensor, in_place: bool = False) -> Tensor:
        """``u_θ(x)`` for ``x`` of shape ``(…, in)``; with θ of shape ``(K, P)`` and x ``(N, in)`` the result is ``(K, N)``.

        ``in_place`` (no autograd): each activation overwrites its layer's fresh output (``IN_PLACE``)."""
        layers = self.unflatten(theta)
        sigma = IN_PLACE[self.activation] if in_place else ACTIVATIONS[self.activation]
        z = x
        for i, (w, b) in enumerate(layers):
            z = affine(z, w, b)
            if i < len(layers) - 1:
                z = sigma(z)
        return z[..., 0]


def uniform(count: int, bound: float, generator: torch.Generator) -> Tensor:
    """``count`` float64 draws from ``U(−bound, bound)``."""
    return (2.0 * torch.rand(count, generator=generator, dtype=torch.float64) - 1.0) * bound


def affine(z: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """``z Wᵀ + b``; for batched ``W`` of shape ``(K, out, in)``, ``z`` is ``(…, in)`` or ``(K, …, in)`` with one middle axis.

    Two-dimensional operands take one fused product-and-add (``addmm``, ``baddbmm``)."""
    if w.dim() == 2:
        return torch.addmm(b, z, w.T) if z.dim() == 2 else z @ w.T + b
    if z.dim() == 2:
        z = z.expand(w.shape[0], *z.shape)
    if z.dim() == 3:
        return torch.baddbmm(b.unsqueeze(-2), z, w.transpose(-1, -2))
    return z @ w.transpose(-1, -2) + b.unsqueeze(-2)
