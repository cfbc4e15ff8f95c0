"""``pdes.custom``: derivatives found by probing, data derived from an exact solution, every residual of it zero, the
fast Jacobian against the reference for every worked example, training, and problems from a user's file."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from checks import assert_fast_jacobian_is_the_reference, perturbed_setup

import pdes
from pdes.custom import derivatives_read, exact_jet
from pdes.examples import EXAMPLES
from pinn_natmom import api

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("operator,timed,expected", [
    (lambda x, u: -u.laplacian + u.value**3, False, {"value", "laplacian"}),
    (lambda x, u: u.grad[..., 0] - x[..., 1], False, {"value", "grad"}),
    (lambda x, u: u.hessian[..., 0, 1], False, {"value", "hessian"}),
    (lambda x, u: u.dt - u.hessian[..., 0, 0], True, {"value", "grad", "hessian"}),
])
def test_the_probe_finds_what_an_operator_reads(operator, timed, expected):
    assert derivatives_read(operator, 1 if timed else 2, timed) == expected


def test_an_operator_that_cannot_be_probed_gets_every_derivative():
    def operator(x, u):
        if float(u.value.abs().max()) == 0:
            raise ZeroDivisionError
        return u.value

    assert derivatives_read(operator, 2, False) == {"value", "grad", "laplacian", "hessian"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_exact_solution_makes_every_residual_vanish(name):
    problem = EXAMPLES[name]()
    generator = torch.Generator().manual_seed(2)
    for term in problem.terms:
        x = term.sampler(40, generator)
        data = term.collocate(x).data
        jet = exact_jet(problem.exact, x, problem.dim - (problem.time_axis is not None))
        rho = term.residual(x, jet, data)
        assert float(rho.abs().max()) < 1e-11 * max(1.0, float(data.abs().max()))


def test_the_source_is_the_operator_applied_to_the_exact_solution():
    problem = pdes.examples.anisotropic()
    x = torch.tensor([[0.3, 0.7]], dtype=torch.float64)
    pi, s, c = math.pi, math.sin, math.cos
    uxx = uyy = -pi**2 * s(0.3 * pi) * s(0.7 * pi)
    uxy = pi**2 * c(0.3 * pi) * c(0.7 * pi) + 0.5
    expected = torch.tensor([-(uxx + uxy + 2 * uyy)], dtype=torch.float64)
    torch.testing.assert_close(problem.terms[0].data(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_fast_jacobian_equals_the_reference(name):
    problem = EXAMPLES[name]()
    assert_fast_jacobian_is_the_reference(problem, *perturbed_setup(problem, points_per_term=13))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_trains_below_1e_5(name):
    problem = EXAMPLES[name]()
    counts = {t: 300 if t == "interior" else 80 for t in problem.term_names}
    result = api.solve(problem, hidden=(16, 16), steps=200, device="cpu", n_points=counts, target_rel_l2=1e-6)
    assert result.metrics["rel_l2"] < 1e-5


def test_a_problem_file_runs_and_its_hash_is_recorded(tmp_path):
    source = tmp_path / "my_problem.py"
    source.write_text("import pdes.examples\n\ndef problem():\n    return pdes.examples.allen_cahn()\n")
    out = tmp_path / "run"
    command = [sys.executable, str(ROOT / "scripts" / "solve.py"), "--problem", str(source), "--steps", "2",
               "--hidden", "8", "--quiet", "--no-plots", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["problem_file"] == str(source.resolve()) and len(config["problem_sha256"]) == 64
    assert config["pde"] == "allen-cahn"
    source.write_text(source.read_text() + "# changed\n")
    resumed = subprocess.run([sys.executable, str(ROOT / "scripts" / "solve.py"), "--resume", str(out), "--steps", "3"],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert resumed.returncode == 2 and "changed since the run was made" in resumed.stderr


@pytest.mark.parametrize("text,message", [
    ("def problem():\n    return 3\n", "returned a int"),
    ("x = 1\n", "defines no function problem()"),
    ("def problem():\n    raise RuntimeError('boom')\n", "RuntimeError: boom"),
])
def test_bad_problem_files_exit_2_with_one_line(text, message, tmp_path):
    source = tmp_path / "bad.py"
    source.write_text(text)
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "solve.py"), "--problem", str(source), "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr


def test_a_configuration_file_never_names_a_problem_file(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(f'problem_file = "{tmp_path / "x.py"}"\n')
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "solve.py"), "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 2 and "never execute code" in done.stderr
