"""First-order baselines on the same residuals: Adam and L-BFGS (torch.optim's, with the strong Wolfe line search).

Neither forms the Jacobian: each step takes ``(L, ∇L)`` from one reverse pass. The loss they report for a step is the
loss at the new parameters (one forward pass more), as for every other optimizer.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from ..linearise import Linearised
from ..residual_map import ResidualMap
from .contract import Regularisation, State, StepInfo


@dataclass(frozen=True)
class Adam:
    """``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``, ``θ ← θ − lr · m̂ / (√v̂ + ε)`` with bias-corrected ``m̂, v̂``."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    needs_jacobian: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")

    def cautious(self) -> Adam:
        """The same with the learning rate halved, to retry a rejected step."""
        return dataclasses.replace(self, lr=self.lr / 2)

    def init(self, theta: Tensor) -> State:
        return {"m": torch.zeros_like(theta), "v": torch.zeros_like(theta), "t": 0}

    def update(self, state: State, theta: Tensor, lin: Linearised | None, residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        _, g = residuals.loss_and_gradient(theta)
        t = state["t"] + 1
        m = self.beta1 * state["m"] + (1 - self.beta1) * g
        v = self.beta2 * state["v"] + (1 - self.beta2) * g * g
        m_hat, v_hat = m / (1 - self.beta1**t), v / (1 - self.beta2**t)
        new_theta = theta - self.lr * m_hat / (v_hat.sqrt() + self.eps)
        info = StepInfo(self.lr, Regularisation(), residuals.losses(new_theta.unsqueeze(0))[0])
        return new_theta, {"m": m, "v": v, "t": t}, info


@dataclass(frozen=True)
class LBFGS:
    """``torch.optim.LBFGS`` (strong Wolfe line search), ``max_iter`` inner iterations per step; its state is kept in
    the optimizer state so the loop can checkpoint it, and dropped when the points change (curvature pairs from
    different point sets do not mix). The step size reported is the line search's last one."""

    lr: float = 1.0
    max_iter: int = 20
    history_size: int = 50

    needs_jacobian: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")

    def cautious(self) -> LBFGS:
        """The same with the initial step halved, to retry a rejected step."""
        return dataclasses.replace(self, lr=self.lr / 2)

    def init(self, theta: Tensor) -> State:
        return {}

    def update(self, state: State, theta: Tensor, lin: Linearised | None, residuals: ResidualMap) -> tuple[Tensor, State, StepInfo]:
        param = theta.detach().clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS([param], lr=self.lr, max_iter=self.max_iter, history_size=self.history_size,
                                      tolerance_grad=1e-30, tolerance_change=1e-30, line_search_fn="strong_wolfe")
        if "lbfgs" in state and state.get("version") == residuals.version:
            optimizer.load_state_dict(state["lbfgs"])

        def closure() -> Tensor:
            loss, grad = residuals.loss_and_gradient(param.detach())
            param.grad = grad
            return loss

        optimizer.step(closure)
        step_size = float(optimizer.state[param].get("t", self.lr))
        new_theta = param.detach()
        info = StepInfo(step_size, Regularisation(), residuals.losses(new_theta.unsqueeze(0))[0])
        return new_theta, {"lbfgs": optimizer.state_dict(), "version": residuals.version}, info
