"""Geodesic acceleration (Transtrum & Sethna): the natural step bent by the curvature of the residual map.

With ``d = J⁺ r`` and the velocity ``v = −d``, the path

.. math:: θ(α) = θ + α v + ½ α² a, \\qquad a = −J⁺ r_{vv}, \\qquad
          r_{vv} ≈ \\frac{r(θ + h v) − 2 r(θ) + r(θ − h v)}{h^2}

cancels, to second order in ``α``, the part of ``r(θ(α))`` that the tangent space can reach: ``r(θ(α)) = r + α J v +
½ α² (r_vv + J a) + O(α³)``, and ``J a = −J J⁺ r_vv`` is the projection of ``−r_vv``. The straight Gauss–Newton step
stops where the residual left lies along directions of ``J`` so flat that the step they need is long enough to bend
off the linearisation (the line search then finds no decrease); the bent path follows them
(results/benchmark/README.md).

``natural-auto`` bends its Gauss–Newton-model step the same way before its floor (``auto``), with the
solver it steps with (truncated ones included) and ``h`` a tenth of its last step size: there the curvature that stops
the straight steps is that of the steps the line search takes, which are far shorter than a full one.

The path is solved with the configured solver at the trust region's damping; a Cholesky solve (``dense``,
``woodbury``) is refined (``pinn_natmom.solvers.refine``): ``λ`` is a tenth of the damping the float64 factorisation
reached, which is the one asked for where the Gram matrix factorises at it and larger where it does not.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from ..residual_map import ResidualMap
from .base import Natural, Proposal
from .candidates import Candidate
from .contract import Regularisation, State

DIFFERENCE_STEP = 0.1
"""``h`` of the central difference for ``r_vv``, in units of the step ``v`` (so ``h v`` is a tenth of a full step)."""


def acceleration(residuals: ResidualMap, theta: Tensor, d: Tensor, residual: Tensor, apply: solvers.Apply,
                 h: float = DIFFERENCE_STEP) -> Tensor:
    """``a = −J⁺ r_vv`` for the velocity ``v = −d``, with ``r_vv`` by the central difference of the module docstring
    (two residual evaluations)."""
    second = (residuals.residual(theta - h * d) - 2.0 * residual + residuals.residual(theta + h * d)) / h**2
    return -solvers.check_finite(apply(second))


def damped_pseudo_inverse(optimizer: Natural, lin: Linearised) -> tuple[solvers.Apply, Regularisation]:
    """``(rhs ↦ J⁺ rhs, regularisation used)`` by ``optimizer``'s solver at its damping, refined where the solver can
    be."""
    name = solvers.choose(optimizer.solver, *lin.system_shape)
    return optimizer.pseudo_inverse(lin, name, **({"refine": True} if "refine" in solvers.OPTIONS.get(name, ()) else {}))


def bent_natural_step(apply: solvers.Apply, theta: Tensor, lin: Linearised, residuals: ResidualMap) -> list[Candidate]:
    """The geodesic path ``θ − α d + ½ α² a`` with ``d = J⁺ r`` and ``a`` by ``apply`` (one candidate)."""
    d = solvers.check_finite(apply(lin.residual))
    return [Candidate(theta, d, acceleration(residuals, theta, d, lin.residual, apply))]


@dataclass(frozen=True)
class GeodesicENGD(Natural):
    """ENGD along the geodesic path ``θ − α d + ½ α² a``, ``α`` by the line search on the path (no momentum): the
    direction rule ``damped_pseudo_inverse``, the path ``bent_natural_step``."""

    def inverse(self, lin: Linearised) -> tuple[solvers.Apply, Regularisation]:
        return damped_pseudo_inverse(self, lin)

    def propose(self, apply: solvers.Apply, state: State, theta: Tensor, lin: Linearised,
                residuals: ResidualMap) -> Proposal:
        return bent_natural_step(apply, theta, lin, residuals), None
