"""The per-step network work of a run — linearisation ``(r, J)``, batched losses, the gradient, the error — behind
one seam (``Compute``), run eagerly, replayed from CUDA graphs, or with a float32 Jacobian.

A step launches a few hundred small kernels (forward Laplacian, reverse pass, per-layer outer products, the line
search's batched forward passes); on a GPU their launch cost exceeds their run time. ``GraphedCompute``
captures each fixed-shape computation once into a CUDA graph with static input buffers (θ, the points and their
data) and replays it: inputs are copied into the buffers, one launch runs the whole computation. The Jacobian it
returns lives in the graph's buffer and is overwritten by the next linearisation; residuals and losses are copies.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import torch
from torch import Tensor

from .exact_error import ExactError
from .linearise import Linearised, Points, batched_losses, linearise, loss_and_gradient, residual_vector
from .network import MLP
from .problem import Collocation, Problem

T = TypeVar("T")


class Compute(Protocol):
    """The network work a training step asks for, on the points given."""

    def linearise(self, theta: Tensor, points: Points) -> Linearised: ...

    def losses(self, thetas: Tensor, points: Points) -> Tensor: ...

    def abs_error(self, exact_error: ExactError, theta: Tensor) -> Tensor: ...

    def loss_and_gradient(self, theta: Tensor, points: Points) -> tuple[Tensor, Tensor]: ...


@dataclass(frozen=True)
class EagerCompute:
    """``linearise`` and ``batched_losses``, called directly."""

    mlp: MLP
    problem: Problem
    method: str = "forward"

    def linearise(self, theta: Tensor, points: Points) -> Linearised:
        return linearise(self.mlp, self.problem, theta, points, self.method)

    def losses(self, thetas: Tensor, points: Points) -> Tensor:
        return batched_losses(self.mlp, self.problem, thetas, points)

    def abs_error(self, exact_error: ExactError, theta: Tensor) -> Tensor:
        return exact_error.abs_error(self.mlp, theta)

    def loss_and_gradient(self, theta: Tensor, points: Points) -> tuple[Tensor, Tensor]:
        return loss_and_gradient(self.mlp, self.problem, theta, points)


class GraphedCompute:
    """The same computations replayed from CUDA graphs, captured on first use for every input shape."""

    def __init__(self, mlp: MLP, problem: Problem) -> None:
        self.mlp, self.problem = mlp, problem
        self._points: dict[str, Collocation] | None = None
        self._bound: Points | None = None
        self._linearise: tuple[torch.cuda.CUDAGraph, Tensor, Linearised] | None = None
        self._losses: dict[int, tuple[torch.cuda.CUDAGraph, Tensor, Tensor]] = {}
        self._errors: dict[int, tuple[ExactError, torch.cuda.CUDAGraph, Tensor, Tensor]] = {}
        self._signature: tuple | None = None

    def linearise(self, theta: Tensor, points: Points) -> Linearised:
        self._bind(points)
        if self._linearise is None:
            static_theta = theta.detach().clone()
            graph, out = _capture(lambda: linearise(self.mlp, self.problem, static_theta, self._points, "forward"))
            self._linearise = graph, static_theta, out
        graph, static_theta, out = self._linearise
        static_theta.copy_(theta)
        graph.replay()
        return Linearised(out.residual.clone(), out.jacobian)

    def losses(self, thetas: Tensor, points: Points) -> Tensor:
        """Batches are padded to the next power of two (repeating the last row), so at most six graphs exist."""
        self._bind(points)
        k = thetas.shape[0]
        size = 1 << (k - 1).bit_length()
        if size not in self._losses:
            static_thetas = thetas[-1:].detach().expand(size, -1).clone()
            graph, out = _capture(lambda: batched_losses(self.mlp, self.problem, static_thetas, self._points))
            self._losses[size] = graph, static_thetas, out
        graph, static_thetas, out = self._losses[size]
        static_thetas[:k].copy_(thetas)
        static_thetas[k:].copy_(thetas[-1:].expand(size - k, -1))
        graph.replay()
        return out[:k].clone()

    def abs_error(self, exact_error: ExactError, theta: Tensor) -> Tensor:
        key = id(exact_error)  # unique while the exact_error is held in the cache below
        if key not in self._errors:
            static_theta = theta.detach().clone()
            graph, out = _capture(lambda: exact_error.abs_error(self.mlp, static_theta))
            self._errors[key] = exact_error, graph, static_theta, out
        _, graph, static_theta, out = self._errors[key]
        static_theta.copy_(theta)
        graph.replay()
        return out.clone()

    def loss_and_gradient(self, theta: Tensor, points: Points) -> tuple[Tensor, Tensor]:
        """Eager: the first-order optimizers that call it launch few kernels per step."""
        return loss_and_gradient(self.mlp, self.problem, theta, points)

    def _bind(self, points: Points) -> None:
        """Copy ``points`` into the static buffers (re-capturing everything if their shapes changed)."""
        if points is self._bound:
            return
        signature = tuple(
            (name, tuple(pts.x.shape), None if pts.data is None else tuple(pts.data.shape)) for name, pts in points.items()
        )
        if signature != self._signature:
            self._signature = signature
            self._points = {name: replace(pts, x=pts.x.clone(), data=_clone(pts.data)) for name, pts in points.items()}
            self._linearise, self._losses = None, {}
        else:
            for name, pts in points.items():
                self._points[name].x.copy_(pts.x)
                if pts.data is not None:
                    self._points[name].data.copy_(pts.data)
        self._bound = points


class MixedPrecisionCompute:
    """``J`` built in float32 and returned in float64; ``r``, the losses and the errors computed in float64.

    ``r(θ)`` comes from a float64 forward pass, so the fixed points of the Gauss–Newton iteration ``Jᵀr = 0`` and the
    line search's decisions are those of the float64 problem; only the direction ``J⁺r`` carries the float32
    rounding of ``J`` (relative ``≈ 6·10⁻⁸``, or ``≈ 5·10⁻⁴`` where the user lets float32 products use TF32).
    """

    def __init__(self, full: Compute, low: Compute, mlp: MLP, problem: Problem) -> None:
        self.full, self.low, self.mlp, self.problem = full, low, mlp, problem
        self._points: tuple[Points, Points] | None = None

    def linearise(self, theta: Tensor, points: Points) -> Linearised:
        with torch.no_grad():
            residual = residual_vector(self.mlp, self.problem, theta, points)
        jacobian = self.low.linearise(theta.to(torch.float32), self._low_points(points)).jacobian
        return Linearised(residual, jacobian.to(theta.dtype))

    def losses(self, thetas: Tensor, points: Points) -> Tensor:
        return self.full.losses(thetas, points)

    def abs_error(self, exact_error: ExactError, theta: Tensor) -> Tensor:
        return self.full.abs_error(exact_error, theta)

    def loss_and_gradient(self, theta: Tensor, points: Points) -> tuple[Tensor, Tensor]:
        return self.full.loss_and_gradient(theta, points)

    def _low_points(self, points: Points) -> Points:
        """``points`` in float32, converted once per point set."""
        if self._points is None or self._points[0] is not points:
            low = {name: replace(pts, x=pts.x.to(torch.float32), data=None if pts.data is None else pts.data.to(torch.float32))
                   for name, pts in points.items()}
            self._points = points, low
        return self._points[1]


def make_compute(mlp: MLP, problem: Problem, method: str, device: torch.device, cuda_graphs: bool,
                     mixed_precision: bool = False) -> Compute:
    """Graphs on a CUDA device with the forward Jacobian when ``cuda_graphs``; eager otherwise; with
    ``mixed_precision``, a float32 Jacobian (``MixedPrecisionCompute``)."""
    def plain() -> Compute:
        if cuda_graphs and device.type == "cuda" and method == "forward":
            return GraphedCompute(mlp, problem)
        return EagerCompute(mlp, problem, method)

    return MixedPrecisionCompute(plain(), plain(), mlp, problem) if mixed_precision else plain()


def _clone(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.clone()


def _capture(fn: Callable[[], T]) -> tuple[torch.cuda.CUDAGraph, T]:
    """Warm ``fn`` up on a side stream (as capture requires), then record one call of it into a graph."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()
    return graph, out
