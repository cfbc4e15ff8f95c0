"""The options of a run: one definition (``Options``), from which the command line, the configuration-file
checks and the library's defaults all come.

Every field of ``Options`` carries its help text, its kind and, where it has them, its allowed values in the
field's metadata (``OptionInfo``). A field left ``None`` is *unset*: ``Options.resolved`` fills it with the
problem's recommendation (``pinn_natmom.problem.Problem.recommended``), else with the default the metadata gives;
``steps`` left unset beside a time limit is unlimited, so that the time limit decides.
So ``solve(problem, Options(steps=50))`` and ``solve(problem, steps=50)`` are the same run.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from . import optim
from .linearise import JACOBIAN_METHODS
from .network import ACTIVATIONS, INITS, MLP
from .problem import Problem
from .solvers import SOLVER_NAMES

DTYPES = {"float64": torch.float64, "float32": torch.float32}
UNLIMITED_STEPS = 10**9
"""The steps of a run given a time limit and no number of steps: the time limit stops it."""
DEVICES = ("auto", "cpu", "cuda")
EXPLORE_SHARE = 0.25
"""The share of a run's time limit that ``natural-auto`` spends exploring when ``explore_steps`` is unset and the
points are drawn once (results/explore/README.md)."""
SPRINT_SHARE = 0.1
"""The most of a run's time limit that ``natural-auto``'s sprint before that stage may spend (its fallback; it ends
sooner where it reaches the floor)."""


@dataclass(frozen=True)
class OptionInfo:
    """What the command line and the configuration files need to know of an option.

    ``kind``: ``int``, ``float``, ``str``, ``bool``, ``widths`` (hidden widths) or ``counts`` (points per term);
    ``default``: the value an unset option takes when the problem recommends none (``None``: the optimizer's or the
    solver's own default); ``resumable``: whether a resumed run may change it.
    """

    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    resumable: bool = False


def option(kind: str, default: Any, help: str, choices: tuple[str, ...] | None = None, resumable: bool = False) -> Any:
    """A field of ``Options``: unset (``None``) by default, described by an ``OptionInfo``."""
    return field(default=None, metadata={"info": OptionInfo(kind, default, help, choices, resumable)})


@dataclass(frozen=True)
class Options:
    """Everything that decides a run besides the problem; ``None`` means unset (module docstring)."""

    hidden: tuple[int, ...] | None = option("widths", (32, 32), "hidden widths of the network, e.g. 64 or 32,32")
    activation: str | None = option("str", "tanh", "activation of the hidden layers", tuple(ACTIVATIONS))
    frequency: float | None = option("float", 1.0, "scale of the first layer's initial weights")
    init: str | None = option("str", "auto", "initial weights: uniform (PyTorch's nn.Linear default), glorot "
                              "(Glorot-normal, zero biases), auto (glorot for sine networks, else uniform)", INITS)
    n_points: Mapping[str, int] | None = option("counts", None, "collocation points per term (default: the term's own)")
    n_eval: int | None = option("int", 10_000, "points for the error")
    resample_every: int | None = option("int", 0, "redraw the points every k steps (0: never)")
    optimizer: str | None = option("str", "natural-auto", "training algorithm", tuple(optim.OPTIMIZERS))
    momentum: float | None = option("float", None, "β of the momentum optimizers (μ of spring); default per optimizer")
    warmup_adam: int | None = option("int", 0, "Adam steps before the optimizer")
    explore_steps: int | None = option("int", None, "natural-auto's exploring steps first: trust-radius steps held "
                                       "to a low ratio of actual to predicted decrease, for deeper floors (default: "
                                       "the first quarter of a time limit on points drawn once, else none; 0: none)")
    solver: str | None = option("str", "auto", "direction solver", SOLVER_NAMES)
    damping: float | None = option("float", 1e-12, "initial damping ν of the solves, relative to ‖J‖²_F (λ = ν‖J‖²_F)")
    trust_region: bool | None = option("bool", True, "Levenberg–Marquardt trust region on the damping: lowered after "
                                       "steps the Gauss–Newton model predicted well, raised after poor or failed ones "
                                       "(off: the damping stays fixed)")
    rcond: float | None = option("float", None, "singular-value cut-off of pinv and svd, below which directions are "
                                 "dropped (default per solver: 3e-7 pinv, 1e-9 svd)")
    sketch_size: int | None = option("int", None, "sketch size ℓ of nystrom and nystrom-pcg (default 1000, at most "
                                     "min(N, P))")
    cg_steps: int | None = option("int", None, "preconditioned CG steps of nystrom-pcg (default 20)")
    mixed_precision: bool | None = option("bool", False, "build J in float32 (TF32 on CUDA), keep r, θ and the "
                                          "solve in float64")
    lr: float | None = option("float", None, "fixed step size when the line search is off; Adam's learning rate "
                              "(default per optimizer)")
    line_search: bool | None = option("bool", None, "choose the step by the grid line search (default on, except "
                                      "spring)")
    jacobian: str | None = option("str", "forward", "forward Laplacian or torch.func reference", JACOBIAN_METHODS)
    cuda_graphs: bool | None = option("bool", True, "on CUDA, replay each step's network work from CUDA graphs")
    steps: int | None = option("int", 60, "optimizer steps (unset with a time limit: as many as the time allows)",
                               resumable=True)
    time_limit: float | None = option("float", None, "stop after this many seconds of training", resumable=True)
    target_rel_l2: float | None = option("float", None, "stop once the relative L2 error reaches this", resumable=True)
    seed: int | None = option("int", 0, "seed of the initial network and the points")
    device: str | None = option("str", "auto", "auto: CUDA when present", DEVICES)
    dtype: str | None = option("str", "float64", "floating-point type", tuple(DTYPES))

    def __post_init__(self) -> None:
        """Check the options that are set and that the loop owns; the optimizer checks its own (momentum, cut-off,
        step size…) when ``resolved`` builds it."""
        given = self.given()
        for name, value in given.items():
            choices = INFO[name].choices
            _check(choices is None or value in choices, f"{name} must be one of {', '.join(choices or ())}, got {value!r}")
        check = _check
        for name in ("steps", "resample_every", "warmup_adam", "explore_steps"):
            check(given.get(name, 0) >= 0, f"{name} must be ≥ 0, got {given.get(name)}")
        check(given.get("n_eval", 1) >= 1, f"n_eval must be ≥ 1, got {given.get('n_eval')}")
        for term, count in (self.n_points or {}).items():
            check(count >= 1, f"the number of {term} points must be ≥ 1, got {count}")
        check(given.get("damping", 0.0) >= 0, f"damping must be ≥ 0, got {given.get('damping')}")
        check(self.time_limit is None or self.time_limit > 0, f"time limit must be > 0, got {self.time_limit}")
        check(self.target_rel_l2 is None or self.target_rel_l2 > 0,
              f"target rel_l2 must be > 0, got {self.target_rel_l2}")
        check(not self.mixed_precision or self.dtype in (None, "float64"),
              "mixed precision builds J in float32 for a float64 run; it needs --dtype float64")
        if self.hidden is not None:
            MLP.of(1, self.hidden)

    def given(self) -> dict[str, Any]:
        """The options that are set (not ``None``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    def resolved(self, problem: Problem) -> Options:
        """Every option set: the given ones, then the problem's recommendations, then the defaults; point counts for
        exactly the problem's terms. Raises ``ValueError`` for options that do not combine (an option the optimizer
        does not take, a point count of a term the problem lacks, a recommendation that is not an option)."""
        unknown = sorted(set(problem.recommended) - set(INFO))
        if unknown:
            raise ValueError(f"problem {problem.name!r} recommends unknown run options {unknown}")
        foreign = sorted(set(self.n_points or {}) - set(problem.term_names))
        if foreign:
            exact_data = ("; its Dirichlet data are imposed exactly: build it with hard_bc=False (--no-hard-bc) to "
                          "train a boundary term" if "boundary" in foreign and problem.output is not None else "")
            raise ValueError(f"{problem.name} has no {', '.join(foreign)} term; its terms are "
                             f"{', '.join(problem.term_names)}{exact_data}")
        values = {name: info.default for name, info in INFO.items()}
        values.update(problem.recommended)
        values.update(self.given())
        if self.steps is None and self.time_limit is not None:
            values["steps"] = UNLIMITED_STEPS
        values["hidden"] = tuple(values["hidden"])
        values["n_points"] = {t.name: (self.n_points or {}).get(t.name, t.points) for t in problem.terms}
        resolved = Options(**values)
        resolved.optimizer_for(resolved.solver)
        return resolved

    def network(self, in_dim: int) -> MLP:
        """The network these (resolved) options describe for inputs of dimension ``in_dim``."""
        return MLP.of(in_dim, self.hidden, self.activation, self.frequency, self.init)

    def optimizer_for(self, solver: str) -> Any:
        """The optimizer these (resolved) options describe, with the direction solver ``solver`` and an Adam warm
        start when ``warmup_adam`` asks for one."""
        optimizer = optim.make(self.optimizer, damping=self.damping, rcond=self.rcond, solver=solver,
                               line_search=self.line_search, lr=self.lr, momentum=self.momentum,
                               sketch_size=self.sketch_size, cg_steps=self.cg_steps,
                               **self.exploring(),
                               trust_region=optim.TrustRegion(initial=self.damping, floor=min(self.damping, 1e-18),
                                                              fixed=not self.trust_region))
        return optim.WarmStart(optim.Adam(), self.warmup_adam, optimizer) if self.warmup_adam else optimizer

    def exploring(self) -> dict[str, int | float]:
        """``natural-auto``'s exploring budget: ``explore_steps`` where set (``0``: no stage), else
        ``EXPLORE_SHARE`` of the time limit on points drawn once, after a sprint of at most ``SPRINT_SHARE`` of it,
        else nothing (the optimizer's default: no stage)."""
        if self.explore_steps is not None:
            return {"explore_steps": self.explore_steps} if self.explore_steps else {}
        if self.optimizer == "natural-auto" and self.time_limit is not None and not self.resample_every:
            return {"explore_seconds": EXPLORE_SHARE * self.time_limit, "sprint_seconds": SPRINT_SHARE * self.time_limit}
        return {}

    def resolved_device(self) -> torch.device:
        """``auto`` (or unset) is CUDA when present, else the CPU; ``cuda`` without a CUDA device is an error."""
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda was requested but no CUDA device is available; use --device cpu or auto")
        if self.device in (None, "auto"):
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


INFO: dict[str, OptionInfo] = {f.name: f.metadata["info"] for f in dataclasses.fields(Options)}
"""The ``OptionInfo`` of every option, by name."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
