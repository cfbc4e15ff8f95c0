import math

import pytest
import torch
from torch.func import vmap

import pdes
from pdes.manufactured import gradient_of, laplacian_of
from pinn_natmom.problem import Jet


def exact_jet(u, x, dims=None):
    return Jet(value=u(x), grad=gradient_of(u)(x), laplacian=laplacian_of(u, dims)(x))


@pytest.mark.parametrize("dim", [1, 2, 3, 5, 12])
def test_exact_solution_makes_every_residual_vanish(dim):
    problem = pdes.poisson(hard_bc=False, dim=dim)
    generator = torch.Generator().manual_seed(3)
    for term in problem.terms:
        x = term.sampler(50, generator)
        pts = term.collocate(x)
        rho = term.residual(x, exact_jet(problem.exact, x), pts.data)
        assert float(rho.abs().max()) < 1e-12


def test_derived_source_is_the_closed_form():
    problem = pdes.poisson(hard_bc=False, dim=2)
    x = torch.rand(20, 2)
    closed = 2 * math.pi**2 * torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])
    torch.testing.assert_close(problem.terms[0].data(x), closed, rtol=1e-13, atol=1e-13)
    assert float(problem.terms[1].data(torch.tensor([[0.0, 0.4], [0.7, 1.0]])).abs().max()) < 1e-15


def test_user_exact_solution_and_source_only():
    problem = pdes.poisson(hard_bc=False, dim=2, exact=lambda x: torch.exp(x[..., 0]) * x[..., 1] ** 2)
    x = torch.rand(5, 2)
    torch.testing.assert_close(problem.terms[0].data(x), -(torch.exp(x[:, 0]) * (x[:, 1] ** 2 + 2)), rtol=1e-13, atol=0)
    sourced = pdes.poisson(hard_bc=False, dim=3, source=lambda x: torch.ones(x.shape[:-1], dtype=x.dtype))
    assert sourced.exact is None
    assert float(sourced.terms[1].data(x.new_zeros(4, 3)).abs().max()) == 0.0


def test_boundary_points_lie_on_the_faces_and_interior_inside():
    problem = pdes.poisson(hard_bc=False, dim=3)
    generator = torch.Generator().manual_seed(0)
    boundary = problem.terms[1].sampler(600, generator)
    on_face = ((boundary == 0) | (boundary == 1)).any(dim=1)
    assert bool(on_face.all()) and bool(((boundary >= 0) & (boundary <= 1)).all())
    counts = torch.stack([(boundary[:, j] == 0) | (boundary[:, j] == 1) for j in range(3)]).sum(dim=1)
    assert int(counts.min()) > 150  # all three axes' faces are hit
    interior = problem.terms[0].sampler(100, generator)
    assert interior.shape == (100, 3) and bool(((interior > 0) & (interior < 1)).all())


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        pdes.poisson(hard_bc=False, dim=0)
    with pytest.raises(ValueError, match="unknown PDE"):
        pdes.make("navier-stokes")
    with pytest.raises(ValueError, match="not both"):
        pdes.poisson(hard_bc=False, exact=lambda x: x[..., 0], source=lambda x: x[..., 0])


def test_residuals_work_under_vmap_point_by_point():
    problem = pdes.poisson(hard_bc=False, dim=2)
    term = problem.terms[0]
    x = torch.rand(4, 2)
    pts = term.collocate(x)
    pointwise = vmap(lambda p, f: term.residual(p, exact_jet(problem.exact, p.unsqueeze(0)), f))(x, pts.data)
    assert pointwise.shape[0] == 4


def test_the_initialisation_follows_the_network_not_the_problem_and_is_recorded_resolved():
    from pinn_natmom.cli import resolve as runs
    from pinn_natmom.cli import settings as table

    for pde, dim, scheme in (("poisson", 2, "uniform"), ("poisson", 5, "uniform"), ("helmholtz", 2, "glorot")):
        settings = {**table.defaults(), "pde": pde, "dim": dim}
        problem, options = runs.resolve(settings)
        assert options.network(problem.dim).resolved_init == scheme
        assert runs.resolved(settings, problem, options)["init"] == scheme
    settings = {**table.defaults(), "pde": "poisson", "dim": 5, "init": "glorot"}
    assert runs.resolve(settings)[1].network(5).resolved_init == "glorot"
