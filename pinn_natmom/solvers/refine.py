"""The damped solve at a tenth of the damping the Cholesky factorisation reached, by preconditioned CG.

The Cholesky solvers factorise ``G + λI`` (``G = JᵀJ`` for ``dense``, ``JJᵀ`` for ``woodbury``) and raise ``λ`` until
the float64 factorisation succeeds (``cholesky.factor_damped``), at ``λ_f``: forming ``G`` squares the
singular values, so it cannot resolve ``σ² ≲ eps·‖G‖``. Directions of ``J`` with ``σ² < λ_f`` are then damped by
``σ²/λ_f``. ``refined`` solves ``(G + λI) x = b`` at ``λ = λ_f / RATIO`` instead, by conjugate gradients
(``cg``) on the products ``x ↦ G x + λ x`` formed through ``J`` (two matrix–vector products; their rounding
reaches a direction of singular value ``σ`` scaled by ``σ``, which the formed ``G`` does not) and preconditioned with
the factor of ``M = G + λ_f I``. For an exact ``G``

.. math:: κ(M^{-1}(G + λI)) ≤ \\max_i \\frac{σ_i^2 + λ_f}{σ_i^2 + λ} ≤ \\frac{λ_f}{λ} = \\mathrm{RATIO},

so ``STEPS`` steps from ``x₀ = M⁻¹b`` leave at most ``2((√κ − 1)/(√κ + 1))^STEPS = 2.9·10⁻³`` of the initial error
in the ``(G + λI)``-norm. Where ``λ_f`` was raised, the rounding of the formed ``G`` is itself of order ``λ_f``, so the
bound is indicative only (tests/test_solvers.py measures the error against the SVD solution). The geodesic path
(``pinn_natmom.optim.geodesic``) takes this solve: the residual it has to follow lies along directions below the
resolution of the formed Gram matrix.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .cg import conjugate_gradients
from .cholesky import cholesky_apply

RATIO = 10.0
"""``λ_f / λ``: the damping is lowered by one decade below the one the factorisation reached."""
STEPS = 10
"""CG steps; with ``κ ≤ 10`` they leave at most ``2.9·10⁻³`` of the error."""


def refined(factor: Tensor, factorised: float,
            gram_product: Callable[[Tensor], Tensor]) -> tuple[Callable[[Tensor], Tensor], float]:
    """``(b ↦ (G + λI)⁻¹ b, λ)`` with ``λ = factorised / RATIO``, for ``factor`` the Cholesky factor of ``G + λ_f I``
    (``λ_f = factorised``) and ``gram_product(x) = G x`` (``x`` of shape ``n × m``)."""
    lam = factorised / RATIO

    def solve(b: Tensor) -> Tensor:
        columns = b.unsqueeze(-1) if b.dim() == 1 else b
        x = conjugate_gradients(lambda v: gram_product(v) + lam * v, lambda v: cholesky_apply(factor, v), columns,
                                STEPS)
        return x.squeeze(-1) if b.dim() == 1 else x

    return solve, lam
