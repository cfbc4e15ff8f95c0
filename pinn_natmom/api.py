"""The public verb ``solve(problem, **options) -> Result``, and ``setup`` for stepping a run by hand (benchmarks,
profiling, notebooks)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .diagnosis import trust_region_summary, warning
from .network import MLP
from .optim import exploring_steps, needs_jacobian
from .options import DTYPES, Options
from .problem import Problem
from .solvers import available_bytes, check_fits, choose
from .train import COMMUNICATION_COLUMN, FitConfig, Hooks, Sharding, Snapshot, Trainer


@dataclass
class Result:
    """A trained field: ``result(x)`` evaluates ``u_θ`` at points ``x`` (``N × d``); ``history`` has one row per
    step (``pinn_natmom.train.HISTORY_COLUMNS``), ``metrics`` the final figures and why the run stopped, and
    ``options`` every option as the run resolved it."""

    problem: Problem
    network: MLP
    theta: Tensor
    history: list[dict[str, float]]
    metrics: dict[str, object]
    options: Options

    def __call__(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            x = x.to(dtype=self.theta.dtype, device=self.theta.device)
            return self.problem.field(self.network.forward(self.theta, x), x)


MEMORY_FRACTION = 0.9
"""The share of the free memory a run plans to use for ``J`` and the solver's matrices (the rest: activations,
the line search and the evaluation points)."""


def solver_for(problem: Problem, options: Options, sharding: Sharding | None = None) -> str:
    """The solver a run uses: the resolved ``options.solver``, with ``auto`` resolved for the problem's point count,
    the network and the memory free on the run's device (``pinn_natmom.solvers.choose``; with ``sharding``, the
    least any process has); a ``ValueError`` says what to change when ``J`` and the solver's matrices would not fit in
    ``MEMORY_FRACTION`` of it."""
    n_rows = sum(options.n_points.values())
    n_params = options.network(problem.dim).num_params
    itemsize = DTYPES[options.dtype].itemsize
    free = available_bytes(options.resolved_device())
    if sharding is not None and free is not None:
        free = int(sharding.least(free))
    usable = None if free is None else int(MEMORY_FRACTION * free)
    beside_jacobian = None if usable is None else usable - itemsize * n_rows * n_params
    name = choose(options.solver, n_rows, n_params, beside_jacobian, itemsize, options.sketch_size)
    check_fits(name, n_rows, n_params, usable, itemsize, options.sketch_size)
    return name


def setup(problem: Problem, options: Options | None = None, resume: Snapshot | None = None,
          sharding: Sharding | None = None, **overrides: object) -> Trainer:
    """The run ``solve`` would train, set up and not yet stepped: its ``Trainer`` holds the
    network, ``θ``, the points, the optimizer and the history (``trainer.step()`` takes one update,
    ``trainer.linearise()`` gives ``r`` and ``J``). The resolved options are ``trainer.options``, the solver used
    ``trainer.solver``. Arguments as for ``solve``."""
    given = Options() if options is None else options
    if overrides:
        given = Options(**{**given.given(), **overrides})
    resolved = given.resolved(problem)
    device = resolved.resolved_device()
    solver = solver_for(problem, resolved, sharding)
    config = FitConfig(
        n_points=resolved.n_points,
        steps=resolved.steps,
        resample_every=resolved.resample_every,
        jacobian=resolved.jacobian,
        n_eval=resolved.n_eval,
        seed=resolved.seed,
        dtype=DTYPES[resolved.dtype],
        device=device,
        time_limit=resolved.time_limit,
        target_rel_l2=resolved.target_rel_l2,
        cuda_graphs=resolved.cuda_graphs,
        mixed_precision=resolved.mixed_precision,
    )
    return Trainer(problem, resolved.network(problem.dim), resolved.optimizer_for(solver), config, resume, sharding,
                   options=resolved, solver=solver)


def solve(
    problem: Problem,
    options: Options | None = None,
    hooks: Hooks = Hooks(),
    resume: Snapshot | None = None,
    sharding: Sharding | None = None,
    **overrides: object,
) -> Result:
    """Train a PINN for ``problem`` and return the trained field with its history and metrics.

    ``options`` and keyword ``overrides`` of its fields (``steps=50, hidden=(32, 32)``) set the run; what neither sets
    takes the problem's recommendation, else the default (``Options``). ``hooks`` are
    called by the loop (progress, checkpoints, interruption; ``Hooks``); ``resume``
    continues a run from a ``Snapshot`` of it, taken with the same problem and options.
    ``sharding`` shares the points among the processes of a group (``pinn_natmom.distributed.Sharding``); every
    process returns the same θ.
    """
    trainer = setup(problem, options, resume, sharding, **overrides)
    fitted = trainer.run(hooks)
    last, resolved = fitted.history[-1], trainer.options
    metrics: dict[str, object] = {
        "pde": problem.name,
        "dim": problem.dim,
        "optimizer": resolved.optimizer,
        "solver": trainer.solver,
        "rel_l2": last["rel_l2"],
        "abs_l2": last["abs_l2"],
        "loss": last["loss"],
        "steps": int(last["step"]),
        "wall_time_s": last["wall_time_s"],
        "stop_reason": fitted.stop_reason,
        "rejected_updates": fitted.rejected,
        "failure": fitted.failure,
        "num_params": trainer.network.num_params,
        "device": str(trainer.device),
        "warning": warning(fitted.history, fitted.stop_reason),
    }
    explored = exploring_steps(fitted.state)
    if explored:
        metrics["explore_steps_taken"] = explored
    if fitted.fallback_taken:
        metrics["fallback_taken"] = True
    if needs_jacobian(trainer.optimizer, trainer.state):
        metrics["trust_region"] = trust_region_summary(fitted.history)
    sent = [row[COMMUNICATION_COLUMN] for row in fitted.history[1:] if COMMUNICATION_COLUMN in row]
    if sent:
        metrics["comm_bytes_per_step"] = sum(sent) / len(sent)
    return Result(problem, trainer.network, fitted.theta, fitted.history, metrics, resolved)
