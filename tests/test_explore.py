"""natural-auto's exploring stage: the radius steps against a direct solve of the trust-region subproblem, the
radius where the ratios cross their target, and the stage on small least-squares problems (float64)."""
import math

import pytest
import torch
from test_trust_region import Residuals, rosenbrock, scipy_minimiser, train

import pdes
from pinn_natmom import api, optim
from pinn_natmom.linearise import Linearised
from pinn_natmom.optim.auto import MIN_EXPLORE_STEPS
from pinn_natmom.optim.explore import (
    INITIAL_RADIUS,
    STALL_FACTOR,
    STALL_WINDOW,
    TARGET_RATIO,
    WINDOW,
    crossing,
    explore_step,
    radius_steps,
    stalled,
)
from pinn_natmom.options import EXPLORE_SHARE, Options
from pinn_natmom.solvers import svd
from pinn_natmom.solvers.rows import whole


def system(rows=30, cols=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    jacobian = torch.randn(rows, cols, generator=generator, dtype=torch.float64)
    jacobian = jacobian * torch.logspace(0, -6, cols, dtype=torch.float64)
    return jacobian, torch.randn(rows, generator=generator, dtype=torch.float64)


def test_each_radius_step_solves_the_damped_system_at_the_damping_that_makes_it_that_long():
    jacobian, residual = system()
    newton = torch.linalg.lstsq(jacobian, residual).solution
    radii = torch.tensor([1e-3, 1e-1, 0.5 * float(newton.norm()), 2.0 * float(newton.norm())], dtype=torch.float64)
    steps, predicted, damping = radius_steps(svd.decompose(jacobian, 0.0), residual, radii)
    for step, radius, lam, pred in zip(steps, radii, damping, predicted, strict=True):
        expected = -torch.linalg.solve(jacobian.T @ jacobian + lam * torch.eye(6, dtype=torch.float64),
                                       jacobian.T @ residual)
        torch.testing.assert_close(step, expected, rtol=1e-9, atol=1e-13)
        assert float(step.norm()) == pytest.approx(min(float(radius), float(newton.norm())), rel=1e-9)
        moved = residual + jacobian @ step
        assert float(pred) == pytest.approx(0.5 * float(residual @ residual - moved @ moved), rel=1e-9)
    torch.testing.assert_close(steps[-1], -newton, rtol=1e-8, atol=1e-12)   # longer than Newton's: undamped


def test_the_radius_taken_is_where_the_running_minimum_of_the_ratios_crosses_the_target():
    radii = torch.tensor([1.0, 2.0, 4.0, 8.0], dtype=torch.float64)
    assert crossing(radii, torch.tensor([0.9, 0.5, 0.3, 0.2])) == 8.0
    assert crossing(radii, torch.tensor([0.05, 0.9, 0.9, 0.9])) == 1.0
    # 0.475 lies halfway between 0.9 and 0.05 → halfway between log 2 and log 4; the later 0.9 is masked by the minimum
    assert crossing(radii, torch.tensor([1.5, 0.9, 0.05, 0.9]), target=0.475) == pytest.approx(2.0 * math.sqrt(2.0))
    assert crossing(radii, torch.tensor([0.9, -math.inf, 0.9, 0.9]), target=0.0) == pytest.approx(2.0 ** (0.9 / 1.9))


def test_an_exploring_step_on_a_linear_model_takes_the_longest_radius_and_never_raises_the_loss():
    """On a linear model every step's ratio is 1, so the window's largest radius is taken: ``WINDOW`` times the last."""
    jacobian, residual = system()
    model = Residuals(lambda theta: jacobian @ theta - residual)
    theta = torch.zeros(6, dtype=torch.float64)
    lin = model.linearise(theta)
    new, radius, info = explore_step(lin, model, theta, 1e-3)
    assert radius == pytest.approx(WINDOW * 1e-3) and float((new - theta).norm()) == pytest.approx(radius, rel=1e-9)
    assert info.ratio == pytest.approx(1.0, rel=1e-9) and float(info.loss) < float(lin.loss)


def test_a_step_that_lowers_nothing_keeps_theta_and_shrinks_the_radius():
    class Uphill(Residuals):
        def losses(self, thetas):
            return torch.full((len(thetas),), math.inf, dtype=torch.float64)

    jacobian, residual = system()
    model = Uphill(lambda theta: jacobian @ theta - residual)
    theta = torch.zeros(6, dtype=torch.float64)
    new, radius, info = explore_step(model.linearise(theta), model, theta, 1.0)
    assert torch.equal(new, theta) and radius == pytest.approx(1.0 / WINDOW) and info.step_size == 0.0


def test_natural_auto_explores_first_then_reaches_the_rosenbrock_minimiser():
    start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    theta, state, history = train("natural-auto", rosenbrock, start, 80, solver="dense", explore_steps=10)
    assert state["explored"] == 10 and state["explore_over"]
    assert all(info.step_size in (0.0, 1.0) for info in history[:10])
    assert float(history[9].loss) < 0.5 * float(rosenbrock(start).square().sum())
    torch.testing.assert_close(theta, scipy_minimiser(rosenbrock, start), rtol=0, atol=1e-10)


def test_rows_shared_among_processes_skip_the_stage(monkeypatch):
    def refuse(*args):
        raise AssertionError("the exploring stage ran on a share of the rows")

    monkeypatch.setattr("pinn_natmom.optim.auto.explore_step", refuse)
    start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    model = Residuals(rosenbrock)
    lin = model.linearise(start)
    shared = Linearised(lin.residual, lin.jacobian, rows=whole(2))
    auto = optim.make("natural-auto", solver="dense", explore_steps=5)
    new, state, info = auto.update(auto.init(start), start, shared, model)
    assert float(info.loss) < float(lin.loss) and "explored" not in state and state["explore_over"]


def test_a_budget_of_seconds_explores_until_spent_and_the_stage_never_returns():
    """A budget of one nanosecond: the first update explores (nothing spent yet), the second cannot; an optimizer
    with a larger budget does not explore again once the state says the stage is over."""
    start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    model = Residuals(rosenbrock)
    auto = optim.make("natural-auto", solver="dense", explore_seconds=1e-9)
    theta, state, info = auto.update(auto.init(start), start, model.linearise(start), model)
    assert state["explored"] == 1 and state["explore_spent"] > 1e-9 and info.step_size in (0.0, 1.0)
    theta, state, info = auto.update(state, theta, model.linearise(theta), model)
    assert state["explored"] == 1 and state["explore_over"] and "damping" in state
    longer = optim.make("natural-auto", solver="dense", explore_seconds=1e9)
    _, state, _ = longer.update(state, theta, model.linearise(theta), model)
    assert state["explored"] == 1
    with pytest.raises(ValueError, match="seconds must be ≥ 0"):
        optim.make("natural-auto", explore_seconds=-1.0)


@pytest.mark.parametrize(("seconds", "explored"), [(40.0, 2), (100.0, 4)])
def test_a_budget_of_seconds_too_short_for_the_fewest_steps_ends_the_stage_after_two(monkeypatch, seconds, explored):
    """Every step takes one second on a fake clock: 40 s cannot buy ``MIN_EXPLORE_STEPS`` = 50 steps, so the stage
    ends after its second; 100 s can, so it goes on."""
    ticks = iter(range(10**6))
    monkeypatch.setattr("pinn_natmom.optim.auto.perf_counter", lambda: float(next(ticks)))
    assert MIN_EXPLORE_STEPS == 50
    start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    model = Residuals(rosenbrock)
    auto = optim.make("natural-auto", solver="dense", explore_seconds=seconds)
    theta, state = start, auto.init(start)
    for _ in range(4):
        theta, state, _ = auto.update(state, theta, model.linearise(theta), model)
    assert state["explored"] == explored and state["explore_fastest"] == 1.0


def run_windows(losses):
    """The step after which ``stalled`` first says so over ``losses`` (``None``: never)."""
    state = {}
    for taken, loss in enumerate(losses, start=1):
        window, stuck = stalled(state, loss, taken)
        state = {**state, **window}
        if stuck:
            return taken
    return None


def test_the_stage_has_stalled_once_a_window_of_steps_does_not_halve_the_lowest_loss():
    steady = [0.97**k for k in range(4 * STALL_WINDOW)]      # 0.97⁵⁰ ≈ 0.22 per window
    assert run_windows(steady) is None
    flat = [1.0 + 0.1 * (-1) ** k for k in range(4 * STALL_WINDOW)]      # noisy, no progress
    assert run_windows(flat) == 2 * STALL_WINDOW
    slowing = steady[:STALL_WINDOW] + [0.8 * steady[STALL_WINDOW - 1]] * (3 * STALL_WINDOW)
    assert run_windows(slowing) == 2 * STALL_WINDOW and STALL_FACTOR == 0.5


def test_the_option_is_checked_and_reaches_natural_auto_only():
    poisson = pdes.make("poisson", dim=2)
    resolved = Options(explore_steps=7).resolved(poisson)
    assert resolved.optimizer_for("svd").explore_steps == 7
    plain = Options().resolved(poisson).optimizer_for("svd")
    assert plain.explore_steps == 0 and plain.explore_seconds == 0.0
    timed = Options(time_limit=40.0).resolved(poisson).optimizer_for("svd")
    assert timed.explore_steps == 0 and timed.explore_seconds == pytest.approx(EXPLORE_SHARE * 40.0)
    off = Options(time_limit=40.0, explore_steps=0).resolved(poisson).optimizer_for("svd")
    assert off.explore_steps == 0 and off.explore_seconds == 0.0
    redrawn = Options(time_limit=40.0, resample_every=1).resolved(poisson).optimizer_for("svd")
    assert redrawn.explore_seconds == 0.0
    assert Options(time_limit=40.0).resolved(pdes.make("poisson", dim=5)).optimizer_for("svd").explore_seconds == 0.0
    assert Options(time_limit=40.0, optimizer="engd").resolved(poisson).optimizer_for("svd").damping > 0
    with pytest.raises(ValueError, match="explore_steps must be ≥ 0"):
        Options(explore_steps=-1)
    with pytest.raises(ValueError, match="does not take the option"):
        optim.make("engd", explore_steps=3)
    assert INITIAL_RADIUS > 0 and 0 < TARGET_RATIO < 0.25


def test_the_run_metrics_record_how_many_steps_explored():
    poisson = pdes.make("poisson", dim=2)
    explored = api.solve(poisson, steps=3, explore_steps=2, n_points={"interior": 64})
    assert explored.metrics["explore_steps_taken"] == 2
    assert "explore_steps_taken" not in api.solve(poisson, steps=1, n_points={"interior": 64}).metrics
    assert optim.exploring_steps({"count": 1, "first": {}, "then": {"explored": 4}}) == 4
    assert optim.exploring_steps({"step": 0}) == 0
