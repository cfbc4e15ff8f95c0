"""Where to end natural-auto's exploring stage: explore a built-in problem for a number of steps, then, from the θ
reached after each of several of them, continue with natural-auto alone for a fixed number of seconds.

    python scripts/explore_switch.py --pde poisson --explore 60 --switch 10,20,30,40,50,60 --after 12 \\
        --out results/explore/switch/poisson-2d.csv [--dim 5] [--seed 0]

Writes one CSV row per switch point: the stage's step, its rel_l2 and seconds of training there, rel_l2 after the
first natural-auto step, and the lowest and the last rel_l2 within ``--after`` seconds (with the steps taken).
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import pdes
import pinn_natmom.api as api
from pinn_natmom.cli.reports import write_csv


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pde", default="poisson", choices=sorted(pdes.FAMILIES))
    parser.add_argument("--dim", type=int, default=None, help="spatial dimension (Poisson)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--explore", type=int, required=True, help="exploring steps taken")
    parser.add_argument("--switch", required=True, help="comma-separated steps of the stage to continue from")
    parser.add_argument("--after", type=float, required=True, help="seconds of natural-auto after each switch")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        switches = sorted({int(s) for s in args.switch.split(",")})
    except ValueError:
        parser.error(f"--switch takes comma-separated step numbers, got {args.switch!r}")
    if switches[0] < 1 or switches[-1] > args.explore:
        parser.error(f"switch points must lie in 1…{args.explore}, got {args.switch}")
    problem = pdes.make(args.pde, **({} if args.dim is None else {"dim": args.dim}))
    trainer = api.setup(problem, seed=args.seed, explore_steps=args.explore, steps=10**9)
    reached = {}
    for step in range(1, args.explore + 1):
        row = trainer.step()
        if step in switches:
            reached[step] = (trainer.theta.clone(), dict(trainer.state), row)
    rows = []
    for step, (theta, state, at_switch) in reached.items():
        trainer.theta, trainer.state = theta.clone(), {**state, "explore_over": True}
        started, errors = time.perf_counter(), []
        while time.perf_counter() - started < args.after:
            errors.append(trainer.step()["rel_l2"])
        rows.append({"switch_step": step, "switch_s": at_switch["wall_time_s"], "rel_l2_at_switch": at_switch["rel_l2"],
                     "rel_l2_first_step": errors[0], "rel_l2_lowest": min(errors, default=math.nan),
                     "rel_l2_last": errors[-1], "steps_after": len(errors)})
        print(f"switch after {step} exploring steps: lowest rel_l2 {rows[-1]['rel_l2_lowest']:.2e} in {args.after} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(args.out, rows)


if __name__ == "__main__":
    main()
