"""What every direction solver declares: how it factorises, what it takes, and what one solve costs.

A ``Solver`` is one strategy for ``J⁺``: its factoriser ``(J, c, **options) -> (apply, c_used)``, whether ``c`` is
a cut-off (``truncated``) or a damping, whether it works on a block of the rows of ``J`` (``blockwise``), the options
it takes, and its cost model. The ``Cost`` of one solve — one factorisation of an ``N × P`` Jacobian and one
application to a right-hand side — is the single model the automatic choice (memory), the benchmarks (time
estimates) and the profiler (FLOP/byte floors) all use.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

Apply = Callable[[Tensor], Tensor]
Factorizer = Callable[..., tuple[Apply, float]]

SLOWDOWN = {"cholesky": 2.0, "eigen": 6.0, "svd": 8.0}
"""How much slower per FLOP than a large matrix product each kind of factorisation runs (for time estimates from
the measured product rate; LAPACK on a 2-core CPU)."""
GRAM_SPLIT = 1024
"""From this many rows the Gram product is formed by its lower triangle alone (``gram``)."""


@dataclass(frozen=True)
class Cost:
    """FLOPs and bytes of one solve.

    ``products``: FLOPs in matrix products (Gram or kernel products, sketches, products with ``J``);
    ``factorisation``: FLOPs of the factorisation, of kind ``kind`` (``cholesky``, ``eigen`` or ``svd``);
    ``memory``: bytes of the matrices the solver forms besides ``J``; ``traffic``: bytes read and written
    (``J`` once, each formed matrix written and read once).
    """

    products: float
    factorisation: float
    kind: str
    memory: float
    traffic: float

    @property
    def flops(self) -> float:
        return self.products + self.factorisation

    def seconds(self, rate: float) -> float:
        """An estimate of the time at matrix-product rate ``rate`` (FLOP/s), factorisations ``SLOWDOWN`` slower."""
        return (self.products + SLOWDOWN[self.kind] * self.factorisation) / rate


CostModel = Callable[..., Cost]
"""``(n_rows, n_params, itemsize, **options) -> Cost``."""


@dataclass(frozen=True)
class Solver:
    """One direction solver (module docstring)."""

    name: str
    factorize: Factorizer
    cost: CostModel
    decompose: Callable[..., object]
    truncated: bool = False
    blockwise: bool = False
    options: frozenset[str] = frozenset()
    default_rcond: float | None = None


def gram_flops(rows: int, inner: int) -> float:
    """FLOPs of the lower triangle of ``A Aᵀ`` for ``A`` of ``rows × inner`` (``gram``)."""
    return (1.5 if rows >= GRAM_SPLIT else 2.0) * rows * rows * inner


def cholesky_cost(n_rows: int, n_params: int, itemsize: int, side: int) -> Cost:
    """A Gram matrix of size ``side`` (``P`` for the parameter space, ``N`` for the sample space), kept beside its
    Cholesky factor (``2 s side²`` bytes, so that another damping can be factorised), one solve with it, and the
    products with ``J`` and ``Jᵀ`` of one right-hand side."""
    other = n_rows if side == n_params else n_params
    products = gram_flops(side, other) + 2.0 * side * side + 2.0 * n_rows * n_params
    return Cost(products, side**3 / 3.0, "cholesky", itemsize * 2.0 * side * side,
                itemsize * (n_rows * n_params + 3.0 * side * side))
