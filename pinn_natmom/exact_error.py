"""Error of the trained field against the exact solution on fixed evaluation points.

``abs_l2 = √(mean_i (u_θ(x_i) − u*(x_i))²)`` and ``rel_l2 = abs_l2 / √(mean_i u*(x_i)²)`` — the discrete
relative L2 error ``‖u − u*‖ / ‖u*‖`` on ``n`` points drawn once from the domain.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .network import MLP
from .problem import Problem


@dataclass(frozen=True)
class ExactError:
    """Fixed evaluation points ``x`` and exact values ``u*(x)``, precomputed once in the run's dtype."""

    x: Tensor
    exact: Tensor
    exact_norm: float
    share_of: int | None = None
    """When ``x`` is a share of a larger set of evaluation points, that set's size (``exact_norm`` is the set's)."""
    offset: Tensor | None = None
    scale: Tensor | None = None
    """``u = offset + scale · N`` at ``x`` for a problem with an output transform (``Problem.output``)."""

    @classmethod
    def for_problem(
        cls, problem: Problem, n: int, seed: int, dtype: torch.dtype, device: torch.device
    ) -> ExactError | None:
        """Draw ``n`` points with their own seed; ``None`` when the problem has no exact solution."""
        if problem.exact is None:
            return None
        generator = torch.Generator().manual_seed(seed)
        x = problem.domain_sampler(n, generator).to(dtype=dtype, device=device)
        exact = problem.exact(x)
        offset, scale = problem.output(x) if problem.output is not None else (None, None)
        return cls(x, exact, float(exact.square().mean().sqrt()), offset=offset, scale=scale)

    def abs_error(self, mlp: MLP, theta: Tensor) -> Tensor:
        """``abs_l2`` of ``u_θ`` as a device scalar (no host synchronisation); the activations are computed in place."""
        with torch.no_grad():
            u = mlp.forward(theta, self.x, in_place=True)
            if self.offset is not None:
                u = self.offset + self.scale * u
            return (u - self.exact).square().mean().sqrt()

    def relative(self, abs_l2: float) -> float:
        return abs_l2 / self.exact_norm if self.exact_norm > 0 else abs_l2
