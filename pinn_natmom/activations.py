"""The activations of the hidden layers as one table: ``σ``, an in-place ``σ``, and ``σ'``, ``σ''``, ``σ'''``.

Each ``Activation`` states ``σ'`` from its value ``y = σ(z)`` where that is cheap, else from ``z``, and ``σ''`` and
``σ'''`` from ``y`` and the lower derivatives:

========== ======================== ====================== ==============================
``σ``      ``σ'``                   ``σ''``                ``σ'''``
========== ======================== ====================== ==============================
tanh       ``1 − y²``               ``−2yσ'``              ``−2(σ'² + yσ'')``
sin        ``cos z``                ``−y``                 ``−σ'``
softplus   ``1 − e^{−y}``           ``σ' e^{−y}``          ``σ''(1 − 2σ')``
========== ======================== ====================== ==============================

(softplus ``σ(z) = log(1 + e^z)``: ``σ' = 1/(1 + e^{−z}) = 1 − e^{−y}``, taken as ``−expm1(−y)`` to keep its relative
precision where ``y`` is small.) The forward Laplacian and Hessian (``pinn_natmom.diffops``) use ``σ'`` and ``σ''``;
the reverse pass through them (``pinn_natmom.jacobian``) also ``σ'''``. Adding an activation is one entry of ``TABLE``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch import Tensor


@dataclass(frozen=True)
class Activation:
    """One activation ``σ`` of the table.

    Attributes:
        name: the name the network and the command line know it by.
        function: ``z ↦ σ(z)``, differentiable by autograd.
        in_place: ``z ↦ σ(z)`` written over ``z`` (no autograd).
        slope: ``σ'`` from the value ``y = σ(z)``, or from ``z`` when ``slope_reads_input``.
        curvature: ``(y, σ') ↦ σ''``.
        third: ``(y, σ', σ'') ↦ σ'''``.
        slope_reads_input: ``σ'`` is read from ``z`` (``sin``: ``cos z``), so it is formed before ``y`` overwrites ``z``.
    """

    name: str
    function: Callable[[Tensor], Tensor]
    in_place: Callable[[Tensor], Tensor]
    slope: Callable[[Tensor], Tensor]
    curvature: Callable[[Tensor, Tensor], Tensor]
    third: Callable[[Tensor, Tensor, Tensor], Tensor]
    slope_reads_input: bool = False

    def derivatives(self, z: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """``(σ'(z), σ''(z))`` from ``z`` and its value ``y = σ(z)``."""
        slope = self.slope(z if self.slope_reads_input else y)
        return slope, self.curvature(y, slope)

    def value_and_derivatives(self, z: Tensor, in_place: bool) -> tuple[Tensor, Tensor, Tensor]:
        """``(σ(z), σ'(z), σ''(z))``; ``in_place``: ``σ(z)`` is written over ``z``, after ``σ'`` has read it."""
        early = self.slope(z) if self.slope_reads_input else None
        y = self.in_place(z) if in_place else self.function(z)
        slope = self.slope(y) if early is None else early
        return y, slope, self.curvature(y, slope)


def tanh_in_place(z: Tensor) -> Tensor:
    """``tanh z = 1 − 2/(e^{2z} + 1)``, overwriting ``z`` (``±∞`` and large ``|z|`` give ``±1``).

    Within a few units in the last place of ``torch.tanh``; on a CPU, where a float64 ``tanh`` costs about three
    ``exp``, it takes about half the time."""
    return z.mul_(2.0).exp_().add_(1.0).reciprocal_().mul_(-2.0).add_(1.0)


def _tanh_slope(y: Tensor) -> Tensor:
    return 1.0 - y * y


def _tanh_curvature(y: Tensor, slope: Tensor) -> Tensor:
    return -2.0 * y * slope


def _tanh_third(y: Tensor, slope: Tensor, curvature: Tensor) -> Tensor:
    return -2.0 * (slope * slope + y * curvature)


def _sin_curvature(y: Tensor, slope: Tensor) -> Tensor:
    return -y


def _sin_third(y: Tensor, slope: Tensor, curvature: Tensor) -> Tensor:
    return -slope


def softplus(z: Tensor) -> Tensor:
    """``log(1 + e^z)``, exact for every ``z`` (no linear cut-off at large ``z``)."""
    return torch.logaddexp(z, z.new_zeros(()))


def softplus_in_place(z: Tensor) -> Tensor:
    """``log(1 + e^z)`` written over ``z``."""
    return torch.logaddexp(z, z.new_zeros(()), out=z)


def _softplus_slope(y: Tensor) -> Tensor:
    return torch.expm1(-y).neg_()


def _softplus_curvature(y: Tensor, slope: Tensor) -> Tensor:
    return slope * torch.exp(-y)


def _softplus_third(y: Tensor, slope: Tensor, curvature: Tensor) -> Tensor:
    return curvature * (1.0 - 2.0 * slope)


TABLE: Mapping[str, Activation] = MappingProxyType({a.name: a for a in (
    Activation("tanh", torch.tanh, tanh_in_place, _tanh_slope, _tanh_curvature, _tanh_third),
    Activation("sin", torch.sin, torch.Tensor.sin_, torch.cos, _sin_curvature, _sin_third, slope_reads_input=True),
    Activation("softplus", softplus, softplus_in_place, _softplus_slope, _softplus_curvature, _softplus_third),
)})
"""Every activation by name."""


def activation(name: str) -> Activation:
    """The table's entry ``name``."""
    if name not in TABLE:
        raise ValueError(f"unknown activation {name!r}; choose from {', '.join(TABLE)}")
    return TABLE[name]
