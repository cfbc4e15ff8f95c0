"""The per-step network work — linearisation, batched losses, error — run eagerly or replayed from CUDA graphs.

A step launches a few hundred small kernels (forward Laplacian, reverse pass, per-layer outer products, the line
search's batched forward passes); on a GPU their launch cost exceeds their run time. :class:`GraphedEvaluations`
captures each fixed-shape computation once into a CUDA graph with static input buffers (θ, the points and their
data) and replays it: inputs are copied into the buffers, one launch runs the whole computation. The Jacobian it
returns lives in the graph's buffer and is overwritten by the next linearisation; residuals and losses are copies.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import torch
from torch import Tensor

from .evaluate import Evaluator
from .linearise import Linearised, Points, batched_losses, linearise, residual_vector
from .model import MLP
from .problem import Collocation, Problem

T = TypeVar("T")


class Evaluations(Protocol):
    def linearise(self, theta: Tensor, points: Points) -> Linearised: ...

    def losses(self, thetas: Tensor, points: Points) -> Tensor: ...

    def abs_error(self, evaluator: Evaluator, theta: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class EagerEvaluations:
    """:func:`linearise` and :func:`batched_losses`, called directly."""

    mlp: MLP
    problem: Problem
    method: str = "forward"

    def linearise(self, theta: Tensor, points: Points) -> Linearised:
        return linearise(self.mlp, self.problem, theta, points, self.method)

    def losses(self, thetas: Tensor, points: Points) -> Tensor:
        return batched_losses(self.mlp, self.problem, thetas, points)

    def abs_error(self, evaluator: Evaluator, theta: Tensor) -> Tensor:
        return evaluator.abs_error(self.mlp, theta)


class GraphedEvaluations:
    """The same computations replayed from CUDA graphs, captured on first use for every input shape."""

    def __init__(self, mlp: MLP, problem: Problem) -> None:
        self.mlp, self.problem = mlp, problem
        self._points: dict[str, Collocation] | None = None
        self._bound: Points | None = None
        self._linearise: tuple[torch.cuda.CUDAGraph, Tensor, Linearised] | None = None
        self._losses: dict[int, tuple[torch.cuda.CUDAGraph, Tensor, Tensor]] = {}
        self._errors: dict[int, tuple[Evaluator, torch.cuda.CUDAGraph, Tensor, Tensor]] = {}
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

    def abs_error(self, evaluator: Evaluator, theta: Tensor) -> Tensor:
        key = id(evaluator)  # unique while the evaluator is held in the cache below
        if key not in self._errors:
            static_theta = theta.detach().clone()
            graph, out = _capture(lambda: evaluator.abs_error(self.mlp, static_theta))
            self._errors[key] = evaluator, graph, static_theta, out
        _, graph, static_theta, out = self._errors[key]
        static_theta.copy_(theta)
        graph.replay()
        return out.clone()

    def _bind(self, points: Points) -> None:
        """Copy ``points`` into the static buffers (re-capturing everything if their shapes changed)."""
        if points is self._bound:
            return
        signature = tuple(
            (name, tuple(pts.x.shape), None if pts.data is None else tuple(pts.data.shape)) for name, pts in points.items()
        )
        if signature != self._signature:
            self._signature = signature
            self._points = {name: Collocation(pts.x.clone(), _clone(pts.data)) for name, pts in points.items()}
            self._linearise, self._losses = None, {}
        else:
            for name, pts in points.items():
                self._points[name].x.copy_(pts.x)
                if pts.data is not None:
                    self._points[name].data.copy_(pts.data)
        self._bound = points


def make_evaluations(mlp: MLP, problem: Problem, method: str, device: torch.device, cuda_graphs: bool) -> Evaluations:
    """Graphs on a CUDA device with the forward Jacobian when ``cuda_graphs``; eager otherwise."""
    if cuda_graphs and device.type == "cuda" and method == "forward":
        return GraphedEvaluations(mlp, problem)
    return EagerEvaluations(mlp, problem, method)


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


@dataclass(frozen=True)
class PointResiduals:
    """The residual map on one set of points (``version`` counts the resamplings), as optimizers query it."""

    mlp: MLP
    problem: Problem
    points: Points
    evaluations: Evaluations
    version: int

    def losses(self, thetas: Tensor) -> Tensor:
        return self.evaluations.losses(thetas, self.points)

    def residual(self, theta: Tensor) -> Tensor:
        with torch.no_grad():
            return residual_vector(self.mlp, self.problem, theta, self.points)

    def tangent(self, theta: Tensor, v: Tensor) -> Tensor:
        """``J(θ) v`` by forward-mode differentiation through the forward Laplacian."""
        return torch.func.jvp(lambda t: residual_vector(self.mlp, self.problem, t, self.points), (theta,), (v,))[1]

    def loss_and_gradient(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            leaf = theta.detach().requires_grad_(True)
            residual = residual_vector(self.mlp, self.problem, leaf, self.points)
            loss = 0.5 * torch.dot(residual, residual)
            (grad,) = torch.autograd.grad(loss, leaf)
        return loss.detach(), grad
