"""The split of a residual over the singular spectrum of J, and the floor report of a trained run (float64)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import pdes
import pinn_natmom
from pinn_natmom.floor import floor_report, residual_spectrum
from pinn_natmom.linearise import Linearised
from pinn_natmom.solvers import RowBlock

ROOT = Path(__file__).resolve().parents[1]


def known_system() -> Linearised:
    """``J = U diag(s) Vᵀ`` (12 × 5) with ``s = 1, 3e-3, 2e-5, 5e-9, 0`` and ``r = U c + r⊥``."""
    g = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(12, 12, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=torch.float64))
    s = torch.tensor([1.0, 3e-3, 2e-5, 5e-9, 0.0], dtype=torch.float64)
    c = torch.tensor([0.5, -1.0, 2.0, 0.25, 0.0], dtype=torch.float64)
    perpendicular = 0.75 * u[:, 7]
    residual = u[:, :5] @ c + perpendicular
    return Linearised(residual, u[:, :5] @ torch.diag(s) @ v.T)


def test_the_residual_splits_into_its_components_along_the_singular_values() -> None:
    lin = known_system()
    total = float(lin.residual @ lin.residual)
    spectrum = residual_spectrum(lin, edges=(1.0, 1e-2, 1e-4, 1e-6, 1e-10, 0.0))
    assert [band.count for band in spectrum.bands] == [1, 1, 1, 1, 0]
    expected = [0.25 / total, 1.0 / total, 4.0 / total, 0.0625 / total, 0.0]
    assert [band.share for band in spectrum.bands] == pytest.approx(expected, rel=1e-6, abs=1e-14)
    assert spectrum.outside == pytest.approx(0.5625 / total, rel=1e-6)
    assert sum(band.share for band in spectrum.bands) + spectrum.outside == pytest.approx(1.0, rel=1e-12)
    assert spectrum.sigma_max == pytest.approx(1.0, rel=1e-12)
    assert spectrum.relative_sigma[:4].tolist() == pytest.approx([1.0, 3e-3, 2e-5, 5e-9], rel=1e-6)


@pytest.mark.parametrize("edges", [(1.0, 1e-2, 1e-2, 0.0), (0.5, 0.0), (1.0, 1e-3)])
def test_band_edges_must_decrease_from_one_to_zero(edges) -> None:
    with pytest.raises(ValueError, match="band edges"):
        residual_spectrum(known_system(), edges)


def test_a_zero_residual_and_a_block_of_rows_are_refused() -> None:
    lin = known_system()
    with pytest.raises(ValueError, match="zero"):
        residual_spectrum(Linearised(torch.zeros_like(lin.residual), lin.jacobian))
    with pytest.raises(ValueError, match="whole system"):
        residual_spectrum(Linearised(lin.residual, lin.jacobian, rows=RowBlock(0, 12, 24, lambda t: t, lambda t: t)))


def test_the_floor_report_of_a_trained_poisson_run_adds_up() -> None:
    problem = pdes.poisson(hard_bc=False, dim=2)
    options = {"seed": 0, "steps": 8, "hidden": (8,), "n_points": {"interior": 60, "boundary": 20}, "n_eval": 200}
    result = pinn_natmom.solve(problem, **options)
    trainer = pinn_natmom.setup(problem, **options)
    report = floor_report(trainer, result.theta)
    assert report.loss == pytest.approx(result.metrics["loss"], rel=1e-10)
    assert sum(report.term_losses.values()) == pytest.approx(report.loss, rel=1e-12)
    assert set(report.term_losses) == {"interior", "boundary"}
    assert report.fresh_loss > 0 and report.fresh_loss != pytest.approx(report.loss, rel=1e-6)
    spectrum = report.spectrum
    assert sum(band.share for band in spectrum.bands) + spectrum.outside == pytest.approx(1.0, rel=1e-10)
    assert 0 < sum(band.count for band in spectrum.bands) <= min(80, trainer.network.num_params)


def test_the_floor_study_reads_run_folders(tmp_path: Path) -> None:
    run = tmp_path / "run"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "solve.py"), "--pde", "poisson", "--hidden", "8",
                    "--steps", "5", "--n-interior", "60", "--n-boundary", "20", "--n-eval", "200", "--no-plots",
                    "--quiet", "--out", str(run)], check=True, cwd=tmp_path)
    out = tmp_path / "floors"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "floor_study.py"), str(run), "--out", str(out)],
                          check=True, capture_output=True, text=True)
    assert "run: rel_l2" in done.stdout
    rows = (out / "floors.csv").read_text().splitlines()
    assert rows[0].startswith("run,rel_l2,steps,stop_reason,loss,fresh_loss,loss_interior,loss_boundary")
    assert len(rows) == 2 and (out / "spectrum.png").stat().st_size > 0
    assert len((out / "spectrum.csv").read_text().splitlines()) == 1 + 8
