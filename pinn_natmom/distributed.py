"""Data-parallel training over ``torch.distributed``: every process holds a share of the collocation points.

``torchrun --nproc-per-node W scripts/solve.py …`` starts ``W`` processes (NCCL on CUDA, one device per process;
gloo on the CPU); a plain ``python scripts/solve.py`` is one process and takes no path of this module. The ``N`` rows
of the point set, in the order one process would hold them (by term, then by point), are cut into ``W`` contiguous
blocks of ``⌈N/W⌉`` or ``⌊N/W⌋`` rows; process ``a`` draws the whole set from the run's seed (drawing is cheap) and
keeps its block ``J_a``, ``r_a``, so that the stacked rows are exactly those of one process. Per step, with ``P``
parameters and ``s`` bytes per entry (the volumes are what each process hands to the collective, counted in
``Group.sent``; a ring all-reduce moves ``2(W−1)/W`` times that over each link):

- the Jacobian and residual rows: built locally, no communication;
- ``dense``: ``Σ_a J_aᵀJ_a`` and ``Σ_a J_aᵀr_a`` summed (``s(P² + P)``); every process factorises the same matrix;
- ``nystrom``, ``nystrom-pcg``: the sketch ``Σ_a J_aᵀΩ_a`` (``sPℓ``), a few ``ℓ × ℓ`` sums, and ``sP`` per
  ``J``-product of each CG step and right-hand side;
- ``woodbury``, ``pinv``, ``svd``: the kernel ``JJᵀ`` couples every pair of blocks, so ``J`` and the right-hand sides
  are gathered (``s N P / W`` sent by each process, ``s N P (W−1)/W`` received) and every process solves the whole
  system. For ``N < P`` the gather (``NP``) costs more than the dense sums (``P²``) only when ``N > P``, and more
  than the sketch (``Pℓ``) once ``N > ℓ``: ``nystrom-pcg`` is the solver that scales to many processes;
- the line search: the ``K`` candidate losses summed (``sK``); the error: one sum of squares (``s``); the clock and
  the stop flag: two scalars.

Every process computes the same θ. Process 0 alone writes the run folder; optimizer state that holds one value per
row (``pinn_natmom.optim.ROW_STATE``) is gathered into its checkpoints and cut again on resume, which needs the
same number of processes. A collective that waits longer than the group's timeout raises, so a process that fails
stops the job instead of leaving the others waiting.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NoReturn

import torch
import torch.distributed as dist
from torch import Tensor

from .compute import Compute
from .exact_error import ExactError
from .linearise import Linearised, Points
from .optim import ROW_STATE
from .problem import Collocation
from .solvers import RowBlock
from .train import Snapshot

TIMEOUT_S = 300.0
"""Default time a collective may wait for the other processes before the job stops with an error."""


@dataclass
class Group:
    """This process in a group of ``world`` processes, and the bytes it has handed to collectives so far."""

    rank: int
    world: int
    device: torch.device
    sent: int = 0

    @property
    def writes_files(self) -> bool:
        """Only process 0 writes the run folder, checkpoints and pictures."""
        return self.rank == 0

    def sum(self, tensor: Tensor) -> Tensor:
        """``Σ_a tensor_a`` over the processes (a new tensor, the same on every process)."""
        total = tensor.contiguous().clone()
        self.sent += total.numel() * total.element_size()
        dist.all_reduce(total)
        return total

    def maximum(self, value: float) -> float:
        total = torch.tensor([value], dtype=torch.float64, device=self.device)
        self.sent += total.element_size()
        dist.all_reduce(total, op=dist.ReduceOp.MAX)
        return float(total)

    def gather_rows(self, tensor: Tensor, counts: list[int]) -> Tensor:
        """The rows of every process's ``tensor`` (process ``a`` holding ``counts[a]`` of them), stacked in order."""
        longest = max(counts)
        padded = tensor.new_zeros((longest, *tensor.shape[1:]))
        padded[: tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in counts]
        self.sent += tensor.numel() * tensor.element_size()
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([part[:count] for part, count in zip(parts, counts, strict=True)])

    def close(self, finished: bool = True) -> None:
        """Leave the group: after every process has ``finished`` (a barrier, so that none tears its connections down
        while another still uses them), or at once after an error."""
        if dist.is_initialized():
            if finished:
                dist.barrier()
            dist.destroy_process_group()


def finish(status: int) -> NoReturn:
    """End a process of a group with ``status`` once its output is flushed, skipping the interpreter's finalisation:
    gloo's worker threads, torn down there, can abort a process that has already left its group."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def world_size() -> int:
    """The number of processes torchrun started (``WORLD_SIZE``; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def from_environment(device: str = "auto", timeout_s: float = TIMEOUT_S) -> Group | None:
    """The group torchrun describes in the environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``,
    ``MASTER_PORT``), joined; ``None`` for a single process. ``device``: ``auto`` or ``cuda`` take the CUDA device
    ``LOCAL_RANK`` with NCCL (``auto`` only when CUDA is present), ``cpu`` takes gloo."""
    world = world_size()
    if world <= 1:
        return None
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        if local >= torch.cuda.device_count():
            raise ValueError(f"process {rank} needs CUDA device {local} but only {torch.cuda.device_count()} are present; "
                             "start at most one process per GPU (--nproc-per-node)")
        place = torch.device("cuda", local)
        torch.cuda.set_device(place)
    else:
        place = torch.device("cpu")
    dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timedelta(seconds=timeout_s))
    return Group(rank, world, place)


def split(total: int, world: int) -> list[int]:
    """Rows per process: ``total`` cut into ``world`` contiguous blocks whose sizes differ by at most one."""
    return [total // world + (1 if a < total % world else 0) for a in range(world)]


@dataclass
class Sharding:
    """What the training loop asks of a group: this process's share of the points and evaluation points, compute
    whose sums run over all processes, agreement on the clock and on stopping, and whole checkpoints."""

    group: Group
    counts: list[int] = field(default_factory=list)

    def points(self, points: Points) -> Points:
        """This process's contiguous block of the rows of ``points`` (in term order), each term's share remembering
        the size of its whole set."""
        total = sum(len(pts) for pts in points.values())
        self.counts = split(total, self.group.world)
        start = sum(self.counts[: self.group.rank])
        stop, offset, share = start + self.counts[self.group.rank], 0, {}
        for name, pts in points.items():
            first, last = max(start - offset, 0), min(stop - offset, len(pts))
            rows = slice(first, max(first, last))
            share[name] = Collocation(pts.x[rows], None if pts.data is None else pts.data[rows], pts.set_size)
            offset += len(pts)
        return share

    @property
    def block(self) -> RowBlock:
        """This process's rows among all rows of the current points."""
        rank = self.group.rank
        return RowBlock(sum(self.counts[:rank]), self.counts[rank], sum(self.counts), self.group.sum,
                        lambda t: self.group.gather_rows(t, self.counts))

    def exact_error(self, exact_error: ExactError | None) -> ExactError | None:
        """This process's contiguous block of the evaluation points (the norm of ``u*`` stays the whole set's)."""
        if exact_error is None:
            return None
        counts = split(len(exact_error.x), self.group.world)
        start = sum(counts[: self.group.rank])
        rows = slice(start, start + counts[self.group.rank])
        return dataclasses.replace(exact_error, x=exact_error.x[rows], exact=exact_error.exact[rows],
                                   share_of=len(exact_error.x),
                                   offset=None if exact_error.offset is None else exact_error.offset[rows],
                                   scale=None if exact_error.scale is None else exact_error.scale[rows])

    def compute(self, compute: Compute) -> Compute:
        return ShardedCompute(compute, self)

    def clock(self, seconds: float) -> float:
        """The slowest process's training time, so that every process takes the same time-limit decision."""
        return self.group.maximum(seconds)

    def any(self, flag: bool) -> bool:
        """Whether any process raised ``flag`` (e.g. received SIGINT)."""
        return self.group.maximum(float(flag)) > 0

    def least(self, value: float) -> float:
        """The smallest of the processes' ``value`` (e.g. the memory free on their devices)."""
        return -self.group.maximum(-value)

    def traffic(self) -> int:
        """Bytes this process has handed to collectives so far."""
        return self.group.sent

    def whole_state(self, snapshot: Snapshot) -> Snapshot:
        """``snapshot`` with the per-row optimizer state gathered from every process (a collective)."""
        state = map_row_state(snapshot.optimizer_state, lambda rows: self.group.gather_rows(rows, self.counts))
        return dataclasses.replace(snapshot, optimizer_state=state)

    def own_state(self, snapshot: Snapshot) -> Snapshot:
        """``snapshot`` (of the whole set, as ``whole_state`` wrote it) with this process's rows of the per-row
        optimizer state."""
        block = self.block
        state = map_row_state(snapshot.optimizer_state, lambda rows: rows[block.start : block.start + block.count])
        return dataclasses.replace(snapshot, optimizer_state=state)


def map_row_state(state: dict[str, Any], change: Callable[[Tensor], Tensor]) -> dict[str, Any]:
    """``state`` with ``change`` applied to the entries of ``ROW_STATE``, in nested states
    (a warm start's) too."""
    return {key: change(value) if key in ROW_STATE else map_row_state(value, change) if isinstance(value, dict) else value
            for key, value in state.items()}


@dataclass
class ShardedCompute:
    """Compute on this process's points whose losses, gradients and errors are summed over all processes and
    whose linearisations are row blocks (``RowBlock``)."""

    inner: Compute
    sharding: Sharding

    def linearise(self, theta: Tensor, points: Points) -> Linearised:
        lin = self.inner.linearise(theta, points)
        return Linearised(lin.residual, lin.jacobian, self.sharding.block)

    def losses(self, thetas: Tensor, points: Points) -> Tensor:
        return self.sharding.group.sum(self.inner.losses(thetas, points))

    def abs_error(self, exact_error: ExactError, theta: Tensor) -> Tensor:
        """``√(Σ_a n_a e_a² / n)`` from each process's root-mean-square error ``e_a`` on its ``n_a`` points."""
        n = len(exact_error.x)
        local = self.inner.abs_error(exact_error, theta).square() * n if n else theta.new_zeros(())
        return (self.sharding.group.sum(local) / (exact_error.share_of or n)).sqrt()

    def loss_and_gradient(self, theta: Tensor, points: Points) -> tuple[Tensor, Tensor]:
        loss, gradient = self.inner.loss_and_gradient(theta, points)
        both = self.sharding.group.sum(torch.cat([loss.reshape(1), gradient]))
        return both[0], both[1:]

