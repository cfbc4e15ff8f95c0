"""The regularisation rule of every natural optimizer: a Levenberg–Marquardt trust region on the damping.

Every direction is a damped solve ``J⁺_λ = (JᵀJ + λI)⁻¹Jᵀ`` with ``λ = ν ‖J‖²_F``: the damping relative to the trace
of the Gram matrix (which bounds its largest eigenvalue), so that ``ν`` means the same on every problem. After a
step ``Δθ`` the trust region compares the decrease the Gauss–Newton model predicted with the one obtained,

.. math:: \\mathrm{pred} = \\tfrac12‖r‖² − \\tfrac12‖r + J Δθ‖², \\qquad \\mathrm{ared} = L(θ) − L(θ + Δθ), \\qquad
          ρ = \\mathrm{ared} / \\mathrm{pred},

(Levenberg 1944, Marquardt 1963, Moré 1978), for the step ``Δθ`` taken — after the line search, a fraction ``α`` of
the direction — and sets the next ``ν``: multiplied by ``grow`` where ``ρ < poor`` or where the line search took
less than ``short`` of the step (the model was trusted too far), divided by ``shrink`` where ``ρ ≥ good`` and
``α ≥ long`` (the model held over most of a step: trust it further), kept otherwise; never below ``floor`` nor
above ``ceiling``. A step the model predicted no decrease for that lowered the loss counts as ``ρ = +∞``. A step that lowers nothing is retried at
once from the same ``θ`` with ``ν`` multiplied by :attr:`TrustRegion.reject`, up to ``retries`` times; the solver's
decomposition of ``J`` is kept between the tries (``pinn_natmom.solvers.decompose``), so a retry costs a
re-weighting of an SVD or eigendecomposition, or one Cholesky factorisation, and the evaluations of its step.

Why the damping and not a cut-off or a radius: the damping works with every solver (Cholesky, Woodbury, Nyström,
CG, the spectral ones), and it keeps every direction of ``J``, weighted by ``σ²/(σ² + λ)``, where a cut-off drops the
directions below it for good — measured, truncated steps stall on problems where damped ones converge
(results/benchmark/README.md). The line search along the damped direction stays: the trust region sets how much of
``J``'s spectrum a step may use, the line search how far it goes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..linearise import Linearised
from ..solvers import NOT_FINITE, NonFiniteError


@dataclass(frozen=True)
class TrustRegion:
    """The constants of the rule in the module docstring. ``fixed``: keep ``ν`` at its initial value (no control)."""

    initial: float = 1e-12
    floor: float = 1e-18
    ceiling: float = 1.0
    good: float = 0.75
    poor: float = 0.25
    shrink: float = 10.0
    grow: float = 4.0
    reject: float = 100.0
    retries: int = 2
    short: float = 2.0**-4
    long: float = 2.0**-2
    fixed: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.floor <= self.initial <= self.ceiling:
            raise ValueError(f"the damping must satisfy 0 ≤ floor ≤ initial ≤ ceiling, got {self.floor}, "
                             f"{self.initial}, {self.ceiling}")
        if not (0 < self.poor < self.good and self.shrink > 1 and self.grow > 1 and self.reject > 1):
            raise ValueError("the trust region needs 0 < poor < good and factors above 1")

    def after(self, damping: float, ratio: float, decreased: bool, fraction: float = 1.0) -> float:
        """The next ``ν`` after a step taken at ``ν = damping`` with ratio ``ratio``, of which a line search took the
        fraction ``fraction`` (1 without one); ``decreased``: whether the step lowered the loss."""
        if self.fixed:
            return damping
        if not decreased:
            return min(damping * self.reject, self.ceiling)
        if ratio < self.poor or fraction < self.short:
            return min(damping * self.grow, self.ceiling)
        if ratio >= self.good and fraction >= self.long:
            return max(damping / self.shrink, self.floor)
        return damping

    def retried(self, damping: float) -> float:
        """``ν`` for another try of a step that lowered nothing."""
        return min(damping * self.reject, self.ceiling)


def gram_trace(lin: Linearised) -> float:
    """``‖J‖²_F`` over all the rows of the system (the trace of ``JᵀJ``); at least the smallest normal number.
    ``NonFiniteError`` where ``J`` holds NaN or infinity."""
    squares = lin.jacobian.square().sum()
    total = float(squares if lin.rows is None else lin.rows.sum(squares))
    if not math.isfinite(total):
        raise NonFiniteError(NOT_FINITE)
    return max(total, torch.finfo(lin.jacobian.dtype).tiny)


def ratio(lin: Linearised, step: Tensor, loss: Tensor) -> float:
    """``ρ`` of the module docstring for the step ``Δθ = step`` that gave the loss ``loss``: ``+∞`` where the model
    predicted no decrease and the loss fell anyway, ``−∞`` where it predicted none and the loss did not fall."""
    moved = lin.residual + lin.jacobian @ step
    predicted = float(lin.loss) - 0.5 * float(lin.inner(moved, moved))
    actual = float(lin.loss) - float(loss)
    if predicted > 0:
        return actual / predicted
    return math.inf if actual > 0 else -math.inf
