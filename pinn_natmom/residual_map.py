"""The residual map ``θ ↦ r(θ)`` on one set of collocation points, as the optimizers query it.

``ResidualMap`` is the contract (optimizer tests implement it for small least-squares problems);
``NetworkResidualMap`` is the network's residual on the points of the current step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from .compute import Compute
from .linearise import Points, residual_vector
from .network import MLP
from .problem import Problem


class ResidualMap(Protocol):
    """The residual map ``θ ↦ r(θ)`` on the current points; ``version`` changes whenever the points do."""

    version: int

    def losses(self, thetas: Tensor) -> Tensor:
        """``½‖r(θ_k)‖²`` for every row of ``thetas`` (``K × P``)."""

    def residual(self, theta: Tensor) -> Tensor:
        """``r(θ)`` (``N``)."""

    def tangent(self, theta: Tensor, v: Tensor) -> Tensor:
        """``J(θ) v`` (``N``), one Jacobian–vector product."""

    def loss_and_gradient(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        """``(L(θ), ∇L(θ))`` by one reverse pass, without forming ``J``."""


@dataclass(frozen=True)
class NetworkResidualMap:
    """The network's residual map on ``points`` (``version`` counts the resamplings), computed by ``compute``."""

    mlp: MLP
    problem: Problem
    points: Points
    compute: Compute
    version: int

    def losses(self, thetas: Tensor) -> Tensor:
        return self.compute.losses(thetas, self.points)

    def residual(self, theta: Tensor) -> Tensor:
        with torch.no_grad():
            return residual_vector(self.mlp, self.problem, theta, self.points)

    def tangent(self, theta: Tensor, v: Tensor) -> Tensor:
        """``J(θ) v`` by forward-mode differentiation through the forward Laplacian."""
        return torch.func.jvp(lambda t: residual_vector(self.mlp, self.problem, t, self.points), (theta,), (v,))[1]

    def loss_and_gradient(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        return self.compute.loss_and_gradient(theta, self.points)
