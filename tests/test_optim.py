from dataclasses import dataclass

import pytest
import torch

import pdes
from pinn_natmom import api, optim
from pinn_natmom.linearise import Linearised
from pinn_natmom.linesearch import grid_search, step_grid
from pinn_natmom.network import MLP
from pinn_natmom.optim import ENGD
from pinn_natmom.optim.auto import optimal_coefficients
from pinn_natmom.train import FitConfig, fit


@dataclass
class Quadratic:
    """``r(θ) = Aθ + ½ s (θ·θ) − b`` on one point set: ``J(θ) = A + s θᵀ`` by hand (``s = 0``: linear in θ)."""

    a: torch.Tensor
    b: torch.Tensor
    s: torch.Tensor
    version: int = 0

    def residual(self, theta):
        return self.a @ theta + 0.5 * self.s * (theta @ theta) - self.b

    def jacobian(self, theta):
        return self.a + torch.outer(self.s, theta)

    def losses(self, thetas):
        return torch.stack([0.5 * self.residual(t).square().sum() for t in thetas])

    def tangent(self, theta, v):
        return self.jacobian(theta) @ v

    def loss_and_gradient(self, theta):
        r = self.residual(theta)
        return 0.5 * r @ r, self.jacobian(theta).T @ r

    def linearise(self, theta):
        return Linearised(self.residual(theta), self.jacobian(theta))


def quadratic(n=30, p=8, curvature=0.0, seed=0, version=0):
    generator = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, p, generator=generator), torch.randn(n, generator=generator)
    return Quadratic(a, b, curvature * torch.randn(n, generator=generator), version)


def run(optimizer, model, theta, steps, models=None):
    state = optimizer.init(theta)
    for k in range(steps):
        current = models[k] if models else model
        theta, state, info = optimizer.update(state, theta, current.linearise(theta), current)
    return theta, state


def test_one_engd_step_with_unit_step_lands_on_the_least_squares_minimiser():
    model = quadratic()
    theta = torch.randn(8)
    minimiser = torch.linalg.lstsq(model.a, model.b.unsqueeze(-1)).solution[:, 0]
    for solver in ("dense", "svd"):
        new, _, info = ENGD(damping=1e-14, solver=solver, line_search=False).update(
            {"grid_index": 0}, theta, model.linearise(theta), model)
        torch.testing.assert_close(new, minimiser, rtol=1e-10, atol=1e-10)
        assert info.step_size == 1.0
        torch.testing.assert_close(info.loss, model.losses(minimiser.unsqueeze(0))[0], rtol=1e-10, atol=0)


def test_line_search_picks_the_unit_step_on_a_linear_model():
    model = quadratic(n=20, p=30)
    theta = torch.randn(30)
    engd = ENGD(damping=1e-12, solver="woodbury")
    new, state, info = engd.update(engd.init(theta), theta, model.linearise(theta), model)
    assert info.step_size == 1.0
    assert float(info.loss) < 1e-18 and state["grid_index"] == 0


FLAVOURS = ["natural-heavy-ball", "natural-heavy-ball-fd", "natural-nesterov", "quasi-natural-heavy-ball"]


@pytest.mark.parametrize("name", FLAVOURS + ["spring"])
def test_zero_momentum_is_engd_step_by_step(name):
    problem = pdes.poisson(hard_bc=False, dim=1)
    common = dict(hidden=(8,), steps=8, n_points={"interior": 40, "boundary": 2}, n_eval=200, device="cpu", solver="svd")
    engd = api.solve(problem, optimizer="engd", **common).history
    flavour = api.solve(problem, optimizer=name, momentum=0.0, line_search=True, **common).history
    assert [row["loss"] for row in flavour] == [row["loss"] for row in engd]
    assert [row["step_size"] for row in flavour] == [row["step_size"] for row in engd]


def pinv(j):
    return torch.linalg.pinv(j)


@pytest.mark.parametrize("name", FLAVOURS)
def test_exact_values_after_two_steps_on_a_hand_written_model(name):
    model = quadratic(n=12, p=4, curvature=0.3, seed=3)
    alpha, beta = 0.5, 0.6
    theta0 = 0.1 * torch.randn(4, generator=torch.Generator().manual_seed(5))
    r0, j0 = model.residual(theta0), model.jacobian(theta0)
    theta1 = theta0 - alpha * pinv(j0) @ r0
    p0 = theta1 - theta0
    r1, j1 = model.residual(theta1), model.jacobian(theta1)
    if name == "natural-heavy-ball":
        theta2 = theta1 + pinv(j1) @ (beta * (j0 @ p0) - alpha * r1)
    elif name == "natural-heavy-ball-fd":
        theta2 = theta1 + pinv(j1) @ (beta * (r1 - r0) - alpha * r1)
    elif name == "quasi-natural-heavy-ball":
        theta2 = theta1 + beta * p0 - alpha * pinv(j1) @ r1
    else:
        y = theta1 + beta * pinv(j1) @ (r1 - r0)
        theta2 = y - alpha * pinv(j1) @ model.residual(y)
    optimizer = optim.make(name, solver="dense", damping=1e-14, line_search=False, lr=alpha, momentum=beta)
    got, _ = run(optimizer, model, theta0, 2)
    torch.testing.assert_close(got, theta2, rtol=1e-9, atol=1e-11)


def bent_step(model, theta, direction, alpha, h):
    """``θ − α m + ½ α² a`` with ``a = −J⁺ r_vv`` and ``r_vv`` the central difference along ``v = −m``."""
    r, j = model.residual(theta), model.jacobian(theta)
    second = (model.residual(theta - h * direction) - 2 * r + model.residual(theta + h * direction)) / h**2
    return theta - alpha * direction - 0.5 * alpha**2 * pinv(j) @ second


def geodesic_step(model, theta, alpha, h=0.1):
    """The geodesic step of ``engd-geodesic``: :func:`bent_step` along ``d = J⁺r``."""
    return bent_step(model, theta, pinv(model.jacobian(theta)) @ model.residual(theta), alpha, h)


@pytest.mark.parametrize(("seed", "beta", "winner"), [(1, 0.0, 0), (3, 0.9, 0), (1, 0.9, 1)])
def test_natural_auto_keeps_the_better_of_the_bent_model_step_and_the_nesterov_step(seed, beta, winner):
    """The model step is bent by the curvature along it, the central difference a tenth of the fixed step long."""
    model = quadratic(n=12, p=4, curvature=0.3, seed=seed)
    alpha = 0.5
    theta0 = 0.1 * torch.randn(4, generator=torch.Generator().manual_seed(5))
    r0 = model.residual(theta0)
    theta1 = geodesic_step(model, theta0, alpha, h=0.1 * alpha)
    p0 = theta1 - theta0
    r1, j1 = model.residual(theta1), model.jacobian(theta1)
    d = pinv(j1) @ r1
    columns = torch.stack([j1 @ d, -(j1 @ p0)], dim=1)
    a, b = torch.linalg.lstsq(columns, r1.unsqueeze(-1)).solution[:, 0]
    candidates = [bent_step(model, theta1, a * d - b * p0, alpha, h=0.1 * alpha)]
    if beta > 0:
        y = theta1 + beta * pinv(j1) @ (r1 - r0)
        candidates.append(y - alpha * pinv(j1) @ model.residual(y))
    losses = model.losses(torch.stack(candidates))
    optimizer = optim.make("natural-auto", solver="dense", damping=1e-14, line_search=False, lr=alpha, momentum=beta)
    got, _ = run(optimizer, model, theta0, 2)
    assert int(losses.argmin()) == winner
    torch.testing.assert_close(got, candidates[winner], rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", FLAVOURS + ["natural-auto", "engd", "engd-geodesic"])
def test_natural_flavours_reach_the_least_squares_minimiser_of_a_linear_model(name):
    model = quadratic(n=25, p=6)
    minimiser = torch.linalg.lstsq(model.a, model.b.unsqueeze(-1)).solution[:, 0]
    plain = name in ("natural-auto", "engd", "engd-geodesic")
    optimizer = optim.make(name, solver="dense", damping=1e-14, **({} if plain else {"momentum": 0.5}))
    theta, _ = run(optimizer, model, torch.randn(6), 20)
    torch.testing.assert_close(theta, minimiser, rtol=1e-9, atol=1e-9)


def test_natural_auto_is_never_worse_than_engd_on_the_local_quadratic_model():
    generator = torch.Generator().manual_seed(2)
    for _ in range(20):
        j, r = torch.randn(15, 9, generator=generator), torch.randn(15, generator=generator)
        d = torch.linalg.pinv(j, rtol=0.3) @ r  # a truncated direction, not the model's exact minimiser
        p = torch.randn(9, generator=generator)
        a, b = optimal_coefficients(Linearised(r, j), d, p)
        auto = (r - j @ (a * d - b * p)).norm()
        for alpha in step_grid(r)[:12]:
            assert float(auto) <= float((r - alpha * (j @ d)).norm()) + 1e-12


def test_heavy_ball_velocity_is_refitted_on_the_new_points_after_resampling():
    before, after = quadratic(n=12, p=4, seed=1, version=0), quadratic(n=12, p=4, seed=2, version=1)
    alpha, beta = 0.5, 0.6
    theta0 = torch.randn(4, generator=torch.Generator().manual_seed(0))
    optimizer = optim.make("natural-heavy-ball", solver="dense", damping=1e-14, line_search=False, lr=alpha, momentum=beta)
    theta2, _ = run(optimizer, None, theta0, 2, models=[before, after])
    theta1 = theta0 - alpha * pinv(before.a) @ before.residual(theta0)
    fresh = theta1 + pinv(after.a) @ (beta * (after.a @ (theta1 - theta0)) - alpha * after.residual(theta1))
    stale = theta1 + pinv(after.a) @ (beta * (before.a @ (theta1 - theta0)) - alpha * after.residual(theta1))
    torch.testing.assert_close(theta2, fresh, rtol=1e-9, atol=1e-11)
    assert float((theta2 - stale).norm()) > 1e-3


def test_optimizer_options_that_do_not_apply_are_refused():
    with pytest.raises(ValueError, match="momentum"):
        optim.make("engd", momentum=0.5)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.make("sgd")
    assert isinstance(optim.make("adam", damping=1e-3, lr=1e-2), optim.Adam)


@pytest.mark.parametrize("name", ["adam", "lbfgs"])
def test_first_order_baselines_decrease_the_loss(name):
    problem = pdes.poisson(hard_bc=False, dim=1)
    steps = 200 if name == "adam" else 20
    result = api.solve(problem, optimizer=name, hidden=(8,), steps=steps, n_points={"interior": 40, "boundary": 2},
                       n_eval=200, device="cpu", lr=2e-2 if name == "adam" else None)
    assert result.history[-1]["loss"] < 0.1 * result.history[1]["loss"]


def test_adam_warm_start_then_natural_optimizer():
    problem = pdes.poisson(hard_bc=False, dim=1)
    result = api.solve(problem, optimizer="engd", warmup_adam=5, hidden=(16,), steps=60,
                       n_points={"interior": 100, "boundary": 2}, n_eval=200, device="cpu", solver="svd")
    sizes = [row["step_size"] for row in result.history[1:]]
    assert sizes[:5] == [1e-3] * 5 and result.history[-1]["loss"] < 1e-6 * result.history[5]["loss"]


def test_warm_start_counts_its_updates_only_up_to_the_first_optimizers_steps():
    problem = pdes.poisson(hard_bc=False, dim=1)
    config = FitConfig(n_points={"interior": 20, "boundary": 2}, steps=6, n_eval=50)
    warm = optim.WarmStart(optim.make("adam"), 2, optim.make("engd", solver="svd"))
    assert fit(problem, MLP(1, (4,)), warm, config).state["count"] == 2


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


def test_search_away_from_the_hint_finds_a_decrease_only_tiny_steps_give():
    theta, direction = torch.zeros(1), -torch.ones(1)

    def losses(thetas):  # below L(0) = 0 only for θ < 2^-19; above it, falling towards large steps
        return torch.where(thetas[:, 0] < 2.0**-19, -thetas[:, 0], 1.0 - thetas[:, 0])

    current = losses(theta.unsqueeze(0))[0]
    found = grid_search(losses, theta, direction, current, hint=10)
    assert found.step_size == 2.0**-20


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


@dataclass
class Uphill(Quadratic):
    """The same residual map, but every trial step of the line search gives an infinite loss."""

    def losses(self, thetas):
        return torch.full((len(thetas),), float("inf"))


@pytest.mark.parametrize("solver", ["nystrom", "nystrom-pcg"])
def test_engd_passes_the_sketch_options_to_the_randomized_solvers(solver):
    model = quadratic(n=40, p=60)
    theta = torch.randn(60)
    steps = {}
    for name, sketch_size in ((solver, 40), ("woodbury", None), (solver, 5)):
        engd = ENGD(solver=name, damping=1e-4, line_search=False, sketch_size=sketch_size, cg_steps=0)
        steps[name, sketch_size] = engd.update(engd.init(theta), theta, model.linearise(theta), model)[0]
    exact = steps["woodbury", None] - theta
    assert float((steps[solver, 40] - theta - exact).norm() / exact.norm()) < 1e-8
    assert float((steps[solver, 5] - theta - exact).norm() / exact.norm()) > 1e-3
    expected = {"sketch_size": 40} if solver == "nystrom" else {"sketch_size": 40, "cg_steps": 3}
    assert ENGD(solver=solver, sketch_size=40, cg_steps=3).solver_options(solver) == expected
    assert ENGD(solver="woodbury", sketch_size=40).solver_options("woodbury") == {}


@pytest.mark.parametrize("target, hint, passes, candidates", [(8, 0, 2, 12), (20, 0, 3, 24), (1, 12, 3, 16), (30, 0, 4, 31)])
def test_search_past_the_window_widens_and_finds_the_grid_argmin(target, hint, passes, candidates):
    theta, direction, calls = torch.zeros(1), -torch.ones(1), []

    def losses(thetas):
        calls.append(len(thetas))
        return (thetas[:, 0].log2() + target).square()  # unimodal in the exponent, least at α = 2^-target

    current = torch.tensor(1e6)
    found = grid_search(losses, theta, direction, current, hint=hint)
    assert found.step_size == 2.0**-target and (len(calls), sum(calls)) == (passes, candidates)


@pytest.mark.parametrize("exponent, hint, passes, candidates", [(9, 0, 2, 12), (25, 0, 4, 31), (None, 10, 4, 31)])
def test_search_with_no_decrease_in_the_window_goes_on_to_shorter_steps(exponent, hint, passes, candidates):
    theta, calls = torch.zeros(1), []
    c = 2.0**-exponent if exponent is not None else 1.0
    direction = -torch.ones(1) if exponent is not None else torch.ones(1)  # None: uphill, nothing decreases

    def losses(thetas):  # L(α) = α(α − 2c) along −direction: below L(0) = 0 only for α < 2c, least at α = c
        calls.append(len(thetas))
        return thetas[:, 0] * (thetas[:, 0] - 2.0 * c)

    found = grid_search(losses, theta, direction, torch.tensor(0.0), hint=hint)
    assert found.step_size == (c if exponent is not None else 0.0)
    assert (len(calls), sum(calls)) == (passes, candidates)
