"""Our runs and a peer's side by side: the error against seconds of training and against seconds since launch.

    python scripts/peer_compare.py --ours RUN_DIR [RUN_DIR ...] [--peer PEER_DIR ...] [--out results/peer]

``RUN_DIR``: a folder written by ``scripts/solve.py`` (its ``history.csv``); ``PEER_DIR``: a folder written by
``../shared/peers/dsgnar.sh`` (its ``history.csv``: training time ``wall_time_s`` and time since launch, compilation
included, ``wall_incl_compile_s``). Our runs' time since launch is their training time plus ``--startup`` seconds
(the process's wall time less its training time, measured by the caller). Writes ``times.csv`` (per run: the first
time, on each clock, at which ``rel_l2`` reached each of ``THRESHOLDS``, and the error at each of ``CHECKPOINTS``
seconds, ``at``) and ``curves.png``.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pinn_natmom.cli.reports import read_csv, write_csv  # noqa: E402

THRESHOLDS = (1e-6, 1e-8, 1e-10, 1e-12)
CHECKPOINTS = (60.0, 120.0, 300.0)


@dataclass(frozen=True)
class Curve:
    """A run's error ``rel_l2`` at seconds of training ``trained`` and seconds since launch ``launched``."""

    label: str
    trained: list[float]
    launched: list[float]
    rel_l2: list[float]


def ours(run_dir: Path, startup: float) -> Curve:
    """A run folder of ``scripts/solve.py`` that started up in ``startup`` seconds."""
    rows = read_csv(run_dir / "history.csv")
    trained = [float(row["wall_time_s"]) for row in rows]
    return Curve(run_dir.name, trained, [t + startup for t in trained], [float(row["rel_l2"]) for row in rows])


def peer(run_dir: Path) -> Curve:
    """A run folder of the peer driver: its training rows (``phase`` ``train``)."""
    rows = [row for row in read_csv(run_dir / "history.csv") if row["phase"] == "train"]
    return Curve(run_dir.name, [float(row["wall_time_s"]) for row in rows],
                 [float(row["wall_incl_compile_s"]) for row in rows], [float(row["rel_l2"]) for row in rows])


def first_below(times: list[float], errors: list[float], threshold: float) -> float:
    """The first time at which the error is at most ``threshold`` (NaN if never)."""
    return next((t for t, e in zip(times, errors, strict=True) if e <= threshold), math.nan)


def at(times: list[float], errors: list[float], seconds: float) -> float:
    """The error of the last row at or before ``seconds``: NaN before the first row; a run that ended earlier
    keeps its final error."""
    return next((e for t, e in zip(reversed(times), reversed(errors), strict=True) if t <= seconds), math.nan)


def summary(curve: Curve) -> dict:
    """One ``times.csv`` row."""
    row: dict = {"run": curve.label, "final_rel_l2": curve.rel_l2[-1], "trained_s": curve.trained[-1],
                 "launched_s": curve.launched[-1]}
    for threshold in THRESHOLDS:
        row[f"trained_s_to_{threshold:g}"] = first_below(curve.trained, curve.rel_l2, threshold)
        row[f"launched_s_to_{threshold:g}"] = first_below(curve.launched, curve.rel_l2, threshold)
    for seconds in CHECKPOINTS:
        row[f"rel_l2_at_trained_{seconds:g}s"] = at(curve.trained, curve.rel_l2, seconds)
        row[f"rel_l2_at_launched_{seconds:g}s"] = at(curve.launched, curve.rel_l2, seconds)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ours", type=Path, nargs="+", required=True, help="run folders of scripts/solve.py")
    parser.add_argument("--peer", type=Path, nargs="*", default=[], help="run folders of the peer driver")
    parser.add_argument("--startup", type=float, default=0.0, help="our runs' seconds before their first step")
    parser.add_argument("--out", type=Path, default=Path("results/peer"))
    args = parser.parse_args()
    curves = [ours(d, args.startup) for d in args.ours] + [peer(d) for d in args.peer]
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "times.csv", [summary(c) for c in curves])
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, clock, title in ((axes[0], "trained", "seconds of training"),
                               (axes[1], "launched", "seconds since launch (start-up, compilation)")):
        for curve in curves:
            axis.semilogy(getattr(curve, clock), curve.rel_l2, label=curve.label)
        axis.set_xlabel(title)
        axis.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("rel_l2")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(args.out / "curves.png", dpi=110)
    print(f"wrote {args.out / 'times.csv'} and {args.out / 'curves.png'}")


if __name__ == "__main__":
    main()
