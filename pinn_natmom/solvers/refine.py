"""The damped solve at a tenth of the damping the Cholesky factorisation reached, by preconditioned CG.

The Cholesky solvers factorise ``G + λI`` (``G = JᵀJ`` or ``JJᵀ``, whichever is smaller) and raise ``λ`` by decades
until the float64 factorisation succeeds (:func:`.cholesky.factor_damped`), at ``λ_f``: forming ``G`` squares the
singular values, so it cannot resolve ``σ² ≲ eps·‖G‖``. Directions of ``J`` with ``σ² < λ_f`` are then damped by
``σ²/λ_f``. :func:`refined` solves ``(G + λI) x = b`` at ``λ = λ_f / RATIO`` instead, by conjugate gradients on the
products ``x ↦ G x + λ x`` formed through ``J`` (two matrix–vector products, ``G`` itself is not used) and
preconditioned with the factor of ``M = G + λ_f I``:

.. math:: κ(M^{-1}(G + λI)) = \\max_i \\frac{σ_i^2 + λ_f}{σ_i^2 + λ} ≤ \\frac{λ_f}{λ} = \\mathrm{RATIO},

so ``STEPS`` steps from ``x₀ = M⁻¹b`` cut the error's ``(G + λI)``-norm by at least
``2((√κ − 1)/(√κ + 1))^STEPS = 2.9·10⁻³`` (in exact arithmetic). The geodesic path
(:mod:`pinn_natmom.optim.geodesic`) takes this solve: the residual it has to follow lies along directions below
the Gram matrix's resolution.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .cholesky import cholesky_apply
from .nystrom_pcg import conjugate_gradients

RATIO = 10.0
"""``λ_f / λ``: the damping is lowered by one decade below the one the factorisation reached."""
STEPS = 10
"""CG steps; with ``κ ≤ 10`` they cut the error by at least ``2.9·10⁻³``."""


def refined(factor: Tensor, factorised: float, gram_product: Callable[[Tensor], Tensor]) -> tuple[Callable[[Tensor], Tensor], float]:
    """``(b ↦ (G + λI)⁻¹ b, λ)`` with ``λ = factorised / RATIO``, for ``factor`` the Cholesky factor of ``G + λ_f I``
    (``λ_f = factorised``) and ``gram_product(x) = G x`` (``x`` of shape ``n × m``)."""
    lam = factorised / RATIO

    def solve(b: Tensor) -> Tensor:
        columns = b.unsqueeze(-1) if b.dim() == 1 else b
        x = conjugate_gradients(lambda v: gram_product(v) + lam * v, lambda v: cholesky_apply(factor, v), columns, STEPS)
        return x.squeeze(-1) if b.dim() == 1 else x

    return solve, lam
