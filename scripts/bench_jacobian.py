"""Time the forward-Laplacian Jacobian against the torch.func reference on 2-d Poisson and write results/jacobian/.

    python scripts/bench_jacobian.py [--repeats 5] [--out results/jacobian]

Both paths are timed alternately in one process on the same points and parameters; the CSV gives the median time per
Jacobian build and the ratio reference / forward, with the machine it ran on.
"""
from __future__ import annotations

import argparse
import csv
import platform
import statistics
import time
from pathlib import Path

import torch

import pdes
import pinn_natmom

CASES = [((64,), 900, 120), ((32, 32), 900, 120), ((64, 64), 900, 120)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("results/jacobian"))
    args = parser.parse_args()
    problem = pdes.poisson(dim=2, hard_bc=False)
    rows = []
    for hidden, n_interior, n_boundary in CASES:
        runs = {method: pinn_natmom.setup(problem, hidden=hidden, n_points={"interior": n_interior, "boundary": n_boundary},
                                          jacobian=method, optimizer="engd", device="cpu")
                for method in ("forward", "reference")}
        times: dict[str, list[float]] = {method: [] for method in runs}
        for run in runs.values():
            run.linearise()
        for _ in range(args.repeats):
            for method, run in runs.items():
                start = time.perf_counter()
                run.linearise()
                times[method].append(time.perf_counter() - start)
        mlp = runs["forward"].network
        fast, ref = statistics.median(times["forward"]), statistics.median(times["reference"])
        rows.append({"hidden": "-".join(map(str, hidden)), "P": mlp.num_params, "N": n_interior + n_boundary,
                     "forward_s": f"{fast:.5f}", "reference_s": f"{ref:.5f}", "speedup": f"{ref / fast:.2f}",
                     "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"})
        print(rows[-1])
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "jacobian.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
