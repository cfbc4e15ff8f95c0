import pytest
import torch

from pinn_natmom.activations import tanh_in_place
from pinn_natmom.network import MLP


def test_parameter_count_and_layout():
    mlp = MLP.of(2, [3, 4])
    assert mlp.num_params == (3 * 2 + 3) + (4 * 3 + 4) + (1 * 4 + 1)
    theta = torch.arange(float(mlp.num_params))
    (w1, b1), (w2, b2), (w3, b3) = mlp.unflatten(theta)
    assert w1.shape == (3, 2) and w1[0, 1] == 1.0 and b1[0] == 6.0
    assert w2[0, 0] == 9.0 and b3.item() == mlp.num_params - 1


def test_forward_matches_manual_network():
    mlp = MLP.of(3, [5, 4])
    theta = mlp.init(torch.Generator().manual_seed(1))
    x = torch.rand(7, 3)
    (w1, b1), (w2, b2), (w3, b3) = mlp.unflatten(theta)
    manual = (torch.tanh(torch.tanh(x @ w1.T + b1) @ w2.T + b2) @ w3.T + b3)[:, 0]
    torch.testing.assert_close(mlp.forward(theta, x), manual, rtol=0, atol=1e-14)


def test_batched_parameters_match_one_by_one():
    mlp = MLP.of(2, [6])
    thetas = torch.randn(4, mlp.num_params)
    x = torch.rand(9, 2)
    batched = mlp.forward(thetas, x)
    assert batched.shape == (4, 9)
    for k in range(4):
        torch.testing.assert_close(batched[k], mlp.forward(thetas[k], x), rtol=0, atol=1e-14)


def test_tanh_in_place_is_tanh_to_rounding_and_saturates():
    z = torch.cat([torch.linspace(-40, 40, 2001), torch.tensor([0.0, 1e-300, -1e-12, 710.0, -710.0, float("inf"), -float("inf")])])
    expected = torch.tanh(z)
    fresh = z.clone()
    assert tanh_in_place(fresh) is fresh
    assert float((fresh - expected).abs().max()) < 4 * torch.finfo(torch.float64).eps
    assert bool(torch.isnan(tanh_in_place(torch.tensor([float("nan")]))).all())


@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_forward_in_place_matches_forward(activation):
    mlp = MLP.of(3, [6, 5], activation)
    thetas = torch.randn(2, mlp.num_params)
    x = torch.rand(11, 3)
    torch.testing.assert_close(mlp.forward(thetas, x, in_place=True), mlp.forward(thetas, x), rtol=0, atol=1e-14)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="hidden widths"):
        MLP.of(2, [])
    with pytest.raises(ValueError, match="entries"):
        MLP.of(2, [3]).unflatten(torch.zeros(5))


def test_uniform_init_is_pytorch_linear_default():
    mlp = MLP.of(2, [400, 300], frequency=3.0)
    assert mlp.resolved_init == "uniform"
    (w1, b1), (w2, b2), (w3, b3) = mlp.unflatten(mlp.init(torch.Generator().manual_seed(0)))
    for values, bound in ((w1, 3.0 / 2**0.5), (b1, 1 / 2**0.5), (w2, 1 / 400**0.5), (b2, 1 / 400**0.5), (w3, 1 / 300**0.5)):
        assert float(values.abs().max()) <= bound
        assert float(values.abs().max()) > 0.98 * bound  # fills the interval: U(−bound, bound)
        assert abs(float(values.std()) - bound / 3**0.5) < 0.06 * bound


def test_glorot_init_has_zero_biases_and_is_the_sine_default():
    mlp = MLP.of(2, [400, 300], "sin", frequency=3.0)
    assert mlp.resolved_init == "glorot" and MLP.of(2, [4], init_scheme="glorot").resolved_init == "glorot"
    (w1, b1), (w2, b2), _ = mlp.unflatten(mlp.init(torch.Generator().manual_seed(0)))
    assert float(b1.abs().max()) == 0.0 and float(b2.abs().max()) == 0.0
    assert abs(float(w1.std()) - 3.0 * (2 / 402) ** 0.5) < 0.1 * 3.0 * (2 / 402) ** 0.5
    assert abs(float(w2.std()) - (2 / 700) ** 0.5) < 0.02 * (2 / 700) ** 0.5
    with pytest.raises(ValueError, match="unknown initialisation 'xavier'"):
        MLP.of(2, [3], init_scheme="xavier")
