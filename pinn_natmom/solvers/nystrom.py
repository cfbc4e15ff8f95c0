"""Randomized Nyström solve: ``d = Jᵀ (K̂ + λI)⁻¹ r`` with ``K̂ = U Λ̂ Uᵀ`` a rank-``ℓ`` approximation of ``K = JJᵀ``.

The sketch (Tropp, Yurtsever, Udell & Cevher 2017, Alg. 3; Frangella, Tropp & Udell 2023, Alg. 2.1), with sketch
size ``ℓ = min(sketch_size, N, P)`` (``rank K ≤ min(N, P)``, so a larger sketch would add nothing):

1. ``Ω`` (``N × ℓ``): a standard Gaussian ``G`` from a ``torch.Generator`` seeded with ``seed`` on ``J``'s device,
   drawn in blocks of ``BLOCK`` columns so that its first ``k`` columns do not depend on ``ℓ``, orthonormalised by
   a Cholesky QR, ``Ω = G L⁻ᵀ`` with ``L Lᵀ = GᵀG`` (``L`` lower triangular: the first ``k`` columns of ``Ω`` span
   those of ``G``, so a larger sketch contains a smaller one; ``ΩᵀΩ = I`` up to ``eps · κ(G)²``, and a Gaussian
   ``G`` with ``ℓ ≪ N`` has ``κ(G) ≈ (√N + √ℓ)/(√N − √ℓ)``);
2. ``W = JᵀΩ`` (``P × ℓ``) and ``Y = J W = KΩ`` (``N × ℓ``): two products with ``J``; ``K`` is never formed;
3. the stabilising shift ``ν = √N · eps · ‖Y‖_F``, ``Y_ν = Y + νΩ`` and the Cholesky factor
   ``C Cᵀ = WᵀW + νI = ΩᵀY_ν`` (``ℓ × ℓ``; ``ν`` is raised by ``cholesky.factor_damped`` when that fails);
4. ``B = Y_ν C⁻ᵀ`` (``N × ℓ``, a triangular solve): ``BBᵀ = (K + νI)Ω (Ωᵀ(K + νI)Ω)⁻¹ Ωᵀ(K + νI)`` is the Nyström
   approximation of ``K + νI``;
5. instead of the SVD of ``B``, the ``ℓ × ℓ`` symmetric eigendecomposition ``BᵀB = V Σ² Vᵀ``; then
   ``Λ̂ = max(Σ² − ν, 0)`` removes the shift and ``U = B V Σ⁻¹`` (its columns with ``Λ̂ = 0``, which the solve does
   not use, set to zero): ``K̂ = U diag(Λ̂) Uᵀ``.

``K̂ ⪯ K`` grows with the span of ``Ω`` and equals ``K`` (up to rounding) once ``ℓ ≥ rank(J)``. The solve uses the
Woodbury identity with ``UᵀU = I`` (on the columns with ``Λ̂ > 0``):

.. math:: (UΛ̂Uᵀ + λI)^{-1} r = U \\,\\mathrm{diag}\\big(1/(Λ̂ + λ) − 1/λ\\big)\\, Uᵀ r + r/λ,

an ``ℓ``-column operation per right-hand side. ``λ`` is floored at ``ε · mean(diag K) = ε‖J‖²_F / N`` (the first raise
of ``cholesky.factor_damped``), so ``λ = 0`` is usable. Cost ``4NPℓ`` (the two products) ``+ 1.5Pℓ² + 7Nℓ²``
(``GᵀG``, ``G L⁻ᵀ``, ``B``, ``BᵀB``, ``BV``: products and triangular solves) ``+ O(ℓ³)`` (the ``ℓ × ℓ`` factorisations);
memory ``O((N + P)ℓ)``. Accurate when ``λ`` is not small against the eigenvalues of ``K`` beyond the ``ℓ``-th;
otherwise use the sketch as a preconditioner (``nystrom_pcg``). Rounding: the term ``r/λ`` and its cancellation
against ``UUᵀr/λ`` carry an error of about ``ε‖r‖/λ`` (times the loss of orthogonality of ``U``), so even with
``ℓ ≥ rank(J)`` the direction matches the Woodbury one only to about ``ε‖K‖/λ`` relative, and ``λ ≈ 0`` gives a finite
but rounding-dominated direction.

On a block of the rows (``rows``), ``Ω`` is the same ``N × ℓ`` matrix on every holder, of which each keeps its
rows; ``W = Σ_a J_aᵀΩ_a`` (``Pℓ`` entries), ``‖Y‖²_F``, ``BᵀB`` (``ℓ²``), ``‖J‖²_F``, ``Uᵀ rhs`` and ``Jᵀu`` are sums
over the blocks; ``Y``, ``B`` and ``U`` stay in rows.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .cholesky import factor_damped
from .gram import lower_gram
from .rows import RowBlock, whole
from .strategy import Cost, Solver

SKETCH_SIZE = 1000
"""Default ``ℓ`` (clipped to ``min(N, P)``): the sketch size of the published Nyström ENGD runs (``N = 10,000``)."""
SEED = 0
"""Default seed of the test matrix ``Ω``: the same ``Ω`` at every step, so runs are reproducible."""
BLOCK = 64


@dataclass(frozen=True)
class Sketch:
    """``K̂ = U diag(Λ̂) Uᵀ`` and the damping ``λ`` of ``K̂ + λI``, with ``(K̂ + λI)⁻¹`` as ``solve``; ``U`` holds
    the rows of ``rows``."""

    basis: Tensor
    eigenvalues: Tensor
    damping: float
    rows: RowBlock

    def solve(self, rhs: Tensor) -> Tensor:
        """``(K̂ + λI)⁻¹ rhs = U diag(1/(Λ̂ + λ) − 1/λ) Uᵀ rhs + rhs/λ`` for ``rhs`` of shape ``N`` or ``N × m``."""
        lam = self.damping
        weights = 1.0 / (self.eigenvalues + lam) - 1.0 / lam
        projected = self.rows.sum(self.basis.T @ rhs)
        scaled = weights * projected if rhs.dim() == 1 else weights[:, None] * projected
        return self.basis @ scaled + rhs / lam


def orthonormal_test_matrix(n_rows: int, size: int, seed: int, like: Tensor) -> Tensor:
    """``Ω`` (``n_rows × size``): the first ``size`` columns of the seed's Gaussian sequence, orthonormalised by a
    Cholesky QR (step 1 of the module docstring)."""
    generator = torch.Generator(device=like.device).manual_seed(seed)
    blocks = [torch.randn(BLOCK, n_rows, generator=generator, dtype=like.dtype, device=like.device)
              for _ in range(-(-size // BLOCK))]
    gaussian_rows = torch.cat(blocks)[:size]
    factor, _ = factor_damped(lower_gram(gaussian_rows), 0.0, overwrite=True)
    return torch.linalg.solve_triangular(factor, gaussian_rows, upper=False).T


@dataclass(frozen=True)
class SketchDecomposition:
    """The rank-``ℓ`` approximation ``K̂ = U diag(Λ̂) Uᵀ`` of ``JJᵀ`` and the floor of the damping, solved at any
    damping by :meth:`Sketch.solve`."""

    jacobian: Tensor
    basis: Tensor
    eigenvalues: Tensor
    floor: float
    rows: RowBlock

    def at(self, damping: float) -> Sketch:
        """``K̂ + λI`` with ``λ`` at least the floor."""
        return Sketch(self.basis, self.eigenvalues, max(float(damping), self.floor), self.rows)

    def solve(self, damping: float) -> tuple[Callable[[Tensor], Tensor], float]:
        """``rhs ↦ Jᵀ(K̂ + λI)⁻¹ rhs`` and the damping used."""
        approximation, jacobian = self.at(damping), self.jacobian
        return (lambda rhs: approximation.rows.sum(jacobian.T @ approximation.solve(rhs))), approximation.damping


def decompose(jacobian: Tensor, sketch_size: int = SKETCH_SIZE, seed: int = SEED,
              rows: RowBlock | None = None) -> SketchDecomposition:
    """The rank-``ℓ`` Nyström approximation of ``JJᵀ`` (steps 1–5 of the module docstring); the damping is floored
    at ``ε‖J‖²_F / N``."""
    if sketch_size < 1:
        raise ValueError(f"sketch size must be ≥ 1, got {sketch_size}")
    rows = rows or whole(jacobian.shape[0])
    n_rows, n_params = rows.total, jacobian.shape[1]
    omega = orthonormal_test_matrix(n_rows, min(sketch_size, n_rows, n_params), seed, jacobian)
    omega = omega[rows.start : rows.start + rows.count]
    w = rows.sum(jacobian.T @ omega)
    y = jacobian @ w
    eps, tiny = torch.finfo(jacobian.dtype).eps, torch.finfo(jacobian.dtype).tiny
    squares = rows.sum(torch.stack([y.square().sum(), jacobian.square().sum()]))
    shift = float(n_rows**0.5 * eps * squares[0].sqrt().clamp_min(tiny))
    factor, shift = factor_damped(lower_gram(w.T), shift, overwrite=True)
    b = torch.linalg.solve_triangular(factor, (y + shift * omega).T, upper=False).T
    singular_squares, rotation = torch.linalg.eigh(rows.sum(lower_gram(b.T)))
    eigenvalues = (singular_squares - shift).clamp_min(0.0)
    inverse_root = torch.where(eigenvalues > 0, singular_squares.clamp_min(tiny).rsqrt(), 0.0)
    floor = float(eps * squares[1] / n_rows)
    return SketchDecomposition(jacobian, b @ (rotation * inverse_root), eigenvalues, floor, rows)


def sketch(jacobian: Tensor, damping: float, sketch_size: int = SKETCH_SIZE, seed: int = SEED,
           rows: RowBlock | None = None) -> Sketch:
    """The rank-``ℓ`` Nyström approximation of ``JJᵀ`` with ``λ`` floored (``decompose`` at one damping)."""
    return decompose(jacobian, sketch_size, seed, rows).at(damping)


def factorize(jacobian: Tensor, damping: float, sketch_size: int = SKETCH_SIZE, seed: int = SEED,
              rows: RowBlock | None = None) -> tuple[Callable[[Tensor], Tensor], float]:
    """``rhs ↦ Jᵀ(K̂ + λI)⁻¹ rhs`` from one sketch of ``K = JJᵀ``, and the damping used."""
    return decompose(jacobian, sketch_size, seed, rows).solve(damping)


def cost(n_rows: int, n_params: int, itemsize: int, sketch_size: int = SKETCH_SIZE, **options: object) -> Cost:
    """The sketch (module docstring: ``4NPℓ + 1.5Pℓ² + 7Nℓ²`` in products, an ``ℓ × ℓ`` Cholesky and eigensolver),
    one application (``2NP + 4Nℓ``); ``s (4Nℓ + Pℓ + 2ℓ²)`` bytes (``Ω``, ``Y``, ``B``, ``U``; ``W``; the ``ℓ × ℓ``
    factors), ``ℓ`` clipped to ``min(N, P)``."""
    ell = min(sketch_size, n_rows, n_params)
    products = 4.0 * n_rows * n_params * ell + 1.5 * n_params * ell**2 + 7.0 * n_rows * ell**2
    products += 2.0 * n_rows * n_params + 4.0 * n_rows * ell
    memory = itemsize * (4.0 * n_rows * ell + n_params * ell + 2.0 * ell * ell)
    return Cost(products, (2.0 / 3.0 + 10.0 / 3.0) * ell**3, "eigen", memory,
                itemsize * 2.0 * n_rows * n_params + 2.0 * memory)


SOLVER = Solver("nystrom", factorize, cost, decompose, blockwise=True, options=frozenset({"sketch_size", "seed"}))
