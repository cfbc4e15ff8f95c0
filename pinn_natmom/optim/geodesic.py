"""Geodesic acceleration (Transtrum & Sethna): the natural step bent by the curvature of the residual map.

With ``d = J⁺ r`` and the velocity ``v = −d``, the path

.. math:: θ(α) = θ + α v + ½ α² a, \\qquad a = −J⁺ r_{vv}, \\qquad
          r_{vv} ≈ \\frac{r(θ + h v) − 2 r(θ) + r(θ − h v)}{h^2}

cancels, to second order in ``α``, the part of ``r(θ(α))`` that the tangent space can reach: ``r(θ(α)) = r + α J v +
½ α² (r_vv + J a) + O(α³)``, and ``J a = −J J⁺ r_vv`` is the projection of ``−r_vv``. The straight Gauss–Newton step
stops where the residual left lies along directions of ``J`` so flat that the step they need is long enough to bend
off the linearisation (the line search then finds no decrease). Where ENGD stalls on the default heat run (seed 0,
loss 3.4e-13), less than 1e-8 of ``‖r‖²`` lies along singular directions of ``J`` above 1e-5 of the largest, and
two thirds along those between 1e-7 and 1e-5. The bent path follows them: on that run, seeds 0–2, 120 s on the
2-core CPU, ``engd-geodesic`` ends at rel_l2 1.1e-8, 1.0e-8 and 1.7e-8 where ``engd`` stalls at 2.0e-7, 3.1e-7 and
5.8e-7 (results/benchmark/geodesic-refined; 3.0e-8, 3.4e-8 and 5.2e-8 with the unrefined solve,
results/benchmark/geodesic).

``natural-auto`` bends its Gauss–Newton-model step the same way before its floor (:mod:`.momentum`), with the
solver it steps with (truncated ones included) and ``h`` a tenth of its last step size: there the curvature that stops
the straight steps is that of the steps the line search takes, which are far shorter than a full one.

The acceleration at the floor needs a damped solve: a truncated pseudo-inverse drops the flat directions the path has
to use, so where the configured solver is truncated (``pinv``, ``svd``) the path is solved with the Cholesky solver of
the smaller space (``dense`` when ``N ≥ P``, else ``woodbury``; a configured randomized solver is kept as it is). The
Cholesky solve is refined (:mod:`pinn_natmom.solvers.refine`): ``λ`` is a tenth of the damping the float64
factorisation reached, which is ``damping`` where the Gram matrix factorises at it (heat and Poisson: ``λ = 10⁻¹¹``
for the default ``10⁻¹⁰``) and larger where it does not. On the default Helmholtz run it needs ``10⁻⁸`` (seeds 0 and
1; ``10⁻⁹`` on seed 2); there, at the floor of ``natural-auto`` (seed 0, 2-core CPU), a step at ``λ = 10⁻⁸`` lowers
the loss by 0.06%, one at ``10⁻⁹`` by 0.5% (full steps both), one at ``10⁻¹⁰`` by 0.3% (the line search cuts it to
``α = 1/16``). With the refined solve ``natural-auto`` reaches rel_l2 1.01e-6 at a median 65.7 s over seeds 0–2
(results/benchmark/geodesic-refined); unrefined, seed 0 took 1,724 steps to get there, refined 210.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from ..linesearch import path
from ..residual_map import ResidualMap
from .base import Natural, Regularisation, State, StepInfo

DIFFERENCE_STEP = 0.1
"""``h`` of the central difference for ``r_vv``, in units of the step ``v`` (so ``h v`` is a tenth of a full step)."""


def damped_solver(name: str, n_rows: int, n_params: int) -> str:
    """The solver for the geodesic path: ``name`` resolved, or, for a truncated one, ``dense`` (``N ≥ P``) or
    ``woodbury`` (``N < P``)."""
    resolved = solvers.choose(name, n_rows, n_params)
    if resolved not in solvers.TRUNCATED:
        return resolved
    return "dense" if n_rows >= n_params else "woodbury"


def acceleration(residuals: ResidualMap, theta: Tensor, d: Tensor, residual: Tensor, apply: solvers.Apply,
                 h: float = DIFFERENCE_STEP) -> Tensor:
    """``a = −J⁺ r_vv`` for the velocity ``v = −d``, with ``r_vv`` by the central difference of the module docstring
    (two residual evaluations)."""
    second = (residuals.residual(theta - h * d) - 2.0 * residual + residuals.residual(theta + h * d)) / h**2
    return -solvers.check_finite(apply(second))


def damped_pseudo_inverse(optimizer: Natural, lin: Linearised) -> tuple[solvers.Apply, Regularisation]:
    """``(rhs ↦ J⁺ rhs, λ used)`` by :func:`damped_solver` for ``optimizer``'s solver, with its damping and options,
    refined where the solver can be."""
    name = damped_solver(optimizer.solver, *lin.system_shape)
    options: dict[str, int | bool] = {**optimizer.solver_options(name)}
    if "refine" in solvers.OPTIONS.get(name, frozenset()):
        options["refine"] = True
    apply, used = solvers.factorize(name, lin.jacobian, optimizer.regulariser(name), lin.rows, **options)
    return apply, Regularisation(damping=used)


def geodesic_step(optimizer: Natural, state: State, theta: Tensor, lin: Linearised,
                  residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
    """One step along ``θ − α d + ½ α² a`` (``d = J⁺ r`` and ``a`` from :func:`damped_pseudo_inverse`), ``α`` by
    ``optimizer``'s line search on the path; ``θ`` unchanged when no step lowers the loss."""
    apply, used = damped_pseudo_inverse(optimizer, lin)
    d = solvers.check_finite(apply(lin.residual))
    bend = acceleration(residuals, theta, d, lin.residual, apply)
    found, state = optimizer.step(residuals, theta, d, lin.loss, state, bend)
    if not found.improved:
        return theta, state, StepInfo(0.0, used, lin.loss)
    return path(theta, d, bend, found.step_size), state, StepInfo(found.step_size, used, found.loss)


@dataclass(frozen=True)
class GeodesicENGD(Natural):
    """ENGD along the geodesic path ``θ − α d + ½ α² a``, ``α`` by the line search on the path (no momentum)."""

    def update(self, state: State, theta: Tensor, lin: Linearised, residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        return geodesic_step(self, state, theta, lin, residuals)

    def solves_damped(self, state: State, lin: Linearised) -> bool:
        """The geodesic path always solves with ``λ`` (:func:`damped_solver`)."""
        return True
