import torch
from checks import assert_jacobian_columns_are_central_differences

import pdes
from pinn_natmom.linearise import batched_losses, linearise, residual_vector, rows_per_pass
from pinn_natmom.network import MLP
from pinn_natmom.train import sample_points


def setup(hidden=(7, 5), dim=2, n=(30, 12), seed=0, device="cpu"):
    problem = pdes.poisson(hard_bc=False, dim=dim)
    mlp = MLP.of(dim, hidden)
    generator = torch.Generator().manual_seed(seed)
    theta = mlp.init(generator) + 0.05 * torch.randn(mlp.num_params, generator=generator)
    points = sample_points(problem, {"interior": n[0], "boundary": n[1]}, generator, torch.float64, device)
    return problem, mlp, theta.to(device), points


def test_fast_jacobian_equals_torch_func_reference(device):
    for dim, hidden in [(1, (9,)), (2, (7, 5)), (3, (6, 6, 4)), (5, (8, 6))]:
        problem, mlp, theta, points = setup(hidden, dim, device=device)
        fast = linearise(mlp, problem, theta, points, "forward")
        ref = linearise(mlp, problem, theta, points, "reference")
        scale = ref.jacobian.abs().max()
        assert float((fast.jacobian - ref.jacobian).abs().max() / scale) < 1e-10
        assert float((fast.residual - ref.residual).abs().max()) < 1e-12


def test_fast_jacobian_matches_finite_differences():
    assert_jacobian_columns_are_central_differences(*setup())


def test_gradient_of_loss_is_jacobian_transpose_residual():
    problem, mlp, theta, points = setup()
    lin = linearise(mlp, problem, theta, points)
    t = theta.clone().requires_grad_(True)
    loss = 0.5 * residual_vector(mlp, problem, t, points).square().sum()
    (autograd,) = torch.autograd.grad(loss, t)
    torch.testing.assert_close(lin.gradient(), autograd, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(lin.loss, loss.detach(), rtol=1e-14, atol=0)


def test_batched_losses_equal_single_evaluations_and_chunking_changes_nothing():
    problem, mlp, theta, points = setup()
    thetas = theta + 0.1 * torch.randn(9, mlp.num_params)
    expected = torch.stack([0.5 * residual_vector(mlp, problem, t, points).square().sum() for t in thetas])
    torch.testing.assert_close(batched_losses(mlp, problem, thetas, points), expected, rtol=1e-13, atol=0)
    torch.testing.assert_close(batched_losses(mlp, problem, thetas, points, max_bytes=1), expected, rtol=1e-13, atol=0)


def test_residual_weights_are_one_over_term_size():
    problem, mlp, theta, points = setup(n=(40, 10))
    r = residual_vector(mlp, problem, theta, points)
    interior = points["interior"]
    from pinn_natmom.diffops import forward_jet

    jet = forward_jet(mlp, theta, interior.x, frozenset({"laplacian"}))
    torch.testing.assert_close(r[:40], (-jet.laplacian - interior.data) / 40**0.5, rtol=1e-14, atol=0)


def test_jacobian_built_in_row_blocks_equals_one_pass():
    """Small pass budgets split every term into blocks (heat has three terms, the last block of each is short)."""
    problem = pdes.heat(hard_bc=False, dim=1)
    mlp = MLP.of(problem.dim, (7, 5))
    generator = torch.Generator().manual_seed(3)
    theta = mlp.init(generator)
    points = sample_points(problem, {"interior": 31, "boundary": 9, "initial": 11}, generator, torch.float64, "cpu")
    whole = linearise(mlp, problem, theta, points)
    for method in ("forward", "reference"):
        for max_bytes in (1, 20_000):  # one row per pass; 6 interior, 12 boundary, 12 initial rows per pass
            blocks = linearise(mlp, problem, theta, points, method, max_bytes=max_bytes)
            torch.testing.assert_close(blocks.jacobian, whole.jacobian, rtol=0, atol=1e-12)
            torch.testing.assert_close(blocks.residual, whole.residual, rtol=0, atol=1e-13)


def test_rows_per_pass_counts_activations_and_the_rows_of_the_jacobian():
    problem = pdes.poisson(hard_bc=False, dim=5)
    mlp = MLP.of(5, (64, 64, 48, 48))
    interior = problem.terms[0]
    per_point = 7 * sum(mlp.widths) * 4 + 2 * mlp.num_params
    assert rows_per_pass(mlp, 5, interior, 8, 2**30) == 2**30 // (8 * per_point)
    assert rows_per_pass(mlp, 5, interior, 8, 1) == 1


def nonlinear_problem():
    """``ρ = −Δu + u³ + ½|∇u|² − f`` inside, ``u − g`` on the boundary: a residual nonlinear in every part of the jet."""
    from pinn_natmom.problem import Problem, Term

    box = pdes.poisson(hard_bc=False, dim=2)
    interior, boundary = box.terms

    def residual(x, u, f):
        return -u.laplacian + u.value**3 + 0.5 * u.grad.square().sum(dim=-1) - f

    terms = (Term("interior", residual, interior.sampler, data=interior.data, needs=frozenset({"grad", "laplacian"})),
             boundary)
    return Problem("nonlinear", 2, terms, box.domain_sampler, exact=box.exact)


def nonlinear_setup(device="cpu"):
    problem = nonlinear_problem()
    mlp = MLP.of(2, (7, 5))
    generator = torch.Generator().manual_seed(4)
    theta = mlp.init(generator) + 0.05 * torch.randn(mlp.num_params, generator=generator)
    points = sample_points(problem, {"interior": 25, "boundary": 10}, generator, torch.float64, device)
    return problem, mlp, theta.to(device), points


def test_fast_jacobian_of_a_residual_nonlinear_in_the_jet_equals_the_reference(device):
    problem, mlp, theta, points = nonlinear_setup(device)
    fast = linearise(mlp, problem, theta, points, "forward")
    ref = linearise(mlp, problem, theta, points, "reference")
    assert float((fast.jacobian - ref.jacobian).abs().max() / ref.jacobian.abs().max()) < 1e-10
    assert float((fast.residual - ref.residual).abs().max()) < 1e-12


def test_tangent_is_the_jacobian_times_a_vector_and_the_gradient_is_its_transpose_times_the_residual():
    """The residual map's Jacobian–vector product and the reverse-pass gradient (used where ``J`` is not formed)
    against ``J v`` and ``Jᵀ r`` with ``J`` from the torch.func reference."""
    from pinn_natmom.compute import EagerCompute
    from pinn_natmom.residual_map import NetworkResidualMap

    for problem, mlp, theta, points in (nonlinear_setup(), setup()):
        ref = linearise(mlp, problem, theta, points, "reference")
        residuals = NetworkResidualMap(mlp, problem, points, EagerCompute(mlp, problem), 0)
        v = torch.randn(mlp.num_params, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
        torch.testing.assert_close(residuals.tangent(theta, v), ref.jacobian @ v, rtol=1e-10, atol=1e-12)
        loss, gradient = residuals.loss_and_gradient(theta)
        torch.testing.assert_close(gradient, ref.jacobian.T @ ref.residual, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(loss, 0.5 * ref.residual.square().sum(), rtol=1e-13, atol=0)
