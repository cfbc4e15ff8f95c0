"""A run as the command line and the run folder describe it: settings (:mod:`.config`) → problem and options, and a
saved run folder → the trained field (:func:`load_result`)."""
from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import api, config, runfolder
from .problem import Problem

PROBLEM_SETTINGS: dict[str, tuple[str, ...]] = {
    "dim": ("poisson", "heat", "helmholtz"),
    "k": ("helmholtz",),
    "diffusivity": ("heat",),
    "final_time": ("heat",),
    "sampler": ("poisson", "heat", "helmholtz"),
    "neumann": ("poisson", "heat", "helmholtz"),
    "hard_bc": ("poisson", "heat", "helmholtz"),
}
"""The settings passed to a PDE factory, and the PDEs that take each."""
TERM_COUNTS = {"interior": "n_interior", "boundary": "n_boundary", "initial": "n_initial", "neumann": "n_neumann"}
OPTION_SETTINGS = ("hidden", "activation", "frequency", "init", "solver", "steps", "seed", "device", "dtype", "n_eval",
                   "resample_every", "damping", "rcond", "optimizer", "momentum", "warmup_adam", "line_search", "lr",
                   "jacobian", "time_limit", "target_rel_l2", "cuda_graphs", "sketch_size", "cg_steps",
                   "adaptive_damping", "mixed_precision")
"""Settings copied into :class:`pinn_natmom.api.Options` when set; unset (``None``) ones take the problem's
recommendation (its ``run_defaults``), else the field's default."""


def problem_of(settings: Mapping[str, Any]) -> Problem:
    """The problem named by ``pde`` with the problem settings given; a setting of another PDE is an error."""
    import pdes

    name = settings["pde"]
    if name not in pdes.PDES:
        raise config.ConfigError(f"unknown PDE {name!r}; choose from {', '.join(sorted(pdes.PDES))}")
    options = {}
    for key, owners in PROBLEM_SETTINGS.items():
        if settings.get(key) is not None:
            if name not in owners:
                raise config.ConfigError(f"{config.BY_NAME[key].flag} applies to {', '.join(owners)} only, not {name}")
            options[key] = settings[key]
    return pdes.make(name, **options)


def options_of(settings: Mapping[str, Any], problem: Problem) -> api.Options:
    """:class:`~pinn_natmom.api.Options` from the settings, the problem's recommendations (``run_defaults``: network,
    solver, cut-off, steps, point counts…) filling the ones left unset."""
    foreign = [term for term, key in TERM_COUNTS.items() if settings.get(key) is not None and term not in problem.term_names]
    if foreign:
        raise config.ConfigError(f"{problem.name} has no {', '.join(foreign)} term; its terms are {', '.join(problem.term_names)}")
    counts = {**api.Options().n_points, **problem.run_defaults.get("n_points", {}),
              **{term: settings[key] for term, key in TERM_COUNTS.items() if settings.get(key) is not None}}
    explicit = {key: settings[key] for key in OPTION_SETTINGS if settings.get(key) is not None}
    explicit["n_points"] = {term: counts[term] for term in problem.term_names}
    return api.Options(**{**problem.run_defaults, **explicit})


def resolve(settings: Mapping[str, Any]) -> tuple[Problem, api.Options]:
    """The problem and options of a complete set of settings (:func:`pinn_natmom.config.defaults` updated)."""
    problem = problem_of(settings)
    return problem, options_of(settings, problem)


def resolved(settings: Mapping[str, Any], problem: Problem, options: api.Options) -> dict[str, Any]:
    """The settings with every default spelt out (the factory's problem defaults, the problem's recommended network,
    solver and point counts), so that a saved configuration does not depend on defaults that may change."""
    import pdes

    out = dict(settings)
    factory = inspect.signature(pdes.PDES[settings["pde"]])
    for key, owners in PROBLEM_SETTINGS.items():
        parameter = factory.parameters.get(key)
        if out.get(key) is None and settings["pde"] in owners and parameter is not None:
            out[key] = parameter.default
    out.update({key: getattr(options, key) for key in OPTION_SETTINGS})
    out["init"] = options.network(1).resolved_init
    for term, key in TERM_COUNTS.items():
        out[key] = options.n_points.get(term)
    return out


def saved_settings(run_dir: Path) -> dict[str, Any]:
    """The complete settings of the run in ``run_dir``, with the solver it used (what ``auto`` chose, which may depend
    on the memory free when it started)."""
    path = Path(run_dir) / runfolder.CONFIG
    settings = {**config.defaults(), **config.read(path)}
    used = json.loads(path.read_text()).get("solver_used")
    return settings if used is None else {**settings, "solver": used}


def saved_processes(run_dir: Path) -> int:
    """The number of processes the run in ``run_dir`` was started with (1 for runs that do not say)."""
    return int(json.loads((Path(run_dir) / runfolder.CONFIG).read_text()).get("processes", 1))


def load_result(run_dir: Path) -> api.Result:
    """The trained field of a run folder, from its ``config.json`` and newest checkpoint, with its history and
    metrics (``metrics.json`` when the run finished)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise config.ConfigError(f"no run folder at {run_dir}")
    problem, options = resolve(saved_settings(run_dir))
    snapshot = runfolder.read_checkpoint(run_dir / runfolder.CHECKPOINT)
    mlp = options.network(problem.dim)
    if snapshot.theta.shape != (mlp.num_params,):
        raise runfolder.CheckpointError(f"{run_dir / runfolder.CHECKPOINT} holds {snapshot.theta.numel()} parameters, but the "
                                        f"network of config.json has {mlp.num_params}")
    metrics_path = run_dir / runfolder.METRICS
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return api.Result(problem, mlp, snapshot.theta.to(api.DTYPES[options.dtype]), snapshot.history, metrics, options)
