"""The natural optimizers, as four small rules composed in ``Natural.update`` (the update contract: ``.contract``):

- **regularisation** (``.trust_region``): the damping ``λ = ν ‖J‖²_F`` of every solve, ``ν`` moved by a
  Levenberg–Marquardt trust region, a step that lowers nothing retried with more damping;
- **direction** (``Natural.inverse``): ``rhs ↦ J⁺_λ rhs`` by the configured solver, ``J`` factorised once per
  ``θ`` and reused for every right-hand side and every damping;
- **momentum** (``Natural.propose``): the candidate paths of this step (``.candidates``), from ``J⁺`` and what the
  state remembers of the previous steps, and the restart where momentum is used; ``Natural.remember`` keeps what the
  next step needs;
- **step** (``Natural.step``): ``α`` along a path by the grid line search, or ``α = lr``; ``.candidates.search`` takes
  the best candidate.

A flavour overrides the rules it changes: the momentum flavours ``propose`` and ``remember`` (``.momentum``,
``.auto``), the geodesic path its direction and ``propose`` (``.geodesic``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from .. import solvers
from ..linearise import Linearised
from ..linesearch import grid_search, path
from ..residual_map import ResidualMap
from .candidates import Candidate, Restart, search
from .contract import Found, Regularisation, State, StepInfo
from .trust_region import TrustRegion, gram_trace, ratio

Proposal = tuple[list[Candidate], Restart | None]
"""What a momentum rule proposes: the candidate paths of a step and the restart, if any."""


@dataclass(frozen=True)
class Natural:
    """Shared options and helpers of the natural-gradient optimizers.

    Attributes:
        damping: the initial damping ``ν``, relative to ``‖J‖²_F``: ``λ = ν ‖J‖²_F`` in ``(JᵀJ + λI)``; the trust
            region (``trust_region``) moves it from there, step by step (state ``"damping"``).
        trust_region: the Levenberg–Marquardt control of ``ν`` (``.trust_region``); ``None`` keeps ``ν`` fixed.
        rcond: relative singular-value cut-off of the spectral solvers ``pinv`` and ``svd``, below which directions
            are dropped (``None``: the solver's default in ``pinn_natmom.solvers.DEFAULT_RCOND``).
        solver: a name of ``pinn_natmom.solvers.SOLVER_NAMES`` (``"auto"`` is resolved at every step).
        line_search: choose the step size ``α`` on the grid ``2⁰ … 2⁻³⁰``; otherwise take ``α = lr``.
        lr: the fixed step when the line search is off.
        momentum: ``β`` (``μ`` for SPRING); ignored by ``engd``.
        exhaustive_search: evaluate all 31 grid points every step instead of bracketing.
        sketch_size: ``ℓ`` of the randomized solvers ``nystrom`` and ``nystrom-pcg`` (``None``: their default, 1,000).
        cg_steps: conjugate-gradient steps of ``nystrom-pcg`` (``None``: its default).
        caution: a factor on ``ν`` for the retries of the training loop's divergence guard (``cautious``).

    ``update`` is the trust region around ``attempt``, one try of the step at the absolute ``λ`` in ``damping``.
    """

    damping: float = 1e-12
    trust_region: TrustRegion | None = TrustRegion()
    rcond: float | None = None
    solver: str = "auto"
    line_search: bool = True
    lr: float = 1.0
    momentum: float = 0.0
    exhaustive_search: bool = False
    sketch_size: int | None = None
    cg_steps: int | None = None
    caution: float = 1.0

    needs_jacobian: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not self.damping >= 0:
            raise ValueError(f"damping must be ≥ 0, got {self.damping}")
        if self.rcond is not None and not 0 <= self.rcond < 1:
            raise ValueError(f"rcond must lie in [0, 1), got {self.rcond}")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum}")
        if self.solver not in solvers.SOLVER_NAMES:
            raise ValueError(f"unknown solver {self.solver!r}; choose from {', '.join(solvers.SOLVER_NAMES)}")
        if self.sketch_size is not None and not self.sketch_size >= 1:
            raise ValueError(f"sketch size must be ≥ 1, got {self.sketch_size}")
        if self.cg_steps is not None and not self.cg_steps >= 0:
            raise ValueError(f"the number of CG steps must be ≥ 0, got {self.cg_steps}")

    def cautious(self) -> Natural:
        """A more conservative copy, to retry a rejected step: ``ν`` ×100, the cut-off ×10 (at most 10⁻²), the fixed
        step halved."""
        rcond = self.rcond if self.rcond is not None else solvers.DEFAULT_RCOND.get(self.solver, max(solvers.DEFAULT_RCOND.values()))
        return dataclasses.replace(self, caution=100.0 * self.caution, rcond=min(10.0 * rcond, 1e-2),
                                   lr=self.lr if self.line_search else self.lr / 2)

    def update(self, state: State, theta: Tensor, lin: Linearised,
               residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        """The regularisation rule: ``attempt`` at ``λ = ν ‖J‖²_F`` with ``ν`` from the state (``"damping"``;
        initially ``damping``), retried with more damping where it lowered nothing or its direction was not finite,
        and the next ``ν`` stored after it (``.trust_region``). The regularisation reported is relative: ``ν`` as used
        (above the one asked for where a solver raised it)."""
        region = self.trust_region or TrustRegion(initial=self.damping, fixed=True)
        scale = gram_trace(lin)
        nu = state.get("damping", self.damping) * self.caution
        for tried in range(region.retries + 1):
            trial = dataclasses.replace(self, damping=nu * scale)
            last = region.fixed or tried == region.retries
            try:
                new_theta, new_state, info = trial.attempt(state, theta, lin, residuals)
            except solvers.NonFiniteError:
                if last:
                    raise
                nu = region.retried(nu)
                continue
            decreased = float(info.loss) < float(lin.loss)
            if decreased or last:
                break
            nu = region.retried(nu)
        rho = ratio(lin, new_theta - theta, info.loss) if decreased else -math.inf
        used = Regularisation(damping=info.regularisation.damping / scale, rcond=info.regularisation.rcond)
        reported = dataclasses.replace(info, regularisation=used, ratio=rho)
        fraction = info.step_size if self.line_search else 1.0
        return new_theta, {**new_state, "damping": region.after(nu, rho, decreased, fraction)}, reported

    def attempt(self, state: State, theta: Tensor, lin: Linearised,
                residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        """One try of the step at the absolute damping ``damping``: the direction rule's ``J⁺``, the momentum rule's
        candidates, the best of them searched, and what the next step needs remembered."""
        apply, used = self.inverse(lin)
        candidates, restart = self.propose(apply, state, theta, lin, residuals)
        new_theta, searched, info = search(self, residuals, lin, state, theta, used, candidates, restart)
        return new_theta, self.remember(searched, theta, new_theta, lin, residuals), info

    def inverse(self, lin: Linearised) -> tuple[solvers.Apply, Regularisation]:
        """The direction rule: ``(rhs ↦ J⁺_λ rhs, regularisation used)``; here ``pseudo_inverse`` by the configured
        solver."""
        return self.pseudo_inverse(lin)

    def propose(self, apply: solvers.Apply, state: State, theta: Tensor, lin: Linearised,
                residuals: ResidualMap) -> Proposal:
        """The momentum rule; here none: the natural step ``θ_k − α J⁺ r_k``, no restart."""
        return [Candidate(theta, solvers.check_finite(apply(lin.residual)))], None

    def remember(self, state: State, theta: Tensor, new_theta: Tensor, lin: Linearised,
                 residuals: ResidualMap) -> State:
        """The state the next step starts from, given the state after the search; here that state."""
        return state

    def init(self, theta: Tensor) -> State:
        """``grid_index``: the exponent of the last accepted grid step, where the next search starts looking."""
        return {"grid_index": 0}

    def cutoff(self, name: str) -> float | None:
        """The ``rcond`` of a truncated solver ``name`` (its default when unset); ``None`` for the others."""
        if name in solvers.TRUNCATED:
            return solvers.DEFAULT_RCOND[name] if self.rcond is None else self.rcond
        return None

    def solver_options(self, name: str) -> dict[str, int]:
        """The options set here that the solver ``name`` takes (``pinn_natmom.solvers.OPTIONS``)."""
        given = {"sketch_size": self.sketch_size, "cg_steps": self.cg_steps}
        taken = solvers.OPTIONS.get(name, frozenset())
        return {key: value for key, value in given.items() if value is not None and key in taken}

    def pseudo_inverse(self, lin: Linearised, name: str | None = None,
                       **options: int | bool) -> tuple[solvers.Apply, Regularisation]:
        """``(rhs ↦ J⁺_λ rhs, regularisation used)`` with ``λ = damping``, by the solver ``name`` (default: the
        configured one) with ``options`` beside its own; the solver's decomposition of ``J`` is kept on ``lin`` and
        reused for every damping."""
        name = solvers.choose(name or self.solver, *lin.system_shape)
        cutoff = self.cutoff(name)
        taken = {**self.solver_options(name), **options}
        key = (name, cutoff, tuple(sorted(taken.items())))
        if key not in lin.decompositions:
            lin.decompositions[key] = solvers.decompose(name, lin.jacobian, lin.rows, cutoff, **taken)
        if (key, self.damping) not in lin.decompositions:
            lin.decompositions[key, self.damping] = lin.decompositions[key].solve(self.damping)
        apply, used = lin.decompositions[key, self.damping]
        return apply, Regularisation(damping=used, rcond=math.nan if cutoff is None else cutoff)

    def step(self, residuals: ResidualMap, origin: Tensor, d: Tensor, reference: Tensor, state: State,
             acceleration: Tensor | None = None) -> tuple[Found, State]:
        """The step ``origin − α d`` (``+ ½ α² acceleration`` when given): ``α`` by the grid line search against the
        loss ``reference`` (at the current θ), or ``α = lr``. The search starts at the previous step's exponent."""
        if not self.line_search:
            return Found(self.lr, residuals.losses(path(origin, d, acceleration, self.lr).unsqueeze(0))[0], True), state
        found = grid_search(residuals.losses, origin, d, reference, self.exhaustive_search, state["grid_index"], acceleration)
        improved = found.index >= 0
        return Found(found.step_size, found.loss, improved), ({**state, "grid_index": found.index} if improved else state)


def stack_columns(*vectors: Tensor) -> Tensor:
    """``[v₁ … v_m]`` as an ``N × m`` matrix, to apply one factorisation to several right-hand sides."""
    return torch.stack(vectors, dim=1)
