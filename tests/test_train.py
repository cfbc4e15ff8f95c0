import dataclasses
import math

import pytest
import torch

import pdes
from pinn_natmom import api
from pinn_natmom.compute import make_compute
from pinn_natmom.network import MLP
from pinn_natmom.optim.contract import Regularisation, StepInfo
from pinn_natmom.state import identical
from pinn_natmom.train import HISTORY_COLUMNS, FitConfig, fit, sample_points


def test_short_solve_decreases_the_loss_by_orders_of_magnitude(device):
    problem = pdes.poisson(hard_bc=False, dim=1)
    result = api.solve(problem, hidden=(16,), steps=25, n_points={"interior": 100, "boundary": 2}, n_eval=500,
                       device=device.type, solver="svd")
    history = result.history
    assert [set(row) for row in history[:1]] == [set(HISTORY_COLUMNS)]
    assert history[-1]["loss"] < 1e-12 * history[0]["loss"]
    assert history[-1]["rel_l2"] < 1e-7
    assert result.metrics["steps"] == 25 and result.metrics["stop_reason"] == "steps"
    x = torch.rand(7, 1)
    assert result(x).shape == (7,)


def test_same_seed_same_history_bit_for_bit():
    problem = pdes.poisson(hard_bc=False, dim=2)
    options = dict(hidden=(8,), steps=6, n_points={"interior": 80, "boundary": 30}, n_eval=100, device="cpu")
    first = api.solve(problem, **options).history
    second = api.solve(problem, **options).history
    assert [(r["loss"], r["rel_l2"]) for r in first] == [(r["loss"], r["rel_l2"]) for r in second]


def test_target_stops_the_run():
    problem = pdes.poisson(hard_bc=False, dim=1)
    result = api.solve(problem, hidden=(16,), steps=100, n_points={"interior": 100, "boundary": 2}, n_eval=200,
                       device="cpu", target_rel_l2=1e-3)
    assert result.metrics["stop_reason"] == "target_rel_l2"
    assert result.metrics["rel_l2"] <= 1e-3 and result.metrics["steps"] < 100


def test_problem_without_exact_solution_reports_only_the_loss():
    problem = pdes.poisson(hard_bc=False, dim=2, source=lambda x: torch.ones(x.shape[:-1], dtype=x.dtype, device=x.device))
    result = api.solve(problem, hidden=(8,), steps=5, n_points={"interior": 60, "boundary": 20}, device="cpu")
    assert math.isnan(result.metrics["rel_l2"]) and result.history[-1]["loss"] < result.history[0]["loss"]


@pytest.mark.parametrize("bad", [dict(steps=-1), dict(n_points={"interior": 0, "boundary": 5}), dict(dtype="float16"),
                                 dict(solver="magic")])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValueError):
        api.Options(**bad)


@pytest.mark.parametrize("bad,message", [(dict(rcond=2.0), "rcond"), (dict(optimizer="engd", momentum=0.5), "momentum"),
                                         (dict(n_points={"boundry": 5}), "no boundry term")])
def test_options_that_do_not_combine_are_refused_when_resolved(bad, message):
    with pytest.raises(ValueError, match=message):
        api.Options(**bad).resolved(pdes.poisson(hard_bc=False, dim=1))


def test_explicit_options_keep_the_problems_recommendations():
    problem = pdes.poisson(hard_bc=False, dim=5)
    resolved = api.Options(steps=3).resolved(problem)
    assert resolved.steps == 3 and resolved.hidden == (64,) and resolved.optimizer == "natural-auto"
    assert resolved.n_points == {"interior": 2000, "boundary": 500}
    assert api.Options(steps=3, hidden=(8,)).resolved(problem).hidden == (8,)


def test_run_plans_its_solver_from_the_free_memory(monkeypatch):
    problem = pdes.poisson(hard_bc=False, dim=5)
    options = api.Options(hidden=(64, 64, 48, 48), n_points={"interior": 11000, "boundary": 1000}, device="cpu",
                          solver="auto").resolved(problem)
    jacobian, gram = 8 * 12000 * 10065, 2 * 8 * 10065**2  # the Gram matrix and its Cholesky factor
    monkeypatch.setattr(api, "available_bytes", lambda device: int((jacobian + gram) / api.MEMORY_FRACTION) + 10)
    assert api.solver_for(problem, options) == "dense"
    monkeypatch.setattr(api, "available_bytes", lambda device: int((jacobian + gram * 0.6) / api.MEMORY_FRACTION))
    assert api.solver_for(problem, options) == "nystrom-pcg"
    with pytest.raises(ValueError, match="would not fit .* use --solver nystrom-pcg"):
        api.solver_for(problem, dataclasses.replace(options, solver="dense"))


def test_mixed_precision_keeps_float64_residuals_and_a_float32_jacobian():
    problem = pdes.poisson(hard_bc=False, dim=2)
    mlp = MLP.of(2, (16, 16))
    generator = torch.Generator().manual_seed(0)
    theta = mlp.init(generator)
    points = sample_points(problem, {"interior": 50, "boundary": 20}, generator, torch.float64, "cpu")
    full = make_compute(mlp, problem, "forward", torch.device("cpu"), cuda_graphs=False)
    mixed = make_compute(mlp, problem, "forward", torch.device("cpu"), cuda_graphs=False, mixed_precision=True)
    reference, lin = full.linearise(theta, points), mixed.linearise(theta, points)
    assert lin.jacobian.dtype == torch.float64
    assert torch.equal(lin.residual, reference.residual)
    error = float((lin.jacobian - reference.jacobian).norm() / reference.jacobian.norm())
    assert 1e-9 < error < 1e-6
    low = lin.jacobian.to(torch.float32)
    assert torch.equal(low.to(torch.float64), lin.jacobian)


def test_mixed_precision_training_reaches_float64_accuracy():
    problem = pdes.poisson(hard_bc=False, dim=2)
    options = dict(hidden=(16, 16), steps=60, n_points={"interior": 300, "boundary": 80}, n_eval=1000, device="cpu")
    full = api.solve(problem, **options)
    mixed = api.solve(problem, **options, mixed_precision=True)
    assert full.metrics["rel_l2"] < 2e-5
    assert mixed.metrics["rel_l2"] < 3 * full.metrics["rel_l2"]


class StandStill:
    """An optimizer whose update leaves θ and its state as they were."""

    needs_jacobian = False

    def init(self, theta):
        return {"grid_index": 0, "step": torch.zeros_like(theta), "damping": float("nan")}

    def cautious(self):
        return self

    def update(self, state, theta, lin, model):
        fresh = {"grid_index": 0, "step": state["step"].clone(), "damping": float("nan")}
        return theta.clone(), fresh, StepInfo(0.0, Regularisation(), model.losses(theta.unsqueeze(0))[0])


@pytest.mark.parametrize("resample_every, reason, steps", [(0, "stalled", 1), (1, "steps", 5)])
def test_an_update_that_repeats_itself_on_fixed_points_stops_the_run(resample_every, reason, steps):
    problem = pdes.poisson(hard_bc=False, dim=1)
    config = FitConfig(n_points={"interior": 20, "boundary": 2}, steps=5, resample_every=resample_every, n_eval=50)
    fitted = fit(problem, MLP(1, (4,)), StandStill(), config)
    assert (fitted.stop_reason, int(fitted.history[-1]["step"])) == (reason, steps)


def test_engd_at_the_floor_of_its_points_stops_as_stalled_after_an_update_that_changed_nothing():
    problem = pdes.poisson(hard_bc=False, dim=1)
    result = api.solve(problem, hidden=(16,), steps=1500, n_points={"interior": 50, "boundary": 2}, n_eval=200,
                       device="cpu", solver="svd", optimizer="engd")
    assert result.metrics["stop_reason"] == "stalled" and result.metrics["steps"] < 1500
    assert result.metrics["rel_l2"] < 1e-8
    last, before = result.history[-1], result.history[-2]
    assert (last["loss"], last["rel_l2"]) == (before["loss"], before["rel_l2"])


@pytest.mark.parametrize("a, b, same", [
    ({"x": torch.ones(3), "k": [1, (2.0, float("nan"))]}, {"x": torch.ones(3), "k": [1, (2.0, float("nan"))]}, True),
    ({"x": torch.ones(3, dtype=torch.float64)}, {"x": torch.ones(3, dtype=torch.float32)}, False),
    ({"x": torch.ones(3)}, {"x": torch.ones(2)}, False),
    ({"x": torch.ones(3)}, {"x": torch.ones(3), "y": 0}, False),
    ([1, 2], (1, 2), False),
    (torch.zeros(2), 0.0, False),
    (0.5, 0.25, False),
])
def test_identical_compares_nested_states_value_for_value(a, b, same):
    assert identical(a, b) is same


def test_a_run_that_does_not_leave_its_start_says_so():
    """A network far too small for Helmholtz at k = 4π, with a tanh activation, stays near the zero field."""
    result = api.solve(pdes.helmholtz(hard_bc=False, dim=2), activation="tanh", frequency=1.0, hidden=(4,), steps=4,
                       n_points={"interior": 60, "boundary": 20}, n_eval=200, device="cpu")
    assert "has not left its start" in result.metrics["warning"]
    summary = result.metrics["trust_region"]
    assert summary["steps_taken"] + summary["steps_without_decrease"] == 4 and summary["final_damping"] > 0


def test_a_run_that_converges_carries_no_warning():
    result = api.solve(pdes.poisson(hard_bc=False, dim=1), hidden=(16,), steps=25, n_points={"interior": 100, "boundary": 2},
                       n_eval=500, device="cpu")
    assert result.metrics["warning"] is None and result.metrics["rel_l2"] < 1e-6
