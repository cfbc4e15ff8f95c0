"""Heat and Helmholtz: derived data, residuals of the exact solution, fast Jacobian, samplers, bad requests."""
import dataclasses
import math

import pytest
import torch
from checks import assert_exact_solution_makes_every_residual_vanish

import pdes
from pdes.domains import Box, interior_sampler
from pinn_natmom.linearise import linearise
from pinn_natmom.network import MLP
from pinn_natmom.problem import Jet
from pinn_natmom.train import sample_points

CASES = [
    ("heat", dict(dim=1)), ("heat", dict(dim=2, diffusivity=0.1, final_time=0.5)), ("heat", dict(dim=4)),
    ("helmholtz", dict(dim=1, k=3.0)), ("helmholtz", dict(dim=2)), ("helmholtz", dict(dim=3, k=2.5)),
    ("poisson", dict(dim=2, neumann="x1=0,x2=1")), ("heat", dict(dim=2, neumann="x1=1,x2=0")),
    ("helmholtz", dict(dim=2, k=5.0, neumann=["x1=0"])),
]


@pytest.mark.parametrize("name,options", CASES)
def test_exact_solution_makes_every_residual_vanish(name, options):
    assert_exact_solution_makes_every_residual_vanish(pdes.make(name, **{"hard_bc": False, **options}), n=40, seed=4)


def test_heat_default_is_the_closed_form_and_points_lie_where_they_should():
    problem = pdes.heat(hard_bc=False, dim=1, final_time=2.0)
    x = torch.tensor([[0.3, 0.7]])
    assert math.isclose(float(problem.exact(x)), math.exp(-math.pi**2 * 0.7 / 4) * math.sin(0.3 * math.pi), rel_tol=1e-14)
    assert float(problem.terms[0].data(torch.rand(10, 2)).abs().max()) < 1e-12  # homogeneous equation: f = 0
    generator = torch.Generator().manual_seed(0)
    interior, boundary, initial = (t.sampler(200, generator) for t in problem.terms)
    assert bool(((interior[:, 1] >= 0) & (interior[:, 1] <= 2.0)).all())
    assert bool(((boundary[:, 0] == 0) | (boundary[:, 0] == 1)).all()) and float(boundary[:, 1].max()) > 1.0
    assert bool((initial[:, 1] == 0).all())


def test_helmholtz_source_is_the_closed_form():
    k = 4 * math.pi
    problem = pdes.helmholtz(hard_bc=False, dim=2)
    x = torch.rand(15, 2)
    u = torch.sin(k * x[:, 0]) * torch.sin(k * x[:, 1])
    torch.testing.assert_close(problem.terms[0].data(x), k * k * u, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("name,options", [
    ("heat", dict(dim=1)), ("heat", dict(dim=3)), ("helmholtz", dict(dim=2, k=5.0)),
    ("poisson", dict(dim=2, neumann="x1=0")), ("poisson", dict(dim=3, hard_bc=True)), ("heat", dict(dim=1, hard_bc=True)),
    ("helmholtz", dict(dim=2, hard_bc=True, activation="sin")), ("heat", dict(dim=2, neumann="x1=1", activation="sin")),
])
@pytest.mark.parametrize("hidden", [(9,), (7, 5), (6, 5, 4)])
def test_fast_jacobian_equals_torch_func_reference(name, options, hidden, device):
    options = dict(options)
    activation = options.pop("activation", "tanh")
    problem = pdes.make(name, **{"hard_bc": False, **options})
    mlp = MLP.of(problem.dim, hidden, activation, 6.0 if activation == "sin" else 1.0)
    generator = torch.Generator().manual_seed(1)
    theta = (mlp.init(generator) + 0.05 * torch.randn(mlp.num_params, generator=generator)).to(device)
    points = sample_points(problem, {t: 13 for t in problem.term_names}, generator, torch.float64, device)
    fast, ref = linearise(mlp, problem, theta, points, "forward"), linearise(mlp, problem, theta, points, "reference")
    assert float((fast.jacobian - ref.jacobian).abs().max() / ref.jacobian.abs().max()) < 1e-10
    torch.testing.assert_close(fast.residual, ref.residual, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name,options,message", [
    ("helmholtz", dict(dim=7), "dimension"), ("helmholtz", dict(k=-1.0), "wave number"), ("heat", dict(dim=0), "dimension"),
    ("heat", dict(diffusivity=0.0), "diffusivity"), ("heat", dict(final_time=-1.0), "final time"),
])
def test_impossible_requests_are_refused(name, options, message):
    with pytest.raises(ValueError, match=message):
        pdes.make(name, **{"hard_bc": False, **options})


def test_source_without_exact_solution():
    problem = pdes.heat(hard_bc=False, dim=1, source=lambda x: torch.ones(x.shape[:-1], dtype=x.dtype))
    assert problem.exact is None and problem.term_names == ("interior", "boundary", "initial")


def test_resonant_wave_numbers_and_mixed_data_are_refused():
    with pytest.raises(ValueError, match="eigenvalue"):
        pdes.helmholtz(hard_bc=False, dim=1, k=4 * math.pi)
    with pytest.raises(ValueError, match="eigenvalue"):
        pdes.helmholtz(hard_bc=False, dim=2, k=5 * math.pi)  # 25 = 3² + 4²
    assert "14.14" in pdes.helmholtz(hard_bc=False, dim=1).description  # the 1-d default k = 4.5π is not resonant
    with pytest.raises(ValueError, match="final time"):
        pdes.heat(hard_bc=False, final_time=float("inf"))
    with pytest.raises(ValueError, match="not both"):
        pdes.poisson(hard_bc=False, dim=2, exact=lambda x: x[..., 0], boundary=lambda x: x[..., 1])
    with pytest.raises(ValueError, match="Laplacian coordinates"):
        problem = pdes.poisson(hard_bc=False, dim=2)
        type(problem)(problem.name, 2, (dataclasses.replace(problem.terms[0], laplacian_dims=(0, 2)),), problem.domain_sampler)


@pytest.mark.parametrize("name", ["uniform", "sobol", "lhs", "grid"])
def test_interior_samplers_fill_the_box_with_the_right_count(name):
    box = Box((0.0, 0.0, -1.0), (1.0, 2.0, 1.0))
    sample = interior_sampler(name, box)
    x = sample(125, torch.Generator().manual_seed(7))
    assert x.shape == (125, 3) and x.dtype == torch.float64
    assert bool((x >= torch.tensor(box.lo)).all() and (x <= torch.tensor(box.hi)).all())
    again = sample(125, torch.Generator().manual_seed(7))
    assert torch.equal(x, again)  # deterministic for a seed


def test_latin_hypercube_puts_one_point_in_every_stratum_and_grid_refuses_other_counts():
    x = interior_sampler("lhs", Box.unit(2))(50, torch.Generator().manual_seed(1))
    for j in range(2):
        assert sorted((x[:, j] * 50).floor().long().tolist()) == list(range(50))
    with pytest.raises(ValueError, match="2-th power"):
        interior_sampler("grid", Box.unit(2))(50, torch.Generator())
    with pytest.raises(ValueError, match="unknown sampler"):
        pdes.poisson(hard_bc=False, dim=2, sampler="halton")
    problem = pdes.heat(hard_bc=False, dim=1, sampler="sobol")
    first = problem.terms[0].sampler(64, torch.Generator().manual_seed(0))
    second = problem.terms[0].sampler(64, torch.Generator().manual_seed(1))
    assert not torch.equal(first, second)


def test_neumann_points_lie_on_their_faces_and_dirichlet_points_on_the_others():
    from pdes.neumann import outward_normal

    problem = pdes.heat(hard_bc=False, dim=2, neumann="x1=1,x2=0")
    points = sample_points(problem, {"interior": 10, "boundary": 300, "neumann": 300, "initial": 10},
                           torch.Generator().manual_seed(0), torch.float64, "cpu")
    x = points["neumann"].x
    on_x1 = x[:, 0] == 1.0
    assert bool((on_x1 | (x[:, 1] == 0.0)).all()) and 100 < int(on_x1.sum()) < 200
    normal = outward_normal(Box((0.0,) * 3, (1.0,) * 3), (1, 2), x)
    assert torch.equal(normal[on_x1], torch.tensor([1.0, 0.0, 0.0]).expand(int(on_x1.sum()), 3))
    assert torch.equal(normal[~on_x1], torch.tensor([0.0, -1.0, 0.0]).expand(int((~on_x1).sum()), 3))
    d = points["boundary"].x
    assert bool(((d[:, 0] == 0.0) | (d[:, 1] == 1.0)).all())


@pytest.mark.parametrize("options,message", [
    (dict(neumann="x3=0"), "not one of x1=0 … x2=1"), (dict(neumann="y1=0"), "not one of"),
    (dict(neumann="x1=0,x1=0"), "repeat"), (dict(neumann="x1=0,x1=1,x2=0,x2=1"), "at least one face"),
])
def test_bad_neumann_faces_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        pdes.poisson(hard_bc=False, dim=2, **options)


def test_poisson_with_neumann_faces_trains():
    from pinn_natmom import api

    problem = pdes.poisson(hard_bc=False, dim=2, neumann="x1=0,x2=1")
    result = api.solve(problem, hidden=(16, 16), steps=50, device="cpu", n_eval=1000,
                       n_points={"interior": 400, "boundary": 80, "neumann": 80})
    assert result.metrics["rel_l2"] < 1e-4


def test_hard_constraint_meets_the_dirichlet_data_exactly_at_boundary_points():
    exact = lambda x: torch.exp(x[..., 0]) * torch.sin(math.pi * x[..., 1]) + x[..., 2] ** 2 + 0.5  # noqa: E731
    problem = pdes.poisson(dim=3, exact=exact, hard_bc=True)
    assert problem.term_names == ("interior",)
    x = pdes.domains.uniform_boundary(Box.unit(3))(200, torch.Generator().manual_seed(1))
    network = torch.randn(200, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(problem.field(network, x), exact(x), rtol=0, atol=1e-14)
    inside = torch.rand(50, 3) * 0.8 + 0.1
    assert float((problem.field(network[:50], inside) - exact(inside)).abs().max()) > 1e-2


@pytest.mark.parametrize("name", ["poisson", "heat"])
def test_hard_constraint_residual_is_the_residual_of_the_transformed_field(name):
    """The lifted residual from the forward jet equals the plain residual of u = g̃ + φN differentiated by torch.func."""
    from torch.func import hessian, vmap

    problem, plain = pdes.make(name, hard_bc=True), pdes.make(name, hard_bc=False)
    plain_term = plain.terms[0]
    mlp = MLP.of(problem.dim, (6, 5))
    theta = mlp.init(torch.Generator().manual_seed(0)) + 0.1 * torch.randn(mlp.num_params)
    points = {t.name: t.collocate(t.sampler(20, torch.Generator().manual_seed(3))) for t in problem.terms}
    x = points["interior"].x
    fast = linearise(mlp, problem, theta, points)

    def u(p):
        return problem.field(mlp.forward(theta, p), p)

    diagonal = torch.diagonal(vmap(hessian(u))(x), dim1=-2, dim2=-1)
    dims = plain_term.laplacian_dims
    laplacian = diagonal.sum(-1) if dims is None else diagonal[:, list(dims)].sum(-1)
    jet = Jet(vmap(u)(x), vmap(torch.func.grad(u))(x), laplacian)
    expected = plain_term.residual(x, jet, plain_term.collocate(x).data) / 20**0.5
    torch.testing.assert_close(fast.residual[:20], expected, rtol=1e-10, atol=1e-10)


def test_hard_constraint_trains_and_refuses_neumann_faces():
    from pinn_natmom import api

    result = api.solve(pdes.poisson(dim=2, hard_bc=True), hidden=(16, 16), steps=40, device="cpu", n_eval=1000,
                       n_points={"interior": 300})
    assert result.metrics["rel_l2"] < 1e-6
    x = torch.tensor([[0.0, 0.3], [1.0, 0.7], [0.2, 1.0]])
    torch.testing.assert_close(result(x), torch.zeros(3), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="hard"):
        pdes.poisson(dim=2, neumann="x1=0", hard_bc=True)
    with pytest.raises(ValueError, match="hard"):
        pdes.heat(dim=1, neumann="x1=0", hard_bc=True)


@pytest.mark.parametrize("pde, dim, optimizer", [("poisson", 2, "natural-auto"), ("poisson", 5, "natural-auto"),
                                                 ("heat", 1, "natural-auto"), ("helmholtz", 2, "natural-auto")])
def test_each_problem_recommends_its_optimizer_and_an_explicit_choice_wins(pde, dim, optimizer):
    from pinn_natmom.cli import resolve as runs
    from pinn_natmom.cli import settings as table

    settings = {**table.defaults(), "pde": pde, "dim": dim}
    problem, options = runs.resolve(settings)
    assert options.optimizer == optimizer and runs.resolved(settings, problem, options)["optimizer"] == optimizer
    assert runs.resolve({**settings, "optimizer": "natural-nesterov"})[1].optimizer == "natural-nesterov"


@pytest.mark.parametrize(("name", "options", "exact"), [
    ("poisson", {}, True), ("poisson", {"dim": 3}, True), ("heat", {}, True), ("helmholtz", {}, True),
    ("poisson", {"dim": 5}, False), ("poisson", {"neumann": "x1=0"}, False), ("poisson", {"domain": "disk"}, False),
    ("heat", {"dim": 1, "neumann": "x1=1"}, False), ("poisson", {"hard_bc": False}, False),
    ("poisson", {"dim": 5, "hard_bc": True}, True),
])
def test_dirichlet_data_are_imposed_exactly_by_default_on_boxes_with_up_to_three_constrained_axes(name, options, exact):
    problem = pdes.make(name, **options)
    assert (problem.output is not None) is exact
    assert ("boundary" not in problem.term_names) is exact


def finite_difference_eigenvalue(widths: tuple[float, ...], n: int = 40) -> float:
    """The smallest eigenvalue of the second-order finite-difference −Δ (``n`` interior nodes per axis) with zero Dirichlet data on a box."""
    total = 0.0
    for width in widths:
        h = width / (n + 1)
        ones = torch.ones(n - 1, dtype=torch.float64)
        second = (2.0 * torch.eye(n, dtype=torch.float64) - torch.diag(ones, 1) - torch.diag(ones, -1)) / h**2
        total += float(torch.linalg.eigvalsh(second)[0])
    return total


@pytest.mark.parametrize("bounds", [((0.0, 1.0),) * 2, ((0.0, 2.0), (0.0, 1.0)), ((-1.0, 1.0),) * 5])
def test_dirichlet_eigenvalue_is_the_smallest_eigenvalue_of_minus_laplacian_on_the_box(bounds):
    from pdes.poisson import dirichlet_eigenvalue

    reference = finite_difference_eigenvalue(tuple(hi - lo for lo, hi in bounds))
    assert dirichlet_eigenvalue(bounds) == pytest.approx(reference, rel=1e-3)


@pytest.mark.parametrize(("options", "weight"), [
    ({"dim": 5}, (5 * math.pi**2) ** 2), ({"dim": 4, "domain": pdes.geometry.Box((0.0,) * 4, (2.0,) * 4)}, math.pi**4),
    ({"hard_bc": False}, 1.0), ({"domain": "lshape"}, 1.0), ({"hard_bc": False, "boundary_weight": 3.0}, 3.0),
])
def test_poisson_weighs_its_boundary_term_by_the_squared_first_eigenvalue_from_4d_unless_told(options, weight):
    problem = pdes.poisson(**options)
    boundary = problem.terms[problem.term_names.index("boundary")]
    assert boundary.mean_weight == pytest.approx(weight, rel=1e-12)
    counts = {name: 7 * (i + 1) for i, name in enumerate(problem.term_names)}
    points = sample_points(problem, counts, torch.Generator().manual_seed(0), torch.float64, torch.device("cpu"))
    mlp = MLP.of(problem.dim, (5,))
    theta = mlp.init(torch.Generator().manual_seed(1))
    lin = linearise(mlp, problem, theta, points)
    rows = dict(zip(problem.term_names, lin.residual.split([counts[n] for n in problem.term_names]), strict=True))
    unweighted = pdes.poisson(**{**options, "boundary_weight": 1.0})
    assert all(term.mean_weight == 1.0 for term in unweighted.terms)
    plain = dict(zip(unweighted.term_names, linearise(mlp, unweighted, theta, points).residual.split(
        [counts[n] for n in unweighted.term_names]), strict=True))
    torch.testing.assert_close(rows["boundary"], math.sqrt(weight) * plain["boundary"], rtol=1e-12, atol=0)
    torch.testing.assert_close(rows["interior"], plain["interior"], rtol=0, atol=0)


def test_a_boundary_weight_that_is_not_positive_is_refused():
    with pytest.raises(ValueError, match="boundary weight must be > 0"):
        pdes.poisson(hard_bc=False, boundary_weight=0.0)
    with pytest.raises(ValueError, match="mean-square residual must be > 0"):
        dataclasses.replace(pdes.poisson(hard_bc=False).terms[1], mean_weight=-1.0)


@pytest.mark.parametrize(("pde", "extra", "weight"), [
    ("poisson", {"dim": 5}, (5 * math.pi**2) ** 2), ("poisson", {"hard_bc": False}, 1.0),
    ("poisson", {"dim": 5, "boundary_weight": 7.0}, 7.0), ("poisson", {}, None), ("heat", {"hard_bc": False}, None),
])
def test_saved_settings_record_the_boundary_weight_a_run_used(pde, extra, weight):
    """Recorded where the family takes the weight and the problem has a boundary term (heat's is not a setting)."""
    from pinn_natmom.cli import resolve as runs
    from pinn_natmom.cli import settings as table

    settings = {**table.defaults(), "pde": pde, **extra}
    problem, options = runs.resolve(settings)
    saved = runs.resolved(settings, problem, options)
    assert saved["boundary_weight"] == (None if weight is None else pytest.approx(weight, rel=1e-12))
    again, _ = runs.resolve(saved)
    assert [term.mean_weight for term in again.terms] == [term.mean_weight for term in problem.terms]
