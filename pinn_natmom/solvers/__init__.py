"""Solvers for the damped Gauss–Newton direction ``d = (JᵀJ + λI)⁻¹ Jᵀ r`` — the (regularised) pseudo-inverse ``J⁺``.

Each strategy is a factoriser ``factorize(J, c) -> (apply, c_used)`` registered in :data:`SOLVERS`: ``apply(rhs)``
returns ``J⁺ rhs`` for a right-hand side of shape ``N`` or ``N × m`` from one factorisation, so optimizers that need
``J⁺`` of several vectors (natural momentum) pay for one. ``c`` is the damping ``λ`` of the Cholesky solvers
(``dense``, ``woodbury``) or the relative cut-off ``rcond`` of the truncated pseudo-inverses (``pinv``, ``svd``;
listed in :data:`TRUNCATED`). :func:`factorize` checks the inputs once and dispatches; :func:`direction` applies it
to one right-hand side.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from . import dense, pinv, svd, woodbury
from .cholesky import NOT_FINITE, FactorizationError, NonFiniteError

Apply = Callable[[Tensor], Tensor]
Factorizer = Callable[[Tensor, float], tuple[Apply, float]]

SOLVERS: dict[str, Factorizer] = {
    "dense": dense.factorize, "woodbury": woodbury.factorize, "svd": svd.factorize, "pinv": pinv.factorize,
}
SOLVER_NAMES = ("auto", *SOLVERS)
TRUNCATED = frozenset({"pinv", "svd"})
AUTO_SVD_FLOPS = 2e9
AUTO_PINV_PARAMS = 2000
DEFAULT_RCOND = {"svd": 1e-9, "pinv": 3e-7}


def choose(name: str, n_rows: int, n_params: int) -> str:
    """Resolve ``"auto"`` by measured speed to accuracy (see the README):

    - ``N ≥ P`` and ``P ≤ 2,000``: ``pinv`` (a ``P × P`` eigendecomposition; robust, cheapest per step);
    - ``N < P`` while ``N·P·N ≤ 2·10⁹``: ``svd`` of ``J`` (the Gram ``JJᵀ`` plateaus near 1e-6 there);
    - otherwise the Cholesky solvers in the smaller space: ``woodbury`` when ``N < P``, else ``dense``.
    """
    if name == "auto":
        if n_rows >= n_params and n_params <= AUTO_PINV_PARAMS:
            return "pinv"
        if n_rows < n_params and n_rows * n_params * n_rows <= AUTO_SVD_FLOPS:
            return "svd"
        return "woodbury" if n_rows < n_params else "dense"
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}; choose from {', '.join(SOLVER_NAMES)}")
    return name


def check_inputs(jacobian: Tensor, rhs: Tensor | None, damping: float) -> None:
    """Refuse malformed systems with a message that says what is wrong."""
    if jacobian.dim() != 2:
        raise ValueError(f"Jacobian must be a matrix (N × P), got shape {tuple(jacobian.shape)}")
    if rhs is not None and (rhs.dim() not in (1, 2) or rhs.shape[0] != jacobian.shape[0]):
        raise ValueError(f"right-hand side must have shape ({jacobian.shape[0]},) or ({jacobian.shape[0]}, m) to match J, got {tuple(rhs.shape)}")
    if not (isinstance(damping, (int, float)) and math.isfinite(damping) and damping >= 0):
        raise ValueError(f"damping (or rcond) must be a finite number ≥ 0, got {damping!r}")


def factorize(name: str, jacobian: Tensor, damping: float) -> tuple[Apply, float]:
    """``(rhs ↦ J⁺ rhs, λ_used)`` by the solver ``name`` (or ``"auto"``).

    Non-finite entries in ``J`` raise :class:`NonFiniteError` (a ``ValueError``): the Cholesky solvers detect them while factorising, the
    truncated ones when the eigen/singular-value solver fails; :func:`check_finite` catches the rest in the result.
    """
    check_inputs(jacobian, None, damping)
    resolved = choose(name, *jacobian.shape)
    try:
        return SOLVERS[resolved](jacobian, damping)
    except torch.linalg.LinAlgError:
        if not bool(torch.isfinite(jacobian).all()):
            raise NonFiniteError(NOT_FINITE) from None
        raise


def check_finite(direction: Tensor) -> Tensor:
    """``direction`` itself, or :class:`NonFiniteError` when it holds NaN or infinity (one host synchronisation)."""
    if not bool(torch.isfinite(direction).all()):
        raise NonFiniteError(NOT_FINITE)
    return direction


def direction(name: str, jacobian: Tensor, rhs: Tensor, damping: float) -> tuple[Tensor, float]:
    """``(J⁺ rhs, λ_used)``, e.g. ``d = (JᵀJ + λI)⁻¹ Jᵀ r`` for ``rhs = r``."""
    check_inputs(jacobian, rhs, damping)
    apply, used = factorize(name, jacobian, damping)
    return check_finite(apply(rhs)), used


__all__ = [
    "SOLVERS", "SOLVER_NAMES", "TRUNCATED", "DEFAULT_RCOND", "FactorizationError", "NonFiniteError",
    "choose", "factorize", "direction", "check_finite",
]
