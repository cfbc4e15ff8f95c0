"""Worked examples of ``pdes.custom``: each a one-line operator and a smooth manufactured solution on ``[0, 1]²``
(Burgers: ``[0, 1] × [0, 1]`` in space-time), the data derived from the solution by automatic differentiation.

| name | equation |
|---|---|
| ``nonlinear_poisson`` | ``−Δu + u³ = f`` |
| ``allen_cahn`` | ``−0.1 Δu + u³ − u = f`` (steady Allen–Cahn) |
| ``variable_coefficient`` | ``−∇·((1 + x²)∇u) = f`` |
| ``advection_diffusion`` | ``−0.1 Δu + (1, 0.5)·∇u = f`` |
| ``anisotropic`` | ``−(u_xx + u_xy + 2 u_yy) = f`` (a mixed derivative) |
| ``burgers`` | ``u_t + u u_x − 0.05 u_xx = f`` on ``[0, 1] × [0, 1]`` |
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from pinn_natmom.problem import Problem

from .custom import FieldView, custom
from .geometry import Box

PI = math.pi


def smooth(x: Tensor) -> Tensor:
    """``sin(πx) sin(πy) + ½ x y``: the manufactured solution of the stationary examples."""
    return torch.sin(PI * x[..., 0]) * torch.sin(PI * x[..., 1]) + 0.5 * x[..., 0] * x[..., 1]


def nonlinear_poisson() -> Problem:
    """``−Δu + u³ = f``."""
    return custom(lambda x, u: -u.laplacian + u.value**3, exact=smooth, name="nonlinear-poisson")


def allen_cahn() -> Problem:
    """``−0.1 Δu + u³ − u = f``."""
    return custom(lambda x, u: -0.1 * u.laplacian + u.value**3 - u.value, exact=smooth, name="allen-cahn")


def variable_coefficient() -> Problem:
    """``−∇·(a∇u) = −a Δu − ∇a·∇u = f`` with ``a = 1 + x²``."""

    def operator(x: Tensor, u: FieldView) -> Tensor:
        return -(1 + x[..., 0] ** 2) * u.laplacian - 2 * x[..., 0] * u.grad[..., 0]

    return custom(operator, exact=smooth, name="variable-coefficient")


def advection_diffusion() -> Problem:
    """``−0.1 Δu + b·∇u = f`` with ``b = (1, ½)``."""
    return custom(lambda x, u: -0.1 * u.laplacian + u.grad[..., 0] + 0.5 * u.grad[..., 1], exact=smooth,
                  name="advection-diffusion")


def anisotropic() -> Problem:
    """``−(u_xx + u_xy + 2 u_yy) = f``."""
    return custom(lambda x, u: -(u.hessian[..., 0, 0] + u.hessian[..., 0, 1] + 2 * u.hessian[..., 1, 1]),
                  exact=smooth, name="anisotropic")


def burgers() -> Problem:
    """Viscous Burgers ``u_t + u u_x − 0.05 u_xx = f`` on ``[0, 1] × [0, 1]`` with ``u* = e^{−t} sin(πx) + ½ x t``."""
    exact = lambda x: torch.exp(-x[..., 1]) * torch.sin(PI * x[..., 0]) + 0.5 * x[..., 0] * x[..., 1]
    return custom(lambda x, u: u.dt + u.value * u.grad[..., 0] - 0.05 * u.hessian[..., 0, 0], domain=Box.unit(1),
                  exact=exact, final_time=1.0, name="burgers")


EXAMPLES: dict[str, Callable[[], Problem]] = {
    "nonlinear-poisson": nonlinear_poisson, "allen-cahn": allen_cahn, "variable-coefficient": variable_coefficient,
    "advection-diffusion": advection_diffusion, "anisotropic": anisotropic, "burgers": burgers,
}
