"""The step rule over candidate paths (``pinn_natmom.optim.candidates``) and the composition of the natural
optimizers' rules (``pinn_natmom.optim.base``)."""
from dataclasses import dataclass

import pytest
import torch
from test_optim import pinv, quadratic

from pinn_natmom import optim, solvers
from pinn_natmom.optim.base import Natural
from pinn_natmom.optim.candidates import Candidate, search
from pinn_natmom.optim.contract import Regularisation


def setting(seed=0):
    model = quadratic(n=12, p=4, seed=seed)
    theta = torch.randn(4, generator=torch.Generator().manual_seed(seed + 1))
    lin = model.linearise(theta)
    return model, theta, lin, pinv(lin.jacobian) @ lin.residual


def test_search_takes_the_candidate_with_the_lower_loss_and_lands_on_the_minimiser():
    """On a linear model the natural step with ``α = 1`` is the least-squares minimiser; a candidate along a random
    direction is searched too and loses."""
    model, theta, lin, d = setting()
    engd = optim.make("engd", solver="dense", damping=1e-14)
    other = Candidate(theta, torch.randn(4, generator=torch.Generator().manual_seed(9)))
    for order in ([other, Candidate(theta, d)], [Candidate(theta, d), other]):
        new, state, info = search(engd, model, lin, engd.init(theta), theta, Regularisation(), order)
        torch.testing.assert_close(new, theta - d, rtol=0, atol=1e-12)
        assert info.step_size == 1.0 and not info.restarted and state["grid_index"] == 0
        assert float((model.jacobian(new).T @ model.residual(new)).norm()) < 1e-10
        torch.testing.assert_close(info.loss, model.losses(new.unsqueeze(0))[0], rtol=1e-14, atol=0)


def test_search_restarts_only_when_no_candidate_lowers_the_loss_and_builds_the_restart_lazily():
    model, theta, lin, d = setting(seed=2)
    engd = optim.make("engd", solver="dense", damping=1e-14)
    built = []

    def restart():
        built.append(True)
        return Candidate(theta, d)

    uphill = Candidate(theta, -d)
    new, _, info = search(engd, model, lin, engd.init(theta), theta, Regularisation(), [uphill], restart)
    assert built == [True] and info.restarted and info.step_size == 1.0
    torch.testing.assert_close(new, theta - d, rtol=0, atol=1e-12)
    search(engd, model, lin, engd.init(theta), theta, Regularisation(), [Candidate(theta, d)], restart)
    assert built == [True]


def test_search_keeps_theta_with_the_current_loss_when_nothing_lowers_it():
    model, theta, lin, d = setting(seed=3)
    engd = optim.make("engd", solver="dense", damping=1e-14)
    state = {"grid_index": 4}
    new, searched, info = search(engd, model, lin, state, theta, Regularisation(damping=0.5), [Candidate(theta, -d)],
                                 lambda: Candidate(theta + d, -d))
    assert torch.equal(new, theta) and searched == state
    assert info.step_size == 0.0 and info.restarted and info.loss == lin.loss and info.regularisation.damping == 0.5


def test_a_bent_candidate_moves_along_its_parabola():
    _, theta, _, d = setting()
    a = torch.ones(4)
    torch.testing.assert_close(Candidate(theta, d, a).at(0.5), theta - 0.5 * d + 0.125 * a, rtol=0, atol=0)


@dataclass(frozen=True)
class HalfStep(Natural):
    """A momentum rule written by hand: the natural step from ``θ`` and a half one, searched as two candidates."""

    def propose(self, apply: solvers.Apply, state, theta, lin, residuals):
        d = apply(lin.residual)
        return [Candidate(theta, 0.5 * d), Candidate(theta, d)], None


def test_a_flavour_overrides_one_rule_and_keeps_the_trust_region_direction_and_step_rules():
    """A ``Natural`` that only proposes candidates gets the damping control, the solver and the line search of the
    others: on a linear model the full natural step wins over the half one, lands where ENGD lands, and the trust
    region sees the model predict the decrease exactly (``ρ = 1``) and lowers the damping as it does for ENGD."""
    model, theta, lin, _ = setting(seed=4)
    engd, half = optim.make("engd", solver="dense"), HalfStep(solver="dense")
    got, state, info = half.update(half.init(theta), theta, lin, model)
    expected, expected_state, _ = engd.update(engd.init(theta), theta, lin, model)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    assert info.ratio == pytest.approx(1.0, abs=1e-9) and info.step_size == 1.0
    assert state["damping"] == expected_state["damping"] == engd.damping / engd.trust_region.shrink
