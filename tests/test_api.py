"""The public surface: the verbs at the package top, the layering of the engine, and the documentation of every
command-line setting."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import pdes
import pinn_natmom
from pinn_natmom.cli import settings

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(hidden=(8,), n_points={"interior": 60, "boundary": 20}, n_eval=200, device="cpu")


def test_the_public_verbs_are_at_the_package_top():
    result = pinn_natmom.solve(pdes.poisson(hard_bc=False, dim=2), steps=3, **SMALL)
    assert isinstance(result, pinn_natmom.Result) and isinstance(result.options, pinn_natmom.Options)
    assert result.metrics["steps"] == 3 and len(result.history) == 4
    assert result(torch.rand(4, 2, dtype=torch.float64)).shape == (4,)


def test_stepping_by_hand_follows_the_same_trajectory_as_solve():
    problem = pdes.poisson(hard_bc=False, dim=2)
    whole = pinn_natmom.solve(problem, steps=4, optimizer="natural-auto", **SMALL)
    trainer = pinn_natmom.setup(problem, steps=4, optimizer="natural-auto", **SMALL)
    lin = trainer.linearise()
    assert lin.jacobian.shape == (80, trainer.network.num_params)
    rows = [trainer.step() for _ in range(2)]
    fitted = trainer.run()
    assert [r["loss"] for r in rows] == [r["loss"] for r in whole.history[1:3]]
    assert torch.equal(fitted.theta, whole.theta) and trainer.solver == whole.metrics["solver"]


def test_a_saved_run_loads_back_as_a_result(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "scripts/solve.py", "--pde", "heat", "--steps", "3", "--hidden", "8",
                           "--n-interior", "50", "--n-boundary", "10", "--n-initial", "10", "--n-eval", "100",
                           "--no-plots", "--quiet", "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    result = pinn_natmom.load(out)
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)
    assert torch.equal(result.theta, checkpoint["theta"]) and result.metrics["steps"] == 3
    assert result.problem.name == "heat" and result.options.n_points == {"interior": 50, "boundary": 10, "initial": 10}
    x = torch.rand(5, 2, dtype=torch.float64)
    assert torch.equal(result(x), result.network.forward(result.theta, x))


def test_the_engine_imports_neither_the_pde_library_nor_the_command_line():
    pattern = re.compile(r"^\s*(from|import) (pdes|pinn_natmom\.cli)\b|^\s*from \.+cli\b", re.M)
    engine = [p for p in (ROOT / "pinn_natmom").rglob("*.py") if "cli" not in p.relative_to(ROOT / "pinn_natmom").parts]
    top = ROOT / "pinn_natmom" / "__init__.py"  # re-exports load, importing the command line only when called
    offenders = [str(p) for p in engine if pattern.search(p.read_text()) and p != top]
    assert offenders == []
    cli = (ROOT / "pinn_natmom" / "cli").rglob("*.py")
    assert not [p for p in cli if re.search(r"^\s*(from|import) pdes\b", p.read_text(), re.M)]


def test_every_setting_is_documented_in_the_user_guide():
    guide = (ROOT / "docs" / "pages" / "guide.md").read_text()
    missing = [s.flag for s in settings.table().values() if f"`{s.flag}" not in guide and f" {s.flag}" not in guide]
    assert missing == []


def test_the_readme_stays_short_and_opens_with_its_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150
    commands = [line for line in lines[:6] if line.startswith("python3 -m venv")]
    assert commands[0].endswith("python scripts/solve.py --pde poisson") and commands[1].endswith("python -m pytest")


def test_a_time_limit_without_steps_leaves_the_steps_to_it():
    from pinn_natmom.options import UNLIMITED_STEPS

    problem = pdes.poisson(hard_bc=False, dim=2)
    assert pinn_natmom.Options(time_limit=5.0).resolved(problem).steps == UNLIMITED_STEPS
    assert pinn_natmom.Options(time_limit=5.0, steps=7).resolved(problem).steps == 7
    assert pinn_natmom.Options().resolved(problem).steps == 60


def test_a_point_count_for_a_term_the_problem_lacks_is_refused_naming_its_terms_and_the_exact_constraint():
    with pytest.raises(ValueError, match=r"^poisson has no neumann term; its terms are interior, boundary$"):
        pinn_natmom.setup(pdes.poisson(hard_bc=False), n_points={"neumann": 10})
    with pytest.raises(ValueError, match=r"no boundary term; its terms are interior; its Dirichlet data are imposed "
                                         r"exactly: build it with hard_bc=False \(--no-hard-bc\)"):
        pinn_natmom.setup(pdes.poisson(hard_bc=True), n_points={"boundary": 10})
