"""Every default problem solved by ``scripts/solve.py`` on this machine: steps, wall time, final rel_l2.

    python scripts/bench_pdes.py [--out results/pdes] [--extra "--steps 200"]

Each problem of :data:`PROBLEMS` runs with its default settings (plus ``--extra``) in a fresh process; the wall time includes start-up (imports, sampling) and is measured
around the process, the training clock and the times to 1e-5 and 1e-6 come from its history. Writes
``defaults.csv`` and ``defaults.md`` into ``--out``.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pinn_natmom.reports import machine, markdown_table, write_csv

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = (
    ("poisson 2d", ["--pde", "poisson"]),
    ("poisson 5d", ["--pde", "poisson", "--dim", "5"]),
    ("heat 1+1d", ["--pde", "heat"]),
    ("helmholtz 2d, k = 4π", ["--pde", "helmholtz"]),
)
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
    for target in TARGETS:
        hit = next((r for r in history if float(r["rel_l2"]) <= target), None)
        row[f"to_{target:g}"] = "—" if hit is None else f"step {hit['step']}, {float(hit['wall_time_s']) + startup:.1f} s"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/pdes"))
    parser.add_argument("--extra", default="", help="options added to every command, e.g. \"--steps 200\"")
    args = parser.parse_args()
    rows = []
    for label, problem_args in PROBLEMS:
        rows.append(run(label, problem_args, args.extra.split()))
        print(rows[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "defaults.csv", rows)
    lines = [
        "# Default problems on this machine",
        "",
        f"{machine()}, float64. `python {' '.join(sys.argv)}`: each "
        f"command below{' with ' + repr(args.extra) if args.extra else ''} in a fresh process; wall time includes "
        "start-up, and the times to 1e-5 and 1e-6 are the training clock at that step plus the run's start-up.",
        "",
        markdown_table(rows),
        "",
    ]
    (args.out / "defaults.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
