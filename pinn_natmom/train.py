"""The training loop: sample points → linearise (r, J) → optimizer update → log, until a stopping rule fires.

Row ``k`` of the history describes ``θ_k`` after ``k`` updates: the wall time since the loop started, the loss
``½‖r(θ_k)‖²`` on the points of that step (returned by the update, no extra pass), the errors against the exact
solution, and the step size and damping of update ``k``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .evaluate import Evaluator
from .graphs import PointResiduals, make_evaluations
from .linearise import Points
from .model import MLP
from .optim import State, needs_jacobian
from .problem import Problem

HISTORY_COLUMNS = ("step", "wall_time_s", "loss", "rel_l2", "abs_l2", "step_size", "damping")
EVAL_SEED = 20_231_000


@dataclass(frozen=True)
class FitConfig:
    """Options of the loop.

    ``n_points`` maps term names to point counts; ``resample_every = 0`` draws the points once. The loop stops after
    ``steps`` updates, after ``time_limit`` seconds, or once ``rel_l2 ≤ target_rel_l2``, whichever comes first.
    ``cuda_graphs`` replays the network work of a step from CUDA graphs on a CUDA device (:mod:`.graphs`).
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


@dataclass
class FitResult:
    theta: Tensor
    history: list[dict[str, float]]
    stop_reason: str
    state: State


def sample_points(problem: Problem, counts: Mapping[str, int], generator: torch.Generator, dtype, device) -> Points:
    """Draw every term's points and attach its data, in the run's dtype and device."""
    missing = [t.name for t in problem.terms if t.name not in counts]
    if missing:
        raise ValueError(f"no point count given for the terms {missing} of {problem.name!r}")
    return {
        t.name: t.collocate(t.sampler(int(counts[t.name]), generator).to(dtype=dtype, device=device))
        for t in problem.terms
    }


def fit(
    problem: Problem,
    mlp: MLP,
    optimizer,
    config: FitConfig,
    theta: Tensor | None = None,
    on_step: Callable[[dict[str, float]], None] | None = None,
) -> FitResult:
    """Train ``θ`` (initialised from the seed when not given) and return it with the history."""
    point_generator = torch.Generator().manual_seed(config.seed + 1)
    if theta is None:
        theta = mlp.init(torch.Generator().manual_seed(config.seed), config.dtype, config.device)
    evaluator = Evaluator.for_problem(problem, config.n_eval, EVAL_SEED, config.dtype, config.device)
    points = sample_points(problem, config.n_points, point_generator, config.dtype, config.device)
    state = optimizer.init(theta)
    evaluations = make_evaluations(mlp, problem, config.jacobian, torch.device(config.device), config.cuda_graphs)
    history: list[dict[str, float]] = []

    def record(step: int, started: float, loss: Tensor, step_size: float, damping: float) -> dict[str, float]:
        scalars = [loss.reshape(()).to(theta.dtype)] + ([evaluations.abs_error(evaluator, theta)] if evaluator else [])
        loss_value, *error = torch.stack(scalars).tolist()
        rel, absolute = (evaluator.relative(error[0]), error[0]) if evaluator else (float("nan"), float("nan"))
        row = dict(zip(HISTORY_COLUMNS, (step, time.perf_counter() - started, loss_value, rel, absolute, step_size, damping), strict=True))
        history.append(row)
        if on_step is not None:
            on_step(row)
        return row

    model = PointResiduals(mlp, problem, points, evaluations, version=0)
    started = time.perf_counter()
    row = record(0, started, model.losses(theta.unsqueeze(0))[0], 0.0, float("nan"))
    reason = "steps"
    for step in range(1, config.steps + 1):
        if _reached(row, config.target_rel_l2):
            reason = "target_rel_l2"
            break
        if config.time_limit is not None and row["wall_time_s"] >= config.time_limit:
            reason = "time_limit"
            break
        if config.resample_every and step > 1 and (step - 1) % config.resample_every == 0:
            points = sample_points(problem, config.n_points, point_generator, config.dtype, config.device)
            model = PointResiduals(mlp, problem, points, evaluations, version=model.version + 1)
        lin = evaluations.linearise(theta, points) if needs_jacobian(optimizer, state) else None
        theta, state, info = optimizer.update(state, theta, lin, model)
        row = record(step, started, info.loss, info.step_size, info.damping)
    else:
        if _reached(row, config.target_rel_l2):
            reason = "target_rel_l2"
    return FitResult(theta, history, reason, state)


def _reached(row: Mapping[str, float], target: float | None) -> bool:
    return target is not None and row["rel_l2"] <= target


def first_reached(history: list[dict[str, float]], key: str, threshold: float) -> dict[str, float] | None:
    """The first row whose ``key`` (e.g. ``rel_l2``) is at or below ``threshold``, or ``None``."""
    return next((row for row in history if row[key] <= threshold), None)
