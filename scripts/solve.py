"""Solve a PDE with a physics-informed network trained by energy natural gradient descent.

    python scripts/solve.py --pde poisson
    python scripts/solve.py --pde poisson --hidden 64 --n-interior 900 --n-boundary 120 --steps 100

Writes config.json, history.csv, metrics.json and checkpoint.pt into the run folder (--out, default
results/runs/<pde>-<timestamp>/). Usage errors exit with status 2 and a one-line message.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

import pdes
from pinn_natmom import api, optim, runfolder
from pinn_natmom.linearise import JACOBIAN_METHODS
from pinn_natmom.solvers import SOLVER_NAMES, FactorizationError


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other usage error
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def widths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden widths must be comma-separated integers like 64,64, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"hidden widths must be positive, got {text!r}")
    return values


def parser() -> Parser:
    defaults = api.Options()
    p = Parser(prog="solve.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--pde", default="poisson", help=f"problem to solve: {', '.join(sorted(pdes.PDES))} (default poisson)")
    p.add_argument("--list", action="store_true", help="print the catalogue of problems with their defaults and exit")
    p.add_argument("--dim", type=int, default=None, help="spatial dimension (default: poisson and helmholtz 2, heat 1)")
    p.add_argument("--sampler", default=None, help="interior points: uniform (default), sobol, lhs, grid (n must be a d-th power)")
    p.add_argument("--k", type=float, default=None, help="wave number of helmholtz (default 4π)")
    p.add_argument("--diffusivity", type=float, default=None, help="κ of heat (default 0.25)")
    p.add_argument("--final-time", type=float, default=None, help="T of heat, time interval [0, T] (default 1)")
    p.add_argument("--steps", type=int, default=defaults.steps, help=f"optimizer steps (default {defaults.steps})")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial network and the points (default 0)")
    p.add_argument("--device", default="auto", choices=api.DEVICES, help="auto: CUDA when present (default auto)")
    p.add_argument("--dtype", default="float64", choices=tuple(api.DTYPES), help="floating-point type (default float64)")
    p.add_argument("--hidden", type=widths, default=None, help=f"hidden widths, e.g. 64 or 32,32 (default {','.join(map(str, defaults.hidden))})")
    p.add_argument("--n-interior", type=int, default=None, help=f"interior points (default {defaults.n_points['interior']})")
    p.add_argument("--n-boundary", type=int, default=None, help=f"boundary points (default {defaults.n_points['boundary']})")
    p.add_argument("--n-initial", type=int, default=None, help=f"initial-condition points of heat (default {defaults.n_points['initial']})")
    p.add_argument("--n-eval", type=int, default=defaults.n_eval, help="points for the error (default %(default)s)")
    p.add_argument("--resample-every", type=int, default=0, help="redraw the points every k steps (default 0: never)")
    p.add_argument("--optimizer", default=defaults.optimizer, choices=tuple(optim.OPTIMIZERS), help="training algorithm (default %(default)s)")
    p.add_argument("--momentum", type=float, default=None, help="β of the momentum optimizers (μ of spring); default per optimizer")
    p.add_argument("--warmup-adam", type=int, default=0, help="run this many Adam steps before the optimizer (default 0)")
    p.add_argument("--solver", default=None, choices=SOLVER_NAMES, help="direction solver (default auto; heat pinv)")
    p.add_argument("--damping", type=float, default=defaults.damping, help="λ of the Cholesky solvers (default %(default)s)")
    p.add_argument("--rcond", type=float, default=defaults.rcond, help="singular-value cut-off of pinv/svd (default: 3e-7 pinv, 1e-9 svd)")
    p.add_argument("--lr", type=float, default=None, help="fixed step size when the line search is off; Adam's learning rate (default per optimizer)")
    search = p.add_mutually_exclusive_group()
    search.add_argument("--line-search", dest="line_search", action="store_true", default=None, help="choose the step by the grid line search (default, except spring)")
    search.add_argument("--no-line-search", dest="line_search", action="store_false", help="take the fixed step --lr instead")
    p.add_argument("--jacobian", default="forward", choices=JACOBIAN_METHODS, help="forward Laplacian or torch.func reference")
    p.add_argument("--no-cuda-graphs", action="store_true", help="launch every kernel of a step eagerly on CUDA")
    p.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds of training")
    p.add_argument("--target-rel-l2", type=float, default=None, help="stop once the relative L2 error reaches this")
    p.add_argument("--out", type=Path, default=None, help="run folder (default results/runs/<pde>-<timestamp>)")
    p.add_argument("--overwrite", action="store_true", help="write into an existing run folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


PDE_OPTIONS = {"k": ("helmholtz",), "diffusivity": ("heat",), "final_time": ("heat",),
               "sampler": ("poisson", "heat", "helmholtz")}


def problem_from(args: argparse.Namespace):
    """The problem named by ``--pde`` with the options given for it; an option of another PDE is a usage error."""
    if args.pde not in pdes.PDES:
        raise UsageError(f"unknown PDE {args.pde!r}; choose from {', '.join(sorted(pdes.PDES))}")
    options = {} if args.dim is None else {"dim": args.dim}
    for name, owners in PDE_OPTIONS.items():
        value = getattr(args, name)
        if value is not None:
            if args.pde not in owners:
                raise UsageError(f"--{name.replace('_', '-')} applies to {', '.join(owners)} only, not {args.pde}")
            options[name] = value
    return pdes.make(args.pde, **options)


def catalogue() -> str:
    lines = []
    for name in sorted(pdes.PDES):
        problem = pdes.make(name)
        lines.append(f"{name:10s} {problem.description} (input dimension {problem.dim}; terms {', '.join(problem.term_names)})")
    return "\n".join(lines)


def run_folder(args: argparse.Namespace) -> Path:
    if args.out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("results/runs") / f"{args.pde}-{stamp}"
        suffix = 2
        while out.exists():
            out, suffix = Path("results/runs") / f"{args.pde}-{stamp}-{suffix}", suffix + 1
        return out
    if args.out.exists() and any(args.out.iterdir()) and not args.overwrite:
        raise UsageError(f"the run folder {args.out} already exists; choose another --out or pass --overwrite")
    return args.out


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        print(catalogue())
        return 0
    try:
        problem = problem_from(args)
        flags = {"interior": args.n_interior, "boundary": args.n_boundary, "initial": args.n_initial}
        foreign = [name for name, count in flags.items() if count is not None and name not in problem.term_names]
        if foreign:
            raise UsageError(f"{args.pde} has no {', '.join(foreign)} term; its terms are {', '.join(problem.term_names)}")
        counts = {**api.Options().n_points, **problem.run_defaults.get("n_points", {}),
                  **{name: count for name, count in flags.items() if count is not None}}
        explicit = {
            "steps": args.steps, "seed": args.seed, "device": args.device, "dtype": args.dtype,
            "n_points": {name: counts[name] for name in problem.term_names}, "n_eval": args.n_eval,
            "resample_every": args.resample_every, "damping": args.damping, "rcond": args.rcond,
            "optimizer": args.optimizer, "momentum": args.momentum, "warmup_adam": args.warmup_adam,
            "line_search": args.line_search, "lr": args.lr, "jacobian": args.jacobian, "time_limit": args.time_limit,
            "target_rel_l2": args.target_rel_l2, "cuda_graphs": not args.no_cuda_graphs,
        }
        per_problem = {k: v for k, v in {"hidden": args.hidden, "solver": args.solver}.items() if v is not None}
        options = api.Options(**{**problem.run_defaults, **per_problem, **explicit})
        device = options.resolved_device()
        out = run_folder(args)
    except (UsageError, ValueError) as error:
        print(f"solve.py: error: {error}", file=sys.stderr)
        return 2

    config = {"pde": args.pde, "dim": args.dim, "input_dim": problem.dim, "problem": problem.description, **dataclasses.asdict(options), "environment": runfolder.environment(device)}
    runfolder.write_json(out / "config.json", config)
    bar = tqdm(total=options.steps, disable=args.quiet, unit="step", dynamic_ncols=True)

    def progress(row: dict[str, float]) -> None:
        if row["step"] > 0:
            bar.update(1)
        bar.set_postfix(loss=f"{row['loss']:.2e}", rel_l2=f"{row['rel_l2']:.2e}", alpha=f"{row['step_size']:.1e}", refresh=False)

    try:
        result = api.solve(problem, options, on_step=progress)
    except (ValueError, FactorizationError, torch.linalg.LinAlgError) as error:
        bar.close()
        print(f"solve.py: error: training stopped: {error}", file=sys.stderr)
        return 1
    bar.close()
    runfolder.write_history(out / "history.csv", result.history)
    runfolder.write_json(out / "metrics.json", result.metrics)
    runfolder.write_checkpoint(out / "checkpoint.pt", {"theta": result.theta.cpu(), "hidden": list(options.hidden), "dim": problem.dim, "step": result.metrics["steps"]})
    m = result.metrics
    print(f"{problem.name} (input dimension {problem.dim}): rel_l2 {m['rel_l2']:.3e}, abs_l2 {m['abs_l2']:.3e} after {m['steps']} steps in {m['wall_time_s']:.1f} s ({m['stop_reason']}); files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
