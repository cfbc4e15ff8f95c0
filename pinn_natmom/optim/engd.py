"""Energy natural gradient descent (Gauss–Newton in function space):

.. math:: d_k = J_k^+ r_k = (J_kᵀJ_k + λI)^{-1} J_kᵀ r_k, \\qquad θ_{k+1} = θ_k − α_k d_k,

with ``α_k`` from the grid line search (or a fixed step): ``Natural``'s rules with no momentum.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import Natural


@dataclass(frozen=True)
class ENGD(Natural):
    """The natural gradient without momentum (the baseline)."""
