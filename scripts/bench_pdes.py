"""Every default problem, or the published anchor, solved by ``scripts/solve.py`` on this machine: steps, wall time,
final rel_l2.

    python scripts/bench_pdes.py [--set defaults|anchor] [--out results/pdes] [--extra "--steps 200"] [--repeat 1]
                                 [--seeds 0,1,2] [--only "poisson 2d,heat"]

Each run of the set (``SETS``: the default problems with their default settings, the anchor configuration
2→64→1 on 900 + 120 points drawn once, seeds 0–5, the default problems on other domains, a triangle mesh of an
annulus among them, or the worked examples of ``pdes.custom`` run from their problem files) runs with ``--extra`` in a fresh process. The wall time includes
start-up (imports, sampling) and is measured around the process; the steps and training-clock times to 1e-5 and 1e-6
come from its history. With ``--repeat N`` the whole set runs N times over, one command after the other, so that a
drift of the machine's speed reaches every command alike; the times are then medians over the N runs, with the range
of the training clock to each target beside them (a run repeats its trajectory exactly on the CPU, so the steps and
errors are those of every run). ``--seeds`` runs every command of the set once per seed (``--seed S`` appended; the
anchor set has its own seeds). Writes ``<set>.csv`` and ``<set>.md`` into ``--out``.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pinn_natmom.cli.reports import machine, markdown_table, write_csv

ROOT = Path(__file__).resolve().parent.parent
ANCHOR = ["--pde", "poisson", "--optimizer", "engd", "--hidden", "64", "--n-interior", "900", "--n-boundary", "120"]
LIMITED = lambda seconds, target: ["--time-limit", str(seconds), "--steps", "1000000", "--target-rel-l2", str(target)]
"""Options of a run stopped by its time limit or once it reaches its target error."""
SETS = {
    "defaults": (
        ("poisson 2d", ["--pde", "poisson"]),
        ("poisson 5d", ["--pde", "poisson", "--dim", "5"]),
        ("heat 1+1d", ["--pde", "heat"]),
        ("helmholtz 2d, k = 4π", ["--pde", "helmholtz"]),
    ),
    "anchor": tuple((f"poisson 2d anchor, seed {seed}", [*ANCHOR, "--seed", str(seed)]) for seed in range(6)),
    "domains": (
        ("poisson, L-shape", ["--pde", "poisson", "--domain", "lshape", *LIMITED(120, 1e-7)]),
        ("poisson, disk", ["--pde", "poisson", "--domain", "disk", *LIMITED(120, 1e-7)]),
        ("poisson, plate with a hole", ["--pde", "poisson", "--domain", "plate-with-hole", *LIMITED(120, 1e-7)]),
        ("heat, disk", ["--pde", "heat", "--domain", "disk", *LIMITED(300, 1e-6)]),
        ("helmholtz, disk, k = 5", ["--pde", "helmholtz", "--domain", "disk", "--k", "5", *LIMITED(300, 1e-6)]),
        ("poisson, annulus mesh", ["--pde", "poisson", "--domain", "results/domains/annulus.msh", *LIMITED(300, 1e-6)]),
    ),
    "custom": tuple((name, ["--problem", f"results/custom/problems/{name}.py", "--time-limit", "120"])
                    for name in ("nonlinear-poisson", "allen-cahn", "variable-coefficient", "anisotropic", "burgers")),
}
TITLES = {"defaults": "# Default problems on this machine", "anchor": "# The anchor configuration on this machine",
          "domains": "# The default problems on other domains, on this machine",
          "custom": "# The worked examples of pdes.custom, from their problem files, on this machine"}
TARGETS = (1e-5, 1e-6, 1e-7)


@dataclass(frozen=True)
class Run:
    """One fresh-process run: wall time around the process, and the run folder's metrics, history and settings."""

    wall: float
    metrics: dict
    history: list[dict]
    settings: dict

    @property
    def startup(self) -> float:
        return self.wall - self.metrics["wall_time_s"]

    def train_to(self, target: float) -> float | None:
        """The training clock when rel_l2 first reaches ``target``, or ``None``."""
        hit = next((r for r in self.history if float(r["rel_l2"]) <= target), None)
        return None if hit is None else float(hit["wall_time_s"])

    def median_step(self) -> float | None:
        clock = [float(r["wall_time_s"]) for r in self.history[1:]]
        return statistics.median(b - a for a, b in zip(clock[:-1], clock[1:], strict=True)) if len(clock) > 1 else None


def run(args: list[str], extra: list[str]) -> Run:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "scripts/solve.py", *args, *extra, "--quiet", "--no-plots", "--out", folder, "--overwrite"]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        return Run(wall, json.loads((Path(folder) / "metrics.json").read_text()),
                   list(csv.DictReader((Path(folder) / "history.csv").open())),
                   json.loads((Path(folder) / "config.json").read_text()))


def row_of(label: str, args: list[str], runs: list[Run]) -> dict:
    """The table row of one command: its trajectory from the first run, the medians of the times over all runs."""
    first, median = runs[0], statistics.median
    metrics, settings = first.metrics, first.settings
    row = {"problem": label, "command": "python scripts/solve.py " + " ".join(args),
           "network": "→".join(map(str, [metrics["dim"], *settings["hidden"], 1])) + f" {settings['activation']}",
           "P": metrics["num_params"], "optimizer": metrics["optimizer"], "solver": metrics["solver"],
           "steps": metrics["steps"], "wall_s": f"{median(r.wall for r in runs):.1f}",
           "final_rel_l2": f"{metrics['rel_l2']:.2e}"}
    steps = [s for s in (r.median_step() for r in runs) if s is not None]
    row["s_per_step"] = f"{median(steps):.4f}" if steps else "—"
    startup = median(r.startup for r in runs)
    for target in TARGETS:
        hit = next((r for r in first.history if float(r["rel_l2"]) <= target), None)
        times = [t for t in (r.train_to(target) for r in runs) if t is not None]
        row[f"to_{target:g}"] = "—" if hit is None else f"step {hit['step']}, {median(times) + startup:.1f} s"
        row[f"train_to_{target:g}_s"] = "—" if hit is None else f"{median(times):.2f}"
        if len(runs) > 1:
            row[f"train_to_{target:g}_s range"] = "—" if hit is None else f"{min(times):.2f}–{max(times):.2f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=tuple(SETS), default="defaults",
                        help="the default problems, the anchor's seeds, the problems on other domains, or pdes.custom's examples")
    parser.add_argument("--out", type=Path, default=Path("results/pdes"))
    parser.add_argument("--extra", default="", help="options added to every command, e.g. \"--steps 200\"")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole set this many times; report medians")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds, each command run once per seed")
    parser.add_argument("--only", default=None,
                        help="comma-separated beginnings of the labels to run (e.g. \"poisson 2d,heat\"), default all")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    commands = SETS[args.set]
    if args.only:
        wanted = [start.strip() for start in args.only.split(",") if start.strip()]
        if not wanted:
            parser.error("--only: give the beginnings of labels, e.g. \"poisson 2d,heat\"")
        unknown = [start for start in wanted if not any(label.startswith(start) for label, _ in commands)]
        if unknown:
            parser.error(f"--only: no label of the set {args.set!r} begins with {', '.join(map(repr, unknown))}; "
                         f"the labels: {'; '.join(label for label, _ in commands)}")
        commands = tuple((label, problem_args) for label, problem_args in commands
                         if any(label.startswith(start) for start in wanted))
    if args.seeds:
        seeds = [int(s) for s in args.seeds.split(",")]
        commands = tuple((f"{label}, seed {s}", [*problem_args, "--seed", str(s)])
                         for label, problem_args in commands for s in seeds)
    runs: dict[str, list[Run]] = {label: [] for label, _ in commands}
    args.out.mkdir(parents=True, exist_ok=True)
    for _ in range(args.repeat):
        for label, problem_args in commands:
            runs[label].append(run(problem_args, args.extra.split()))
            print(label, f"{runs[label][-1].wall:.1f} s", flush=True)
            write_tables(args, [row_of(label, problem_args, runs[label]) for label, problem_args in commands
                                if runs[label]])


def write_tables(args: argparse.Namespace, rows: list[dict]) -> None:
    """``<set>.csv`` and ``<set>.md`` of the rows so far (rewritten after every run, so that an interrupted set keeps
    what it measured)."""
    write_csv(args.out / f"{args.set}.csv", rows)
    lines = [
        TITLES[args.set],
        "",
        f"{machine()}, float64. `python {' '.join(sys.argv)}`: each "
        f"command below{' with ' + repr(args.extra) if args.extra else ''} in a fresh process"
        f"{f', the whole set {args.repeat} times over (times are medians over the runs)' if args.repeat > 1 else ''}; "
        "wall time includes start-up; `to_*` give the step and the training clock at that step plus the run's start-up, "
        "`train_to_*_s` the training clock alone (start-up excluded), `s_per_step` the median step of the training "
        "clock.",
        "",
        markdown_table(rows),
        "",
    ]
    (args.out / f"{args.set}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
