"""Solvers for the damped Gauss–Newton direction ``d = (JᵀJ + λI)⁻¹ Jᵀ r`` — the (regularised) pseudo-inverse ``J⁺``.

Each strategy is a ``Solver`` registered in ``SOLVERS``, with a factoriser
``factorize(J, c, **options) -> (apply, c_used)`` and a cost model (``Cost``). ``apply(rhs)``
returns ``J⁺ rhs`` for a right-hand side of shape ``N`` or ``N × m`` from one factorisation, so optimizers that need
``J⁺`` of several vectors (natural momentum) pay for one. ``c`` is the damping ``λ`` of the Cholesky solvers
(``dense``, ``woodbury``) and of the randomized ones (``nystrom``, ``nystrom-pcg``), or the relative cut-off ``rcond``
of the truncated pseudo-inverses (``pinv``, ``svd``; listed in ``TRUNCATED``). Solvers with options (the sketch
size, seed and CG steps of the randomized ones; ``refine`` of the Cholesky ones, ``refine``) list them in
``OPTIONS``. ``factorize`` checks the inputs once and dispatches; ``direction`` applies it to one
right-hand side; ``cost`` gives the cost of one solve.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from . import dense, nystrom, nystrom_pcg, pinv, svd, woodbury
from .cholesky import NOT_FINITE, FactorizationError, NonFiniteError
from .decomposition import Decomposition
from .memory import GIB, available_bytes
from .rows import RowBlock, whole
from .strategy import Apply, Cost, Solver

SOLVERS: dict[str, Solver] = {s.name: s for s in (dense.SOLVER, woodbury.SOLVER, svd.SOLVER, pinv.SOLVER,
                                                   nystrom.SOLVER, nystrom_pcg.SOLVER)}
SOLVER_NAMES = ("auto", *SOLVERS)
TRUNCATED = frozenset(name for name, s in SOLVERS.items() if s.truncated)
"""Solvers regularised by a relative singular-value cut-off rather than a damping."""
OPTIONS: dict[str, frozenset[str]] = {name: s.options for name, s in SOLVERS.items() if s.options}
DEFAULT_RCOND = {name: s.default_rcond for name, s in SOLVERS.items() if s.truncated}
AUTO_SVD_FLOPS = 1e10
AUTO_NYSTROM_ROWS = 8000


def choose(name: str, n_rows: int, n_params: int, free_bytes: int | None = None, itemsize: int = 8,
           sketch_size: int | None = None) -> str:
    """Resolve ``"auto"``, for an ``N × P`` Jacobian with ``m = min(N, P)``, ``M = max(N, P)``:

    - ``m² M ≤ 10¹⁰``: ``svd``. Its decomposition resolves singular values down to ``ε σ_max`` rather than the
      ``√ε σ_max`` of a formed Gram matrix, so the trust region can lower the damping as far as the problem allows,
      and a retry at another damping is a re-weighting (results/benchmark/README.md);
    - ``N < P`` with ``N ≥ 8,000``: ``nystrom-pcg`` with its defaults (``ℓ = 1,000``, 20 CG steps), about 3× faster
      than woodbury there with the same direction to 1e-8 (results/solvers/README.md); it forms no ``N × N`` kernel
      (memory ``O((N + P)ℓ)`` against ``N²``);
    - otherwise the Cholesky solvers in the smaller space: ``woodbury`` when ``N < P``, else ``dense``;
    - and, given the ``free_bytes`` left beside ``J``, ``nystrom-pcg`` whenever the matrices of that choice
      (``cost`` with ``itemsize`` bytes per entry) would not fit in them and the sketch's would take less.
    """
    if name != "auto":
        if name not in SOLVERS:
            raise ValueError(f"unknown solver {name!r}; choose from {', '.join(SOLVER_NAMES)}")
        return name
    small, large = min(n_rows, n_params), max(n_rows, n_params)
    if small * small * large <= AUTO_SVD_FLOPS:
        picked = "svd"
    elif AUTO_NYSTROM_ROWS <= n_rows < n_params:
        picked = "nystrom-pcg"
    else:
        picked = "woodbury" if n_rows < n_params else "dense"
    if free_bytes is None:
        return picked
    needs = {name: memory_of(name, n_rows, n_params, itemsize, sketch_size) for name in (picked, "nystrom-pcg")}
    return "nystrom-pcg" if needs[picked] > free_bytes and needs["nystrom-pcg"] < needs[picked] else picked


def cost(name: str, n_rows: int, n_params: int, itemsize: int = 8, **options: object) -> Cost:
    """The ``Cost`` of one solve by ``name`` for an ``N × P`` Jacobian with ``itemsize`` bytes per
    entry; ``options`` the solver takes (``sketch_size``, ``cg_steps``) change it, ``None`` values mean defaults."""
    solver = SOLVERS[choose(name, n_rows, n_params)]
    taken = {key: value for key, value in options.items() if value is not None and key in solver.options}
    return solver.cost(n_rows, n_params, itemsize, **taken)


def memory_of(name: str, n_rows: int, n_params: int, itemsize: int, sketch_size: int | None = None) -> int:
    """Bytes of the matrices ``name`` forms besides ``J`` (``cost``)."""
    return int(cost(name, n_rows, n_params, itemsize, sketch_size=sketch_size).memory)


def check_fits(name: str, n_rows: int, n_params: int, free_bytes: int | None, itemsize: int = 8,
               sketch_size: int | None = None) -> None:
    """Refuse, before any work, a solve whose Jacobian and matrices would not fit in ``free_bytes``, saying what to
    change."""
    if free_bytes is None:
        return
    jacobian, formed = itemsize * n_rows * n_params, memory_of(name, n_rows, n_params, itemsize, sketch_size)
    if jacobian + formed <= free_bytes:
        return
    advice = ("use fewer points or a smaller network" if jacobian > free_bytes or name == "nystrom-pcg"
              else "use --solver nystrom-pcg (memory O((N + P)·ℓ)), fewer points or a smaller network")
    raise ValueError(f"the {n_rows} × {n_params} Jacobian ({jacobian / GIB:.2f} GiB) and the matrices of solver "
                      f"{name!r} ({formed / GIB:.2f} GiB) would not fit in the {free_bytes / GIB:.2f} GiB free; {advice}")


def check_inputs(jacobian: Tensor, rhs: Tensor | None, damping: float) -> None:
    """Refuse malformed systems with a message that says what is wrong."""
    if jacobian.dim() != 2:
        raise ValueError(f"Jacobian must be a matrix (N × P), got shape {tuple(jacobian.shape)}")
    if rhs is not None and (rhs.dim() not in (1, 2) or rhs.shape[0] != jacobian.shape[0]):
        raise ValueError(f"right-hand side must have shape ({jacobian.shape[0]},) or ({jacobian.shape[0]}, m) to match J, got {tuple(rhs.shape)}")
    if not (isinstance(damping, (int, float)) and math.isfinite(damping) and damping >= 0):
        raise ValueError(f"damping (or rcond) must be a finite number ≥ 0, got {damping!r}")


def decompose(name: str, jacobian: Tensor, rows: RowBlock | None = None, rcond: float | None = None,
              **options: int | bool) -> Decomposition:
    """``J`` decomposed by the solver ``name`` (or ``"auto"``), to be solved at any damping
    (``Decomposition.solve``); ``rcond``: the cut-off of a truncated solver (its default when ``None``).

    ``rows``: ``jacobian`` and every ``rhs`` are this block of the rows of the system (default: the whole of it); the
    solvers that are ``blockwise`` work on the block, the others on the gathered rows. Non-finite entries in ``J``
    raise ``NonFiniteError`` (a ``ValueError``): the Cholesky solvers detect them while factorising, the truncated
    ones when the eigen/singular-value solver fails; ``check_finite`` catches the rest in the result.
    """
    check_inputs(jacobian, None, 0.0 if rcond is None else rcond)
    rows = rows or whole(jacobian.shape[0])
    if rows.count != jacobian.shape[0]:
        raise ValueError(f"the row block holds {rows.count} rows but J has {jacobian.shape[0]}")
    resolved = choose(name, rows.total, jacobian.shape[1])
    solver = SOLVERS[resolved]
    unknown = sorted(set(options) - solver.options)
    if unknown:
        raise ValueError(f"solver {resolved!r} does not take the option(s) {', '.join(unknown)}")
    if solver.truncated:
        options = {**options, "rcond": solver.default_rcond if rcond is None else rcond}
    blockwise = rows.count == rows.total or solver.blockwise
    if solver.blockwise:
        options = {**options, "rows": rows}
    try:
        decomposition = solver.decompose(jacobian if blockwise else rows.gather(jacobian), **options)
    except torch.linalg.LinAlgError:
        if not bool(torch.isfinite(jacobian).all()):
            raise NonFiniteError(NOT_FINITE) from None
        raise
    return decomposition if blockwise else GatheredDecomposition(decomposition, rows)


@dataclass(frozen=True)
class GatheredDecomposition:
    """A decomposition of the gathered rows, applied to right-hand sides of this holder's block."""

    whole: Decomposition
    rows: RowBlock

    def solve(self, damping: float) -> tuple[Apply, float]:
        apply, used = self.whole.solve(damping)
        return (lambda rhs: apply(self.rows.gather(rhs))), used


def factorize(name: str, jacobian: Tensor, regulariser: float, rows: RowBlock | None = None,
              **options: int | bool) -> tuple[Apply, float]:
    """``(rhs ↦ J⁺ rhs, c_used)`` by the solver ``name`` (or ``"auto"``), with the solver's ``options``
    (``OPTIONS``): ``c`` is the damping ``λ`` of the damped solvers, the cut-off ``rcond`` of the truncated ones
    (undamped). See ``decompose`` for ``rows``."""
    check_inputs(jacobian, None, regulariser)
    truncated = choose(name, (rows or whole(jacobian.shape[0])).total, jacobian.shape[1]) in TRUNCATED
    if truncated:
        return decompose(name, jacobian, rows, regulariser, **options).solve(0.0)[0], regulariser
    return decompose(name, jacobian, rows, **options).solve(regulariser)


def check_finite(direction: Tensor) -> Tensor:
    """``direction`` itself, or ``NonFiniteError`` when it holds NaN or infinity (one host synchronisation)."""
    if not bool(torch.isfinite(direction).all()):
        raise NonFiniteError(NOT_FINITE)
    return direction


def direction(name: str, jacobian: Tensor, rhs: Tensor, damping: float, rows: RowBlock | None = None,
              **options: int | bool) -> tuple[Tensor, float]:
    """``(J⁺ rhs, λ_used)``, e.g. ``d = (JᵀJ + λI)⁻¹ Jᵀ r`` for ``rhs = r``."""
    check_inputs(jacobian, rhs, damping)
    apply, used = factorize(name, jacobian, damping, rows, **options)
    return check_finite(apply(rhs)), used


__all__ = [
    "SOLVERS", "SOLVER_NAMES", "TRUNCATED", "OPTIONS", "RowBlock", "DEFAULT_RCOND", "FactorizationError", "NOT_FINITE",
    "NonFiniteError", "Apply", "Cost", "Solver", "Decomposition", "GIB", "choose", "check_fits", "decompose", "factorize",
    "direction", "cost",
    "memory_of", "check_finite", "available_bytes",
]
