"""The fallback of an optimizer that restarts: the last ``θ`` of an earlier trajectory, its loss and the optimizer
state it had, kept in the state (``"fallback"``) until the current trajectory's loss at the same points falls below
that loss. A run that ends first returns the fallback (``pinn_natmom.train``), so that a restart never leaves a run
worse than the trajectory it abandoned.
"""
from __future__ import annotations

import math

from torch import Tensor

from .contract import State

KEY = "fallback"


def kept(state: State, theta: Tensor, loss: float, own_state: State) -> State:
    """``state`` holding ``θ = theta`` with its ``loss`` and its trajectory's optimizer state ``own_state`` as the
    fallback."""
    return {**state, KEY: {"theta": theta, "loss": float(loss), "state": own_state}}


def beaten(state: State, loss: float) -> State:
    """``state`` without its fallback where ``loss`` (the current trajectory's, same points) is below the
    fallback's."""
    held = state.get(KEY)
    if held is None or not float(loss) < held["loss"]:
        return state
    return {key: value for key, value in state.items() if key != KEY}


def held(state: State) -> tuple[Tensor, float, State] | None:
    """``(θ, loss, optimizer state)`` of the fallback in ``state`` (under a warm start, its second optimizer's),
    ``None`` where there is none."""
    inner = state.get("then", state)
    found = inner.get(KEY) if isinstance(inner, dict) else None
    return None if found is None else (found["theta"], found["loss"], found["state"])


def restored(state: State) -> State:
    """The optimizer state to continue from once the fallback is taken back: the fallback's own entries over those of
    ``state`` without the fallback (so that counts only the current trajectory keeps, such as the exploring
    stage's, remain; under a warm start, the second optimizer's state)."""
    inner = state.get("then", state)
    found = held(state)
    if found is None:
        return state
    back = {**{key: value for key, value in inner.items() if key != KEY}, **found[2]}
    return {**state, "then": back} if "then" in state else back


def better(state: State, loss: float) -> bool:
    """Whether ``state`` holds a fallback whose loss is below ``loss`` (a non-finite ``loss`` counts as above)."""
    found = held(state)
    return found is not None and (not math.isfinite(loss) or found[1] < loss)
