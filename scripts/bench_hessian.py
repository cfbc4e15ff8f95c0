"""Time the fast Jacobian with Hessian channels against the torch.func reference and write results/jacobian/hessian.csv.

    python scripts/bench_hessian.py [--points 1000] [--hidden 30,30] [--repeats 5] [--out results/jacobian]

The residual ``ρ = −(u_xx + u_xy + 2u_yy) + u u_x − f`` on the unit square reads the value, the gradient and the
Hessian (``needs = {"grad", "hessian"}``). Both Jacobian methods (``pinn_natmom.linearise``: ``forward`` and
``reference``) build ``J`` at the same θ and points, alternately, after one warm-up each; the CSV gives the median
seconds per build, and the ratio reference / forward is printed.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

import torch
from torch import Tensor

from pinn_natmom.linearise import linearise
from pinn_natmom.network import MLP
from pinn_natmom.problem import Jet, Problem, Term
from pinn_natmom.train import sample_points

METHODS = ("forward", "reference")


def unit_square(n: int, generator: torch.Generator) -> Tensor:
    return torch.rand(n, 2, generator=generator, dtype=torch.float64)


def residual(x: Tensor, u: Jet, f: Tensor | None) -> Tensor:
    """``−(u_xx + u_xy + 2u_yy) + u u_x − f``."""
    h = u.hessian
    return -(h[..., 0, 0] + h[..., 0, 1] + 2.0 * h[..., 1, 1]) + u.value * u.grad[..., 0] - f


def problem() -> Problem:
    interior = Term("interior", residual, unit_square, data=lambda x: torch.sin(x.sum(dim=-1)),
                    needs=frozenset({"grad", "hessian"}))
    return Problem("anisotropic", 2, (interior,), unit_square)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--hidden", type=lambda text: tuple(int(w) for w in text.split(",")), default=(30, 30))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("results/jacobian"))
    args = parser.parse_args()
    anisotropic = problem()
    mlp = MLP.of(2, args.hidden)
    generator = torch.Generator().manual_seed(0)
    theta = mlp.init(generator)
    points = sample_points(anisotropic, {"interior": args.points}, generator, torch.float64, "cpu")
    times: dict[str, list[float]] = {method: [] for method in METHODS}
    for method in METHODS:
        linearise(mlp, anisotropic, theta, points, method)
    for _ in range(args.repeats):
        for method in METHODS:
            start = time.perf_counter()
            linearise(mlp, anisotropic, theta, points, method)
            times[method].append(time.perf_counter() - start)
    seconds = {method: statistics.median(values) for method, values in times.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "hessian.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["method", "n_points", "n_params", "seconds"])
        writer.writeheader()
        writer.writerows({"method": method, "n_points": args.points, "n_params": mlp.num_params,
                          "seconds": f"{value:.5f}"} for method, value in seconds.items())
    print(f"N = {args.points}, P = {mlp.num_params}, {torch.get_num_threads()} threads: "
          f"forward {seconds['forward']:.4f} s, reference {seconds['reference']:.4f} s, "
          f"reference / forward = {seconds['reference'] / seconds['forward']:.1f}")


if __name__ == "__main__":
    main()
