import math

import pytest
import torch

import pdes
from pinn_natmom import api
from pinn_natmom.train import HISTORY_COLUMNS


def test_short_solve_decreases_the_loss_by_orders_of_magnitude(device):
    problem = pdes.poisson(dim=1)
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
    problem = pdes.poisson(dim=2)
    options = dict(hidden=(8,), steps=6, n_points={"interior": 80, "boundary": 30}, n_eval=100, device="cpu")
    first = api.solve(problem, **options).history
    second = api.solve(problem, **options).history
    assert [(r["loss"], r["rel_l2"]) for r in first] == [(r["loss"], r["rel_l2"]) for r in second]


def test_target_stops_the_run():
    problem = pdes.poisson(dim=1)
    result = api.solve(problem, hidden=(16,), steps=100, n_points={"interior": 100, "boundary": 2}, n_eval=200,
                       device="cpu", target_rel_l2=1e-3)
    assert result.metrics["stop_reason"] == "target_rel_l2"
    assert result.metrics["rel_l2"] <= 1e-3 and result.metrics["steps"] < 100


def test_problem_without_exact_solution_reports_only_the_loss():
    problem = pdes.poisson(dim=2, source=lambda x: torch.ones(x.shape[:-1], dtype=x.dtype, device=x.device))
    result = api.solve(problem, hidden=(8,), steps=5, n_points={"interior": 60, "boundary": 20}, device="cpu")
    assert math.isnan(result.metrics["rel_l2"]) and result.history[-1]["loss"] < result.history[0]["loss"]


@pytest.mark.parametrize("bad", [dict(steps=-1), dict(n_points={"interior": 0, "boundary": 5}), dict(dtype="float16"),
                                 dict(solver="magic"), dict(rcond=2.0)])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValueError):
        api.Options(**bad)
