"""Time and peak memory of the natural-gradient direction solves over a grid of network sizes P and point counts N.

    python scripts/bench_solvers.py [--out results/solvers] [--budget-s 60] [--memory-gib 8]
                                    [--parts acceptance,accuracy,training,precision,grid]

``grid``: for every network of ``NETWORKS`` (P = 257 … 116,865), every N of ``POINTS`` (500 … 10,000) and every
solver, the time and bytes of the solve are estimated first (the solver's cost model, ``pinn_natmom.solvers.cost``; the rate is the measured float64
matrix-product rate of ``pinn_natmom.profiling.measure_ceilings``); a configuration whose estimate exceeds the time
budget or the memory limit is recorded as skipped. The others run each in a fresh subprocess that builds the Jacobian
of the Poisson problem on ``[0, 1]^d`` (interior : boundary points = 6 : 1), resets the peak resident set size
(``/proc/self/clear_refs``), times the solve ``J ↦ (J⁺ r, λ)`` with ``pinn_natmom.profiling.median_time`` and
reads the peak RSS during the solve (``VmHWM``: the process with ``J`` and every matrix the solver forms) beside the
theoretical bytes of those matrices.

``acceptance``: in one process per comparison, the solves and whole ENGD steps of several solvers timed alternately
(the fastest of 3) — dense against woodbury at P = 10,065, N = 1,000; woodbury against nystrom (ℓ = 1,000) and
nystrom-pcg at P = 10,065, N = 10,000 — with the relative difference of each direction from the first solver's. A
whole step is what the training loop runs: the Jacobian, the solve and the line search, which starts from the
exponent of the previous step (the state after one step, as in scripts/profile_step.py).
``accuracy``: the relative difference from woodbury's direction of nystrom for several ℓ and of nystrom-pcg for
several ℓ and CG step counts, at P = 10,065 and N = 3,500 and 10,000. ``training``: 20 ENGD-Woodbury steps of 5-d Poisson (P = 10,065, 3,000 + 500 points resampled every step) run by
scripts/solve.py under ``/usr/bin/time -v`` (its maximum RSS). ``precision``: training runs with ``J`` in float64 and in
float32 (``PRECISION_CASES``), their accuracy and the time to build ``J``.

It writes ``grid.csv``, ``acceptance.csv``, ``accuracy.csv``, ``training.csv``, ``precision.csv``, ``solvers.png`` (log-log time and peak
memory against N and P with fitted slopes), ``runs.json`` (the command, parts and measured matrix-product rate of every
call) and ``solvers.md`` into ``--out``.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import pdes
import pinn_natmom
from pinn_natmom import profiling, solvers
from pinn_natmom.cli.reports import cpu_model, markdown_table, read_csv, write_csv
from pinn_natmom.network import MLP
from pinn_natmom.solvers.nystrom import SKETCH_SIZE
from pinn_natmom.solvers.nystrom_pcg import CG_STEPS
from pinn_natmom.train import Trainer, first_reached

ROOT = Path(__file__).resolve().parent.parent

NETWORKS = ((2, (64,)), (5, (32, 32)), (5, (64, 64)), (5, (64, 64, 48, 48)), (5, (128, 128, 64, 64)),
            (5, (256, 256, 128, 128)))
POINTS = (500, 1000, 2000, 3500, 5000, 10_000)
SOLVER_LIST = ("dense", "woodbury", "pinv", "svd", "nystrom", "nystrom-pcg")
ACCEPTANCE_NETWORK = (5, (64, 64, 48, 48))
DAMPING = 1e-8
GIB = 2**30
TRAINING_COMMAND = ("scripts/solve.py --pde poisson --dim 5 --hidden 64,64,48,48 --n-interior 3000 --n-boundary 500 "
                    "--resample-every 1 --solver woodbury --damping 1e-8 --steps 20 --quiet --out {out} --overwrite")


def points_of(n: int) -> dict[str, int]:
    """``n`` points, interior : boundary = 6 : 1."""
    boundary = max(n // 7, 1)
    return {"interior": n - boundary, "boundary": boundary}


def build(dim: int, hidden: tuple[int, ...], n: int, **options: object) -> Trainer:
    """The ``engd`` run of the Poisson problem on ``[0, 1]^dim`` with ``n`` points, set up as ``solve`` sets it up."""
    return pinn_natmom.setup(pdes.poisson(dim=dim, hard_bc=False), hidden=hidden, n_points=points_of(n), optimizer="engd",
                             device="cpu", steps=10**9, **options)


def peak_rss_bytes() -> int:
    """``VmHWM`` of this process (the peak resident set size since the last ``reset_peak_rss``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return 1024 * int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def child_solve(spec: dict) -> dict:
    """Time one solve in this (fresh) process and measure its peak RSS."""
    lin = build(spec["dim"], tuple(spec["hidden"]), spec["n"]).linearise()
    j, r = lin.jacobian.clone(), lin.residual.clone()
    del lin
    regulariser = solvers.DEFAULT_RCOND[spec["solver"]] if spec["solver"] in solvers.TRUNCATED else DAMPING
    options = {"sketch_size": spec["sketch"]} if "sketch_size" in solvers.OPTIONS.get(spec["solver"], ()) else {}
    reset_peak_rss()
    before = peak_rss_bytes()
    seconds = profiling.median_time(lambda: solvers.direction(spec["solver"], j, r, regulariser, **options),
                                    torch.device("cpu"), repeats=spec["repeats"], warmup=spec["warmup"])
    return {"seconds": seconds, "rss_before_gib": before / GIB, "peak_rss_gib": peak_rss_bytes() / GIB}


def child_compare(spec: dict) -> dict:
    """Solves and whole ENGD steps of several solver variants ``(label, name, options)`` on one Jacobian, timed
    alternately in this process (the fastest of ``repeats``), and the relative difference of each direction from the
    first variant's. Each variant steps its own run from the same start; its first step is not timed, so that every
    timed line search starts from the previous step's exponent."""
    dim, hidden, n = spec["dim"], tuple(spec["hidden"]), spec["n"]
    variants = spec["variants"]
    trainers = {label: build(dim, hidden, n, solver=name, damping=DAMPING, **options) for label, name, options in variants}
    lin = trainers[variants[0][0]].linearise()
    j, r = lin.jacobian.clone(), lin.residual.clone()
    del lin
    directions = {label: solvers.direction(name, j, r, DAMPING, **options)[0] for label, name, options in variants}
    reference = directions[variants[0][0]]
    solve_times: dict[str, list[float]] = {label: [] for label, *_ in variants}
    step_times: dict[str, list[float]] = {label: [] for label, *_ in variants}
    for trainer in trainers.values():
        trainer.step()
    cpu = torch.device("cpu")
    for _ in range(spec["repeats"]):
        for label, name, options in variants:
            solve_times[label].append(profiling.median_time(
                lambda name=name, options=options: solvers.direction(name, j, r, DAMPING, **options), cpu, 1, 0))
            step_times[label].append(profiling.median_time(trainers[label].step, cpu, 1, 0))
    jacobian_seconds = profiling.median_time(trainers[variants[0][0]].linearise, cpu, 3, 0)
    return {label: {"solve_s": min(solve_times[label]), "step_s": min(step_times[label]), "jacobian_s": jacobian_seconds,
                    "rel_diff": float((directions[label] - reference).norm() / reference.norm())}
            for label, *_ in variants}


def child_accuracy(spec: dict) -> dict:
    """Relative error against woodbury of nystrom for several ℓ, and of nystrom-pcg for several ℓ and CG step counts."""
    lin = build(spec["dim"], tuple(spec["hidden"]), spec["n"]).linearise()
    j, r = lin.jacobian, lin.residual
    reference = solvers.direction("woodbury", j, r, DAMPING)[0]
    out = {}
    for ell in spec["sketches"]:
        d = solvers.direction("nystrom", j, r, DAMPING, sketch_size=ell)[0]
        out[f"nystrom ℓ={ell}"] = float((d - reference).norm() / reference.norm())
    for ell in spec["pcg_sketches"]:
        for steps in spec["cg_steps"]:
            d = solvers.direction("nystrom-pcg", j, r, DAMPING, sketch_size=ell, cg_steps=steps)[0]
            out[f"nystrom-pcg ℓ={ell} steps={steps}"] = float((d - reference).norm() / reference.norm())
    return out


CHILDREN = {"solve": child_solve, "compare": child_compare, "accuracy": child_accuracy}
PARTS = ("acceptance", "accuracy", "training", "precision", "grid")


def run_child(spec: dict, timeout: float) -> dict:
    """``spec`` run by this script in a fresh Python process; its JSON answer, or ``{"error": …}``."""
    try:
        done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["exit code " + str(done.returncode)])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def grid(rate: float, budget: float, memory: float, sketch: int) -> list[dict]:
    rows = []
    for dim, hidden in NETWORKS:
        mlp = MLP.of(dim, hidden)
        p = mlp.num_params
        for n in POINTS:
            build_bytes = profiling.jacobian_work(mlp, pdes.poisson(dim=dim, hard_bc=False), points_of(n), 8).nbytes
            for solver in SOLVER_LIST:
                cost = solvers.cost(solver, n, p, 8, sketch_size=sketch)
                seconds, nbytes = cost.seconds(rate), 8.0 * n * p + cost.memory
                row = {"solver": solver, "dim": dim, "hidden": "-".join(map(str, hidden)), "P": p, "N": n,
                       "est_s": f"{seconds:.3g}", "theory_gib": f"{nbytes / GIB:.3f}"}
                if seconds > budget or max(nbytes, build_bytes) > memory * GIB:
                    row["status"] = "skipped: " + ("memory" if max(nbytes, build_bytes) > memory * GIB else "time")
                else:
                    repeats = int(min(max(3.0 / max(seconds, 1e-3), 1), 5))
                    spec = {"kind": "solve", "dim": dim, "hidden": hidden, "n": n, "solver": solver, "sketch": sketch,
                            "repeats": repeats, "warmup": 1 if seconds < 5 else 0}
                    answer = run_child(spec, timeout=max(600.0, 20 * seconds))
                    if "error" in answer:
                        row["status"] = "failed: " + answer["error"]
                    else:
                        row.update(status="measured", seconds=f"{answer['seconds']:.4g}",
                                   peak_rss_gib=f"{answer['peak_rss_gib']:.3f}",
                                   rss_before_gib=f"{answer['rss_before_gib']:.3f}")
                print(row, flush=True)
                rows.append(row)
    return rows


def acceptance(sketch: int) -> list[dict]:
    dim, hidden = ACCEPTANCE_NETWORK
    p = MLP.of(dim, hidden).num_params
    rows = []
    comparisons = (
        ("dense-vs-woodbury", 1000, [("woodbury", "woodbury", {}), ("dense", "dense", {})]),
        ("woodbury-vs-nystrom", 10_000, [
            ("woodbury", "woodbury", {}), (f"nystrom ℓ={sketch}", "nystrom", {"sketch_size": sketch}),
            (f"nystrom-pcg ℓ={sketch} steps={CG_STEPS}", "nystrom-pcg", {"sketch_size": sketch}),
            ("nystrom-pcg ℓ=250 steps=40", "nystrom-pcg", {"sketch_size": 250, "cg_steps": 40})]),
    )
    for label, n, variants in comparisons:
        answer = run_child({"kind": "compare", "dim": dim, "hidden": hidden, "n": n, "variants": variants,
                            "repeats": 3}, timeout=3600)
        if "error" in answer:
            rows.append({"comparison": label, "P": p, "N": n, "status": "failed: " + answer["error"]})
            continue
        for variant, *_ in variants:
            got = answer[variant]
            rows.append({"comparison": label, "P": p, "N": n, "solver": variant, "solve_s": f"{got['solve_s']:.4g}",
                         "step_s": f"{got['step_s']:.4g}", "jacobian_s": f"{got['jacobian_s']:.4g}",
                         "rel_diff": f"{got['rel_diff']:.3e}", "status": "measured"})
        print(rows[-len(variants):], flush=True)
    return rows


def accuracy(sketch: int) -> list[dict]:
    dim, hidden = ACCEPTANCE_NETWORK
    p = MLP.of(dim, hidden).num_params
    rows = []
    for n in (3500, 10_000):
        answer = run_child({"kind": "accuracy", "dim": dim, "hidden": hidden, "n": n, "sketches": [125, 250, 500, 1000, 2000],
                            "pcg_sketches": [250, sketch], "cg_steps": [0, 5, 10, 20, 40, 80]}, timeout=3600)
        for key, value in answer.items():
            failed = key == "error"
            rows.append({"P": p, "N": n, "solver": key, "rel_diff": value if failed else f"{value:.3e}",
                         "status": "failed" if failed else "measured"})
        print(rows[-len(answer):], flush=True)
    return rows


def training() -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, *TRAINING_COMMAND.format(out=folder + "/p5").split()]
        timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
        started = time.perf_counter()
        done = subprocess.run(timer + command, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    peak = int(match.group(1)) * 1024 / GIB if match else float("nan")
    return [{"command": "python " + TRAINING_COMMAND.format(out="/tmp/p5"), "exit_code": done.returncode,
             "wall_s": f"{wall:.1f}", "max_rss_gib": f"{peak:.3f}", "measured_by": "/usr/bin/time -v" if timer else "none"}]


PRECISION_CASES = (
    ("poisson 2d, default run (2→32→32→1, svd)", "poisson", {}, {"optimizer": "engd", "steps": 60}),
    ("poisson 2d anchor (2→64→1, pinv)", "poisson", {}, {"optimizer": "engd", "hidden": (64,), "steps": 60}),
    ("heat 1+1d, default run (pinv)", "heat", {}, {"steps": 60}),
    ("poisson 5d, 5→64→64→1, woodbury λ = 1e-8, 2,000 + 500 resampled", "poisson", {"dim": 5},
     {"hidden": (64, 64), "n_points": {"interior": 2000, "boundary": 500}, "resample_every": 1, "solver": "woodbury",
      "damping": 1e-8, "steps": 30}),
)
"""``(label, pde, problem options, run options)`` of the mixed-precision comparison."""


def precision() -> list[dict]:
    """Each case of ``PRECISION_CASES`` trained with ``J`` in float64 and in float32 (``mixed_precision``), and
    the time to build ``J`` (forward Jacobian, on the first points) either way."""
    rows = []
    for label, pde, problem_options, run_options in PRECISION_CASES:
        problem = pdes.make(pde, **problem_options)
        for mixed in (False, True):
            result = pinn_natmom.solve(problem, device="cpu", mixed_precision=mixed, **run_options)
            options = result.options
            build = functools.partial(pinn_natmom.setup(problem, options).linearise, result.theta)
            build_s = profiling.median_time(build, torch.device("cpu"), 5, 1)
            reached = {target: first_reached(result.history, "rel_l2", target) for target in (1e-5, 1e-6)}
            metrics = result.metrics
            rows.append({"case": label, "jacobian": "float32" if mixed else "float64", "P": metrics["num_params"],
                         "N": sum(options.n_points.values()), "solver": metrics["solver"], "steps": metrics["steps"],
                         "final_rel_l2": f"{metrics['rel_l2']:.3e}",
                         **{f"steps_to_{t:g}": "" if r is None else int(r["step"]) for t, r in reached.items()},
                         "s_per_step": f"{metrics['wall_time_s'] / max(metrics['steps'], 1):.3f}",
                         "jacobian_build_s": f"{build_s:.4f}"})
            print(rows[-1], flush=True)
    return rows


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    var = sum((x - mx) ** 2 for x in lx)
    return sum((x - mx) * (y - my) for x, y in zip(lx, ly, strict=True)) / var if var > 0 else float("nan")


def fitted_slopes(rows: list[dict], fixed: str, value: int, varying: str, quantity: str) -> dict[str, tuple[list, list, float]]:
    """Per solver: the measured ``(x, y > 0)`` along ``varying`` at ``fixed = value``, and the fitted log-log slope."""
    out = {}
    for solver in SOLVER_LIST:
        pts = sorted((int(r[varying]), quantity_of(r, quantity)) for r in rows
                     if r["solver"] == solver and r["status"] == "measured" and int(r[fixed]) == value
                     and quantity_of(r, quantity) > 0)
        if len(pts) >= 2:
            xs, ys = [x for x, _ in pts], [y for _, y in pts]
            out[solver] = (xs, ys, slope(xs, ys))
    return out


def quantity_of(row: dict, quantity: str) -> float:
    """A column of ``row``, or ``solve_rss_gib``: the RSS the solve added (peak during it minus the RSS before it)."""
    if quantity == "solve_rss_gib":
        return float(row["peak_rss_gib"]) - float(row["rss_before_gib"])
    return float(row[quantity])


def plot(rows: list[dict], path: Path, fixed_p: int, fixed_n: int) -> dict[str, dict[str, float]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = ((("P", fixed_p, "N", "seconds"), f"solve time against N (P = {fixed_p:,})"),
              (("N", fixed_n, "P", "seconds"), f"solve time against P (N = {fixed_n:,})"),
              (("P", fixed_p, "N", "solve_rss_gib"), f"RSS added by the solve against N (P = {fixed_p:,})"),
              (("N", fixed_n, "P", "solve_rss_gib"), f"RSS added by the solve against P (N = {fixed_n:,})"))
    figure, axes = plt.subplots(2, 2, figsize=(12, 9))
    slopes: dict[str, dict[str, float]] = {}
    for axis, (args, title) in zip(axes.flat, panels, strict=True):
        for solver, (xs, ys, fitted) in fitted_slopes(rows, *args).items():
            axis.loglog(xs, ys, "o-", label=f"{solver} (slope {fitted:.2f})")
            slopes.setdefault(title, {})[solver] = fitted
        axis.set_title(title, fontsize=10)
        axis.set_xlabel(args[2])
        axis.set_ylabel("seconds" if args[3] == "seconds" else "GiB")
        axis.grid(True, which="both", alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return slopes


def report(out: Path, slopes: dict, args: argparse.Namespace) -> None:
    grid_rows, accept, train = read_csv(out / "grid.csv"), read_csv(out / "acceptance.csv"), read_csv(out / "training.csv")
    accuracy_rows, precision_rows = read_csv(out / "accuracy.csv"), read_csv(out / "precision.csv")
    runs = json.loads((out / "runs.json").read_text()) if (out / "runs.json").exists() else []
    by = {(r["comparison"], r["solver"]): r for r in accept}
    lines = [
        "# Natural-gradient solvers on this CPU",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads used by torch; "
        f"torch {torch.__version__}, float64. The machine is shared with other work: single timings vary by up to 2× "
        "between runs, so compare ratios taken in one run (the acceptance solvers are timed alternately in one process).",
        "",
        "Commands (each writes the parts it names, replacing an earlier command's; the rate is the float64 "
        "matrix-product rate measured at its start):",
        "",
        *[f"- `{run['command']}` — parts {run['parts']}, {run['rate_gflops']:.1f} GFLOP/s" for run in runs],
        "",
        f"Damping λ = {DAMPING:g} (rcond defaults for pinv/svd), sketch ℓ = {args.sketch_size}, nystrom-pcg {CG_STEPS} CG steps. "
        f"Grid configurations estimated above {args.budget_s:g} s or {args.memory_gib:g} GiB were skipped (grid.csv says "
        "which). Memory: `theory_gib` counts J and the matrices the solver forms; `peak_rss_gib` is the peak resident set "
        "size of a fresh process during the solve (VmHWM after resetting it through /proc/self/clear_refs once J is "
        "built), so it includes J, the Python/torch baseline and LAPACK workspaces; `rss_before_gib` is the RSS just "
        "before the solve, and solvers.png plots the difference (the RSS the solve added; a lower bound, since the solve "
        "can reuse memory freed after J was built).",
        "",
    ]
    if accept:
        lines += ["## Acceptance figures (P = 10,065, 5→64→64→48→48→1)", ""]
        woodbury_cases = [r["solver"] for r in accept if r["comparison"] == "woodbury-vs-nystrom" and r["solver"] != "woodbury"]
        pairs = [(("dense-vs-woodbury", "dense"), ("dense-vs-woodbury", "woodbury"), "woodbury vs dense, N = 1,000", 10.0)]
        pairs += [(("woodbury-vs-nystrom", "woodbury"), ("woodbury-vs-nystrom", fast), f"{fast} vs woodbury, N = 10,000", 3.0)
                  for fast in woodbury_cases]
        summary = []
        for slow, fast, label, target in pairs:
            if slow in by and fast in by and by[slow].get("solve_s") and by[fast].get("solve_s"):
                s, f = by[slow], by[fast]
                summary.append({"comparison": label, "slow solve s": s["solve_s"], "fast solve s": f["solve_s"],
                                "solve speed-up": f"{float(s['solve_s']) / float(f['solve_s']):.1f}×",
                                "slow step s": s["step_s"], "fast step s": f["step_s"],
                                "step speed-up": f"{float(s['step_s']) / float(f['step_s']):.1f}×", "target": f"≥ {target:g}×",
                                "rel. diff. of direction": f["rel_diff"] if f["solver"] != "woodbury" else s["rel_diff"]})
        lines += [markdown_table(summary, ["comparison", "slow solve s", "fast solve s", "solve speed-up", "slow step s",
                                           "fast step s", "step speed-up", "target", "rel. diff. of direction"]), "",
                  "Relative difference: ‖d − d_woodbury‖ / ‖d_woodbury‖ on the same J (dense vs woodbury: the other way).",
                  ""]
    if accuracy_rows:
        lines += ["## Accuracy: relative difference of the randomized directions from woodbury's (same J, λ = 1e-8)", "",
                  markdown_table(accuracy_rows, ["N", "solver", "rel_diff"]), ""]
    if precision_rows:
        lines += ["## Mixed precision: J built in float32, r, θ and the solve in float64 (`--mixed-precision`)", "",
                  markdown_table(precision_rows, ["case", "jacobian", "P", "N", "solver", "steps", "final_rel_l2",
                                                  "steps_to_1e-05", "steps_to_1e-06", "s_per_step", "jacobian_build_s"]),
                  "", "`jacobian_build_s`: median time of one linearisation (r in float64 and J) on the run's point "
                  "count; the float32 build includes the float64 residual pass and the conversion of J to float64.", ""]
    if train:
        lines += ["## 5-d Poisson training, P = 10,065, N = 3,000 + 500 resampled, 20 steps", "",
                  markdown_table(train, ["command", "exit_code", "wall_s", "max_rss_gib", "measured_by"]), ""]
    if slopes:
        lines += ["## Fitted log-log slopes (solvers.png)", ""]
        for title, per_solver in slopes.items():
            lines.append(f"- {title}: " + ", ".join(f"{s} {v:.2f}" for s, v in per_solver.items()))
        lines.append("")
    if grid_rows:
        measured = sum(r["status"] == "measured" for r in grid_rows)
        lines += [f"## Grid: {measured} of {len(grid_rows)} configurations measured (grid.csv)", ""]
    (out / "solvers.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/solvers"))
    parser.add_argument("--budget-s", type=float, default=60.0, help="skip configurations estimated to take longer")
    parser.add_argument("--memory-gib", type=float, default=8.0, help="skip configurations estimated to need more")
    parser.add_argument("--sketch-size", type=int, default=SKETCH_SIZE)
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated from {', '.join(PARTS)}; none rewrites the report")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(CHILDREN[spec.pop("kind")](spec)), flush=True)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    parts = [part for part in args.parts.split(",") if part != "none"]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts {unknown}")
    if parts:
        rate = profiling.measure_ceilings(torch.device("cpu")).matmul_rate["float64"]
        print(f"float64 matrix-product rate {rate / 1e9:.1f} GFLOP/s", flush=True)
        runs_path = args.out / "runs.json"
        runs = json.loads(runs_path.read_text()) if runs_path.exists() else []
        runs.append({"command": "python " + " ".join(sys.argv), "parts": ",".join(parts), "rate_gflops": rate / 1e9})
        runs_path.write_text(json.dumps(runs, indent=2) + "\n")
    measure = {"acceptance": lambda: acceptance(args.sketch_size), "accuracy": lambda: accuracy(args.sketch_size),
               "training": training, "precision": precision,
               "grid": lambda: grid(rate, args.budget_s, args.memory_gib, args.sketch_size)}
    for part in parts:
        write_csv(args.out / f"{part}.csv", measure[part]())
    grid_rows = read_csv(args.out / "grid.csv")
    dim, hidden = ACCEPTANCE_NETWORK
    slopes = plot(grid_rows, args.out / "solvers.png", MLP.of(dim, hidden).num_params, 1000) if grid_rows else {}
    report(args.out, slopes, args)


if __name__ == "__main__":
    main()
