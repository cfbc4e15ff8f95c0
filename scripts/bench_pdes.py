"""Every default problem, or the published anchor, solved by ``scripts/solve.py`` on this machine: steps, wall time,
final rel_l2.

    python scripts/bench_pdes.py [--set defaults|anchor] [--out results/pdes] [--extra "--steps 200"]

Each run of the set (:data:`SETS`: the default problems with their default settings, or the anchor configuration
2→64→1 on 900 + 120 points drawn once, seeds 0–5) runs with ``--extra`` in a fresh process. The wall time includes
start-up (imports, sampling) and is measured around the process; the steps and training-clock times to 1e-5 and 1e-6
come from its history. Writes ``<set>.csv`` and ``<set>.md`` into ``--out``.
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
from pathlib import Path

from pinn_natmom.reports import machine, markdown_table, write_csv

ROOT = Path(__file__).resolve().parent.parent
ANCHOR = ["--pde", "poisson", "--hidden", "64", "--n-interior", "900", "--n-boundary", "120"]
SETS = {
    "defaults": (
        ("poisson 2d", ["--pde", "poisson"]),
        ("poisson 5d", ["--pde", "poisson", "--dim", "5"]),
        ("heat 1+1d", ["--pde", "heat"]),
        ("helmholtz 2d, k = 4π", ["--pde", "helmholtz"]),
    ),
    "anchor": tuple((f"poisson 2d anchor, seed {seed}", [*ANCHOR, "--seed", str(seed)]) for seed in range(6)),
}
TARGETS = (1e-5, 1e-6)


def run(label: str, args: list[str], extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "scripts/solve.py", *args, *extra, "--quiet", "--no-plots", "--out", folder, "--overwrite"]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        metrics = json.loads((Path(folder) / "metrics.json").read_text())
        history = list(csv.DictReader((Path(folder) / "history.csv").open()))
        settings = json.loads((Path(folder) / "config.json").read_text())
    startup = wall - metrics["wall_time_s"]
    row = {"problem": label, "command": "python scripts/solve.py " + " ".join(args),
           "network": "→".join(map(str, [metrics["dim"], *settings["hidden"], 1])) + f" {settings['activation']}",
           "P": metrics["num_params"], "optimizer": metrics["optimizer"], "solver": metrics["solver"],
           "steps": metrics["steps"],
           "wall_s": f"{wall:.1f}", "final_rel_l2": f"{metrics['rel_l2']:.2e}"}
    steps = [float(b["wall_time_s"]) - float(a["wall_time_s"]) for a, b in zip(history[1:-1], history[2:], strict=True)]
    row["s_per_step"] = f"{statistics.median(steps):.4f}" if steps else "—"
    for target in TARGETS:
        hit = next((r for r in history if float(r["rel_l2"]) <= target), None)
        row[f"to_{target:g}"] = "—" if hit is None else f"step {hit['step']}, {float(hit['wall_time_s']) + startup:.1f} s"
        row[f"train_to_{target:g}_s"] = "—" if hit is None else f"{float(hit['wall_time_s']):.2f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=tuple(SETS), default="defaults", help="the default problems, or the anchor's seeds")
    parser.add_argument("--out", type=Path, default=Path("results/pdes"))
    parser.add_argument("--extra", default="", help="options added to every command, e.g. \"--steps 200\"")
    args = parser.parse_args()
    rows = []
    for label, problem_args in SETS[args.set]:
        rows.append(run(label, problem_args, args.extra.split()))
        print(rows[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.set}.csv", rows)
    lines = [
        "# Default problems on this machine" if args.set == "defaults" else "# The anchor configuration on this machine",
        "",
        f"{machine()}, float64. `python {' '.join(sys.argv)}`: each "
        f"command below{' with ' + repr(args.extra) if args.extra else ''} in a fresh process; wall time includes "
        "start-up; `to_*` give the step and the training clock at that step plus the run's start-up, `train_to_*_s` the "
        "training clock alone (start-up excluded), `s_per_step` the median step of the training clock.",
        "",
        markdown_table(rows),
        "",
    ]
    (args.out / f"{args.set}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
