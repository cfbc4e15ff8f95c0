"""pinn-natmom: physics-informed neural networks trained by energy natural gradient descent with natural momentum.

``pinn_natmom.solve(problem, **options)`` trains and returns a ``Result``; ``Options`` lists the options;
``pinn_natmom.load(run_dir)`` reads a saved run back as a ``Result``; ``pinn_natmom.setup`` sets a run up to be
stepped by hand.
"""
from __future__ import annotations

from pathlib import Path

from .api import Result, setup, solve
from .options import Options
from .problem import Problem


def load(run_dir: str | Path, problem: Problem | None = None) -> Result:
    """The trained field of a run folder written by ``scripts/solve.py``, with its history and metrics; ``problem``
    for a run whose problem its settings cannot rebuild (``pinn_natmom.cli.reload.load_result``)."""
    from .cli.reload import load_result

    return load_result(Path(run_dir), problem)


__all__ = ["solve", "setup", "load", "Options", "Result"]
