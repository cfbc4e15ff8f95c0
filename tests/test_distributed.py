"""Two CPU processes (gloo, started by torchrun) against one process on the union of their points."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

import pdes
from pinn_natmom import api, distributed
from pinn_natmom.problem import Collocation

ROOT = Path(__file__).resolve().parent.parent
POINTS = {"interior": 150, "boundary": 40}
CASES = [
    {"name": "dense", "options": {"optimizer": "engd", "hidden": [16], "steps": 5, "solver": "dense", "damping": 1e-4}},
    {"name": "woodbury", "options": {"optimizer": "engd", "hidden": [16, 16], "steps": 5, "solver": "woodbury", "damping": 1e-4}},
    {"name": "nystrom", "options": {"optimizer": "engd", "hidden": [16, 16], "steps": 5, "solver": "nystrom", "damping": 1e-3, "sketch_size": 60}},
    {"name": "nystrom-pcg", "options": {"optimizer": "engd", "hidden": [16, 16], "steps": 5, "solver": "nystrom-pcg", "damping": 1e-4,
                                        "sketch_size": 60}},
    {"name": "natural-heavy-ball", "options": {"hidden": [16, 16], "steps": 5, "optimizer": "natural-heavy-ball",
                                               "solver": "woodbury", "damping": 1e-4, "resample_every": 2}},
    {"name": "engd-geodesic", "options": {"hidden": [16], "steps": 3, "optimizer": "engd-geodesic", "solver": "dense",
                                          "damping": 1e-4},
     # its first steps take α ≈ 2⁻⁸ of a long refined direction and amplify rounding about tenfold per step
     # (1.5e-11 after one step, 2.7e-9 after three)
     "tolerance": 1e-7},
    {"name": "natural-auto", "options": {"hidden": [16], "steps": 5, "optimizer": "natural-auto", "solver": "dense",
                                         "damping": 1e-4},
     # its bent steps amplify rounding like engd-geodesic's (3e-9 after five steps)
     "tolerance": 1e-7},
    {"name": "adam", "options": {"hidden": [16], "steps": 5, "optimizer": "adam"}},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args, processes=2, timeout=300):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
               "--master-addr", "127.0.0.1", "--master-port", str(free_port()), *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


def test_rows_are_cut_into_contiguous_blocks_across_terms():
    assert distributed.split(190, 2) == [95, 95] and distributed.split(10, 4) == [3, 3, 2, 2]
    points = {"interior": Collocation(torch.arange(7.0)[:, None]), "boundary": Collocation(torch.arange(7.0, 10)[:, None])}
    shares = []
    for rank in range(3):
        sharding = distributed.Sharding(distributed.Group(rank, 3, torch.device("cpu")))
        share = sharding.points(points)
        assert [pts.set_size for pts in share.values()] == [7, 3]
        shares.append(torch.cat([pts.x for pts in share.values()]).flatten().tolist())
        assert (sharding.block.start, sharding.block.count, sharding.block.total) == ([0, 4, 7][rank], [4, 3, 3][rank], 10)
    assert shares == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_two_processes_reach_the_theta_of_one_process_on_all_points(tmp_path):
    done = torchrun("tests/distributed_worker.py", tmp_path, json.dumps(CASES))
    assert done.returncode == 0, done.stderr[-3000:]
    for case in CASES:
        options = {**case["options"], "hidden": tuple(case["options"]["hidden"]), "n_points": POINTS}
        single = api.solve(pdes.poisson(hard_bc=False, dim=2), device="cpu", **options)
        shared = torch.load(tmp_path / f"{case['name']}.pt", weights_only=False)
        difference = float((shared["theta"] - single.theta).abs().max() / single.theta.abs().max())
        tolerance = case.get("tolerance", 1e-10)
        assert difference < tolerance, (case["name"], difference)
        assert abs(shared["metrics"]["rel_l2"] - single.metrics["rel_l2"]) < 10 * tolerance * single.metrics["rel_l2"]
    dense = torch.load(tmp_path / "dense.pt", weights_only=False)["metrics"]
    p = dense["num_params"]
    assert 8 * (p * p + p) <= dense["comm_bytes_per_step"] < 8 * (p * p + 3 * p + 200)  # Gram, Jᵀr, losses, clock
    woodbury = torch.load(tmp_path / "woodbury.pt", weights_only=False)["metrics"]
    assert woodbury["comm_bytes_per_step"] >= 8 * 95 * woodbury["num_params"]  # half of J gathered


def test_two_processes_stop_together_when_their_update_stalls(tmp_path):
    case = {"name": "stalls", "options": {"hidden": [4], "steps": 400, "solver": "dense", "damping": 1e-4}}
    done = torchrun("tests/distributed_worker.py", tmp_path, json.dumps([case]))
    assert done.returncode == 0, done.stderr[-3000:]
    shared = torch.load(tmp_path / "stalls.pt", weights_only=False)["metrics"]
    single = api.solve(pdes.poisson(hard_bc=False, dim=2), device="cpu", hidden=(4,), steps=400, solver="dense", damping=1e-4,
                       n_points=POINTS).metrics
    assert shared["stop_reason"] == single["stop_reason"] == "stalled" and shared["steps"] < 400
    assert abs(shared["rel_l2"] - single["rel_l2"]) < 1e-6 * single["rel_l2"]


def test_a_failing_process_stops_the_whole_job(tmp_path):
    done = torchrun("tests/distributed_worker.py", tmp_path, json.dumps(CASES[:1]), "--fail-at", "2", "--timeout", "20",
                    timeout=240)
    assert done.returncode != 0
    assert "process 1 fails at step 2" in done.stderr
    assert not (tmp_path / "dense.pt").exists()


def solve_args(out, steps, *extra):
    return ["scripts/solve.py", "--hidden", "16,16", "--n-interior", "150", "--n-boundary", "40", "--optimizer",
            "natural-heavy-ball", "--solver", "woodbury", "--damping", "1e-4", "--resample-every", "2", "--device", "cpu",
            "--steps", str(steps), "--checkpoint-every", "2", "--no-plots", "--quiet", "--out", str(out), *extra]


def test_command_line_over_two_processes_writes_one_run_and_resumes_with_as_many(tmp_path):
    straight = torchrun(*solve_args(tmp_path / "straight", 6))
    assert straight.returncode == 0, straight.stderr[-3000:]
    assert straight.stdout.count("rel_l2") == 1
    saved = json.loads((tmp_path / "straight" / "config.json").read_text())
    history = (tmp_path / "straight" / "history.csv").read_text().splitlines()
    assert saved["processes"] == 2 and history[0].endswith(",comm_bytes") and len(history) == 8
    first = torchrun(*solve_args(tmp_path / "resumed", 3))
    assert first.returncode == 0, first.stderr[-3000:]
    alone = subprocess.run([sys.executable, "scripts/solve.py", "--resume", str(tmp_path / "resumed"), "--steps", "6"],
                           capture_output=True, text=True, cwd=ROOT)
    assert alone.returncode == 2 and "run by 2 process(es)" in alone.stderr
    resumed = torchrun("scripts/solve.py", "--resume", tmp_path / "resumed", "--steps", "6", "--quiet", "--no-plots")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    theta = [torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)["theta"] for name in ("straight", "resumed")]
    assert torch.equal(theta[0], theta[1])
