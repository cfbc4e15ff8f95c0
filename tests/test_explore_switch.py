"""``scripts/explore_switch.py``: natural-auto continued from several points of the exploring stage."""
from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "scripts" / "explore_switch.py"


def test_one_row_per_switch_point_with_the_errors_reached(tmp_path: Path) -> None:
    out = tmp_path / "switch.csv"
    done = subprocess.run([sys.executable, str(SCRIPT), "--pde", "poisson", "--explore", "3", "--switch", "3,1",
                           "--after", "0.5", "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open()))
    assert [int(row["switch_step"]) for row in rows] == [1, 3]
    for row in rows:
        assert int(row["steps_after"]) >= 1
        assert float(row["rel_l2_lowest"]) <= float(row["rel_l2_first_step"]) < 1.0
        assert math.isfinite(float(row["rel_l2_at_switch"])) and float(row["switch_s"]) > 0


def test_switch_points_outside_the_stage_are_refused(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--explore", "3", "--switch", "4", "--after", "1",
                           "--out", str(tmp_path / "x.csv")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "switch points must lie in 1…3" in done.stderr
