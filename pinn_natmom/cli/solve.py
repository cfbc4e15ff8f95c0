"""The command ``solve.py``: solve a PDE with a physics-informed network trained by energy natural gradient descent.

    python scripts/solve.py --pde poisson
    python scripts/solve.py --config run.toml --steps 200
    python scripts/solve.py --resume results/runs/poisson-20261122-101500

Writes config.json, history.csv, metrics.json, checkpoint.pt, VTK files for ParaView and PNG pictures into the
run folder (--out, default results/runs/<pde>-<timestamp>/). Every option can also come from a TOML file (--config; flags override it);
--config RUN_DIR/config.json repeats a run. Ctrl-C (or SIGTERM) finishes the current step, writes a checkpoint and
exits; --resume RUN_DIR continues from it. Usage errors exit with status 2 and a one-line message.

    torchrun --nproc-per-node 4 scripts/solve.py --pde poisson --dim 5 ...

runs the same solve over 4 processes (one per GPU with NCCL, or on the CPU with gloo), each holding a share of the
points; process 0 writes the run folder (``pinn_natmom.distributed``).
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import math
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from tqdm import tqdm

from .. import api, distributed
from ..export import RenderOptions, render_run, section_for
from ..options import Options
from ..problem import Problem
from ..solvers import FactorizationError, NonFiniteError
from ..train import Hooks, Snapshot
from . import reload, resolve, runfolder, settings
from .hostmemory import keep_freed_memory

EXIT_USAGE, EXIT_FAILED = 2, 1
EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other usage error
        if message.startswith("unrecognized arguments:"):
            flags = [a for action in self._actions for a in action.option_strings]
            unknown = message.split(":", 1)[1].split()[0].split("=")[0]
            match = difflib.get_close_matches(unknown, flags, n=1, cutoff=0.6)
            message += f" (did you mean {match[0]}?)" if match else ""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def parser() -> Parser:
    """Every setting of ``settings.table`` as a flag (default ``None``: not given), plus ``--config``,
    ``--resume`` and ``--list``; point counts ``--n-<term> N`` are read from what is left
    (``settings.point_counts``)."""
    p = Parser(prog="solve.py", description=DESCRIPTION, epilog=EPILOG, allow_abbrev=False,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=None, help="read settings from a TOML file or a run's config.json; flags override it")
    p.add_argument("--resume", type=Path, default=None, help="continue the run in this folder (or from this checkpoint file)")
    p.add_argument("--list", action="store_true", help="describe the problems (with --pde and its settings: that "
                   "problem), their point counts and recommended options, and exit")
    settings.add_arguments(p, settings.table())
    return p


DESCRIPTION = ("Solve a PDE with a physics-informed network trained by energy natural gradient descent. Run options "
               "left unset take the problem's recommendation (--list shows it), else the default shown.")
EPILOG = """point counts:
  --n-TERM N            collocation points of the problem's term TERM, e.g. --n-interior 900 --n-initial 100
                        (--n-boundary keeps a boundary term instead of the exact Dirichlet constraint)
                        (default: the term's own count; --list shows them)"""


def new_run_folder(chosen: dict[str, Any]) -> Path:
    """``out``, refused when it holds files unless ``overwrite``; by default a fresh ``results/runs/<pde>-<time>``."""
    out = chosen["out"]
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out, suffix = Path("results/runs") / f"{chosen['pde']}-{stamp}", 2
        while out.exists():
            out, suffix = Path("results/runs") / f"{chosen['pde']}-{stamp}-{suffix}", suffix + 1
        return out
    if out.exists() and any(out.iterdir()) and not chosen["overwrite"]:
        raise UsageError(f"the run folder {out} already exists; choose another --out, pass --overwrite, or --resume {out}")
    return out


def resumed_run(target: Path, given: dict[str, Any], config_file: Path | None,
                processes: int) -> tuple[Path, dict[str, Any], Snapshot]:
    """The run folder, settings and snapshot to continue; only the settings marked resumable may change, and the
    number of processes must be the one the run started with."""
    run_dir, checkpoint = (target.parent, target) if target.is_file() else (target, target / runfolder.CHECKPOINT)
    if not (run_dir / runfolder.CONFIG).is_file():
        raise UsageError(f"{run_dir} is not a run folder (no {runfolder.CONFIG}); give the folder a run was written to")
    started_with = reload.saved_processes(run_dir)
    if started_with != processes:
        raise UsageError(f"{run_dir} was run by {started_with} process(es); resume it with as many (torchrun "
                         f"--nproc-per-node {started_with}), not {processes}")
    table = settings.table()
    changed = sorted(name for name in given if name not in table or not table[name].resumable)
    changed += ["config"] if config_file else []
    if changed:
        allowed = ", ".join(s.flag for s in table.values() if s.resumable)
        raise UsageError(f"--resume continues the run as configured; {', '.join('--' + n.replace('_', '-') for n in changed)} "
                         f"cannot change (only {allowed} may be given)")
    return run_dir, {**reload.saved_settings(run_dir), **given}, runfolder.read_checkpoint(checkpoint)


class Interrupt:
    """SIGINT and SIGTERM set ``received`` instead of killing the process, so the loop finishes its step and
    checkpoints; a second SIGINT interrupts at once."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.previous = {sig: signal.signal(sig, self.handle) for sig in EXIT_SIGNAL}

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signum
        print(f"\nsolve.py: {signal.Signals(signum).name} received; finishing the current step and writing a checkpoint "
              "(Ctrl-C again to stop at once)", file=sys.stderr)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """The command ``solve.py``: its exit status (0 done, 1 failed, 2 usage error, 130/143 interrupted)."""
    args, extra = parser().parse_known_args(argv)
    processes = distributed.world_size()
    try:
        given = settings.given(args)
        counts = settings.point_counts(extra)
        if counts:
            given["n_points"] = counts
        if args.list:
            print(resolve.describe(given))
            return 0
        if args.resume is not None:
            out, chosen, snapshot = resumed_run(args.resume, given, args.config, processes)
        else:
            from_file = settings.read(args.config) if args.config is not None else {}
            if from_file.get("problem_file") is not None:
                raise UsageError(f"{args.config} names a problem file; configuration files never execute code: give "
                                 "--problem FILE on the command line")
            counts = {**from_file.get("n_points", {}), **given.get("n_points", {})}
            chosen = {**settings.defaults(), **from_file, **given, **({"n_points": counts} if counts else {})}
            out, snapshot = None, None
        problem, options = resolve.resolve(chosen)
        if chosen.get("problem_file") is not None:
            chosen = {**chosen, "pde": problem.name}
        options.resolved_device()
        group = distributed.from_environment(options.device)
    except (UsageError, ValueError) as error:
        print(f"solve.py: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as error:
        print(f"solve.py: error: could not join the process group: {error}", file=sys.stderr)
        return EXIT_FAILED
    finished = False
    try:
        status = run(chosen, problem, options, out, snapshot, group)
        finished = True
        return status
    finally:
        if group is not None:
            group.close(finished)


def run(chosen: dict[str, Any], problem: Problem, options: Options, out: Path | None, snapshot: Snapshot | None,
        group: distributed.Group | None) -> int:
    """The solve of ``main`` into the run folder ``out`` (a new one when ``None``), on one process or as one of the
    ``group``."""
    sharding = None if group is None else distributed.Sharding(group)
    writes = group is None or group.writes_files
    processes = 1 if group is None else group.world
    try:
        device = options.resolved_device()
        rendering = RenderOptions(grid=chosen["grid"], frames=chosen["frames"], slice=chosen["slice"])
        if chosen["plots"]:
            section_for(problem, rendering.slice, rendering.grid)
        solver_used = api.solver_for(problem, options, sharding)
        if out is None:
            out = new_run_folder(chosen) if writes else Path()
    except (UsageError, ValueError) as error:
        print(f"solve.py: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    if writes:
        saved = settings.saved(resolve.resolved(chosen, problem, options))
        runfolder.write_json(out / runfolder.CONFIG, {**saved, "input_dim": problem.dim, "problem": problem.description,
                                                      "solver_used": solver_used, "processes": processes,
                                                      "environment": runfolder.environment(device)})
    network = {"hidden": list(options.hidden), "dim": problem.dim}
    start = snapshot.step if snapshot else 0
    bar = tqdm(total=options.steps, initial=start, disable=chosen["quiet"] or not writes, unit="step", dynamic_ncols=True)

    def progress(row: dict[str, float]) -> None:
        if row["step"] > start:
            bar.update(1)
        shown = {"loss": f"{row['loss']:.2e}", "rel_l2": f"{row['rel_l2']:.2e}", "α": f"{row['step_size']:.1e}"}
        if not math.isnan(row["damping"]):
            shown["ν"] = f"{row['damping']:.0e}"
        if not math.isnan(row["ratio"]):
            shown["ρ"] = f"{row['ratio']:.2f}"
        bar.set_postfix(shown, refresh=False)

    def checkpoint(at: Snapshot) -> None:
        if writes:
            runfolder.write_checkpoint(out, at, network)
            runfolder.write_history(out / runfolder.HISTORY, at.history)

    interrupt = Interrupt()
    hooks = Hooks(on_step=progress, on_checkpoint=checkpoint, checkpoint_every=chosen["checkpoint_every"],
                  should_stop=lambda: interrupt.received is not None)
    keep_freed_memory()
    try:
        used = dataclasses.replace(options, solver=solver_used)  # the solver config.json records, chosen once
        result = api.solve(problem, used, hooks, resume=snapshot, sharding=sharding)
    except (ValueError, NonFiniteError, FactorizationError) as error:
        bar.close()
        print(f"solve.py: error: training stopped: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        interrupt.restore()
    bar.close()
    m = result.metrics
    if writes:
        runfolder.write_json(out / runfolder.METRICS, {**m, "processes": processes})
        if chosen["plots"]:
            render_run(result, out, rendering)
        print(f"{problem.name} (input dimension {problem.dim}): rel_l2 {m['rel_l2']:.3e}, abs_l2 {m['abs_l2']:.3e} after "
              f"{m['steps']} steps in {m['wall_time_s']:.1f} s ({m['stop_reason']}); files in {out}")
        if m["warning"]:
            print(f"solve.py: warning: {m['warning']}", file=sys.stderr)
    if m["stop_reason"] == "diverged":
        if writes:
            print(f"solve.py: error: training diverged: {m['failure']}; the last good state is in "
                  f"{out / runfolder.CHECKPOINT}", file=sys.stderr)
        return EXIT_FAILED
    if m["stop_reason"] == "interrupted":
        if writes:
            print(f"solve.py: interrupted after step {m['steps']}; continue with: python scripts/solve.py --resume {out}",
                  file=sys.stderr)
        return EXIT_SIGNAL.get(interrupt.received, EXIT_SIGNAL[signal.SIGINT])  # the others stop with the one signalled
    return 0

