"""Checkpoints, resume and the divergence guard, in process: a run continued from a saved checkpoint equals the
uninterrupted run bit for bit on the CPU, and non-finite updates are rejected."""
import dataclasses
import math

import pytest
import torch

import pdes
from pinn_natmom import api
from pinn_natmom.cli import runfolder
from pinn_natmom.train import Hooks

BASE = dict(hidden=(10,), n_points={"interior": 120, "boundary": 40}, n_eval=200, device="cpu")
LINE = dict(hidden=(16,), n_points={"interior": 100, "boundary": 2}, n_eval=200, device="cpu", solver="svd")


def without_clock(history):
    """The rows without their wall time, as exact decimal strings (so that NaN damping compares equal)."""
    return [{k: repr(v) for k, v in row.items() if k != "wall_time_s"} for row in history]


@pytest.mark.parametrize(
    "options",
    [
        dict(optimizer="engd", steps=9),
        dict(optimizer="natural-heavy-ball", steps=9, resample_every=3),
        dict(optimizer="natural-nesterov", steps=9, solver="dense", damping=1e-8),
        dict(optimizer="natural-auto", steps=9, resample_every=3),
        dict(optimizer="spring", steps=9, resample_every=2),
        dict(optimizer="lbfgs", steps=6),
        dict(optimizer="engd", warmup_adam=4, steps=9),
    ],
    ids=["engd", "heavy-ball-resampled", "nesterov-dense", "auto-resampled", "spring-resampled", "lbfgs", "adam-warm-start"],
)
def test_resume_from_a_saved_checkpoint_equals_the_uninterrupted_run(options, tmp_path):
    problem = pdes.poisson(hard_bc=False, dim=2)
    whole = api.solve(problem, **BASE, **options)
    network = {"hidden": list(BASE["hidden"]), "dim": 2}

    def save(snapshot):
        if snapshot.step == 4:
            runfolder.write_checkpoint(tmp_path, snapshot, network)

    api.solve(problem, **BASE, **{**options, "steps": 4}, hooks=Hooks(on_checkpoint=save, checkpoint_every=2))
    snapshot = runfolder.read_checkpoint(tmp_path / runfolder.CHECKPOINT)
    assert snapshot.step == 4 and len(snapshot.history) == 5
    resumed = api.solve(problem, **BASE, **options, resume=snapshot)
    assert torch.equal(resumed.theta, whole.theta)
    assert without_clock(resumed.history) == without_clock(whole.history)
    assert resumed.history[5]["wall_time_s"] >= snapshot.elapsed


def test_checkpoints_are_written_every_k_steps_and_at_the_end_keeping_the_previous_one(tmp_path):
    steps_seen = []

    def save(snapshot):
        steps_seen.append(snapshot.step)
        runfolder.write_checkpoint(tmp_path, snapshot, {"hidden": [10], "dim": 2})

    api.solve(pdes.poisson(hard_bc=False, dim=2), **BASE, steps=7, hooks=Hooks(on_checkpoint=save, checkpoint_every=3))
    assert steps_seen == [3, 6, 7]
    assert runfolder.read_checkpoint(tmp_path / runfolder.CHECKPOINT).step == 7
    assert runfolder.read_checkpoint(tmp_path / runfolder.PREVIOUS_CHECKPOINT).step == 6
    payload = torch.load(tmp_path / runfolder.CHECKPOINT, weights_only=True)
    assert payload["hidden"] == [10] and payload["theta"].dtype == torch.float64


def test_a_truncated_checkpoint_is_refused_in_one_line_naming_the_previous_one(tmp_path):
    api.solve(pdes.poisson(hard_bc=False, dim=2), **BASE, steps=4,
              hooks=Hooks(on_checkpoint=lambda s: runfolder.write_checkpoint(tmp_path, s, {}), checkpoint_every=2))
    path = tmp_path / runfolder.CHECKPOINT
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(runfolder.CheckpointError) as error:
        runfolder.read_checkpoint(path)
    message = str(error.value)
    assert "truncated" in message and runfolder.PREVIOUS_CHECKPOINT in message and "\n" not in message
    assert runfolder.read_checkpoint(tmp_path / runfolder.PREVIOUS_CHECKPOINT).step == 2


def poisoned(problem):
    """``problem`` whose interior residual returns NaN while ``switch["calls"] > 0`` (counting down per call), or
    always when ``switch["calls"]`` is negative."""
    term = problem.terms[0]
    switch = {"calls": 0}

    def residual(x, jet, data):
        value = term.residual(x, jet, data)
        if switch["calls"] == 0:
            return value
        switch["calls"] -= 1 if switch["calls"] > 0 else 0
        return value * float("nan")

    return dataclasses.replace(problem, terms=(dataclasses.replace(term, residual=residual), *problem.terms[1:])), switch


def poison_after(switch, step, calls):
    def on_step(row):
        if row["step"] == step:
            switch["calls"] = calls
    return Hooks(on_step=on_step)


def test_a_nan_update_is_rejected_and_training_continues():
    clean = api.solve(pdes.poisson(hard_bc=False, dim=1), **LINE, steps=4)
    problem, switch = poisoned(pdes.poisson(hard_bc=False, dim=1))
    result = api.solve(problem, **LINE, steps=30, hooks=poison_after(switch, 3, calls=1))
    assert result.metrics["rejected_updates"] == 1 and result.metrics["stop_reason"] == "steps"
    assert all(math.isfinite(row["loss"]) for row in result.history) and len(result.history) == 31
    assert without_clock(result.history[:4]) == without_clock(clean.history[:4])
    assert result.history[-1]["loss"] < 1e-6 * result.history[0]["loss"]


def test_repeated_failures_stop_the_run_as_diverged_with_the_last_good_theta():
    clean = api.solve(pdes.poisson(hard_bc=False, dim=2), **BASE, steps=2)
    problem, switch = poisoned(pdes.poisson(hard_bc=False, dim=2))
    result = api.solve(problem, **BASE, steps=10, hooks=poison_after(switch, 2, calls=-1))
    assert result.metrics["stop_reason"] == "diverged" and "NaN" in result.metrics["failure"]
    assert result.metrics["rejected_updates"] == 4 and result.metrics["steps"] == 2
    assert torch.equal(result.theta, clean.theta)
