"""Checks shared by the tests of problems and Jacobians (float64): the fast Jacobian against the torch.func reference
and against central differences, and an exact solution against every residual of its problem."""
from __future__ import annotations

import torch

from pdes.manufactured import gradient_of, laplacian_of
from pinn_natmom.linearise import Points, linearise, residual_vector
from pinn_natmom.network import MLP
from pinn_natmom.problem import Jet, Problem
from pinn_natmom.train import sample_points


def perturbed_setup(problem: Problem, points_per_term: int, hidden: tuple[int, ...] = (7, 5),
                    seed: int = 1) -> tuple[MLP, torch.Tensor, Points]:
    """A small network at its initial weights plus noise (so that no derivative vanishes by symmetry), and
    ``points_per_term`` points of every term, all from one generator seeded ``seed``."""
    mlp = MLP.of(problem.dim, hidden)
    generator = torch.Generator().manual_seed(seed)
    theta = mlp.init(generator) + 0.05 * torch.randn(mlp.num_params, generator=generator, dtype=torch.float64)
    points = sample_points(problem, {t: points_per_term for t in problem.term_names}, generator, torch.float64, "cpu")
    return mlp, theta, points


def assert_fast_jacobian_is_the_reference(problem: Problem, mlp: MLP, theta: torch.Tensor, points: Points) -> None:
    """``J`` and ``r`` of the forward Laplacian equal those of ``vmap(jacrev)`` to 1e-10 relative (``J``) and
    1e-11 (``r``)."""
    fast, ref = linearise(mlp, problem, theta, points, "forward"), linearise(mlp, problem, theta, points, "reference")
    assert float((fast.jacobian - ref.jacobian).abs().max() / ref.jacobian.abs().max()) < 1e-10
    torch.testing.assert_close(fast.residual, ref.residual, rtol=1e-11, atol=1e-12)


def assert_jacobian_columns_are_central_differences(problem: Problem, mlp: MLP, theta: torch.Tensor,
                                                    points: Points, h: float = 1e-6) -> None:
    """Columns 0, 5, 17 and the last of the fast ``J`` equal ``(r(θ + h e_j) − r(θ − h e_j)) / 2h`` to 1e-7."""
    lin = linearise(mlp, problem, theta, points)
    for j in [0, 5, 17, mlp.num_params - 1]:
        e = torch.zeros_like(theta)
        e[j] = h
        column = (residual_vector(mlp, problem, theta + e, points) - residual_vector(mlp, problem, theta - e, points)) / (2 * h)
        assert float((column - lin.jacobian[:, j]).abs().max()) < 1e-7 * max(1.0, float(column.abs().max()))


def assert_exact_solution_makes_every_residual_vanish(problem: Problem, n: int, seed: int) -> None:
    """Every term's residual at the problem's exact solution (its derivatives by autograd) is below 1e-10 of the
    term's data, on ``n`` points of the term drawn with a generator seeded ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    exact = problem.exact
    for term in problem.terms:
        x = term.sampler(n, generator)
        jet = Jet(exact(x), gradient_of(exact)(x), laplacian_of(exact, term.laplacian_dims)(x))
        data = term.collocate(x).data
        rho = term.residual(x, jet, data)
        assert float(rho.abs().max()) < 1e-10 * max(1.0, float(data.abs().max()))
