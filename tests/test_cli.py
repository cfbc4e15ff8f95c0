import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "solve.py"), *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


def test_solve_writes_a_complete_run_folder(tmp_path):
    out = tmp_path / "run"
    done = run("--pde", "poisson", "--steps", "8", "--hidden", "12", "--n-interior", "150", "--n-boundary", "40",
               "--n-eval", "300", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("rel_l2", "abs_l2", "steps", "wall_time_s", "pde", "optimizer"):
        assert key in metrics
    assert metrics["steps"] == 8 and metrics["pde"] == "poisson"
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 0 and config["hidden"] == [12] and "torch" in config["environment"]
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert len(rows) == 9 and list(rows[0]) == ["step", "wall_time_s", "loss", "rel_l2", "abs_l2", "step_size", "damping"]
    assert float(rows[-1]["rel_l2"]) == pytest.approx(metrics["rel_l2"], rel=1e-12)
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)
    assert checkpoint["theta"].shape == (12 * 2 + 12 + 13,)
    assert "rel_l2" in done.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["--pde", "burgers"], "unknown PDE"),
        (["--dim", "0"], "dimension"),
        (["--steps", "-3"], "steps"),
        (["--n-interior", "0"], "interior"),
        (["--dtype", "float16"], "dtype"),
        (["--hidden", "64,x"], "hidden"),
        (["--solver", "qr"], "solver"),
        (["--optimizer", "sgd"], "optimizer"),
        (["--optimizer", "engd", "--momentum", "0.5"], "momentum"),
        (["--optimizer", "natural-nesterov", "--momentum", "1.5"], "momentum"),
        (["--warmup-adam", "-1"], "warmup"),
        (["--pde", "helmholtz", "--dim", "7"], "dimension"),
        (["--pde", "helmholtz", "--k", "-2"], "wave number"),
        (["--pde", "poisson", "--k", "3"], "helmholtz only"),
        (["--pde", "heat", "--diffusivity", "0"], "diffusivity"),
        (["--pde", "poisson", "--n-initial", "50"], "no initial term"),
        (["--sampler", "halton"], "unknown sampler"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message, tmp_path):
    done = run(*args, "--out", str(tmp_path / "r"), "--quiet")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_existing_run_folder_is_refused(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "metrics.json").write_text("{}")
    done = run("--steps", "1", "--out", str(tmp_path / "r"), "--quiet")
    assert done.returncode == 2 and "--overwrite" in done.stderr


def test_cuda_without_a_device_is_a_usage_error(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    done = run("--device", "cuda", "--out", str(tmp_path / "r"), "--quiet")
    assert done.returncode == 2 and "CUDA" in done.stderr


def test_list_prints_every_problem():
    done = run("--list")
    assert done.returncode == 0 and all(name in done.stdout for name in ("poisson", "heat", "helmholtz"))
