"""What sets the error floor of finished runs: the loss on the training points and on fresh ones, each term's loss, and
where the training residual lies on the singular spectrum of ``J`` (``pinn_natmom.floor``).

    python scripts/floor_study.py RUN_DIR [RUN_DIR ...] [--out results/floors]

Each ``RUN_DIR`` is a folder written by ``scripts/solve.py``; its problem, options and last checkpoint are read back
and ``r`` and ``J`` rebuilt on the points the run trained on last. Writes ``floors.csv`` (one row per run),
``spectrum.csv`` (the share of ``‖r‖²`` per band of ``σ/σ_max``, per run) and ``spectrum.png`` (the share of
``‖r‖²`` along singular values below ``σ/σ_max``, per run) into ``--out``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import pinn_natmom  # noqa: E402
from pinn_natmom.cli import runfolder  # noqa: E402
from pinn_natmom.cli.reports import write_csv  # noqa: E402
from pinn_natmom.floor import FloorReport, floor_report  # noqa: E402


def report_of(run_dir: Path) -> tuple[dict, FloorReport]:
    """The run's final metrics and its ``FloorReport`` on the points it trained on last."""
    result = pinn_natmom.load(run_dir)
    snapshot = runfolder.read_checkpoint(run_dir / runfolder.CHECKPOINT)
    trainer = pinn_natmom.setup(result.problem, result.options, resume=snapshot)
    return result.metrics, floor_report(trainer, snapshot.theta.to(trainer.dtype))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders written by scripts/solve.py")
    parser.add_argument("--out", type=Path, default=Path("results/floors"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    floors, bands = [], []
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for run_dir in args.runs:
        metrics, report = report_of(run_dir)
        spectrum = report.spectrum
        floors.append({"run": run_dir.name, "rel_l2": f"{metrics.get('rel_l2', float('nan')):.3e}",
                       "steps": metrics.get("steps"), "stop_reason": metrics.get("stop_reason"),
                       "loss": f"{report.loss:.3e}", "fresh_loss": f"{report.fresh_loss:.3e}",
                       **{f"loss_{name}": f"{value:.3e}" for name, value in report.term_losses.items()},
                       "outside_range_share": f"{spectrum.outside:.2e}", "sigma_max": f"{spectrum.sigma_max:.3e}"})
        for band in spectrum.bands:
            bands.append({"run": run_dir.name, "sigma_over_max": f"({band.lower:g}, {band.upper:g}]",
                          "singular_values": band.count, "residual_share": f"{band.share:.3e}"})
        order = torch.argsort(spectrum.relative_sigma)
        below = torch.cumsum(spectrum.shares[order], 0)
        axes.semilogx(spectrum.relative_sigma[order].clamp_min(1e-17).numpy(), below.numpy(),
                      label=f"{run_dir.name} (rel_l2 {metrics.get('rel_l2', float('nan')):.1e})")
        print(f"{run_dir.name}: rel_l2 {metrics.get('rel_l2', float('nan')):.3e}, loss {report.loss:.3e} "
              f"(fresh points {report.fresh_loss:.3e}), " + ", ".join(
                  f"({b.lower:g}, {b.upper:g}]: {b.share:.2f}" for b in spectrum.bands if b.share >= 0.01))
    axes.set_xlabel("σ / σ_max")
    axes.set_ylabel("share of ‖r‖² along singular values ≤ σ")
    axes.set_title("Where the training residual lies at the end of each run")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(args.out / "spectrum.png", dpi=120)
    write_csv(args.out / "floors.csv", floors)
    write_csv(args.out / "spectrum.csv", bands)


if __name__ == "__main__":
    main()
