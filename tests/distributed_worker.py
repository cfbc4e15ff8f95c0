"""Run by ``torchrun`` from tests/test_distributed.py: solves in a process group and saves what process 0 holds.

    torchrun --nproc-per-node 2 tests/distributed_worker.py OUT_DIR CASES_JSON [--fail-at STEP]

``CASES_JSON``: a list of ``{"name": …, "options": {…}}`` (keyword options of :func:`pinn_natmom.api.solve` for 2-d
Poisson); θ and the history of each case go to ``OUT_DIR/<name>.pt``. ``--fail-at k``: process 1 raises at step k.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import pdes
from pinn_natmom import api, distributed
from pinn_natmom.train import Hooks


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("cases")
    parser.add_argument("--fail-at", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=distributed.TIMEOUT_S)
    args = parser.parse_args()
    group = distributed.from_environment("cpu", args.timeout)
    assert group is not None, "run under torchrun with more than one process"

    def fail(row: dict[str, float]) -> None:
        if group.rank == 1 and row["step"] == args.fail_at:
            raise RuntimeError(f"process 1 fails at step {args.fail_at}")

    finished = False
    try:
        for case in json.loads(args.cases):
            options = {**case["options"], "n_points": {"interior": 150, "boundary": 40}}
            result = api.solve(pdes.poisson(hard_bc=False, dim=2), hooks=Hooks(on_step=fail), sharding=distributed.Sharding(group),
                               device="cpu", **options)
            if group.writes_files:
                torch.save({"theta": result.theta, "history": result.history, "metrics": result.metrics},
                           args.out / f"{case['name']}.pt")
        finished = True
    finally:
        group.close(finished)
    return 0


if __name__ == "__main__":
    distributed.finish(main())
