"""The training loop: sample points → linearise (r, J) → optimizer update → log, until a stopping rule fires.

Row ``k`` of the history describes ``θ_k`` after ``k`` updates: the wall time since the loop started, the loss
``½‖r(θ_k)‖²`` on the points of that step (returned by the update, no extra pass), the errors against the exact
solution, the step size, the regularisation (the damping ``ν`` relative to ``‖J‖²_F``, the cut-off ``rcond``) and
the trust region's ratio ``ρ`` of actual to predicted decrease of update ``k``.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor

from .compute import Compute, make_compute
from .exact_error import ExactError
from .linearise import Linearised, Points
from .network import MLP
from .optim import Regularisation, State, StepInfo, fallback, needs_jacobian
from .problem import Problem
from .residual_map import NetworkResidualMap
from .solvers import FactorizationError, NonFiniteError
from .state import identical, to_device

HISTORY_COLUMNS = ("step", "wall_time_s", "loss", "rel_l2", "abs_l2", "step_size", "damping", "rcond", "ratio")
COMMUNICATION_COLUMN = "comm_bytes"
"""The history column of a run over several processes: bytes this process handed to collectives since the last row."""
EVAL_SEED = 20_231_000


@dataclass(frozen=True)
class FitConfig:
    """Options of the loop.

    ``n_points`` maps term names to point counts; ``resample_every = 0`` draws the points once. The loop stops after
    ``steps`` updates, after ``time_limit`` seconds, or once ``rel_l2 ≤ target_rel_l2``, whichever comes first; with
    points drawn once it also stops as ``stalled`` after an update that leaves ``θ`` and the optimizer's state exactly
    as they were (every later update would repeat it: no step lowers the loss at these points).
    ``cuda_graphs`` replays the network work of a step from CUDA graphs on a CUDA device (``compute``);
    ``mixed_precision`` builds ``J`` in float32 (``MixedPrecisionCompute``).
    """

    n_points: Mapping[str, int]
    steps: int = 100
    resample_every: int = 0
    jacobian: str = "forward"
    n_eval: int = 10_000
    seed: int = 0
    dtype: torch.dtype = torch.float64
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    time_limit: float | None = None
    target_rel_l2: float | None = None
    cuda_graphs: bool = True
    mixed_precision: bool = False


@dataclass
class Snapshot:
    """The loop after ``step`` updates, enough to continue it exactly: ``θ``, the optimizer state, the state of the
    point generator before the current points were drawn (they are drawn again from it), the points' version, the
    history so far and the training clock."""

    step: int
    theta: Tensor
    optimizer_state: State
    points_rng: Tensor
    points_version: int
    history: list[dict[str, float]]
    elapsed: float


@dataclass(frozen=True)
class Hooks:
    """Calls out of the loop: ``on_step(row)`` after every logged row; ``on_checkpoint(snapshot)`` every
    ``checkpoint_every`` updates (0: never) and once when the loop ends, for whatever reason; ``should_stop()``
    before every update (``True`` ends the run as ``interrupted``)."""

    on_step: Callable[[dict[str, float]], None] | None = None
    on_checkpoint: Callable[[Snapshot], None] | None = None
    checkpoint_every: int = 0
    should_stop: Callable[[], bool] | None = None


@dataclass
class FitResult:
    """``stop_reason`` is ``steps``, ``time_limit``, ``target_rel_l2``, ``stalled``, ``interrupted`` or ``diverged``
    (then ``failure`` says why and ``θ`` is the last good one); ``rejected`` counts the updates retried by the guard;
    ``fallback_taken`` says whether ``θ`` is the optimizer's fallback, taken back at the end (``Trainer.run``)."""

    theta: Tensor
    history: list[dict[str, float]]
    stop_reason: str
    state: State
    rejected: int = 0
    failure: str | None = None
    fallback_taken: bool = False


MAX_ATTEMPTS = 4
"""Tries of one update before the run stops as diverged: the first with the optimizer as given, then three with
``cautious`` copies (more damping, larger cut-off, smaller fixed step)."""
STEP_FAILURES = (NonFiniteError, FactorizationError, torch.linalg.LinAlgError)


class Sharding(Protocol):
    """How the loop runs when its points are shared among processes (``pinn_natmom.distributed.Sharding``); every
    method is a collective that all processes call in the same order."""

    def points(self, points: Points) -> Points: ...

    def exact_error(self, exact_error: ExactError | None) -> ExactError | None: ...

    def compute(self, compute: Compute) -> Compute: ...

    def clock(self, seconds: float) -> float: ...

    def any(self, flag: bool) -> bool: ...

    def least(self, value: float) -> float: ...

    def traffic(self) -> int: ...

    def whole_state(self, snapshot: Snapshot) -> Snapshot: ...

    def own_state(self, snapshot: Snapshot) -> Snapshot: ...


def sample_points(problem: Problem, counts: Mapping[str, int], generator: torch.Generator, dtype, device,
                  sharding: Sharding | None = None) -> Points:
    """Draw every term's points and attach its data, in the run's dtype and device (this process's share of them
    with ``sharding``)."""
    missing = [t.name for t in problem.terms if t.name not in counts]
    if missing:
        raise ValueError(f"no point count given for the terms {missing} of {problem.name!r}")
    points = {
        t.name: t.collocate(t.sampler(int(counts[t.name]), generator).to(dtype=dtype, device=device))
        for t in problem.terms
    }
    return points if sharding is None else sharding.points(points)


class Diverged(Exception):
    """An update rejected ``MAX_ATTEMPTS`` times; the message says why."""


class Trainer:
    """The training loop of one run, set up and stepped one update at a time (``step``) or run until a stopping
    rule fires (``run``).

    Set-up: the points from the point generator (seeded ``seed + 1``), ``θ`` from the network's initialisation
    (seeded ``seed``), or both from ``resume``; the exact-error points; the compute path (``compute``); and, for
    a new run, the first history row (``θ_0``). The training clock starts here.

    Divergence guard: an update that raises on NaN or infinity (in ``J``, ``r`` or the direction), whose
    factorisation fails, or whose new ``θ`` or loss is not finite is rejected and retried from the same ``θ`` with a
    new linearisation and a ``cautious`` optimizer, up to ``MAX_ATTEMPTS`` times; then ``step`` raises
    ``Diverged`` and ``run`` stops as ``diverged`` with the last good ``θ``.

    ``sharding``: this process holds a share of the points (``Sharding``); every process must then step alike,
    and the history gains ``COMMUNICATION_COLUMN``. ``options`` and ``solver``: the run options this loop was
    built from and the solver they chose (``pinn_natmom.setup``), kept for reference.
    """

    def __init__(self, problem: Problem, network: MLP, optimizer: Any, config: FitConfig,
                 resume: Snapshot | None = None, sharding: Sharding | None = None, options: Any = None,
                 solver: str | None = None) -> None:
        self.problem, self.network, self.optimizer, self.config = problem, network, optimizer, config
        self.options, self.solver = options, solver
        self.sharding = sharding
        self.dtype, self.device = config.dtype, torch.device(config.device)
        self.point_generator = torch.Generator()
        if resume is None:
            self.point_generator.manual_seed(config.seed + 1)
        else:
            self.point_generator.set_state(resume.points_rng)
        self.points_rng = self.point_generator.get_state()
        self.points = self._draw()
        if resume is None:
            self.theta = network.init(torch.Generator().manual_seed(config.seed), self.dtype, self.device)
            self.state, version, self.history, elapsed = optimizer.init(self.theta), 0, [], 0.0
        else:
            own = resume if sharding is None else sharding.own_state(resume)
            self.theta = own.theta.to(dtype=self.dtype, device=self.device)
            self.state, version = to_device(own.optimizer_state, self.device), own.points_version
            self.history, elapsed = [dict(row) for row in own.history], own.elapsed
        self.exact_error = ExactError.for_problem(problem, config.n_eval, EVAL_SEED, self.dtype, self.device)
        self.compute = make_compute(network, problem, config.jacobian, self.device, config.cuda_graphs,
                                    config.mixed_precision)
        if sharding is not None:
            self.exact_error, self.compute = sharding.exact_error(self.exact_error), sharding.compute(self.compute)
        self.residuals = NetworkResidualMap(network, problem, self.points, self.compute, version=version)
        self.rejected, self.stalled = 0, False
        self._started = time.perf_counter() - elapsed
        self._traffic = 0 if sharding is None else sharding.traffic()
        self._unannounced = 0
        if resume is None:
            first, _ = self._measure(0, self.theta, self.residuals.losses(self.theta.unsqueeze(0))[0],
                                     StepInfo(0.0, Regularisation(), self.theta.new_zeros(())))
            if first is None:
                raise NonFiniteError("the initial loss is not finite: check the problem's data and source term")
            self.history.append(first)
            self._unannounced = 1

    @property
    def steps_done(self) -> int:
        """The number of updates behind ``θ`` (the step of the last history row)."""
        return int(self.history[-1]["step"])

    def clock(self) -> float:
        """Seconds of training so far (the slowest process's, with sharding)."""
        seconds = time.perf_counter() - self._started
        return seconds if self.sharding is None else self.sharding.clock(seconds)

    def linearise(self, theta: Tensor | None = None) -> Linearised:
        """``r`` and ``J`` at ``θ`` (default: the current one) on the current points."""
        return self.compute.linearise(self.theta if theta is None else theta, self.points)

    def abs_error(self, theta: Tensor | None = None) -> Tensor:
        """``abs_l2`` at ``θ`` (default: the current one) as a device scalar; the problem must know its solution."""
        if self.exact_error is None:
            raise ValueError(f"problem {self.problem.name!r} has no exact solution to measure the error against")
        return self.compute.abs_error(self.exact_error, self.theta if theta is None else theta)

    def step(self) -> dict[str, float]:
        """One update (after redrawing the points when ``resample_every`` says so), appended to the history and
        returned as its row; ``Diverged`` when the guard rejected it ``MAX_ATTEMPTS`` times."""
        step = self.steps_done + 1
        every = self.config.resample_every
        if every and step > 1 and (step - 1) % every == 0:
            self.points_rng = self.point_generator.get_state()
            self.points = self._draw()
            self.residuals = dataclasses.replace(self.residuals, points=self.points, version=self.residuals.version + 1)
        trying, failure = self.optimizer, None
        for _ in range(MAX_ATTEMPTS):
            try:
                lin = self.linearise() if needs_jacobian(trying, self.state) else None
                new_theta, new_state, info = trying.update(self.state, self.theta, lin, self.residuals)
                row, unchanged = self._measure(step, new_theta, info.loss, info, before=self.theta)
                failure = None if row is not None else f"the loss or θ after update {step} is not finite"
            except STEP_FAILURES as error:
                failure = f"update {step} failed: {error}"
            if failure is None:
                break
            self.rejected += 1
            trying = trying.cautious()
        if failure is not None:
            raise Diverged(f"{failure} (rejected {MAX_ATTEMPTS} times with growing regularisation)")
        self.stalled = unchanged and identical(new_state, self.state)
        self.theta, self.state = new_theta, new_state
        self.history.append(row)
        self._unannounced += 1
        return row

    def snapshot(self) -> Snapshot:
        """The loop as it stands, enough to continue it exactly (the whole per-row state, with sharding)."""
        taken = Snapshot(self.steps_done, self.theta, self.state, self.points_rng, self.residuals.version,
                         self.history, self.clock())
        return taken if self.sharding is None else self.sharding.whole_state(taken)

    def run(self, hooks: Hooks = Hooks()) -> FitResult:
        """Step until ``steps`` updates, the time limit or the target error (checked before every update), an
        interruption (``hooks.should_stop``), a stall (points drawn once, an update that changed nothing: every
        later one would repeat it) or divergence; then take back the optimizer's fallback where it is better
        (``take_back_fallback``); checkpoint through ``hooks`` on the way and once at the end."""
        sharding, config = self.sharding, self.config
        self._announce(hooks)
        reason, failure, saved = "steps", None, -1
        while self.steps_done < config.steps:
            row = self.history[-1]
            if _reached(row, config.target_rel_l2):
                reason = "target_rel_l2"
                break
            if config.time_limit is not None and row["wall_time_s"] >= config.time_limit:
                reason = "time_limit"
                break
            stop = hooks.should_stop is not None and hooks.should_stop()
            if stop if sharding is None else sharding.any(stop):
                reason = "interrupted"
                break
            try:
                step = int(self.step()["step"])
            except Diverged as error:
                reason, failure = "diverged", str(error)
                break
            self._announce(hooks)
            if hooks.on_checkpoint is not None and hooks.checkpoint_every and step % hooks.checkpoint_every == 0:
                hooks.on_checkpoint(self.snapshot())
                saved = step
            if not config.resample_every and (self.stalled if sharding is None else not sharding.any(not self.stalled)):
                reason = "stalled"
                break
        else:
            if _reached(self.history[-1], config.target_rel_l2):
                reason = "target_rel_l2"
        taken = self.take_back_fallback()
        if taken:
            self._announce(hooks)
            saved = -1
        if hooks.on_checkpoint is not None and saved != self.steps_done:
            hooks.on_checkpoint(self.snapshot())
        return FitResult(self.theta, self.history, reason, self.state, self.rejected, failure, taken)

    def take_back_fallback(self) -> bool:
        """Continue from the optimizer's fallback (``pinn_natmom.optim.fallback``) where its loss is below the last
        row's: ``θ`` and the optimizer state become the fallback's, and a history row for it is added under the same
        step number (step size 0). Whether it did."""
        if not fallback.better(self.state, self.history[-1]["loss"]):
            return False
        theta, loss, _ = fallback.held(self.state)
        at = theta.new_tensor(loss)
        row, _ = self._measure(self.steps_done, theta, at, StepInfo(0.0, Regularisation(), at))
        if row is None:
            return False
        self.theta, self.state = theta, fallback.restored(self.state)
        self.history.append(row)
        self._unannounced += 1
        return True

    def _draw(self) -> Points:
        return sample_points(self.problem, self.config.n_points, self.point_generator, self.dtype, self.device,
                             self.sharding)

    def _announce(self, hooks: Hooks) -> None:
        """Hand the rows logged since the last call to ``hooks.on_step``."""
        if hooks.on_step is not None:
            for row in self.history[len(self.history) - self._unannounced:]:
                hooks.on_step(row)
        self._unannounced = 0

    def _measure(self, step: int, at: Tensor, loss: Tensor, info: StepInfo,
                 before: Tensor | None = None) -> tuple[dict[str, float] | None, bool]:
        """The history row of ``θ = at``, or ``None`` when its loss or ``θ`` is not finite, and whether ``at`` equals
        ``before`` element for element (one synchronisation for both)."""
        same = (at == before).all() if before is not None else torch.zeros((), dtype=torch.bool, device=at.device)
        scalars = [loss.reshape(()).to(at.dtype), torch.isfinite(at).all().to(at.dtype), same.to(at.dtype)]
        if self.exact_error:
            scalars.append(self.compute.abs_error(self.exact_error, at))
        loss_value, finite, unchanged, *error = torch.stack(scalars).tolist()
        wall = self.clock()
        if not (finite and math.isfinite(loss_value)):
            return None, False
        rel, absolute = (self.exact_error.relative(error[0]), error[0]) if self.exact_error else (math.nan, math.nan)
        regularisation = info.regularisation
        values = (step, wall, loss_value, rel, absolute, info.step_size, regularisation.damping, regularisation.rcond,
                  info.ratio)
        row = dict(zip(HISTORY_COLUMNS, values, strict=True))
        if self.sharding is not None:
            traffic = self.sharding.traffic()
            row[COMMUNICATION_COLUMN], self._traffic = traffic - self._traffic, traffic
        return row, bool(unchanged)


def fit(problem: Problem, network: MLP, optimizer: Any, config: FitConfig, hooks: Hooks = Hooks(),
        resume: Snapshot | None = None, sharding: Sharding | None = None) -> FitResult:
    """Train ``θ`` from the seed's initialisation, or continue from ``resume``, and return it with the history
    (``Trainer`` set up and run)."""
    return Trainer(problem, network, optimizer, config, resume, sharding).run(hooks)


def _reached(row: Mapping[str, float], target: float | None) -> bool:
    return target is not None and row["rel_l2"] <= target


def first_reached(history: list[dict[str, float]], key: str, threshold: float) -> dict[str, float] | None:
    """The first row whose ``key`` (e.g. ``rel_l2``) is at or below ``threshold``, or ``None``."""
    return next((row for row in history if row[key] <= threshold), None)
