"""Solvers for the damped Gauss–Newton direction ``d = (JᵀJ + λI)⁻¹ Jᵀ r``.

Each strategy is a function ``solve(J, r, c) -> (d, c_used)`` registered in :data:`SOLVERS`, where ``c`` is the
damping ``λ`` of the Cholesky solvers (``dense``, ``woodbury``) or the relative cut-off ``rcond`` of the truncated
pseudo-inverses (``pinv``, ``svd``; listed in :data:`TRUNCATED`). :func:`direction` checks the inputs once and
dispatches.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from . import dense, pinv, svd, woodbury
from .cholesky import NOT_FINITE, FactorizationError

Solver = Callable[[Tensor, Tensor, float], tuple[Tensor, float]]

SOLVERS: dict[str, Solver] = {"dense": dense.solve, "woodbury": woodbury.solve, "svd": svd.solve, "pinv": pinv.solve}
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


def check_inputs(jacobian: Tensor, rhs: Tensor, damping: float) -> None:
    """Refuse malformed systems with a message that says what is wrong."""
    if jacobian.dim() != 2:
        raise ValueError(f"Jacobian must be a matrix (N × P), got shape {tuple(jacobian.shape)}")
    if rhs.shape != (jacobian.shape[0],):
        raise ValueError(f"right-hand side must have shape ({jacobian.shape[0]},) to match J, got {tuple(rhs.shape)}")
    if not (isinstance(damping, (int, float)) and math.isfinite(damping) and damping >= 0):
        raise ValueError(f"damping (or rcond) must be a finite number ≥ 0, got {damping!r}")


def direction(name: str, jacobian: Tensor, rhs: Tensor, damping: float) -> tuple[Tensor, float]:
    """``(d, λ_used)`` with ``d = (JᵀJ + λI)⁻¹ Jᵀ rhs`` by the solver ``name`` (or ``"auto"``).

    Non-finite entries in ``J`` or ``rhs`` raise ``ValueError``: the Cholesky solvers detect them while factorising,
    the truncated ones from the direction (NaN and infinity propagate into it).
    """
    check_inputs(jacobian, rhs, damping)
    resolved = choose(name, *jacobian.shape)
    try:
        d, used = SOLVERS[resolved](jacobian, rhs, damping)
    except torch.linalg.LinAlgError:
        if not (bool(torch.isfinite(jacobian).all()) and bool(torch.isfinite(rhs).all())):
            raise ValueError(NOT_FINITE) from None
        raise
    if resolved in TRUNCATED and not bool(torch.isfinite(d).all()):
        raise ValueError(NOT_FINITE)
    return d, used


__all__ = ["SOLVERS", "SOLVER_NAMES", "TRUNCATED", "DEFAULT_RCOND", "FactorizationError", "choose", "direction"]
