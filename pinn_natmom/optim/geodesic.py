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
2-core CPU, ``engd-geodesic`` ends at rel_l2 3.0e-8, 3.4e-8 and 5.2e-8 where ``engd`` stalls at 2.0e-7, 3.4e-7 and
5.8e-7 (results/benchmark/geodesic-120s).

The acceleration needs a damped solve: a truncated pseudo-inverse drops the flat directions the path has to use, so
where the configured solver is truncated (``pinv``, ``svd``) the path is solved with the Cholesky solver of the
smaller space (``dense`` when ``N ≥ P``, else ``woodbury``) and ``λ = damping``.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from .base import Natural, Residuals, State, StepInfo, path

DIFFERENCE_STEP = 0.1
"""``h`` of the central difference for ``r_vv``, in units of the step ``v`` (so ``h v`` is a tenth of a full step)."""


def damped_solver(name: str, n_rows: int, n_params: int) -> str:
    """The solver for the geodesic path: ``name`` resolved, or, for a truncated one, ``dense`` (``N ≥ P``) or
    ``woodbury`` (``N < P``)."""
    resolved = solvers.choose(name, n_rows, n_params)
    if resolved not in solvers.TRUNCATED:
        return resolved
    return "dense" if n_rows >= n_params else "woodbury"


def acceleration(model: Residuals, theta: Tensor, d: Tensor, residual: Tensor, apply: solvers.Apply,
                 h: float = DIFFERENCE_STEP) -> Tensor:
    """``a = −J⁺ r_vv`` for the velocity ``v = −d``, with ``r_vv`` by the central difference of the module docstring
    (two residual evaluations)."""
    second = (model.residual(theta - h * d) - 2.0 * residual + model.residual(theta + h * d)) / h**2
    return -solvers.check_finite(apply(second))


@dataclass(frozen=True)
class GeodesicPath:
    """The natural direction ``d`` and the acceleration ``a`` of one step, from one damped factorisation."""

    direction: Tensor
    acceleration: Tensor
    damping: float


def damped_pseudo_inverse(optimizer: Natural, lin: Linearised) -> tuple[solvers.Apply, float]:
    """``(rhs ↦ J⁺ rhs, λ_used)`` by :func:`damped_solver` for ``optimizer``'s solver, with its damping and options."""
    name = damped_solver(optimizer.solver, *lin.system_shape)
    return solvers.factorize(name, lin.jacobian, optimizer.regulariser(name), lin.rows, **optimizer.solver_options(name))


def geodesic_path(optimizer: Natural, theta: Tensor, lin: Linearised, model: Residuals) -> GeodesicPath:
    """``d = J⁺ r`` and ``a`` with ``J⁺`` from :func:`damped_pseudo_inverse`."""
    apply, used = damped_pseudo_inverse(optimizer, lin)
    d = solvers.check_finite(apply(lin.residual))
    return GeodesicPath(d, acceleration(model, theta, d, lin.residual, apply), used)


@dataclass(frozen=True)
class GeodesicENGD(Natural):
    """ENGD along the geodesic path ``θ − α d + ½ α² a``, ``α`` by the line search on the path (no momentum)."""

    def update(self, state: State, theta: Tensor, lin: Linearised, model: Residuals) -> tuple[Tensor, State, StepInfo]:
        bent = geodesic_path(self, theta, lin, model)
        found, state = self.step(model, theta, bent.direction, lin.loss, state, bent.acceleration)
        if not found.improved:
            return theta, state, StepInfo(0.0, bent.damping, lin.loss)
        return (path(theta, bent.direction, bent.acceleration, found.step_size), state,
                StepInfo(found.step_size, bent.damping, found.loss))
