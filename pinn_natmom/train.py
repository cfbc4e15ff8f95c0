"""The training loop: sample points → linearise (r, J) → optimizer update → log, until a stopping rule fires.

Row ``k`` of the history describes ``θ_k`` after ``k`` updates: the wall time since the loop started, the loss
``½‖r(θ_k)‖²`` on the points of that step (returned by the update, no extra pass), the errors against the exact
solution, and the step size and damping of update ``k``.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor

from .evaluate import Evaluator
from .graphs import Evaluations, PointResiduals, make_evaluations
from .linearise import Points
from .model import MLP
from .optim import State, needs_jacobian
from .problem import Problem
from .solvers import FactorizationError, NonFiniteError

HISTORY_COLUMNS = ("step", "wall_time_s", "loss", "rel_l2", "abs_l2", "step_size", "damping")
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
    ``cuda_graphs`` replays the network work of a step from CUDA graphs on a CUDA device (:mod:`.graphs`);
    ``mixed_precision`` builds ``J`` in float32 (:class:`~pinn_natmom.graphs.MixedPrecisionEvaluations`).
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
    (then ``failure`` says why and ``θ`` is the last good one); ``rejected`` counts the updates retried by the guard."""

    theta: Tensor
    history: list[dict[str, float]]
    stop_reason: str
    state: State
    rejected: int = 0
    failure: str | None = None


MAX_ATTEMPTS = 4
"""Tries of one update before the run stops as diverged: the first with the optimizer as given, then three with
:meth:`cautious` copies (more damping, larger cut-off, smaller fixed step)."""
STEP_FAILURES = (NonFiniteError, FactorizationError, torch.linalg.LinAlgError)


class Sharding(Protocol):
    """How the loop runs when its points are shared among processes (:class:`pinn_natmom.distributed.Sharding`); every
    method is a collective that all processes call in the same order."""

    def points(self, points: Points) -> Points: ...

    def evaluator(self, evaluator: Evaluator | None) -> Evaluator | None: ...

    def evaluations(self, evaluations: Evaluations) -> Evaluations: ...

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


def fit(
    problem: Problem,
    mlp: MLP,
    optimizer,
    config: FitConfig,
    hooks: Hooks = Hooks(),
    resume: Snapshot | None = None,
    sharding: Sharding | None = None,
) -> FitResult:
    """Train ``θ`` from the seed's initialisation, or continue from ``resume``, and return it with the history.

    Divergence guard: an update that raises on NaN or infinity (in ``J``, ``r`` or the direction), whose
    factorisation fails, or whose new ``θ`` or loss is not finite is rejected and retried from the same ``θ`` with a
    new linearisation and a :meth:`cautious` optimizer, up to :data:`MAX_ATTEMPTS` times; then the run stops as
    ``diverged`` with the last good ``θ``.

    ``sharding``: this process holds a share of the points (:class:`Sharding`); the hooks must then be alike on every
    process (those that write files do so on one), and the history gains :data:`COMMUNICATION_COLUMN`.
    """
    dtype, device = config.dtype, torch.device(config.device)
    point_generator = torch.Generator()
    if resume is None:
        point_generator.manual_seed(config.seed + 1)
    else:
        point_generator.set_state(resume.points_rng)
    points_rng = point_generator.get_state()
    points = sample_points(problem, config.n_points, point_generator, dtype, device, sharding)
    if resume is None:
        theta = mlp.init(torch.Generator().manual_seed(config.seed), dtype, device)
        state, version, history, elapsed = optimizer.init(theta), 0, [], 0.0
    else:
        own = resume if sharding is None else sharding.own_state(resume)
        theta = own.theta.to(dtype=dtype, device=device)
        state, version = to_device(own.optimizer_state, device), own.points_version
        history, elapsed = [dict(row) for row in own.history], own.elapsed
    evaluator = Evaluator.for_problem(problem, config.n_eval, EVAL_SEED, dtype, device)
    evaluations = make_evaluations(mlp, problem, config.jacobian, device, config.cuda_graphs, config.mixed_precision)
    if sharding is not None:
        evaluator, evaluations = sharding.evaluator(evaluator), sharding.evaluations(evaluations)
    model = PointResiduals(mlp, problem, points, evaluations, version=version)
    started = time.perf_counter() - elapsed
    traffic = [0 if sharding is None else sharding.traffic()]

    def clock() -> float:
        seconds = time.perf_counter() - started
        return seconds if sharding is None else sharding.clock(seconds)

    def measure(step: int, at: Tensor, loss: Tensor, step_size: float, damping: float,
                before: Tensor | None = None) -> tuple[dict[str, float] | None, bool]:
        """The history row of ``θ = at``, or ``None`` when its loss or ``θ`` is not finite, and whether ``at`` equals
        ``before`` element for element (one synchronisation for both)."""
        same = (at == before).all() if before is not None else torch.zeros((), dtype=torch.bool, device=at.device)
        scalars = [loss.reshape(()).to(at.dtype), torch.isfinite(at).all().to(at.dtype), same.to(at.dtype)]
        if evaluator:
            scalars.append(evaluations.abs_error(evaluator, at))
        loss_value, finite, unchanged, *error = torch.stack(scalars).tolist()
        wall = clock()
        if not (finite and math.isfinite(loss_value)):
            return None, False
        rel, absolute = (evaluator.relative(error[0]), error[0]) if evaluator else (float("nan"), float("nan"))
        values = (step, wall, loss_value, rel, absolute, step_size, damping)
        row = dict(zip(HISTORY_COLUMNS, values, strict=True))
        if sharding is not None:
            row[COMMUNICATION_COLUMN], traffic[0] = sharding.traffic() - traffic[0], sharding.traffic()
        return row, bool(unchanged)

    def log(row: dict[str, float]) -> None:
        history.append(row)
        if hooks.on_step is not None:
            hooks.on_step(row)

    def snapshot() -> Snapshot:
        taken = Snapshot(int(history[-1]["step"]), theta, state, points_rng, model.version, history, clock())
        return taken if sharding is None else sharding.whole_state(taken)

    if resume is None:
        first, _ = measure(0, theta, model.losses(theta.unsqueeze(0))[0], 0.0, float("nan"))
        if first is None:
            raise NonFiniteError("the initial loss is not finite: check the problem's data and source term")
        log(first)
    row, reason, rejected, failure, saved = history[-1], "steps", 0, None, -1
    for step in range(int(row["step"]) + 1, config.steps + 1):
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
        if config.resample_every and step > 1 and (step - 1) % config.resample_every == 0:
            points_rng = point_generator.get_state()
            points = sample_points(problem, config.n_points, point_generator, dtype, device, sharding)
            model = PointResiduals(mlp, problem, points, evaluations, version=model.version + 1)
        trying = optimizer
        for _ in range(MAX_ATTEMPTS):
            try:
                lin = evaluations.linearise(theta, points) if needs_jacobian(trying, state) else None
                new_theta, new_state, info = trying.update(state, theta, lin, model)
                new_row, unchanged = measure(step, new_theta, info.loss, info.step_size, info.damping, before=theta)
                failure = None if new_row is not None else f"the loss or θ after update {step} is not finite"
            except STEP_FAILURES as error:
                failure = f"update {step} failed: {error}"
            if failure is None:
                break
            rejected += 1
            trying = trying.cautious()
        if failure is not None:
            reason, failure = "diverged", f"{failure} (rejected {MAX_ATTEMPTS} times with growing regularisation)"
            break
        stalled = unchanged and identical(new_state, state)
        theta, state, row = new_theta, new_state, new_row
        log(row)
        if hooks.on_checkpoint is not None and hooks.checkpoint_every and step % hooks.checkpoint_every == 0:
            hooks.on_checkpoint(snapshot())
            saved = step
        if not config.resample_every and (stalled if sharding is None else not sharding.any(not stalled)):
            reason = "stalled"
            break
    else:
        if _reached(row, config.target_rel_l2):
            reason = "target_rel_l2"
    if hooks.on_checkpoint is not None and saved != row["step"]:
        hooks.on_checkpoint(snapshot())
    return FitResult(theta, history, reason, state, rejected, failure)


def to_device(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor inside dicts, lists and tuples moved to ``device``."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value


def identical(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` hold the same values: tensors equal element for element (shape and dtype too), dicts
    with the same keys, lists and tuples item for item, other values by ``==`` (NaN equal to NaN)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(identical(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(identical, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _reached(row: Mapping[str, float], target: float | None) -> bool:
    return target is not None and row["rel_l2"] <= target


def first_reached(history: list[dict[str, float]], key: str, threshold: float) -> dict[str, float] | None:
    """The first row whose ``key`` (e.g. ``rel_l2``) is at or below ``threshold``, or ``None``."""
    return next((row for row in history if row[key] <= threshold), None)
