"""The trust region on the damping: its rule, its ratio, and natural optimizers under it on small least-squares
problems with known minimisers, against scipy's Levenberg–Marquardt (MINPACK lmder) as the slow twin."""
import math

import pytest
import torch
from torch.func import jacrev

from pinn_natmom import optim
from pinn_natmom.linearise import Linearised
from pinn_natmom.optim.trust_region import TrustRegion, gram_trace, ratio

scipy_optimize = pytest.importorskip("scipy.optimize")


class Residuals:
    """A residual map ``r(θ)`` given as a torch function, its Jacobian by ``torch.func``."""

    version = 0

    def __init__(self, residual):
        self.residual = residual

    def losses(self, thetas):
        return torch.stack([0.5 * self.residual(t).square().sum() for t in thetas])

    def tangent(self, theta, v):
        return jacrev(self.residual)(theta) @ v

    def loss_and_gradient(self, theta):
        r = self.residual(theta)
        return 0.5 * r @ r, jacrev(self.residual)(theta).T @ r

    def linearise(self, theta):
        return Linearised(self.residual(theta), jacrev(self.residual)(theta))


def rosenbrock(theta):
    """Rosenbrock's function as two residuals, ``½‖r‖²`` with the minimiser ``(1, 1)``."""
    return torch.stack([10.0 * (theta[1] - theta[0] ** 2), 1.0 - theta[0]])


TIMES = torch.linspace(0.0, 2.0, 25, dtype=torch.float64)
DATA = 2.0 * torch.exp(-1.3 * TIMES) + 0.5 + 0.01 * torch.sin(17.0 * TIMES)


def decay(theta):
    """``a e^{b t} + c`` fitted to data that no such curve matches exactly (a residual left at the minimiser)."""
    return theta[0] * torch.exp(theta[1] * TIMES) + theta[2] - DATA


def train(name, residual, theta, steps, **options):
    model, optimizer = Residuals(residual), optim.make(name, **options)
    state, history = optimizer.init(theta), []
    for _ in range(steps):
        theta, state, info = optimizer.update(state, theta, model.linearise(theta), model)
        history.append(info)
    return theta, state, history


def scipy_minimiser(residual, start):
    found = scipy_optimize.least_squares(lambda x: residual(torch.as_tensor(x)).numpy(), start.numpy(),
                                         jac=lambda x: jacrev(residual)(torch.as_tensor(x)).numpy(), method="lm",
                                         xtol=1e-15, ftol=1e-15, gtol=1e-15)
    return torch.as_tensor(found.x)


def test_the_rule_lowers_after_good_long_steps_raises_after_poor_short_or_failed_ones_and_stays_in_bounds():
    region = TrustRegion(initial=1e-6, floor=1e-9, ceiling=1e-2)
    assert region.after(1e-6, 0.9, True, 1.0) == pytest.approx(1e-7)
    assert region.after(1e-6, 0.9, True, 2.0**-3) == 1e-6          # good, but cut short by the line search: kept
    assert region.after(1e-6, 0.1, True, 1.0) == pytest.approx(4e-6)
    assert region.after(1e-6, 0.9, True, 2.0**-5) == pytest.approx(4e-6)  # the damped step is far too long
    assert region.after(1e-6, 0.5, True, 1.0) == 1e-6
    assert region.after(1e-6, -math.inf, False) == pytest.approx(1e-4)
    assert region.after(1e-9, 0.9, True) == 1e-9 and region.after(5e-3, -math.inf, False) == 1e-2
    assert TrustRegion(initial=1e-6, fixed=True).after(1e-6, -math.inf, False) == 1e-6
    with pytest.raises(ValueError):
        TrustRegion(initial=1e-20)


def test_the_ratio_is_one_for_every_step_of_a_linear_model_and_the_trace_is_the_frobenius_norm():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(12, 4, generator=generator, dtype=torch.float64), torch.randn(12, generator=generator, dtype=torch.float64)
    model = Residuals(lambda theta: a @ theta - b)
    theta = torch.randn(4, generator=generator, dtype=torch.float64)
    lin = model.linearise(theta)
    for step in (torch.randn(4, generator=generator, dtype=torch.float64) for _ in range(3)):
        new_loss = model.losses((theta + step).unsqueeze(0))[0]
        if float(new_loss) < float(lin.loss):
            assert ratio(lin, step, new_loss) == pytest.approx(1.0, rel=1e-10)
    assert gram_trace(lin) == pytest.approx(float(a.square().sum()), rel=1e-14)


@pytest.mark.parametrize("name", ["engd", "natural-auto", "natural-nesterov"])
def test_natural_optimizers_under_the_trust_region_reach_the_rosenbrock_minimiser(name):
    """From the classical start (−1.2, 1), through the curved valley, to (1, 1), where scipy's LM lands too."""
    start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    theta, state, history = train(name, rosenbrock, start, 60, solver="dense")
    torch.testing.assert_close(theta, scipy_minimiser(rosenbrock, start), rtol=0, atol=1e-10)
    assert float(history[-1].loss) < 1e-20 and state["damping"] >= TrustRegion().floor


@pytest.mark.parametrize("solver", ["dense", "svd", "pinv", "woodbury"])
def test_a_nonlinear_curve_fit_with_a_residual_left_matches_scipys_levenberg_marquardt(solver):
    start = torch.tensor([1.0, -0.5, 0.0], dtype=torch.float64)
    theta, _, history = train("engd", decay, start, 80, solver=solver)
    expected = scipy_minimiser(decay, start)
    torch.testing.assert_close(theta, expected, rtol=0, atol=1e-8)
    assert float(history[-1].loss) == pytest.approx(0.5 * float(decay(expected).square().sum()), rel=1e-10)


def test_rejected_steps_raise_the_damping_and_are_retried_at_once_from_the_same_point():
    """Where every step is uphill, the update tries three dampings (ν, 100ν, 10⁴ν) and stores 10⁶ν."""
    model = Residuals(rosenbrock)
    engd = optim.make("engd", solver="dense", damping=1e-8)
    tried = []

    class Uphill(Residuals):
        def losses(self, thetas):
            tried.append(len(thetas))
            return torch.full((len(thetas),), math.inf, dtype=torch.float64)

    uphill = Uphill(rosenbrock)
    theta = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    new, state, info = engd.update(engd.init(theta), theta, model.linearise(theta), uphill)
    assert torch.equal(new, theta) and info.step_size == 0.0 and info.ratio == -math.inf
    assert state["damping"] == pytest.approx(1e-8 * 100**3, rel=1e-12)
    assert info.regularisation.damping == pytest.approx(1e-8 * 100**2, rel=1e-12)
    assert len(tried) >= 3


def test_a_fixed_damping_is_relative_to_the_trace_of_the_gram_matrix():
    start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    model = Residuals(rosenbrock)
    lin = model.linearise(start)
    fixed = optim.make("engd", solver="dense", damping=1e-3, trust_region=TrustRegion(initial=1e-3, fixed=True),
                       line_search=False)
    new, state, info = fixed.update(fixed.init(start), start, lin, model)
    j, r = lin.jacobian, lin.residual
    lam = 1e-3 * float(j.square().sum())
    expected = start - torch.linalg.solve(j.T @ j + lam * torch.eye(2, dtype=torch.float64), j.T @ r)
    torch.testing.assert_close(new, expected, rtol=1e-12, atol=1e-14)
    assert state["damping"] == 1e-3 and info.regularisation.damping == pytest.approx(1e-3, rel=1e-12)
