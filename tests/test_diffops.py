import pytest
import torch
from torch.func import vmap

from pinn_natmom.diffops import forward_jet, reference_jet
from pinn_natmom.network import MLP
from pinn_natmom.problem import Jet

ALL = frozenset({"value", "grad", "laplacian"})


@pytest.mark.parametrize("activation,frequency", [("tanh", 1.0), ("sin", 12.0)])
@pytest.mark.parametrize("dim,hidden,dims", [(1, [8], None), (2, [6, 5], None), (3, [7, 4, 3], (0, 2)), (5, [9], (0, 1, 2, 3))])
def test_forward_laplacian_matches_torch_func(dim, hidden, dims, activation, frequency, device):
    mlp = MLP.of(dim, hidden, activation, frequency)
    theta = mlp.init(torch.Generator().manual_seed(dim))
    theta = (theta + 0.1 * torch.randn_like(theta)).to(device)
    x = torch.rand(11, dim, device=device)
    fast = forward_jet(mlp, theta, x, ALL, dims)
    value, grad, laplacian = vmap(lambda p: _parts(reference_jet(mlp, theta, p, ALL, dims)))(x)
    scale = float(laplacian.abs().max())
    torch.testing.assert_close(fast.value, value, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(fast.grad, grad, rtol=1e-12, atol=1e-13 * scale)
    torch.testing.assert_close(fast.laplacian, laplacian, rtol=1e-12, atol=1e-13 * scale)


@pytest.mark.parametrize("needs", [frozenset({"laplacian"}), frozenset({"grad"}), frozenset({"value"})])
@pytest.mark.parametrize("dim,hidden,dims", [(2, [6], None), (3, [5, 4], (0, 1)), (1, [4, 3, 5], None)])
def test_partial_jets_match_torch_func_for_one_and_many_parameter_vectors(needs, dim, hidden, dims):
    """Asking for fewer parts drops channels (the first layer's products, the last hidden layer's gradients): the
    parts asked for still equal the reference, for one θ and for a batch."""
    mlp = MLP.of(dim, hidden)
    generator = torch.Generator().manual_seed(7)
    thetas = mlp.init(generator) + 0.3 * torch.randn(3, mlp.num_params, generator=generator, dtype=torch.float64)
    x = torch.rand(9, dim, generator=generator, dtype=torch.float64)
    batched = forward_jet(mlp, thetas, x, needs, dims)
    for k, theta in enumerate(thetas):
        value, grad, laplacian = vmap(lambda p, theta=theta: _parts(reference_jet(mlp, theta, p, ALL, dims)))(x)
        single = forward_jet(mlp, theta, x, needs, dims)
        for jet in (single, Jet(batched.value[k], _row(batched.grad, k), _row(batched.laplacian, k))):
            torch.testing.assert_close(jet.value, value, rtol=1e-12, atol=1e-13)
            assert (jet.grad is None) == ("grad" not in needs) and (jet.laplacian is None) == ("laplacian" not in needs)
            if jet.grad is not None:
                torch.testing.assert_close(jet.grad, grad, rtol=1e-12, atol=1e-12)
            if jet.laplacian is not None:
                torch.testing.assert_close(jet.laplacian, laplacian, rtol=1e-12, atol=1e-12)


def _row(part, k):
    return None if part is None else part[k]


def _parts(jet):
    return jet.value, jet.grad, jet.laplacian


@pytest.mark.parametrize("dim,hidden", [(2, [5, 5]), (3, [4])])  # (3, [4]): K = d must not be mistaken for channels
def test_batched_theta_gives_one_jet_per_parameter_vector(dim, hidden):
    mlp = MLP.of(dim, hidden)
    thetas = torch.randn(3, mlp.num_params)
    x = torch.rand(4, dim)
    batched = forward_jet(mlp, thetas, x, ALL)
    for k in range(3):
        single = forward_jet(mlp, thetas[k], x, ALL)
        torch.testing.assert_close(batched.laplacian[k], single.laplacian, rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(batched.grad[k], single.grad, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_in_place_activations_give_the_same_jet_and_refuse_a_trace(activation):
    mlp = MLP.of(2, [6, 5], activation)
    thetas = torch.randn(3, mlp.num_params)
    x = torch.rand(8, 2)
    fresh, in_place = forward_jet(mlp, thetas, x, ALL), forward_jet(mlp, thetas, x, ALL, in_place=True)
    for part in ("value", "grad", "laplacian"):
        torch.testing.assert_close(getattr(in_place, part), getattr(fresh, part), rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="traced"):
        forward_jet(mlp, thetas[0], x, ALL, trace=[], in_place=True)


def test_laplacian_of_known_function():
    # u(x) = w2 · tanh(w1 x) with one hidden unit along e_1: Δu = w2 w1² tanh''(w1 x_1)
    mlp = MLP.of(2, [1])
    w1, w2 = 1.3, -0.7
    theta = torch.tensor([w1, 0.0, 0.0, w2, 0.0])
    x = torch.tensor([[0.3, 0.9]])
    y = torch.tanh(torch.tensor(w1 * 0.3))
    expected = w2 * w1**2 * (-2 * y * (1 - y**2))
    jet = forward_jet(mlp, theta, x, ALL)
    torch.testing.assert_close(jet.laplacian[0], expected, rtol=1e-14, atol=0)


def test_sine_network_starts_at_the_first_layer_frequency():
    mlp = MLP.of(2, [400], "sin", 12.0)
    theta = mlp.init(torch.Generator().manual_seed(0))
    (w, b), (v, c) = mlp.unflatten(theta)
    assert abs(float(w.std()) / (12.0 * (2.0 / 402) ** 0.5) - 1) < 0.05
    x = torch.rand(5, 2)
    torch.testing.assert_close(mlp.forward(theta, x), (torch.sin(x @ w.T + b) @ v.T + c)[:, 0], rtol=1e-14, atol=1e-14)
    with pytest.raises(ValueError, match="unknown activation"):
        MLP.of(2, [4], "relu")
    with pytest.raises(ValueError, match="frequency"):
        MLP.of(2, [4], "sin", 0.0)
