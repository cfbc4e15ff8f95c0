"""The one public verb: ``solve(problem, **options) -> Result``, used by ``scripts/solve.py`` and by notebooks."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import Tensor

from . import optim
from .hostmemory import keep_freed_memory
from .linearise import JACOBIAN_METHODS
from .model import MLP
from .problem import Problem
from .solvers import SOLVER_NAMES, available_bytes, check_fits, choose
from .train import COMMUNICATION_COLUMN, FitConfig, Hooks, Sharding, Snapshot, fit

DTYPES = {"float64": torch.float64, "float32": torch.float32}
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Options:
    """Everything that decides a run besides the problem. Point counts are per term name (``n_<term>``)."""

    hidden: tuple[int, ...] = (32, 32)
    activation: str = "tanh"
    frequency: float = 1.0
    init: str = "auto"
    steps: int = 60
    seed: int = 0
    device: str = "auto"
    dtype: str = "float64"
    n_points: dict[str, int] = field(default_factory=lambda: {"interior": 900, "boundary": 120, "initial": 120,
                                                               "neumann": 120})
    n_eval: int = 10_000
    resample_every: int = 0
    optimizer: str = "engd"
    momentum: float | None = None
    warmup_adam: int = 0
    solver: str = "auto"
    damping: float = 1e-10
    rcond: float | None = None
    line_search: bool | None = None
    lr: float | None = None
    jacobian: str = "forward"
    time_limit: float | None = None
    target_rel_l2: float | None = None
    cuda_graphs: bool = True
    sketch_size: int | None = None
    cg_steps: int | None = None
    adaptive_damping: bool = False
    mixed_precision: bool = False

    def __post_init__(self) -> None:
        check = _Checker()
        check(self.steps >= 0, f"steps must be ≥ 0, got {self.steps}")
        check(self.n_eval >= 1, f"n_eval must be ≥ 1, got {self.n_eval}")
        check(self.resample_every >= 0, f"resample_every must be ≥ 0, got {self.resample_every}")
        for name, count in self.n_points.items():
            check(count >= 1, f"the number of {name} points must be ≥ 1, got {count}")
        check(self.dtype in DTYPES, f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        self.network(1)
        check(self.device in DEVICES, f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        check(self.optimizer in optim.OPTIMIZERS, f"unknown optimizer {self.optimizer!r}; choose from {', '.join(optim.OPTIMIZERS)}")
        check(self.momentum is None or 0 <= self.momentum < 1, f"momentum must lie in [0, 1), got {self.momentum}")
        check(self.warmup_adam >= 0, f"warmup_adam must be ≥ 0, got {self.warmup_adam}")
        check(self.lr is None or self.lr > 0, f"learning rate must be > 0, got {self.lr}")
        if self.optimizer in optim.OPTIMIZERS:
            self.optimizer_for(self.solver)
        check(self.solver in SOLVER_NAMES, f"unknown solver {self.solver!r}; choose from {', '.join(SOLVER_NAMES)}")
        check(self.jacobian in JACOBIAN_METHODS, f"jacobian must be one of {', '.join(JACOBIAN_METHODS)}")
        check(self.damping >= 0, f"damping must be ≥ 0, got {self.damping}")
        check(self.rcond is None or 0 <= self.rcond < 1, f"rcond must lie in [0, 1), got {self.rcond}")
        check(self.time_limit is None or self.time_limit > 0, f"time limit must be > 0, got {self.time_limit}")
        check(self.target_rel_l2 is None or self.target_rel_l2 > 0, f"target rel_l2 must be > 0, got {self.target_rel_l2}")
        check(not self.mixed_precision or self.dtype == "float64",
              "mixed precision builds J in float32 for a float64 run; it needs --dtype float64")

    def network(self, in_dim: int) -> MLP:
        """The network these options describe for inputs of dimension ``in_dim``."""
        return MLP.of(in_dim, self.hidden, self.activation, self.frequency, self.init)

    def optimizer_for(self, solver: str) -> object:
        """The optimizer these options describe, with the direction solver ``solver`` and an Adam warm start when
        ``warmup_adam`` asks for one."""
        optimizer = optim.make(self.optimizer, damping=self.damping, rcond=self.rcond, solver=solver,
                               line_search=self.line_search, lr=self.lr, momentum=self.momentum,
                               sketch_size=self.sketch_size, cg_steps=self.cg_steps,
                               adaptive_damping=self.adaptive_damping or None)
        return optim.WarmStart(optim.Adam(), self.warmup_adam, optimizer) if self.warmup_adam else optimizer

    def resolved_device(self) -> torch.device:
        """``auto`` is CUDA when present, else the CPU; ``cuda`` without a CUDA device is an error."""
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda was requested but no CUDA device is available; use --device cpu or auto")
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


class _Checker:
    def __call__(self, ok: bool, message: str) -> None:
        if not ok:
            raise ValueError(message)


@dataclass
class Result:
    """A trained field: ``result(x)`` evaluates ``u_θ`` at points ``x`` (``N × d``)."""

    problem: Problem
    mlp: MLP
    theta: Tensor
    history: list[dict[str, float]]
    metrics: dict[str, object]
    options: Options

    def __call__(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            x = x.to(dtype=self.theta.dtype, device=self.theta.device)
            return self.problem.field(self.mlp.forward(self.theta, x), x)


MEMORY_FRACTION = 0.9
"""The share of the free memory a run plans to use for ``J`` and the solver's matrices (the rest: activations,
the line search and the evaluation points)."""


def solver_for(problem: Problem, options: Options, sharding: Sharding | None = None) -> str:
    """The solver a run uses: ``options.solver``, with ``auto`` resolved for the problem's point count, the network and
    the memory free on the run's device (:func:`pinn_natmom.solvers.choose`; with ``sharding``, the least any process
    has); a ``ValueError`` says what to change when ``J`` and the solver's matrices would not fit in
    :data:`MEMORY_FRACTION` of it."""
    n_rows = sum(options.n_points[name] for name in problem.term_names)
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


def solve(
    problem: Problem,
    options: Options | None = None,
    hooks: Hooks = Hooks(),
    resume: Snapshot | None = None,
    sharding: Sharding | None = None,
    **overrides: object,
) -> Result:
    """Train a PINN for ``problem`` and return the trained field with its history and metrics.

    ``options`` (or keyword overrides of its fields, e.g. ``steps=50, hidden=(32, 32)``) set the run. Without
    ``options``, the problem's ``run_defaults`` (e.g. heat's ``solver="pinv"``) fill the fields the overrides leave
    unset; an explicit ``options`` is taken as it is. Point counts are taken for the problem's terms (``n_points``
    may name others). ``hooks`` are called by the loop (progress, checkpoints, interruption; :class:`Hooks`);
    ``resume`` continues a run from a :class:`Snapshot` of it, taken with the same problem and options. ``sharding``
    shares the points among the processes of a group (:class:`pinn_natmom.distributed.Sharding`); every process
    returns the same θ.
    """
    unknown = sorted(set(problem.run_defaults) - {f.name for f in dataclasses.fields(Options)})
    if unknown:
        raise ValueError(f"problem {problem.name!r} recommends unknown run options {unknown}")
    options = dataclasses.replace(options, **overrides) if options else Options(**{**problem.run_defaults, **overrides})
    missing = [name for name in problem.term_names if name not in options.n_points]
    if missing:
        raise ValueError(f"no point count given for the term(s) {', '.join(missing)} of {problem.name}")
    device = options.resolved_device()
    mlp = options.network(problem.dim)
    n_points = {name: options.n_points[name] for name in problem.term_names}
    solver = solver_for(problem, options, sharding)
    optimizer = options.optimizer_for(solver)
    config = FitConfig(
        n_points=n_points,
        steps=options.steps,
        resample_every=options.resample_every,
        jacobian=options.jacobian,
        n_eval=options.n_eval,
        seed=options.seed,
        dtype=DTYPES[options.dtype],
        device=device,
        time_limit=options.time_limit,
        target_rel_l2=options.target_rel_l2,
        cuda_graphs=options.cuda_graphs,
        mixed_precision=options.mixed_precision,
    )
    keep_freed_memory()
    fitted = fit(problem, mlp, optimizer, config, hooks, resume, sharding)
    last = fitted.history[-1]
    metrics: dict[str, object] = {
        "pde": problem.name,
        "dim": problem.dim,
        "optimizer": options.optimizer,
        "solver": solver,
        "rel_l2": last["rel_l2"],
        "abs_l2": last["abs_l2"],
        "loss": last["loss"],
        "steps": int(last["step"]),
        "wall_time_s": last["wall_time_s"],
        "stop_reason": fitted.stop_reason,
        "rejected_updates": fitted.rejected,
        "failure": fitted.failure,
        "num_params": mlp.num_params,
        "device": str(device),
    }
    sent = [row[COMMUNICATION_COLUMN] for row in fitted.history[1:] if COMMUNICATION_COLUMN in row]
    if sent:
        metrics["comm_bytes_per_step"] = sum(sent) / len(sent)
    return Result(problem, mlp, fitted.theta, fitted.history, metrics, options)
