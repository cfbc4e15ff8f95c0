"""Poisson's equation on the L-shape with the corner singularity: ``u* = r^{2/3} sin(2θ/3)`` about the re-entrant
corner, harmonic, so ``−Δu = 0`` with ``u = u*`` on the boundary; its gradient is unbounded at the corner.

    python scripts/lshape_corner.py [--time-limit 300] [--seed 0] [--out results/domains]

The L-shape is ``pdes.geometry.named("lshape")``, the polygon (0,0), (2,0), (2,1), (1,1), (1,2), (0,2): its
re-entrant corner is (1, 1), the domain's angle there 3π/2, ``θ`` measured from the side ``x = 1, y > 1`` through
the domain, so that ``u*`` vanishes on both sides meeting at the corner. Writes ``corner.csv`` (the run's history)
and ``corner-error.csv`` (the error by distance from the corner) into ``--out``, and prints where the error sits.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

import pdes
import pinn_natmom
from pinn_natmom.cli.reports import write_csv

CORNER = (1.0, 1.0)


def singular(x: torch.Tensor) -> torch.Tensor:
    """``r^{2/3} sin(2θ/3)`` about ``CORNER``, ``θ ∈ [0, 3π/2]`` from the direction ``+y`` counter-clockwise."""
    dx, dy = x[..., 0] - CORNER[0], x[..., 1] - CORNER[1]
    theta = torch.remainder(torch.atan2(dy, dx) - math.pi / 2, 2 * math.pi)
    return (dx * dx + dy * dy) ** (1 / 3) * torch.sin(2 * theta / 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/domains"))
    args = parser.parse_args()
    problem = pdes.poisson(domain="lshape", exact=singular)
    result = pinn_natmom.solve(problem, seed=args.seed, time_limit=args.time_limit, steps=1_000_000)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "corner.csv", result.history)
    x = pdes.geometry.named("lshape").interior_sampler()(200_000, torch.Generator().manual_seed(1))
    error = (result(x).detach() - singular(x)).abs()
    distance = torch.linalg.norm(x - torch.tensor(CORNER, dtype=x.dtype), dim=1)
    rows = []
    for lo, hi in ((0.0, 0.01), (0.01, 0.1), (0.1, 0.5), (0.5, 3.0)):
        inside = (distance >= lo) & (distance < hi)
        rows.append({"distance_from_corner": f"[{lo}, {hi})", "points": int(inside.sum()),
                     "max_abs_error": f"{float(error[inside].max()):.3e}",
                     "rms_abs_error": f"{float(error[inside].square().mean().sqrt()):.3e}"})
    write_csv(args.out / "corner-error.csv", rows)
    print(f"rel_l2 {result.metrics['rel_l2']:.3e} after {result.metrics['steps']} steps "
          f"({result.metrics['stop_reason']})")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
