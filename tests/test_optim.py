import torch

from pinn_natmom.linearise import Linearised
from pinn_natmom.linesearch import grid_search, step_grid
from pinn_natmom.optim import ENGD


def linear_model(n=30, p=8, seed=0):
    """r(θ) = Aθ − b: a model linear in θ, with loss L(θ) = ½‖Aθ − b‖²."""
    generator = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, p, generator=generator), torch.randn(n, generator=generator)

    def losses(thetas):
        return 0.5 * (thetas @ a.T - b).square().sum(dim=-1)

    return a, b, losses


def test_one_engd_step_with_unit_step_lands_on_the_least_squares_minimiser():
    a, b, losses = linear_model()
    theta = torch.randn(8)
    lin = Linearised(a @ theta - b, a)
    minimiser = torch.linalg.lstsq(a, b.unsqueeze(-1)).solution[:, 0]
    for solver in ("dense", "svd"):
        new, _, info = ENGD(damping=1e-14, solver=solver, line_search=False).update({}, theta, lin, losses)
        torch.testing.assert_close(new, minimiser, rtol=1e-10, atol=1e-10)
        assert info.step_size == 1.0
        torch.testing.assert_close(info.loss, losses(minimiser.unsqueeze(0))[0], rtol=1e-10, atol=0)


def test_line_search_picks_the_unit_step_on_a_linear_model():
    a, b, losses = linear_model(n=20, p=30)
    theta = torch.randn(30)
    engd = ENGD(damping=1e-12, solver="woodbury")
    new, state, info = engd.update(engd.init(theta), theta, Linearised(a @ theta - b, a), losses)
    assert info.step_size == 1.0
    assert float(info.loss) < 1e-18 and state["grid_index"] == 0


def test_grid_search_returns_the_grid_argmin_and_no_step_when_nothing_decreases():
    target = 2.0**-7 + 1e-4  # the best grid point is 2^-7
    theta, direction = torch.zeros(1), -torch.ones(1)

    def losses(thetas):
        return (thetas[:, 0] - target).square()

    current = losses(theta.unsqueeze(0))[0]
    for exhaustive in (True, False):
        found = grid_search(losses, theta, direction, current, exhaustive)
        assert found.step_size == 2.0**-7
    found = grid_search(losses, theta, -direction, current)  # uphill direction
    assert found.step_size == 0.0 and float(found.loss) == float(current)
    assert step_grid(theta).shape == (31,) and float(step_grid(theta)[-1]) == 2.0**-30


def test_coarse_to_fine_agrees_with_exhaustive_on_quadratics():
    generator = torch.Generator().manual_seed(1)
    for _ in range(20):
        a, b = torch.randn(12, 5, generator=generator), torch.randn(12, generator=generator)
        theta, direction = torch.randn(5, generator=generator), torch.randn(5, generator=generator)

        def losses(thetas, a=a, b=b):
            return 0.5 * (thetas @ a.T - b).square().sum(dim=-1)

        current = losses(theta.unsqueeze(0))[0]
        fast = grid_search(losses, theta, direction, current)
        full = grid_search(losses, theta, direction, current, exhaustive=True)
        assert fast.step_size == full.step_size
