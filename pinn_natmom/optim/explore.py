"""The exploring stage of ``natural-auto``: Levenberg–Marquardt steps on a trust radius, each as long as the
Gauss–Newton model still earns a fixed share of the decrease it predicts.

With the thin SVD ``J = U Σ Vᵀ`` and ``c = Uᵀ r``, the step of radius ``Δ`` is

.. math:: p(λ) = −V \\operatorname{diag}\\big(σ_i / (σ_i² + λ)\\big) c, \\qquad ‖p(λ)‖ = Δ,

(``λ = 0`` where the Gauss–Newton step is shorter than ``Δ``), and the decrease its model predicts is
``pred = ½ Σ c_i² (1 − (λ/(σ_i² + λ))²)``. A step tries ``PROBES`` radii spread geometrically over
``[Δ/WINDOW, Δ·WINDOW]`` around the last radius and evaluates them together; their ratios ``ρ = (L(θ) − L(θ + p)) /
pred``, clipped to ``[−1, 1]`` and made non-increasing in the radius (a running minimum), are interpolated linearly in
``log Δ`` to where they cross ``TARGET_RATIO``: the longest step the model still describes that well. The step at that
radius is taken where it lowers the loss, and the next window is centred on it; otherwise ``θ`` stays and the radius
shrinks by ``WINDOW``. (The target-ratio radius: Webb, Jerad & Cartis, arXiv 2607.02194.)

Why a stage of its own: ``natural-auto``'s line search takes, along each damped direction, the step that lowers the
loss most, and so settles in the first basin it meets; steps held to a low ratio keep moving for as long as the
stage lasts, and where they end decides how deep the later stages go (results/explore/README.md).

The stage needs the SVD of the whole ``J``; where the rows are shared among processes it is skipped.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ..linearise import Linearised
from ..residual_map import ResidualMap
from ..solvers import svd
from .contract import Regularisation, State, StepInfo

TARGET_RATIO = 0.075
"""The share of its predicted decrease a step of the stage must earn."""
PROBES = 24
"""Radii tried per step."""
WINDOW = 6.0
"""The radii tried span ``[Δ/WINDOW, Δ·WINDOW]``."""
INITIAL_RADIUS = 1.0
"""``Δ`` of the first step (in parameter space)."""
BISECTIONS = 64
"""Bisections of ``log λ`` per radius, over ``[10⁻⁴⁵, 10¹⁰] σ²_max``."""
STALL_WINDOW = 50
STALL_FACTOR = 0.5
"""The stage has stalled once the lowest loss of its last ``STALL_WINDOW`` steps is above ``STALL_FACTOR`` times
the lowest of the window before."""


def radius_steps(decomposition: svd.SingularDecomposition, residual: Tensor,
                 radii: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(steps, pred, λ)`` for each radius: ``p(λ)`` of the module docstring (rows of ``steps``), the model's predicted
    decrease and the ``λ`` solving ``‖p(λ)‖ = Δ`` (``10⁻⁴⁵ σ²_max`` where the Gauss–Newton step is shorter)."""
    sigma = decomposition.singular_values
    c = decomposition.left.T @ residual
    weighted, squares = sigma * c, sigma * sigma
    top = squares[0].clamp_min(torch.finfo(sigma.dtype).tiny)
    low = torch.full_like(radii, -45.0)
    high = torch.full_like(radii, 10.0)
    for _ in range(BISECTIONS):
        middle = 0.5 * (low + high)
        damping = top * 10.0**middle
        too_long = (weighted / (squares + damping[:, None])).norm(dim=1) > radii
        low = torch.where(too_long, middle, low)
        high = torch.where(too_long, high, middle)
    damping = top * 10.0**high
    coefficients = weighted / (squares + damping[:, None])
    kept = damping[:, None] / (squares + damping[:, None])
    predicted = 0.5 * (c * c * (1.0 - kept * kept)).sum(dim=1)
    return -(coefficients @ decomposition.right.T), predicted, damping


def crossing(radii: Tensor, ratios: Tensor, target: float = TARGET_RATIO) -> float:
    """The radius where the running minimum of ``ratios`` (clipped to ``[−1, 1]``, radii increasing) falls through
    ``target``, interpolated linearly in ``log Δ``; the largest radius where none falls below, the smallest where
    none is above."""
    safe = torch.cummin(ratios.clamp(-1.0, 1.0), dim=0).values
    above = safe >= target
    if bool(above.all()):
        return float(radii[-1])
    if not bool(above.any()):
        return float(radii[0])
    j = int(torch.nonzero(above)[-1])
    share = float((safe[j] - target) / (safe[j] - safe[j + 1]))
    low, high = math.log(float(radii[j])), math.log(float(radii[j + 1]))
    return math.exp(low + share * (high - low))


def explore_step(lin: Linearised, residuals: ResidualMap, theta: Tensor,
                 radius: float) -> tuple[Tensor, float, StepInfo]:
    """One step of the stage from ``θ = theta`` with the last radius ``radius``: ``(θ_new, next radius, StepInfo)``;
    the ``StepInfo`` reports ``λ`` relative to ``‖J‖²_F`` (as the trust region does) and the step's ratio ``ρ``."""
    decomposition = svd.decompose(lin.jacobian.to(theta.dtype), 0.0)
    loss = float(lin.loss)
    radii = torch.logspace(math.log10(radius / WINDOW), math.log10(radius * WINDOW), PROBES,
                           dtype=theta.dtype, device=theta.device)
    steps, predicted, _ = radius_steps(decomposition, lin.residual, radii)
    losses = torch.nan_to_num(residuals.losses(theta + steps), nan=math.inf)
    ratios = (loss - losses) / predicted.clamp_min(torch.finfo(theta.dtype).tiny)
    chosen = crossing(radii, ratios)
    step, predicted, damping = radius_steps(decomposition, lin.residual, radii.new_tensor([chosen]))
    new_loss = residuals.losses(theta + step)[0]
    ratio = (loss - float(new_loss)) / max(float(predicted[0]), torch.finfo(theta.dtype).tiny)
    relative = Regularisation(damping=float(damping[0] / decomposition.singular_values.square().sum()))
    if not (math.isfinite(float(new_loss)) and float(new_loss) < loss):
        return theta, float(radii[0]), StepInfo(0.0, relative, lin.loss, ratio=ratio)
    return theta + step[0], chosen, StepInfo(1.0, relative, new_loss, ratio=ratio)


def stalled(state: State, loss: float, taken: int) -> tuple[dict[str, float], bool]:
    """Whether the stage has stalled after its ``taken``-th step, whose loss is ``loss``, and the state entries that
    keep count: the lowest loss of the current window (``"explore_window_low"``) and of the last complete one
    (``"explore_previous_low"``), windows of ``STALL_WINDOW`` steps (the loss of points redrawn every step is noisy,
    so single steps are not compared)."""
    low = min(state.get("explore_window_low", math.inf), loss)
    if taken % STALL_WINDOW:
        return {"explore_window_low": low}, False
    before = state.get("explore_previous_low", math.inf)
    return {"explore_window_low": math.inf, "explore_previous_low": low}, low > STALL_FACTOR * before
