"""Timing on CPU and CUDA, the device's measured ceilings, and the FLOP/byte floor of each phase of an ENGD step.

The floor of a phase is ``max(FLOPs / R, bytes / B)`` with ``R`` the measured matrix-product rate in the run's dtype
and ``B`` the measured device-memory bandwidth (bytes read plus written by a large copy). No implementation of the
phase can run much faster than its floor; ``measured / floor`` is the gap left.

Counts for an MLP with linear layers ``i_ℓ → o_ℓ`` (``M = Σ_ℓ i_ℓ o_ℓ``), a term with ``N_t`` points and ``C_t``
forward-Laplacian channels (``pinn_natmom.diffops.channel_count``), ``N = Σ N_t`` rows, ``P`` parameters and
``s`` bytes per number:

- Jacobian: forward jet, reverse pass to the layer outputs, per-layer outer products: ``3 · 2 C_t N_t M`` FLOPs; bytes
  ``N P s`` (J written once) plus the traced channels written and read once, ``2 C_t N_t Σ_ℓ (i_ℓ + o_ℓ) s``.
- The direction solve: the solver's own cost model (``pinn_natmom.solvers.cost``).
- Line search over ``K`` step sizes: ``2 K C_t N_t M`` FLOPs; activations written and read once, ``2 K C_t N_t Σ_ℓ o_ℓ s``.
- Error evaluation on ``n_e`` points (values only): ``2 n_e M`` FLOPs, ``2 n_e Σ_ℓ o_ℓ s`` bytes.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from . import solvers
from .diffops import channel_count
from .network import MLP
from .problem import Problem


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_time(fn: Callable[[], object], device: torch.device, repeats: int = 10, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds, synchronising the device around every call."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class Ceilings:
    """Measured matrix-product rates (FLOP/s) per dtype and copy bandwidth (bytes/s) of one device."""

    matmul_rate: dict[str, float]
    bandwidth: float

    def floor(self, flops: float, nbytes: float, dtype: torch.dtype) -> float:
        """``max(flops / R_dtype, bytes / B)`` in seconds."""
        return max(flops / self.matmul_rate[str(dtype).removeprefix("torch.")], nbytes / self.bandwidth)


def measure_ceilings(device: torch.device, size: int | None = None, copy_mib: int | None = None) -> Ceilings:
    """Time ``size³`` products in float64 and float32 (TF32 off) and a ``copy_mib`` MiB device-to-device copy."""
    cuda = device.type == "cuda"
    size = size or (8192 if cuda else 1024)
    copy_mib = copy_mib or (2048 if cuda else 256)
    rates = {}
    previous_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        for dtype in (torch.float64, torch.float32):
            a = torch.randn(size, size, dtype=dtype, device=device)
            b = torch.randn(size, size, dtype=dtype, device=device)
            seconds = median_time(lambda a=a, b=b: a @ b, device, repeats=5)
            rates[str(dtype).removeprefix("torch.")] = 2.0 * size**3 / seconds
            del a, b
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous_tf32
    source = torch.randn(copy_mib * 2**20 // 4, dtype=torch.float32, device=device)
    target = torch.empty_like(source)
    seconds = median_time(lambda: target.copy_(source), device, repeats=10)
    return Ceilings(rates, 2.0 * source.numel() * 4 / seconds)


@dataclass(frozen=True)
class Work:
    """FLOPs and bytes of one phase."""

    flops: float
    nbytes: float


def _layer_sums(mlp: MLP) -> tuple[int, int, int]:
    """``(Σ i·o, Σ (i + o), Σ o)`` over the linear layers."""
    shapes = [(i, o) for o, i in mlp.layer_shapes]
    return sum(i * o for i, o in shapes), sum(i + o for i, o in shapes), sum(o for _, o in shapes)


def _rows(problem: Problem, n_points: Mapping[str, int]) -> list[tuple[int, int]]:
    """``(N_t, C_t)`` per term: its points and its forward-Laplacian channels."""
    return [(n_points[t.name], channel_count(problem.dim, t.needs)) for t in problem.terms]


def jacobian_work(mlp: MLP, problem: Problem, n_points: Mapping[str, int], itemsize: int) -> Work:
    """Building ``r`` and ``J`` on ``n_points`` points per term."""
    m, io, _ = _layer_sums(mlp)
    rows = _rows(problem, n_points)
    n = sum(count for count, _ in rows)
    flops = sum(6.0 * c * count * m for count, c in rows)
    nbytes = (n * mlp.num_params + sum(2.0 * c * count * io for count, c in rows)) * itemsize
    return Work(flops, nbytes)


def solve_work(solver: str, n_rows: int, n_params: int, itemsize: int, **options: object) -> Work:
    """One direction solve, from the solver's cost model (``pinn_natmom.solvers.cost``)."""
    cost = solvers.cost(solver, n_rows, n_params, itemsize, **options)
    return Work(cost.flops, cost.traffic)


def line_search_work(mlp: MLP, problem: Problem, n_points: Mapping[str, int], candidates: int, itemsize: int) -> Work:
    """The losses of ``candidates`` step sizes in one batched pass."""
    m, _, outs = _layer_sums(mlp)
    rows = _rows(problem, n_points)
    return Work(
        sum(2.0 * candidates * c * count * m for count, c in rows),
        sum(2.0 * candidates * c * count * outs for count, c in rows) * itemsize,
    )


def evaluation_work(mlp: MLP, n_eval: int, itemsize: int) -> Work:
    """The error on ``n_eval`` points (values only)."""
    m, _, outs = _layer_sums(mlp)
    return Work(2.0 * n_eval * m, 2.0 * n_eval * outs * itemsize)
