"""Profile ENGD on one device: ceilings, per-phase step time against its floor, and time to accuracy.

    python scripts/profile_step.py [--device auto] [--cases all] [--tta-seconds 60] [--out results/gpu]

In one call it measures the device's float64/float32 matrix-product rate and copy bandwidth, then for every case
the median time of each phase of a step (Jacobian build, the direction solve, a line-search
window of 6 step sizes, error evaluation, and the whole step as the training loop runs it), each against its floor
(``pinn_natmom.profiling``); then trains the time-to-accuracy runs. It writes ``ceilings.csv``, ``phases.csv``,
``time_to_accuracy.csv``, ``trace.txt`` (the kernels of one step of the last case), ``environment.json`` and, with ``--linalg``,
``linalg.csv`` (torch.linalg against CuPy on the factorisations the solvers use, and the routes to a Jacobian's SVD).
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

import pdes
import pinn_natmom
from pinn_natmom import profiling, solvers
from pinn_natmom.cli.reports import write_csv
from pinn_natmom.cli.runfolder import environment
from pinn_natmom.linesearch import WINDOW, step_grid
from pinn_natmom.solvers.gram import lower_gram
from pinn_natmom.train import first_reached

THRESHOLDS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7)


@dataclass(frozen=True)
class Case:
    dim: int
    hidden: tuple[int, ...]
    n_interior: int
    n_boundary: int
    solver: str = "auto"
    regulariser: float | None = None
    options: dict = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {"interior": self.n_interior, "boundary": self.n_boundary}


CASES = {
    "poisson2d-default": Case(2, (32, 32), 700, 100),
    "poisson2d-anchor": Case(2, (64,), 900, 120),
    "poisson5d-P10065-pinv": Case(5, (64, 64, 48, 48), 3000, 500, "pinv"),
    "poisson5d-P10065-woodbury": Case(5, (64, 64, 48, 48), 3000, 500, "woodbury", 1e-8),
}

@dataclass(frozen=True)
class Run:
    """A time-to-accuracy run: a problem of the catalogue and the options that differ from its run defaults."""

    pde: str
    dim: int
    options: dict = field(default_factory=dict)


def _poisson_case(case: Case, **options: object) -> Run:
    regulariser = {} if case.regulariser is None else (
        {"rcond": case.regulariser} if case.solver in solvers.TRUNCATED else {"damping": case.regulariser})
    return Run("poisson", case.dim, dict(hidden=case.hidden, n_points=case.counts, solver=case.solver, optimizer="engd",
                                         **regulariser, **options))


TTA_RUNS = {
    "poisson2d-default": Run("poisson", 2, dict(steps=400)),
    "poisson2d-default-pinv": _poisson_case(replace(CASES["poisson2d-default"], solver="pinv"), steps=400),
    "poisson2d-anchor": _poisson_case(CASES["poisson2d-anchor"], steps=400),
    "poisson5d-default": Run("poisson", 5, dict(steps=100_000)),
    "heat1d-default": Run("heat", 1, dict(steps=100_000)),
    "heat1d-default-mixed": Run("heat", 1, dict(steps=100_000, mixed_precision=True)),
    "helmholtz2d-default": Run("helmholtz", 2, dict(steps=100_000)),
    "helmholtz2d-default-pinv": Run("helmholtz", 2, dict(steps=100_000, solver="pinv")),
    "poisson5d-P10065-woodbury-1e-8": _poisson_case(CASES["poisson5d-P10065-woodbury"], steps=100_000, resample_every=1),
    "poisson5d-P10065-woodbury-1e-8-mixed": _poisson_case(CASES["poisson5d-P10065-woodbury"], steps=100_000,
                                                          resample_every=1, mixed_precision=True),
    "poisson5d-P10065-woodbury-1e-10": _poisson_case(
        Case(5, (64, 64, 48, 48), 3000, 500, "woodbury", 1e-10), steps=100_000, resample_every=1),
    "poisson5d-P10065-pinv": _poisson_case(CASES["poisson5d-P10065-pinv"], steps=100_000, resample_every=1),
    "poisson5d-P10065-nystrom-pcg": _poisson_case(
        Case(5, (64, 64, 48, 48), 3000, 500, "nystrom-pcg", 1e-8), steps=100_000, resample_every=1),
}
"""The default problems (their run defaults, ``pdes``), the anchor, and the 5-d P = 10,065 case with each solver
and with the float32 Jacobian of ``mixed_precision``."""


def profile_case(label: str, case: Case, ceilings: profiling.Ceilings, device, dtype, graphs: bool,
                 trace_path: Path | None) -> list[dict]:
    """The phases of an ``engd`` step of ``case``, timed on a run set up as ``solve`` sets it up, against their
    floors; the whole step is the trainer's own (consecutive steps from the first point set)."""
    regulariser = {} if case.regulariser is None else (
        {"rcond": case.regulariser} if case.solver in solvers.TRUNCATED else {"damping": case.regulariser})
    problem = pdes.poisson(dim=case.dim, hard_bc=False)
    trainer = pinn_natmom.setup(problem, hidden=case.hidden, n_points=case.counts, solver=case.solver,
                                optimizer="engd", device=device.type, dtype=str(dtype).removeprefix("torch."),
                                cuda_graphs=graphs, steps=10**9, **regulariser)
    name, optimizer, n_points = trainer.solver, trainer.optimizer, trainer.options.n_points
    lin = trainer.linearise()
    n_rows, n_params = lin.system_shape
    j, r = lin.jacobian.clone(), lin.residual
    used = optimizer.regulariser(name)
    d, _ = solvers.direction(name, j, r, used)
    window = step_grid(trainer.theta, 0, WINDOW)
    trainer.step()

    def whole_step():
        return trainer.step()["loss"]

    s = trainer.theta.element_size()
    network = trainer.network
    phases = {
        "jacobian": (trainer.linearise, profiling.jacobian_work(network, problem, n_points, s)),
        "direction": (lambda: solvers.direction(name, j, r, used), profiling.solve_work(name, n_rows, n_params, s)),
        "line_search_window": (lambda: trainer.residuals.losses(trainer.theta - window[:, None] * d).tolist(),
                               profiling.line_search_work(network, problem, n_points, WINDOW, s)),
        "evaluation": (lambda: trainer.abs_error().item(), profiling.evaluation_work(network, 10_000, s)),
    }
    label = f"{label}{'-graphs' if graphs and device.type == 'cuda' else ''}"
    out = []
    total_floor = 0.0
    for phase, (fn, work) in phases.items():
        seconds = profiling.median_time(fn, device)
        floor = ceilings.floor(work.flops, work.nbytes, dtype)
        total_floor += floor
        out.append(_row(label, phase, seconds, floor, work, n_rows, n_params, name, device, dtype))
    seconds = profiling.median_time(whole_step, device, repeats=20)
    out.append(_row(label, "whole_step", seconds, total_floor, profiling.Work(math.nan, math.nan), n_rows, n_params,
                    name, device, dtype))
    if trace_path is not None:
        write_trace(whole_step, trace_path, device)
    return out


def linalg_rows(device, dtype, sizes=(1020, 3500)) -> list[dict]:
    """torch.linalg against CuPy (cuSOLVER through DLPack, zero-copy) on the factorisations the solvers use."""
    try:
        import cupy
    except ImportError:
        cupy = None
    rows = []
    for n in sizes:
        a = torch.randn(n, n + 64, dtype=dtype, device=device)
        spd = a @ a.T + n * torch.eye(n, dtype=dtype, device=device)
        candidates = {
            "torch.cholesky_ex": lambda m=spd: torch.linalg.cholesky_ex(m),
            "torch.eigh": lambda m=spd: torch.linalg.eigh(m),
        }
        if device.type == "cuda" and n <= 1500:
            for driver in ("gesvd", "gesvdj", "gesvda"):
                candidates[f"torch.svd[{driver}]"] = lambda m=spd, driver=driver: torch.linalg.svd(m, driver=driver)
        if cupy is not None and device.type == "cuda":
            spd_cupy = cupy.from_dlpack(spd)
            candidates["cupy.cholesky"] = lambda m=spd_cupy: cupy.linalg.cholesky(m)
            candidates["cupy.eigh"] = lambda m=spd_cupy: cupy.linalg.eigh(m)
        for name, fn in candidates.items():
            seconds = profiling.median_time(fn, device, repeats=5)
            rows.append({"n": n, "routine": name, "ms": f"{1e3 * seconds:.3f}", "device": str(device),
                         "dtype": str(dtype).removeprefix("torch.")})
            print(rows[-1], flush=True)
    return rows


def svd_rows(device, dtype, shapes=((1020, 1185), (2000, 1185))) -> list[dict]:
    """The routes to the SVD of a Jacobian of the default 2-d network (on the anchor's 900 + 120 points, and on
    Helmholtz's 1,600 + 400): cuSOLVER's drivers, LAPACK on the host (copies both ways included), and the symmetric
    eigendecomposition of the smaller Gram matrix that the ``pinv`` solver uses instead. Singular values from 1 down to
    1e-12."""
    rows = []
    for n, p in shapes:
        k = min(n, p)
        generator = torch.Generator().manual_seed(0)
        left = torch.linalg.qr(torch.randn(n, k, generator=generator, dtype=dtype))[0]
        right = torch.linalg.qr(torch.randn(p, k, generator=generator, dtype=dtype))[0]
        j = ((left * torch.logspace(0, -12, k, dtype=dtype)) @ right.T).to(device)
        wide = j.T if n > p else j
        candidates = {
            "torch.svd[host gesdd, copies included]":
                lambda j=j: [t.to(device) for t in torch.linalg.svd(j.cpu(), full_matrices=False)],
            "torch.eigh[gram]": lambda wide=wide: torch.linalg.eigh(lower_gram(wide)),
        }
        if device.type == "cuda":
            for driver in ("gesvd", "gesvdj"):
                candidates[f"torch.svd[{driver}]"] = (
                    lambda j=j, driver=driver: torch.linalg.svd(j, full_matrices=False, driver=driver))
        for name, fn in candidates.items():
            seconds = profiling.median_time(fn, device, repeats=5)
            rows.append({"n": f"{n}x{p}", "routine": name, "ms": f"{1e3 * seconds:.3f}", "device": str(device),
                         "dtype": str(dtype).removeprefix("torch.")})
            print(rows[-1], flush=True)
    return rows


def _row(label, phase, seconds, floor, work, n_rows, n_params, solver, device, dtype) -> dict:
    return {"case": label, "phase": phase, "measured_ms": f"{1e3 * seconds:.3f}", "floor_ms": f"{1e3 * floor:.3f}",
            "ratio": f"{seconds / floor:.1f}" if floor > 0 else "", "gflop": f"{work.flops / 1e9:.3f}",
            "mbytes": f"{work.nbytes / 1e6:.2f}", "N": n_rows, "P": n_params, "solver": solver,
            "device": str(device), "dtype": str(dtype).removeprefix("torch.")}


def write_trace(step, path: Path, device) -> None:
    """The kernels and host synchronisations of 3 whole steps, by self device time."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(3):
            step()
        profiling.synchronize(device)
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    path.write_text(prof.key_averages().table(sort_by=sort, row_limit=40))


def time_to_accuracy(label: str, run: Run, seconds: float, device, dtype) -> dict:
    problem = pdes.make(run.pde, dim=run.dim, hard_bc=False)
    result = pinn_natmom.solve(problem, device=device.type, dtype=str(dtype).removeprefix("torch."), time_limit=seconds, **run.options)
    history, options = result.history, result.options
    steps = int(history[-1]["step"])
    row = {"run": label, "solver": result.metrics["solver"], "rcond": options.rcond, "damping": options.damping,
           "mixed_precision": options.mixed_precision, "P": result.metrics["num_params"],
           "N": sum(options.n_points[name] for name in problem.term_names), "resample_every": options.resample_every,
           "steps": steps, "wall_s": f"{history[-1]['wall_time_s']:.2f}",
           "s_per_step": f"{history[-1]['wall_time_s'] / max(steps, 1):.4f}",
           "final_rel_l2": f"{history[-1]['rel_l2']:.3e}", "final_abs_l2": f"{history[-1]['abs_l2']:.3e}",
           "best_rel_l2": f"{min(h['rel_l2'] for h in history):.3e}"}
    for eps in THRESHOLDS:
        row[f"t_rel_{eps:g}"] = _first_time(history, "rel_l2", eps)
    row["t_abs_1e-05"] = _first_time(history, "abs_l2", 1e-5)
    row["device"] = str(device)
    return row


def _first_time(history, key, eps) -> str:
    hit = first_reached(history, key, eps)
    return "" if hit is None else f"{hit['wall_time_s']:.2f}@{int(hit['step'])}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parser.add_argument("--cases", default="all", help=f"comma-separated from {', '.join(CASES)}, or all, or none")
    parser.add_argument("--tta", default="all", help=f"comma-separated from {', '.join(TTA_RUNS)}, or all, or none")
    parser.add_argument("--tta-seconds", type=float, default=60.0, help="time budget of each time-to-accuracy run")
    parser.add_argument("--linalg", action="store_true", help="also time torch.linalg against CuPy factorisations")
    parser.add_argument("--out", type=Path, default=Path("results/gpu"))
    args = parser.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    dtype = getattr(torch, args.dtype)
    args.out.mkdir(parents=True, exist_ok=True)
    info = environment(device)
    if device.type == "cuda":
        info["driver"] = _nvidia_smi()
    (args.out / "environment.json").write_text(json.dumps(info, indent=2) + "\n")
    ceilings = profiling.measure_ceilings(device)
    ceiling_rows = [{"quantity": f"matmul_{k}_tflops", "value": f"{v / 1e12:.3f}"} for k, v in ceilings.matmul_rate.items()]
    ceiling_rows.append({"quantity": "copy_bandwidth_gbs", "value": f"{ceilings.bandwidth / 1e9:.1f}"})
    write_csv(args.out / "ceilings.csv", ceiling_rows)
    print(ceiling_rows, flush=True)
    chosen = _select(args.cases, CASES)
    phase_rows = []
    variants = (False, True) if device.type == "cuda" else (False,)
    for i, label in enumerate(chosen):
        for graphs in variants:
            trace = args.out / "trace.txt" if i == len(chosen) - 1 and graphs == variants[-1] else None
            phase_rows += profile_case(label, CASES[label], ceilings, device, dtype, graphs, trace)
            for row in phase_rows[-6:]:
                print(f"{row['case']:28s} {row['phase']:20s} {row['measured_ms']:>10s} ms  floor {row['floor_ms']:>9s} ms  ×{row['ratio']}", flush=True)
        write_csv(args.out / "phases.csv", phase_rows)
    if args.linalg:
        write_csv(args.out / "linalg.csv", linalg_rows(device, dtype) + svd_rows(device, dtype))
    tta_rows = []
    for label in _select(args.tta, TTA_RUNS):
        tta_rows.append(time_to_accuracy(label, TTA_RUNS[label], args.tta_seconds, device, dtype))
        print(tta_rows[-1], flush=True)
        write_csv(args.out / "time_to_accuracy.csv", tta_rows)


def _select(spec: str, table: dict) -> list[str]:
    if spec == "none":
        return []
    names = list(table) if spec == "all" else spec.split(",")
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SystemExit(f"unknown names {unknown}; choose from {', '.join(table)}")
    return names


def _nvidia_smi() -> str:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                               "--format=csv,noheader"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return f"nvidia-smi unavailable: {error}"


if __name__ == "__main__":
    main()
