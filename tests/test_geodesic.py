import pytest
import torch
from test_optim import geodesic_step, pinv, quadratic, run

from pinn_natmom import optim, solvers
from pinn_natmom.linesearch import grid_search, step_grid
from pinn_natmom.optim.auto import FLOOR_RCOND
from pinn_natmom.optim.geodesic import acceleration


def curved_step():
    """A curved quadratic map, a point on it, ``J``, the natural direction ``d`` and the acceleration ``a`` there."""
    model = quadratic(n=12, p=4, curvature=0.7, seed=4)
    theta = torch.randn(4, generator=torch.Generator().manual_seed(1))
    j, r = model.jacobian(theta), model.residual(theta)
    d = pinv(j) @ r
    apply, _ = solvers.factorize("dense", j, 1e-14)
    return model, j, d, acceleration(model, theta, d, r, apply)


def test_acceleration_is_minus_the_pseudo_inverse_of_the_exact_second_derivative_on_a_quadratic_map():
    """``r(θ) = Aθ + ½ s (θ·θ) − b`` has ``r_vv = s (v·v)`` exactly, and the central difference is exact for it."""
    model, j, d, a = curved_step()
    torch.testing.assert_close(a, -pinv(j) @ (model.s * (d @ d)), rtol=1e-8, atol=1e-10)


def test_geodesic_path_has_no_second_order_residual_left_in_the_tangent_space():
    """Along ``θ(α) = θ − α d + ½ α² a`` the ``α²`` term of ``r`` is ``½(r_vv + J a)``, orthogonal to ``range J``."""
    model, j, d, a = curved_step()
    second_order = model.s * (d @ d) + j @ a
    assert float((j.T @ second_order).norm()) < 1e-9 * float(second_order.norm() * j.norm())


def test_engd_geodesic_takes_the_hand_computed_steps():
    model = quadratic(n=12, p=4, curvature=0.3, seed=2)
    theta0 = 0.1 * torch.randn(4, generator=torch.Generator().manual_seed(5))
    theta1 = geodesic_step(model, theta0, 0.5)
    optimizer = optim.make("engd-geodesic", solver="dense", damping=1e-14, line_search=False, lr=0.5)
    got, _ = run(optimizer, model, theta0, 2)
    torch.testing.assert_close(got, geodesic_step(model, theta1, 0.5), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize(("solver", "rows", "params", "solved_at"),
                         [("dense", 12, 4, 0.1), ("pinv", 12, 4, 1.0), ("woodbury", 4, 6, 0.1), ("svd", 4, 6, 1.0)])
def test_the_geodesic_path_is_solved_with_the_configured_solver_the_cholesky_ones_refined_a_decade_lower(
        solver, rows, params, solved_at):
    model = quadratic(n=rows, p=params, curvature=0.3, seed=2)
    theta = 0.1 * torch.randn(params, generator=torch.Generator().manual_seed(5))
    optimizer = optim.make("engd-geodesic", solver=solver, damping=1e-6)
    _, _, info = optimizer.update(optimizer.init(theta), theta, model.linearise(theta), model)
    assert info.regularisation.damping == pytest.approx(solved_at * 1e-6, rel=1e-12)


def test_curved_line_search_returns_the_argmin_over_the_bent_grid():
    model = quadratic(n=12, p=4, curvature=0.7, seed=4)
    theta = torch.randn(4, generator=torch.Generator().manual_seed(1))
    d = pinv(model.jacobian(theta)) @ model.residual(theta)
    a = torch.randn(4, generator=torch.Generator().manual_seed(2))
    alphas = step_grid(theta)[:, None]
    every = model.losses(theta - alphas * d + 0.5 * alphas.square() * a)
    current = model.losses(theta.unsqueeze(0))[0]
    found = grid_search(model.losses, theta, d, current, exhaustive=True, acceleration=a)
    assert found.index == int(every.argmin()) and float(found.loss) == pytest.approx(float(every.min()), rel=1e-12)


def test_natural_auto_switches_to_the_geodesic_path_once_the_loss_has_fallen_ten_orders_and_the_steps_creep():
    """On a consistent curved map Gauss–Newton drives the loss to round-off within a few steps; the step after that
    creeps, and from then on every step is the geodesic path (``engd-geodesic``'s step from the same θ at the floor's
    cut-off, also away from the minimiser)."""
    model = quadratic(n=4, p=6, curvature=0.3, seed=1)
    theta = 0.1 * torch.randn(6, generator=torch.Generator().manual_seed(5))
    optimizer = optim.make("natural-auto", solver="pinv")
    state = optimizer.init(theta)
    flags, losses = [], []
    for _ in range(8):
        lin = model.linearise(theta)
        theta, state, info = optimizer.update(state, theta, lin, model)
        flags.append(state["geodesic"])
        losses.append(float(lin.loss))
    first = flags.index(True)
    assert not any(flags[:first]) and all(flags[first:])
    assert losses[first] < 1e-10 * losses[0] and state["first_loss"] == losses[0]
    geodesic = optim.make("engd-geodesic", solver="pinv", rcond=FLOOR_RCOND)
    expected, _, _ = geodesic.update({"grid_index": state["grid_index"]}, theta, model.linearise(theta), model)
    got, _, _ = optimizer.update(state, theta, model.linearise(theta), model)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    start = 0.1 * torch.randn(6, generator=torch.Generator().manual_seed(5))
    expected, _, _ = geodesic.update({"grid_index": 0}, start, model.linearise(start), model)
    got, _, _ = optimizer.update({**state, "grid_index": 0}, start, model.linearise(start), model)
    assert float((expected - start).norm()) > 0.1
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_natural_auto_steps_before_its_floor_bend_the_model_step_only():
    """Far from the floor the damped geodesic path is not searched: the first step and every model step are bent
    (:func:`test_optim.bent_step`), the Nesterov steps and the restarts are straight."""
    model = quadratic(n=12, p=4, curvature=0.3, seed=3)
    theta0 = 0.1 * torch.randn(4, generator=torch.Generator().manual_seed(5))
    optimizer = optim.make("natural-auto", solver="dense", damping=1e-14)
    got, state = run(optimizer, model, theta0, 3)
    assert state["geodesic"] is False
    searched = []
    original = optim.NaturalAuto.step

    def spy(self, model, origin, d, reference, state, acceleration=None):
        searched.append(acceleration)
        return original(self, model, origin, d, reference, state, acceleration)

    optim.NaturalAuto.step = spy
    try:
        again, _ = run(optimizer, model, theta0, 3)
    finally:
        optim.NaturalAuto.step = original
    assert len(searched) >= 5 and searched[0] is not None
    assert [a is None for a in searched[1:5]] == [False, True, False, True]
    torch.testing.assert_close(again, got, rtol=0, atol=0)


def test_natural_auto_bends_its_model_step_with_a_difference_a_tenth_of_the_last_step_size(monkeypatch):
    """With the line search the central difference of the bend is ``0.1 · 2^{−j}`` long (``j`` the exponent of the
    last step taken), so it measures the curvature at the scale of the steps being taken."""
    from pinn_natmom.optim import auto

    lengths = []

    def recorded(model, theta, d, residual, apply, h):
        lengths.append(h)
        return acceleration(model, theta, d, residual, apply, h)

    monkeypatch.setattr(auto, "acceleration", recorded)
    model = quadratic(n=12, p=4, curvature=0.7, seed=4)
    theta = torch.randn(4, generator=torch.Generator().manual_seed(1))
    optimizer = optim.make("natural-auto", solver="dense", damping=1e-14)
    state = optimizer.init(theta)
    expected = []
    for _ in range(4):
        expected.append(0.1 * 2.0 ** -state["grid_index"])
        theta, state, _ = optimizer.update(state, theta, model.linearise(theta), model)
    assert lengths == expected and len(set(expected)) > 1


def test_natural_auto_lowers_the_default_cut_off_at_its_floor_and_keeps_one_the_run_sets():
    """At the floor the truncated solve takes ``FLOOR_RCOND`` unless the run set ``rcond``; before it, the default."""
    model = quadratic(n=4, p=6, curvature=0.3, seed=1)
    theta = 0.1 * torch.randn(6, generator=torch.Generator().manual_seed(5))
    for given, before, at_floor in ((None, 3e-7, FLOOR_RCOND), (1e-5, 1e-5, 1e-5)):
        optimizer = optim.make("natural-auto", solver="pinv", rcond=given)
        state, cut_offs = optimizer.init(theta), []
        at = theta
        for _ in range(8):
            was_at_floor = state.get("geodesic", False)
            at, state, info = optimizer.update(state, at, model.linearise(at), model)
            cut_offs.append((was_at_floor, info.regularisation.rcond))
        assert {rcond for floor, rcond in cut_offs if not floor} == {before}
        assert {rcond for floor, rcond in cut_offs if floor} == {at_floor}
