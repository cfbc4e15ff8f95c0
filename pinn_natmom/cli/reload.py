"""A saved run folder read back: its settings, the number of processes it ran on, and its trained field as a
``Result``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..api import Result
from ..options import DTYPES
from ..problem import Problem
from . import runfolder, settings
from .errors import ConfigError
from .resolve import options_of, problem_of


def saved_settings(run_dir: Path) -> dict[str, Any]:
    """The complete settings of the run in ``run_dir``, with the solver it used (what ``auto`` chose, which may depend
    on the memory free when it started)."""
    path = Path(run_dir) / runfolder.CONFIG
    given = {**settings.defaults(), **settings.read(path)}
    used = json.loads(path.read_text()).get("solver_used")
    return given if used is None else {**given, "solver": used}


def saved_processes(run_dir: Path) -> int:
    """The number of processes the run in ``run_dir`` was started with (1 for runs that do not say)."""
    return int(json.loads((Path(run_dir) / runfolder.CONFIG).read_text()).get("processes", 1))


def load_result(run_dir: Path, problem: Problem | None = None) -> Result:
    """The trained field of a run folder, from its ``config.json`` and newest checkpoint, with its history and
    metrics (``metrics.json`` when the run finished). ``problem``: the problem the run solved, for a run whose
    problem the settings cannot rebuild (one made in Python); by default it is rebuilt from ``config.json``."""
    run_dir = Path(run_dir)
    if not (run_dir / runfolder.CONFIG).is_file():
        raise ConfigError(f"no run folder at {run_dir} (no {runfolder.CONFIG})")
    given = saved_settings(run_dir)
    if problem is None:
        problem = problem_of(given)
    options = options_of(given, problem)
    snapshot = runfolder.read_checkpoint(run_dir / runfolder.CHECKPOINT)
    network = options.network(problem.dim)
    if snapshot.theta.shape != (network.num_params,):
        raise runfolder.CheckpointError(f"{run_dir / runfolder.CHECKPOINT} holds {snapshot.theta.numel()} parameters, "
                                        f"but the network of config.json has {network.num_params}")
    metrics_path = run_dir / runfolder.METRICS
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return Result(problem, network, snapshot.theta.to(DTYPES[options.dtype]), snapshot.history, metrics, options)
