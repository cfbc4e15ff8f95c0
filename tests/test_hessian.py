import pytest
import torch
from checks import assert_jacobian_columns_are_central_differences
from torch.func import hessian, vmap

from pinn_natmom.activations import TABLE, activation
from pinn_natmom.compute import EagerCompute
from pinn_natmom.diffops import Pairs, channel_count, forward_jet, reference_jet
from pinn_natmom.linearise import batched_losses, linearise, loss_and_gradient, residual_vector, rows_per_pass
from pinn_natmom.network import ACTIVATIONS, IN_PLACE, MLP
from pinn_natmom.problem import DERIVATIVES, Problem, Term
from pinn_natmom.residual_map import NetworkResidualMap
from pinn_natmom.train import sample_points

ACTIVATION_NAMES = ("tanh", "sin", "softplus")


def network(dim, hidden, name, seed=0):
    mlp = MLP.of(dim, hidden, name)
    generator = torch.Generator().manual_seed(seed)
    return mlp, mlp.init(generator) + 0.3 * torch.randn(mlp.num_params, generator=generator, dtype=torch.float64)


def network_hessian(mlp, theta, x):
    return vmap(hessian(lambda point: mlp.forward(theta, point)))(x)


def test_the_table_holds_at_least_three_activations_and_the_network_reads_it():
    assert set(ACTIVATION_NAMES) <= set(TABLE)
    assert set(ACTIVATIONS) == set(IN_PLACE) == set(TABLE)
    assert MLP.of(2, [3], "softplus").activation == "softplus"
    with pytest.raises(ValueError, match="unknown activation 'relu'"):
        activation("relu")


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_table_derivatives_equal_autograd_and_in_place_equals_the_function(name):
    sigma = TABLE[name]
    z = torch.cat([torch.linspace(-30.0, 30.0, 241), torch.tensor([0.0, 1e-8, -1e-8])])
    leaf = z.clone().requires_grad_(True)
    first = torch.autograd.grad(sigma.function(leaf).sum(), leaf, create_graph=True)[0]
    second = torch.autograd.grad(first.sum(), leaf, create_graph=True)[0]
    third = torch.autograd.grad(second.sum(), leaf)[0]
    y = sigma.function(z)
    slope, curvature = sigma.derivatives(z, y)
    for ours, expected in ((slope, first), (curvature, second), (sigma.third(y, slope, curvature), third)):
        torch.testing.assert_close(ours, expected.detach(), rtol=1e-12, atol=1e-14)
    fresh = z.clone()
    assert sigma.in_place(fresh) is fresh
    torch.testing.assert_close(fresh, y, rtol=1e-15, atol=4 * torch.finfo(torch.float64).eps)
    in_place = sigma.value_and_derivatives(z.clone(), in_place=True)
    for ours, expected in zip(in_place, (fresh, *sigma.derivatives(z, fresh)), strict=True):
        torch.testing.assert_close(ours, expected, rtol=0, atol=0)


def test_pairs_enumerate_the_upper_triangle_and_index_both_halves():
    pairs = Pairs.of(3, torch.device("cpu"))
    assert pairs.first.tolist() == [0, 0, 0, 1, 1, 2] and pairs.second.tolist() == [0, 1, 2, 1, 2, 2]
    for i in range(3):
        for j in range(3):
            p = int(pairs.index[i, j])
            assert {int(pairs.first[p]), int(pairs.second[p])} == {i, j}


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("dim,hidden", [(1, [6]), (2, [5, 4]), (3, [6, 4, 5]), (2, [7]), (3, [5, 3])])
def test_forward_hessian_equals_torch_func(name, dim, hidden):
    mlp, theta = network(dim, hidden, name, seed=dim)
    x = torch.rand(13, dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = network_hessian(mlp, theta, x)
    scale = float(expected.abs().max())
    jet = forward_jet(mlp, theta, x, frozenset({"hessian"}))
    assert jet.grad is None and jet.laplacian is None and jet.hessian.shape == (13, dim, dim)
    torch.testing.assert_close(jet.hessian, expected, rtol=1e-12, atol=1e-13 * scale)
    torch.testing.assert_close(jet.hessian, jet.hessian.transpose(-1, -2), rtol=0, atol=0)


@pytest.mark.parametrize("dims", [None, (0, 2), (1,)])
def test_laplacian_beside_the_hessian_is_its_trace_and_equals_the_laplacian_path(dims):
    mlp, theta = network(3, [6, 5], "tanh")
    x = torch.rand(10, 3, dtype=torch.float64)
    both = forward_jet(mlp, theta, x, frozenset({"grad", "laplacian", "hessian"}), dims)
    alone = forward_jet(mlp, theta, x, frozenset({"grad", "laplacian"}), dims)
    torch.testing.assert_close(both.laplacian, alone.laplacian, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(both.grad, alone.grad, rtol=0, atol=0)
    reference = vmap(lambda p: reference_jet(mlp, theta, p, frozenset({"laplacian", "hessian"}), dims).hessian)(x)
    torch.testing.assert_close(both.hessian, reference, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("dim,hidden", [(2, [5, 4]), (3, [4])])  # (3, [4]): K = d must not be mistaken for channels
def test_batched_theta_gives_one_hessian_per_parameter_vector_also_in_place(name, dim, hidden):
    mlp = MLP.of(dim, hidden, name)
    thetas = torch.randn(3, mlp.num_params)
    x = torch.rand(6, dim)
    needs = frozenset({"grad", "laplacian", "hessian"})
    batched = forward_jet(mlp, thetas, x, needs)
    in_place = forward_jet(mlp, thetas, x, needs, in_place=True)
    assert batched.hessian.shape == (3, 6, dim, dim)
    for k in range(3):
        single = forward_jet(mlp, thetas[k], x, needs)
        for part in ("value", "grad", "laplacian", "hessian"):
            torch.testing.assert_close(getattr(batched, part)[k], getattr(single, part), rtol=1e-13, atol=1e-13)
            torch.testing.assert_close(getattr(in_place, part)[k], getattr(single, part), rtol=1e-13, atol=1e-13)


def test_terms_may_need_the_hessian_and_it_is_counted_in_the_channels():
    assert "hessian" in DERIVATIVES
    Term("interior", lambda x, u, g: u.hessian[..., 0, 1], unit_square, needs=frozenset({"hessian"}))
    with pytest.raises(ValueError, match="unknown derivatives"):
        Term("interior", lambda x, u, g: u.value, unit_square, needs=frozenset({"hessians"}))
    assert channel_count(3, frozenset({"hessian"})) == 1 + 3 + 6
    assert channel_count(3, frozenset({"laplacian", "hessian"})) == 1 + 3 + 6
    assert channel_count(3, frozenset({"laplacian"})) == 1 + 3 + 1


def unit_square(n, generator):
    return torch.rand(n, 2, generator=generator, dtype=torch.float64)


def anisotropic(x, u, f):
    """``−(u_xx + u_xy + 2 u_yy) − f``."""
    h = u.hessian
    return -(h[..., 0, 0] + h[..., 0, 1] + 2.0 * h[..., 1, 1]) - f


def divergence_form(x, u, f):
    """``−∇·((1 + x²)∇u) − f = −(1 + x²)Δu − 2x u_x − f``, the Laplacian as the Hessian's trace."""
    laplacian = u.hessian.diagonal(dim1=-2, dim2=-1).sum(dim=-1)
    return -(1.0 + x[..., 0] ** 2) * laplacian - 2.0 * x[..., 0] * u.grad[..., 0] - f


def nonlinear(x, u, f):
    """``−0.1 Δu + u³ − u + u u_x − f``."""
    laplacian = u.hessian[..., 0, 0] + u.hessian[..., 1, 1]
    return -0.1 * laplacian + u.value**3 - u.value + u.value * u.grad[..., 0] - f


def space_time(x, u, f):
    """``u_t − 0.1 u_xx + u u_x − f`` on ``(x, t)``."""
    return u.grad[..., 1] - 0.1 * u.hessian[..., 0, 0] + u.value * u.grad[..., 0] - f


def mixed_with_laplacian(x, u, f):
    """``−Δ_{x,y} u − ½ u_yz + u − f`` in 3-d, reading both the Laplacian (over ``x, y``) and the Hessian."""
    return -u.laplacian - 0.5 * u.hessian[..., 1, 2] + u.value - f


OPERATORS = {
    "anisotropic": (anisotropic, 2, frozenset({"hessian"}), None),
    "divergence": (divergence_form, 2, frozenset({"grad", "hessian"}), None),
    "nonlinear": (nonlinear, 2, frozenset({"grad", "hessian"}), None),
    "space-time": (space_time, 2, frozenset({"grad", "hessian"}), None),
    "laplacian-and-hessian": (mixed_with_laplacian, 3, frozenset({"laplacian", "hessian"}), (0, 1)),
}


def hessian_problem(operator):
    residual, dim, needs, dims = OPERATORS[operator]

    def inside(n, generator):
        return torch.rand(n, dim, generator=generator, dtype=torch.float64)

    def source(x):
        return torch.sin(x.sum(dim=-1))

    interior = Term("interior", residual, inside, data=source, needs=needs, laplacian_dims=dims)
    boundary = Term("boundary", lambda x, u, g: u.value - g, inside, data=lambda x: x[..., 0] * x[..., -1])
    return Problem(operator, dim, (interior, boundary), inside)


def hessian_setup(operator, name="tanh", hidden=(7, 5), device="cpu"):
    problem = hessian_problem(operator)
    mlp = MLP.of(problem.dim, hidden, name)
    generator = torch.Generator().manual_seed(len(hidden))
    theta = mlp.init(generator) + 0.05 * torch.randn(mlp.num_params, generator=generator, dtype=torch.float64)
    points = sample_points(problem, {"interior": 23, "boundary": 7}, generator, torch.float64, device)
    return problem, mlp, theta.to(device), points


@pytest.mark.parametrize("operator", list(OPERATORS))
@pytest.mark.parametrize("name,hidden", [("tanh", (7, 5)), ("sin", (6,)), ("softplus", (5, 4, 6))])
def test_fast_jacobian_with_hessian_channels_equals_the_reference(operator, name, hidden, device):
    problem, mlp, theta, points = hessian_setup(operator, name, hidden, device)
    fast = linearise(mlp, problem, theta, points, "forward")
    ref = linearise(mlp, problem, theta, points, "reference")
    assert float((fast.jacobian - ref.jacobian).abs().max() / ref.jacobian.abs().max()) < 1e-10
    assert float((fast.residual - ref.residual).abs().max()) < 1e-12


def test_fast_jacobian_with_hessian_channels_matches_finite_differences():
    assert_jacobian_columns_are_central_differences(*hessian_setup("nonlinear"))


def test_jacobian_with_hessian_channels_in_row_blocks_equals_one_pass():
    problem, mlp, theta, points = hessian_setup("space-time")
    whole = linearise(mlp, problem, theta, points)
    assert rows_per_pass(mlp, 2, problem.terms[0], 8, 20_000) < len(points["interior"])
    blocks = linearise(mlp, problem, theta, points, max_bytes=20_000)
    torch.testing.assert_close(blocks.jacobian, whole.jacobian, rtol=0, atol=1e-12)


def test_line_search_losses_tangent_and_gradient_with_hessian_channels():
    """The batched in-place losses, ``J v`` by forward mode and the reverse-pass gradient ``Jᵀ r`` of a Hessian term
    against the reference ``J``."""
    problem, mlp, theta, points = hessian_setup("anisotropic", "sin")
    ref = linearise(mlp, problem, theta, points, "reference")
    residuals = NetworkResidualMap(mlp, problem, points, EagerCompute(mlp, problem), 0)
    v = torch.randn(mlp.num_params, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    torch.testing.assert_close(residuals.tangent(theta, v), ref.jacobian @ v, rtol=1e-10, atol=1e-12)
    thetas = theta + 0.1 * torch.randn(5, mlp.num_params, dtype=torch.float64)
    expected = torch.stack([0.5 * residual_vector(mlp, problem, t, points).square().sum() for t in thetas])
    torch.testing.assert_close(batched_losses(mlp, problem, thetas, points), expected, rtol=1e-13, atol=0)
    loss, gradient = loss_and_gradient(mlp, problem, theta, points)
    torch.testing.assert_close(gradient, ref.jacobian.T @ ref.residual, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(loss, 0.5 * ref.residual.square().sum(), rtol=1e-13, atol=0)
