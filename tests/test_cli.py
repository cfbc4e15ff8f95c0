import csv
import json
import signal
import subprocess
import sys
import time
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
    assert len(rows) == 9 and list(rows[0]) == ["step", "wall_time_s", "loss", "rel_l2", "abs_l2", "step_size", "damping", "rcond", "ratio"]
    assert float(rows[-1]["rel_l2"]) == pytest.approx(metrics["rel_l2"], rel=1e-12)
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)
    assert checkpoint["theta"].shape == (12 * 2 + 12 + 13,)
    assert "rel_l2" in done.stdout
    assert all((out / name).is_file() for name in ("field.vtu", "field.png", "curves.png"))



@pytest.mark.parametrize(("extra", "exact"), [((), True), (("--n-boundary", "20"), False), (("--no-hard-bc",), False)])
def test_dirichlet_data_are_exact_unless_boundary_points_or_no_hard_bc_ask_for_a_boundary_term(tmp_path, extra, exact):
    """The default on the unit box imposes the data exactly; a boundary point count keeps the boundary term; the run
    folder records which, so that a resumed or repeated run does not depend on the default."""
    out = tmp_path / "run"
    done = run("--pde", "poisson", "--steps", "1", "--hidden", "4", "--n-interior", "30", "--n-eval", "50", *extra,
               "--no-plots", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["hard_bc"] is exact and ("n_boundary" in config) is not exact and config["n_interior"] == 30


@pytest.mark.parametrize(
    "args,message",
    [
        (["--pde", "burgers"], "unknown PDE"),
        (["--pde", "burgers", "--n-boundary", "5"], "unknown PDE"),
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
        (["--stepz", "3"], "did you mean --steps"),
        (["--dim", "5", "--slice", "x1,x9"], "x9"),
        (["--grid", "1"], "grid"),
        (["--optimizer", "sgd"], "natural-nesterov"),
        (["--solver", "nystrom", "--sketch-size", "0"], "sketch size"),
        (["--solver", "nystrom-pcg", "--cg-steps", "-1"], "CG steps"),
        (["--damping", "-1"], "damping must be ≥ 0"),
        (["--mixed-precision", "--dtype", "float32"], "float64"),
        (["--n-interior", "100000000", "--solver", "woodbury"], "would not fit"),
        (["--neumann", "x9=0"], "not one of x1=0"),
        (["--neumann", "x1=0", "--hard-bc"], "hard"),
        (["--n-neumann", "50"], "no neumann term"),
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


SMALL = ["--hidden", "12", "--n-interior", "150", "--n-boundary", "40", "--n-eval", "300", "--quiet", "--no-plots"]


def history_of(out):
    return [{k: v for k, v in row.items() if k != "wall_time_s"} for row in csv.DictReader((out / "history.csv").open())]


def test_toml_config_flags_override_it_and_config_json_repeats_the_run(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('pde = "poisson"\nhidden = [12]\nn-interior = 150\nn_boundary = 40\nn_eval = 300\nsteps = 50\nquiet = true\nplots = false\n')
    first = run("--config", str(toml), "--steps", "5", "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert saved["steps"] == 5 and saved["hidden"] == [12] and saved["n_interior"] == 150 and saved["solver"] == "auto"
    assert "out" not in saved and saved["solver_used"] == "svd"
    again = run("--config", str(tmp_path / "a" / "config.json"), "--out", str(tmp_path / "b"), "--quiet", "--no-plots")
    assert again.returncode == 0, again.stderr
    assert history_of(tmp_path / "b") == history_of(tmp_path / "a") and len(history_of(tmp_path / "a")) == 6


def test_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path):
    args = ["--pde", "poisson", "--hidden", "16,16", "--n-interior", "400", "--n-boundary", "80", "--n-eval", "300",
            "--optimizer", "natural-heavy-ball", "--resample-every", "4", "--steps", "24", "--checkpoint-every", "1",
            "--quiet", "--no-plots"]
    whole = run(*args, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "cut"
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "solve.py"), *args, "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr
    cut_at = torch.load(out / "checkpoint.pt", weights_only=True)["step"]
    assert 1 <= cut_at < 24
    resumed = run("--resume", str(out), "--no-plots")
    assert resumed.returncode == 0, resumed.stderr
    final = torch.load(out / "checkpoint.pt", weights_only=True)
    assert final["step"] == 24
    assert torch.equal(final["theta"], torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)["theta"])
    assert history_of(out) == history_of(tmp_path / "whole")
    assert json.loads((out / "metrics.json").read_text())["stop_reason"] == "steps"


def test_truncated_checkpoint_is_a_usage_error_and_the_previous_one_resumes(tmp_path):
    out = tmp_path / "r"
    assert run(*SMALL, "--steps", "4", "--checkpoint-every", "2", "--out", str(out)).returncode == 0
    checkpoint = out / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    done = run("--resume", str(out), "--steps", "6")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "truncated" in lines[0] and "checkpoint-previous.pt" in lines[0]
    again = run("--resume", str(out / "checkpoint-previous.pt"), "--steps", "6", "--quiet", "--no-plots")
    assert again.returncode == 0, again.stderr
    assert torch.load(checkpoint, weights_only=True)["step"] == 6


@pytest.mark.parametrize(
    "content,message",
    [
        (None, "cannot read"),
        ("steps = = 3", "not valid TOML"),
        ("stepz = 3", "did you mean 'steps'"),
        ("steps = 2.5", "'steps' must be an integer"),
        ("hidden = [32, -1]", "hidden widths"),
        ("optimizer = 'sgd'", "'optimizer' must be one of"),
        ("line_search = 'yes'", "true or false"),
    ],
)
def test_bad_config_files_exit_2_naming_the_key(content, message, tmp_path):
    path = tmp_path / "run.toml"
    if content is not None:
        path.write_text(content + "\n")
    done = run("--config", str(path), "--out", str(tmp_path / "r"), "--quiet")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr


def test_resume_refuses_changed_settings_and_folders_that_are_not_runs(tmp_path):
    out = tmp_path / "r"
    assert run(*SMALL, "--steps", "2", "--out", str(out)).returncode == 0
    changed = run("--resume", str(out), "--hidden", "20")
    assert changed.returncode == 2 and "--hidden" in changed.stderr and len(changed.stderr.strip().splitlines()) == 1
    empty = run("--resume", str(tmp_path))
    assert empty.returncode == 2 and "not a run folder" in empty.stderr
