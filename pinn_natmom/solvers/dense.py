"""Parameter-space solve: ``d = (JᵀJ + λI)⁻¹ Jᵀ r`` with a ``P × P`` Cholesky (cost ``N P² + P³/3``)."""
from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .cholesky import cholesky_apply, factor_damped
from .gram import lower_gram


def factorize(jacobian: Tensor, damping: float) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦ (JᵀJ + λI)⁻¹ Jᵀ rhs`` from one factorisation of the Gram matrix, and the damping used."""
    factor, used = factor_damped(lower_gram(jacobian.T), damping, overwrite=True)
    return (lambda rhs: cholesky_apply(factor, jacobian.T @ rhs)), used
