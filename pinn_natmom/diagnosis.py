"""What a finished run says about itself beyond its last row: how its steps fared under the trust region, and a
warning where the run did not do what a user would take for granted (its error never left its start, or its last
steps lowered nothing), so that no run ends as a quiet "finished" far from a solution."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

LEFT_START = 0.5
"""A run whose final ``rel_l2`` is above this fraction of its initial one has not left its start."""
LAST_STEPS = 10
"""The window of last steps the summary looks at."""


def trust_region_summary(history: Sequence[dict[str, float]]) -> dict[str, Any]:
    """The steps taken (a decrease of the loss) and not taken, the last damping ``ν``, and the median ratio ``ρ`` and
    the fraction of steps taken over the last :data:`LAST_STEPS` steps."""
    rows = list(history[1:])
    taken = [row for row in rows if row["step_size"] > 0]
    last = rows[-LAST_STEPS:]
    ratios = sorted(row["ratio"] for row in last if not math.isnan(row["ratio"]) and row["step_size"] > 0)
    return {
        "steps_taken": len(taken),
        "steps_without_decrease": len(rows) - len(taken),
        "final_damping": rows[-1]["damping"] if rows else math.nan,
        "last_steps_taken": sum(row["step_size"] > 0 for row in last) / len(last) if last else math.nan,
        "last_median_ratio": ratios[len(ratios) // 2] if ratios else math.nan,
    }


def warning(history: Sequence[dict[str, float]], stop_reason: str) -> str | None:
    """A one-line warning for a run that did not leave its initial error, or whose last steps lowered nothing;
    ``None`` for a run that did what it should."""
    first, last = history[0], history[-1]
    if len(history) > 1 and not math.isnan(first["rel_l2"]) and last["rel_l2"] > LEFT_START * first["rel_l2"]:
        return (f"the error has not left its start (rel_l2 {first['rel_l2']:.3g} → {last['rel_l2']:.3g} in "
                f"{int(last['step'])} steps): more steps, more points or another network may be needed")
    recent = history[-LAST_STEPS:]
    if stop_reason != "stalled" and len(history) > LAST_STEPS and all(row["step_size"] == 0 for row in recent):
        return (f"none of the last {len(recent)} steps lowered the loss ({last['loss']:.3g}): the run is at a floor "
                "of its points and network")
    return None
