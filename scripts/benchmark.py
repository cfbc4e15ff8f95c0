"""Every optimizer on the benchmark problems, several seeds, equal wall-clock budgets; tables and curves.

    python scripts/benchmark.py [--problems poisson2d,...] [--optimizers all] [--seeds 0,1,2] [--budget-scale 1]
                                [--device cpu] [--out results/benchmark]
    python scripts/benchmark.py --merge FOLDER [FOLDER ...] --out results/benchmark/merged

For each problem it writes ``<problem>.csv`` (one row per optimizer and seed: final and best rel_l2, steps, why the
run stopped, time to 1e-3 … 1e-7), ``<problem>-history.csv`` (every logged row) and ``<problem>.png`` (median rel_l2
against wall time and against steps, one line per optimizer), then rebuilds ``benchmark.md`` from every problem's CSV
in the folder. A run on fixed points that stops as ``stalled`` (its update repeats exactly, see
``pinn_natmom.train.FitConfig``) would have held its last θ to the end of the budget: its final error stands for
the whole budget, and the plots carry it on to the end.
Each run is one process-local training loop; runs are sequential so they do not share the processor.
``--merge`` runs nothing: it combines the CSVs of earlier benchmark folders (runs of one machine, split across
invocations) into ``--out`` and rebuilds the plots and ``benchmark.md`` from them.
"""
from __future__ import annotations

import argparse
import bisect
import math
import platform
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import pdes  # noqa: E402
from pinn_natmom import api, optim  # noqa: E402
from pinn_natmom.cli.reports import read_csv, write_csv  # noqa: E402
from pinn_natmom.train import first_reached  # noqa: E402

THRESHOLDS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
FLOOR_WINDOW = 100.0
"""The floor test takes the optimizers whose median final rel_l2 lies within this factor of the lowest median."""
PERMUTATIONS = 2000
"""Random reassignments of the runs to the optimizers in the floor test's permutation test."""


@dataclass(frozen=True)
class Benchmark:
    """A problem, its run options and its wall-clock budget in seconds."""

    pde: str
    dim: int
    budget: float
    options: dict = field(default_factory=dict)
    description: str = ""


ANCHOR_POINTS = {"interior": 900, "boundary": 120}
"""The published anchor's point counts, kept by the 2-d problems so that they stay comparable with results/benchmark
(the 2-d default run itself uses 700 + 100)."""
PROBLEMS = {
    "poisson2d": Benchmark("poisson", 2, 60.0, dict(hidden=(32, 32), n_points=ANCHOR_POINTS),
                           "2→32→32→1 (P = 1,185), 900 + 120 points fixed"),
    "poisson2d-anchor": Benchmark("poisson", 2, 30.0, dict(hidden=(64,), n_points=ANCHOR_POINTS),
                                  "2→64→1 (P = 257), 900 + 120 points fixed"),
    "poisson2d-resampled": Benchmark("poisson", 2, 60.0, dict(hidden=(64,), n_points=ANCHOR_POINTS, resample_every=1),
                                     "2→64→1 (P = 257), 900 + 120 points redrawn every step"),
    "poisson2d-fewer-points": Benchmark("poisson", 2, 60.0, dict(hidden=(64, 64), n_points={"interior": 200, "boundary": 40}),
                                        "2→64→64→1 (P = 4,417), 200 + 40 points fixed (N < P)"),
    "poisson5d": Benchmark("poisson", 5, 300.0, {}, "the default 5-d run: 5→64→1 (P = 449), 2,000 + 500 points redrawn every step"),
    "heat1d": Benchmark("heat", 1, 300.0, {}, "the default heat run: 2→32→32→1 (P = 1,185), 900 + 120 + 120 points fixed"),
    "heat1d-more-points": Benchmark("heat", 1, 300.0, dict(n_points={"interior": 1600, "boundary": 200, "initial": 200}),
                                    "2→32→32→1 (P = 1,185), 1,600 + 200 + 200 points fixed (N > P)"),
    "helmholtz2d": Benchmark("helmholtz", 2, 300.0, {}, "the default Helmholtz run, k = 4π: 2→32→32→1 sine (P = 1,185), "
                             "1,600 + 400 points fixed"),
    "poisson5d-large": Benchmark("poisson", 5, 60.0, dict(hidden=(64, 64, 48, 48), n_points={"interior": 3000, "boundary": 500},
                                                          resample_every=1, solver="woodbury", damping=1e-8),
                                 "5→64→64→48→48→1 (P = 10,065), 3,000 + 500 points redrawn every step, woodbury λ = 1e-8"),
}


def run(problem_name: str, optimizer: str, seed: int, scale: float, device: str) -> tuple[dict, list[dict]]:
    bench = PROBLEMS[problem_name]
    problem = pdes.make(bench.pde, dim=bench.dim, hard_bc=False)
    budget = bench.budget * scale
    result = api.solve(problem, optimizer=optimizer, seed=seed, steps=1_000_000, time_limit=budget, device=device,
                       **bench.options)
    history = result.history
    row = {"problem": problem_name, "optimizer": optimizer, "seed": seed, "budget_s": budget,
           "steps": int(history[-1]["step"]), "stop_reason": result.metrics["stop_reason"], "final_rel_l2": history[-1]["rel_l2"],
           "best_rel_l2": min(h["rel_l2"] for h in history)}
    for eps in THRESHOLDS:
        hit = first_reached(history, "rel_l2", eps)
        row[f"time_to_{eps:g}"] = "" if hit is None else round(hit["wall_time_s"], 3)
        row[f"steps_to_{eps:g}"] = "" if hit is None else int(hit["step"])
    return row, [{"problem": problem_name, "optimizer": optimizer, "seed": seed, **h} for h in history]


def plot(problem_name: str, history: list[dict], path: Path, machine: str) -> None:
    """Median over seeds of rel_l2 against wall time and against steps, log scale. A run that ended early (stalled)
    keeps its last error: against time up to the end of the longest run of any optimizer, against steps up to the most
    steps of its optimizer."""
    fig, (by_time, by_step) = plt.subplots(1, 2, figsize=(12, 4.5))
    end = max(float(h["wall_time_s"]) for h in history)
    for name in dict.fromkeys(h["optimizer"] for h in history):
        runs: dict[str, list[dict]] = {}
        for h in history:
            if h["optimizer"] == name:
                runs.setdefault(h["seed"], []).append(h)
        length = max(len(r) for r in runs.values())
        errors = [statistics.median(float(r[min(i, len(r) - 1)]["rel_l2"]) for r in runs.values()) for i in range(length)]
        by_step.plot(range(length), errors, label=name)
        by_time.plot(*median_over_time(list(runs.values()), end), label=name)
    for axis, label in ((by_time, "wall time (s)"), (by_step, "step")):
        axis.set_yscale("log")
        axis.set_xlabel(label)
        axis.set_ylabel("relative L2 error (median over seeds)")
        axis.grid(True, which="both", alpha=0.3)
    by_step.set_xscale("log")
    by_time.legend(fontsize=8)
    fig.suptitle(f"{problem_name}: {PROBLEMS[problem_name].description}\n{machine}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def median_over_time(runs: list[list[dict]], until: float) -> tuple[list[float], list[float]]:
    """At every logged wall time of any run (and at ``until``), the median over runs of each run's rel_l2 at its last
    row logged by then (its first row's before it), so that a run that ended early keeps its last error."""
    logged = [([float(h["wall_time_s"]) for h in r], [float(h["rel_l2"]) for h in r]) for r in runs]
    times = sorted({t for run_times, _ in logged for t in run_times} | {until})
    return times, [statistics.median(errors[max(bisect.bisect_right(run_times, t) - 1, 0)] for run_times, errors in logged)
                   for t in times]


def times_to_engd_final(rows: list[dict], history: list[dict]) -> dict[str, list[float]]:
    """Per optimizer, each seed's wall time to ``engd``'s median final rel_l2 (``inf``: never); empty without engd."""
    engd_finals = [float(r["final_rel_l2"]) for r in rows if r["optimizer"] == "engd"]
    if not engd_finals:
        return {}
    target = statistics.median(engd_finals)
    runs: dict[tuple[str, str], list[dict]] = {}
    for h in history:
        runs.setdefault((h["optimizer"], str(h["seed"])), []).append(
            {"wall_time_s": float(h["wall_time_s"]), "rel_l2": float(h["rel_l2"])})

    def time_to_target(name: str, seed: str) -> float:
        hit = first_reached(runs.get((name, seed), []), "rel_l2", target)
        return math.inf if hit is None else hit["wall_time_s"]

    return {name: [time_to_target(name, str(r["seed"])) for r in rows if r["optimizer"] == name]
            for name in dict.fromkeys(r["optimizer"] for r in rows)}


def optimizer_effect(groups: dict[str, list[float]], permutations: int = PERMUTATIONS, seed: int = 0) -> float:
    """Permutation p-value of "the group does not shift the values": the between-group sum of squares
    ``S = Σ_g n_g (ȳ_g − ȳ)²`` against ``S`` after the values are dealt to the groups at random (sizes kept),
    ``p = (1 + #{S_perm ≥ S}) / (1 + permutations)``, ties counted up to rounding; seeded, so the same groups give
    the same ``p``."""
    sizes = [len(values) for values in groups.values()]
    pooled = [value for values in groups.values() for value in values]
    mean = statistics.fmean(pooled)

    def between(values: list[float]) -> float:
        total, start = 0.0, 0
        for size in sizes:
            total += size * (statistics.fmean(values[start:start + size]) - mean) ** 2
            start += size
        return total

    observed = between(pooled) * (1 - 1e-12)
    shuffled, draw = list(pooled), random.Random(seed)
    exceed = 0
    for _ in range(permutations):
        draw.shuffle(shuffled)
        exceed += between(shuffled) >= observed
    return (1 + exceed) / (1 + permutations)


def more_than_half(share: float, seeds: int) -> float:
    """The probability that more than half of ``seeds`` independent runs (enough for a finite median time) each
    reach a target that one run reaches with probability ``share``: ``Σ_{j > seeds/2} C(seeds, j) q^j (1 − q)^{seeds−j}``."""
    return sum(math.comb(seeds, j) * share ** j * (1 - share) ** (seeds - j) for j in range(seeds // 2 + 1, seeds + 1))


def floor_test(rows: list[dict]) -> str | None:
    """A sentence on whether the final error depends on the optimizer, among the optimizers whose median final rel_l2
    lies within ``FLOOR_WINDOW`` of the lowest (``optimizer_effect`` on ``log10`` of the final rel_l2), and,
    with ``engd`` in the set, the share of their runs that end below ``engd``'s median final error with what that share
    makes of "more than half the seeds reach it", which a finite median time needs (``more_than_half``). ``None``
    with fewer than two such optimizers."""
    finals: dict[str, list[float]] = {}
    for r in rows:
        if math.isfinite(value := float(r["final_rel_l2"])) and value > 0:
            finals.setdefault(r["optimizer"], []).append(value)
    medians = {name: statistics.median(values) for name, values in finals.items()}
    lowest = min(medians.values(), default=math.inf)
    near = {name: values for name, values in finals.items() if medians[name] <= FLOOR_WINDOW * lowest}
    if len(near) < 2:
        return None
    p = optimizer_effect({name: [math.log10(v) for v in values] for name, values in near.items()})
    pooled = sorted(v for values in near.values() for v in values)
    text = (f"Floor test: the {len(near)} optimizers whose median final rel_l2 lies within {FLOOR_WINDOW:g}× of the lowest "
            f"({len(pooled)} runs, final rel_l2 {pooled[0]:.2e} … {pooled[-1]:.2e}, median {statistics.median(pooled):.2e}); "
            f"a permutation test of \"the optimizer does not shift log10 of the final rel_l2\" (between-optimizer sum of "
            f"squares, {PERMUTATIONS} permutations) gives p = {p:.3f}")
    if "engd" in finals:
        target = statistics.median(finals["engd"])
        share = sum(v < target for v in pooled) / len(pooled)
        seeds = len(finals["engd"])
        text += (f". {share:.0%} of these runs end below engd's median final error ({target:.2e}): a method whose runs end "
                 f"like theirs reaches it on more than half of {seeds} seeds with probability {more_than_half(share, seeds):.0%}")
    return text + "."


def summary(out: Path, machine: str) -> None:
    """``benchmark.md``: per problem and optimizer, median and mean ± std of the final rel_l2 and median times to
    fixed errors; with ``engd`` in the set, also the median time to ``engd``'s median final error over all seeds
    (a seed that never reaches it counts as never, so "—" means at least half never did). The steps cell counts the
    runs that stalled before the budget ran out. Under each table, the ``floor_test``."""
    lines = ["# Optimizer benchmark", "", f"Machine: {machine}. float64; equal wall-clock budget per run.", ""]
    for problem_name in PROBLEMS:
        path = out / f"{problem_name}.csv"
        if not path.exists():
            continue
        rows = read_csv(path)
        to_engd = times_to_engd_final(rows, read_csv(out / f"{problem_name}-history.csv"))
        lines += [f"## {problem_name}: {PROBLEMS[problem_name].description}, {rows[0]['budget_s']} s per run", "",
                  "| optimizer | seeds | final rel_l2 median | mean ± std | steps (median) | "
                  + " | ".join(f"time to {eps:g} (median s, reached/seeds)" for eps in THRESHOLDS[:4])
                  + (" | time to engd's median final error (median s, reached/seeds)" if to_engd else "") + " |",
                  "|" + "---|" * (5 + 4 + bool(to_engd))]
        for name in dict.fromkeys(r["optimizer"] for r in rows):
            mine = [r for r in rows if r["optimizer"] == name]
            finals = [float(r["final_rel_l2"]) for r in mine]
            spread = statistics.stdev(finals) if len(finals) > 1 else 0.0
            cells = []
            for eps in THRESHOLDS[:4]:
                times = [float(r[f"time_to_{eps:g}"]) for r in mine if r[f"time_to_{eps:g}"] != ""]
                cells.append(f"{statistics.median(times):.1f} ({len(times)}/{len(mine)})" if times else f"— (0/{len(mine)})")
            if to_engd:
                times = to_engd[name]
                middle = statistics.median(times)
                reached = sum(math.isfinite(t) for t in times)
                cells.append(f"{middle:.1f} ({reached}/{len(times)})" if math.isfinite(middle) else f"— ({reached}/{len(times)})")
            stalled = sum(r.get("stop_reason") == "stalled" for r in mine)
            steps = f"{statistics.median(int(r['steps']) for r in mine):.0f}" + (f" ({stalled} stalled)" if stalled else "")
            lines.append(f"| {name} | {len(mine)} | {statistics.median(finals):.2e} | {statistics.mean(finals):.2e} ± {spread:.1e} | "
                         f"{steps} | " + " | ".join(cells) + " |")
        lines.append("")
        if (floor := floor_test(rows)) is not None:
            lines += [floor, ""]
    (out / "benchmark.md").write_text("\n".join(lines) + "\n")


def machine_of(folder: Path) -> str:
    """The machine named on the ``Machine:`` line of a benchmark folder's ``benchmark.md``."""
    path = folder / "benchmark.md"
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        if line.startswith("Machine: "):
            return line.removeprefix("Machine: ").split(". float64")[0]
    raise ValueError(f"{path} names no machine; merge only folders written by this script")


def merge(sources: list[Path], out: Path) -> None:
    """Combine benchmark folders into ``out``: per problem, every source's rows and histories, where a later source's
    run of an optimizer and seed replaces an earlier one's; then the plots and ``benchmark.md`` are rebuilt.
    Sources must name the same machine and give each problem the same budget, or the comparison would be unequal."""
    machines = {machine_of(folder) for folder in sources}
    if len(machines) > 1:
        raise ValueError(f"the folders were measured on different machines ({'; '.join(sorted(machines))}); merge one machine's runs")
    machine = machines.pop()
    out.mkdir(parents=True, exist_ok=True)
    for problem_name in PROBLEMS:
        rows: dict[tuple[str, str], dict] = {}
        history: dict[tuple[str, str], list[dict]] = {}
        for folder in sources:
            logged = read_csv(folder / f"{problem_name}-history.csv")
            for row in read_csv(folder / f"{problem_name}.csv"):
                key = (row["optimizer"], row["seed"])
                rows[key] = row
                history[key] = [h for h in logged if (h["optimizer"], h["seed"]) == key]
        if not rows:
            continue
        budgets = {row["budget_s"] for row in rows.values()}
        if len(budgets) > 1:
            raise ValueError(f"{problem_name} was run with different budgets ({', '.join(sorted(budgets))} s); merge equal budgets")
        write_csv(out / f"{problem_name}.csv", list(rows.values()))
        write_csv(out / f"{problem_name}-history.csv", [h for key in rows for h in history[key]])
        plot(problem_name, [h for key in rows for h in history[key]], out / f"{problem_name}.png", machine)
    summary(out, machine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default="poisson2d", help=f"comma-separated from {', '.join(PROBLEMS)}")
    parser.add_argument("--optimizers", default="all", help=f"comma-separated from {', '.join(optim.OPTIMIZERS)}, or all")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiply every problem's wall-clock budget")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--out", type=Path, default=Path("results/benchmark"))
    parser.add_argument("--merge", type=Path, nargs="+", metavar="FOLDER",
                        help="run nothing: combine these benchmark folders into --out (a later folder's run of an "
                             "optimizer and seed replaces an earlier one's)")
    args = parser.parse_args()
    if args.merge:
        missing = [str(folder) for folder in args.merge if not (folder / "benchmark.md").exists()]
        if missing:
            parser.error(f"not a benchmark folder (no benchmark.md): {', '.join(missing)}")
        try:
            merge(args.merge, args.out)
        except ValueError as error:
            parser.error(str(error))
        return
    problems = args.problems.split(",")
    optimizers = list(optim.OPTIMIZERS) if args.optimizers == "all" else args.optimizers.split(",")
    for name in problems:
        if name not in PROBLEMS:
            parser.error(f"unknown problem {name!r}; choose from {', '.join(PROBLEMS)}")
    for name in optimizers:
        if name not in optim.OPTIMIZERS:
            parser.error(f"unknown optimizer {name!r}; choose from {', '.join(optim.OPTIMIZERS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else (platform.processor() or platform.machine())
    machine = f"{device_name}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    args.out.mkdir(parents=True, exist_ok=True)
    for problem_name in problems:
        rows, history = [], []
        for optimizer in optimizers:
            for seed in seeds:
                row, rows_history = run(problem_name, optimizer, seed, args.budget_scale, args.device)
                rows.append(row)
                history += rows_history
                print(f"{problem_name} {optimizer} seed {seed}: {row['final_rel_l2']:.3e} after {row['steps']} steps", flush=True)
        write_csv(args.out / f"{problem_name}.csv", rows)
        write_csv(args.out / f"{problem_name}-history.csv", history)
        plot(problem_name, history, args.out / f"{problem_name}.png", machine)
    summary(args.out, machine)


if __name__ == "__main__":
    main()
