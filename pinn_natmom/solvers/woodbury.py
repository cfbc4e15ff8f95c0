"""Sample-space solve: ``d = Jᵀ (JJᵀ + λI)⁻¹ r`` with an ``N × N`` Cholesky (cost ``N² P + N³/3``).

Equal to the parameter-space direction for ``λ > 0`` by the push-through identity
``(JᵀJ + λI)⁻¹Jᵀ = Jᵀ(JJᵀ + λI)⁻¹``; cheaper when ``N < P``.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .cholesky import cholesky_apply, factor_damped
from .gram import lower_gram


def factorize(jacobian: Tensor, damping: float) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦ Jᵀ(JJᵀ + λI)⁻¹ rhs`` from one factorisation of the kernel, and the damping used."""
    factor, used = factor_damped(lower_gram(jacobian), damping, overwrite=True)
    return (lambda rhs: jacobian.T @ cholesky_apply(factor, rhs)), used
