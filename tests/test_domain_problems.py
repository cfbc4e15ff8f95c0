"""The PDE families on domains other than the box: residuals of exact solutions, the fast Jacobian, Neumann data on
named parts, the exact constraint through the distance function, output on the domain's own mesh, and bad input."""
import subprocess
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest
import pyvista
import torch
from checks import (
    assert_exact_solution_makes_every_residual_vanish,
    assert_fast_jacobian_is_the_reference,
    perturbed_setup,
)

import pdes
from pdes.geometry import Ball
from pinn_natmom import api
from pinn_natmom.export import RenderOptions, render_run
from pinn_natmom.export.fields import evaluate_fields
from pinn_natmom.network import MLP
from pinn_natmom.train import sample_points

ROOT = Path(__file__).resolve().parents[1]
SMOOTH = lambda x: torch.exp(0.5 * x[..., 0]) * torch.cos(x[..., 1]) + x[..., 0] * x[..., 1]
CASES = [
    ("poisson", dict(domain="disk")),
    ("poisson", dict(domain="lshape", neumann="edge0,edge3")),
    ("poisson", dict(domain="plate-with-hole", neumann="hole", exact=SMOOTH)),
    ("helmholtz", dict(domain="annulus", k=5.0)),
    ("heat", dict(domain="lshape", neumann="edge1")),
    ("poisson", dict(domain=pdes.Box((0.0, 0.0), (1.0, 1.0)) - pdes.Ball((1.0, 1.0), 0.5))),
]


def mesh_file(tmp_path: Path) -> Path:
    """An annulus (radii 1 and ½) as a triangle mesh written by meshio."""
    domain = pdes.geometry.named("annulus")
    points, cells = domain.output_mesh(12)
    path = tmp_path / "annulus.vtu"
    meshio.write(path, meshio.Mesh(np.column_stack([points, np.zeros(len(points))]), [("triangle", cells)]))
    return path


@pytest.mark.parametrize("name,options", CASES)
def test_exact_solution_makes_every_residual_vanish_on_the_domain(name, options):
    assert_exact_solution_makes_every_residual_vanish(pdes.make(name, **{"hard_bc": False, **options}), n=50, seed=3)


def test_points_lie_in_the_domain_and_on_their_parts():
    problem = pdes.poisson(hard_bc=False, domain="lshape", neumann="edge0")
    lshape = pdes.geometry.named("lshape")
    points = sample_points(problem, {"interior": 300, "boundary": 200, "neumann": 100}, torch.Generator().manual_seed(0),
                           torch.float64, "cpu")
    assert bool(lshape.contains(points["interior"].x).all())
    assert float(lshape.distance(points["boundary"].x).abs().max()) < 1e-12
    assert bool((points["neumann"].x[:, 1] == 0).all())  # edge0 is y = 0
    assert "edge0" not in {lshape.parts[i] for i in lshape.part_of(points["boundary"].x).tolist()}
    normals = points["neumann"].data[:, 1:]
    torch.testing.assert_close(normals, torch.tensor([0.0, -1.0], dtype=torch.float64).expand_as(normals))


@pytest.mark.parametrize("name,options", [("poisson", dict(domain="plate-with-hole")), ("heat", dict(domain="disk")),
                                          ("poisson", dict(domain="lshape", neumann="edge2"))])
def test_fast_jacobian_equals_the_reference_on_a_domain(name, options):
    problem = pdes.make(name, **{"hard_bc": False, **options})
    assert_fast_jacobian_is_the_reference(problem, *perturbed_setup(problem, points_per_term=11))


def test_distance_constraint_holds_the_dirichlet_data_exactly():
    problem = pdes.poisson(domain="disk", exact=SMOOTH, hard_bc=True)
    assert problem.term_names == ("interior",)
    mlp = MLP.of(2, (6,))
    theta = mlp.init(torch.Generator().manual_seed(0))
    x = Ball((0.0, 0.0), 1.0).boundary_sampler()(64, torch.Generator().manual_seed(1))
    u = evaluate_fields(problem, mlp, theta, x.numpy())["u"]
    np.testing.assert_allclose(u, SMOOTH(x).numpy(), rtol=0, atol=1e-12)


def test_poisson_on_the_lshape_trains():
    result = api.solve(pdes.poisson(hard_bc=False, domain="lshape"), steps=40, device="cpu", n_points={"interior": 500, "boundary": 100})
    assert result.metrics["rel_l2"] < 1e-7


def test_field_is_written_on_the_users_mesh(tmp_path):
    path = mesh_file(tmp_path)
    problem = pdes.poisson(hard_bc=False, domain=str(path))
    result = api.solve(problem, hidden=(8,), steps=3, device="cpu", n_points={"interior": 200, "boundary": 60})
    render_run(result, tmp_path / "run", RenderOptions(plots=False))
    given, written = meshio.read(path), meshio.read(tmp_path / "run" / "field.vtu")
    np.testing.assert_array_equal(written.points[:, :2], given.points[:, :2])
    np.testing.assert_array_equal(written.cells_dict["triangle"], given.cells_dict["triangle"])
    model = result(torch.as_tensor(given.points[:, :2])).detach().numpy()
    np.testing.assert_allclose(written.point_data["u"], model, rtol=0, atol=1e-13 * np.abs(model).max())
    assert pyvista.read(tmp_path / "run" / "field.vtu").n_cells == len(given.cells_dict["triangle"])


def test_heat_on_a_disk_writes_frames_on_the_disk(tmp_path):
    result = api.solve(pdes.heat(hard_bc=False, domain="disk"), hidden=(6,), steps=1, device="cpu",
                       n_points={"interior": 50, "boundary": 20, "initial": 20})
    render_run(result, tmp_path, RenderOptions(plots=False, frames=3, grid=8))
    frame = meshio.read(tmp_path / "frames" / "field_002.vtu")
    assert set(frame.cells_dict) == {"triangle"}
    radius = np.linalg.norm(frame.points[:, :2], axis=1)
    assert radius.max() <= 1.0 + 1e-12


def solve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "solve.py"), *args, "--steps", "1", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("args,message", [
    (["--domain", "moon"], "unknown domain 'moon'"),
    (["--domain", "missing.msh"], "no mesh file"),
    (["--domain", "lshape", "--neumann", "rim"], "unknown boundary part(s) rim"),
    (["--domain", "disk", "--dim", "3"], "the domain is 2-d"),
])
def test_bad_domains_exit_2_with_one_line(args, message, tmp_path):
    done = solve(*args, "--out", str(tmp_path / "run"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_unreadable_and_unsupported_meshes_exit_2(tmp_path):
    garbage = tmp_path / "broken.msh"
    garbage.write_text("not a mesh")
    quads = tmp_path / "quads.vtu"
    meshio.write(quads, meshio.Mesh(np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]), [("quad", [[0, 1, 2, 3]])]))
    for path, message in ((garbage, "cannot read the mesh file"), (quads, "cell types: quad")):
        done = solve("--domain", str(path), "--out", str(tmp_path / "run"))
        assert done.returncode == 2 and message in done.stderr, done.stderr
