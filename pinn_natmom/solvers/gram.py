"""The Gram product ``J Jᵀ`` (or ``JᵀJ``) with its lower triangle only, as the Cholesky and eigen-solvers read it.

Splitting the rows of ``A`` (``n × k``) in two halves ``A₁, A₂``, the lower triangle of ``A Aᵀ`` is covered by
``A₁A₁ᵀ``, ``A₂A₁ᵀ`` and ``A₂A₂ᵀ``: ``1.5 n² k`` multiply-adds instead of ``2 n² k``. The strictly upper block is
left as zeros; the result is *not* symmetric and must only be handed to solvers that read the lower triangle.
"""
from __future__ import annotations

import torch
from torch import Tensor

MIN_SPLIT = 1024


def lower_gram(a: Tensor) -> Tensor:
    """A matrix whose lower triangle (diagonal included) equals that of ``A Aᵀ``."""
    n = a.shape[0]
    if n < MIN_SPLIT:
        return a @ a.T
    h = n // 2
    out = torch.empty(n, n, dtype=a.dtype, device=a.device)
    top, bottom = a[:h], a[h:]
    torch.mm(top, top.T, out=out[:h, :h])
    torch.mm(bottom, top.T, out=out[h:, :h])
    torch.mm(bottom, bottom.T, out=out[h:, h:])
    out[:h, h:].zero_()
    return out
