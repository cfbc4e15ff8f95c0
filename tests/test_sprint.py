"""natural-auto's sprint before the exploring stage and the fallback it leaves: the restart from θ₀, the fallback
dropped once beaten, taken back where the stage is cut short, and by the training loop where a run ends first
(float64)."""
import pytest
import torch
from test_trust_region import Residuals, rosenbrock

import pdes
from pinn_natmom import api, optim
from pinn_natmom.optim import fallback
from pinn_natmom.options import EXPLORE_SHARE, SPRINT_SHARE, Options


def tick_every_call(monkeypatch):
    """A fake clock for the optimizer: every reading is one second after the previous one, so every update of the
    sprint or the stage costs one second."""
    ticks = iter(range(10**6))
    monkeypatch.setattr("pinn_natmom.optim.auto.perf_counter", lambda: float(next(ticks)))


def steps(optimizer, model, theta, count, state=None):
    state = optimizer.init(theta) if state is None else state
    infos = []
    for _ in range(count):
        theta, state, info = optimizer.update(state, theta, model.linearise(theta), model)
        infos.append(info)
    return theta, state, infos


START = torch.tensor([-1.2, 1.0], dtype=torch.float64)


def test_the_sprint_restarts_from_theta_zero_and_keeps_its_last_theta_as_the_fallback(monkeypatch):
    tick_every_call(monkeypatch)
    model = Residuals(rosenbrock)
    auto = optim.make("natural-auto", solver="dense", explore_seconds=100.0, sprint_seconds=3.0)
    plain = optim.make("natural-auto", solver="dense")
    sprinted, _, plain_infos = steps(plain, model, START, 3)
    theta, state, infos = steps(auto, model, START, 3)
    torch.testing.assert_close(theta, START, rtol=0, atol=0)
    assert infos[-1].restarted and infos[-1].step_size == 0.0
    assert float(infos[-1].loss) == pytest.approx(float(model.losses(START.unsqueeze(0))[0]), rel=1e-15)
    kept, loss, own = fallback.held(state)
    torch.testing.assert_close(kept, sprinted, rtol=0, atol=0)      # the sprint is natural-auto's first steps
    assert loss == pytest.approx(float(plain_infos[-1].loss), rel=1e-15) and own["sprint_over"]
    assert state["sprint_over"] and state["sprint_spent"] == 3.0 and "explored" not in state
    theta, state, infos = steps(auto, model, theta, 2, state)
    assert state["explored"] == 2 and "step" not in state       # the stage, from the initial state


def test_the_fallback_is_dropped_once_the_new_trajectory_is_lower(monkeypatch):
    tick_every_call(monkeypatch)
    model = Residuals(rosenbrock)
    auto = optim.make("natural-auto", solver="dense", explore_seconds=60.0, sprint_seconds=2.0)
    theta, state, _ = steps(auto, model, START, 80)
    assert fallback.held(state) is None and state["explore_over"]
    torch.testing.assert_close(theta, torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-10)


def test_a_stage_cut_short_returns_to_the_fallback_with_its_state(monkeypatch):
    """40 s cannot buy 50 exploring steps of one second: after two of them the run goes on from the sprint's θ."""
    tick_every_call(monkeypatch)
    model = Residuals(rosenbrock)
    auto = optim.make("natural-auto", solver="dense", explore_seconds=40.0, sprint_seconds=3.0)
    theta, state, _ = steps(auto, model, START, 3)
    kept, loss, own = fallback.held(state)
    theta, state, infos = steps(auto, model, theta, 2, state)
    torch.testing.assert_close(theta, kept, rtol=0, atol=0)
    assert infos[-1].restarted and float(infos[-1].loss) == loss
    assert state["explored"] == 2 and state["explore_over"] and fallback.held(state) is None
    assert state["grid_index"] == own["grid_index"]


def at_its_floor(theta):
    """Rosenbrock with a third residual no θ changes: the least loss is 5·10⁻¹⁵, below 10⁻¹⁰ of the first."""
    return torch.cat([rosenbrock(theta), theta.new_tensor([1e-7])])


def test_the_sprint_ends_where_the_stages_below_reach_their_floor():
    model = Residuals(at_its_floor)
    auto = optim.make("natural-auto", solver="dense", explore_seconds=1e9, sprint_seconds=1e9)
    _, state, infos = steps(auto, model, START, 40)
    restart = next(k for k, info in enumerate(infos) if info.restarted)
    assert float(infos[restart - 1].loss) < 1e-14 and state["sprint_over"] and state["sprint_spent"] < 60.0


def test_time_limited_runs_sprint_first_and_the_option_is_checked():
    poisson = pdes.make("poisson", dim=2)
    timed = Options(time_limit=40.0).resolved(poisson).optimizer_for("svd")
    assert timed.sprint_seconds == pytest.approx(SPRINT_SHARE * 40.0)
    assert timed.explore_seconds == pytest.approx(EXPLORE_SHARE * 40.0)
    assert Options(time_limit=40.0, explore_steps=30).resolved(poisson).optimizer_for("svd").sprint_seconds == 0.0
    assert Options().resolved(poisson).optimizer_for("svd").sprint_seconds == 0.0
    with pytest.raises(ValueError, match="sprint's seconds must be ≥ 0"):
        optim.make("natural-auto", sprint_seconds=-1.0)


def test_a_run_that_ends_first_takes_back_a_better_fallback():
    poisson = pdes.make("poisson", dim=2)
    settings = {"n_points": {"interior": 64}, "hidden": (8,)}
    better = api.setup(poisson, steps=8, **settings)
    good = better.run()
    trainer = api.setup(poisson, steps=2, **settings)
    trainer.run()
    before = len(trainer.history)
    own = {"grid_index": 5}
    current = {**trainer.state, "explored": 3}
    trainer.state = fallback.kept(current, good.theta, good.history[-1]["loss"], own)
    trainer.run()
    assert len(trainer.history) == before + 1 and trainer.history[-1]["step"] == 2
    torch.testing.assert_close(trainer.theta, good.theta, rtol=0, atol=0)
    assert trainer.history[-1]["loss"] == good.history[-1]["loss"]
    assert trainer.history[-1]["rel_l2"] == pytest.approx(good.history[-1]["rel_l2"], rel=1e-12)
    assert trainer.state == {**current, **own}      # the current trajectory's counts kept, the fallback's own over them
    warm = {"count": 1, "first": {}, "then": fallback.kept({"explored": 2, "grid_index": 1}, good.theta, 0.0, own)}
    assert fallback.restored(warm) == {"count": 1, "first": {}, "then": {"explored": 2, "grid_index": 5}}
    worse = fallback.kept(trainer.state, trainer.theta, 10.0 * trainer.history[-1]["loss"], {})
    trainer.state = worse
    assert not trainer.take_back_fallback() and trainer.state is worse
