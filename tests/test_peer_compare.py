"""``scripts/peer_compare.py``: the times to each error and the errors at given times, on both clocks."""
from __future__ import annotations

import csv
import math
import runpy
import subprocess
import sys
from pathlib import Path

from pinn_natmom.cli.reports import write_csv

ROOT = Path(__file__).parents[1]
COMPARE = runpy.run_path(str(ROOT / "scripts" / "peer_compare.py"))


def test_first_below_and_at_follow_the_rows() -> None:
    times, errors = [1.0, 2.0, 4.0], [1e-3, 1e-7, 1e-9]
    assert COMPARE["first_below"](times, errors, 1e-6) == 2.0
    assert math.isnan(COMPARE["first_below"](times, errors, 1e-12))
    assert COMPARE["at"](times, errors, 3.0) == 1e-7
    assert COMPARE["at"](times, errors, 100.0) == 1e-9
    assert math.isnan(COMPARE["at"](times, errors, 0.5))


def test_the_script_puts_both_runs_on_both_clocks(tmp_path: Path) -> None:
    ours, peer, out = tmp_path / "ours", tmp_path / "peer", tmp_path / "out"
    ours.mkdir()
    peer.mkdir()
    write_csv(ours / "history.csv", [{"step": s, "wall_time_s": t, "rel_l2": e}
                                      for s, (t, e) in enumerate([(0.0, 1.0), (3.0, 5e-7), (70.0, 5e-11)])])
    write_csv(peer / "history.csv", [
        {"phase": "init", "iteration": 0, "wall_time_s": 0.0, "wall_incl_compile_s": 0.0, "rel_l2": 1.0},
        {"phase": "train", "iteration": 1, "wall_time_s": 10.0, "wall_incl_compile_s": 110.0, "rel_l2": 1e-2},
        {"phase": "train", "iteration": 2, "wall_time_s": 20.0, "wall_incl_compile_s": 120.0, "rel_l2": 1e-13}])
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "peer_compare.py"), "--ours", str(ours), "--peer",
                           str(peer), "--startup", "5", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = {row["run"]: row for row in csv.DictReader((out / "times.csv").open())}
    assert float(rows["ours"]["trained_s_to_1e-06"]) == 3.0
    assert float(rows["ours"]["launched_s_to_1e-06"]) == 8.0
    assert float(rows["ours"]["launched_s_to_1e-10"]) == 75.0
    assert math.isnan(float(rows["ours"]["trained_s_to_1e-12"]))
    assert float(rows["ours"]["rel_l2_at_launched_60s"]) == 5e-7
    assert float(rows["peer"]["trained_s_to_1e-12"]) == 20.0
    assert float(rows["peer"]["launched_s_to_1e-12"]) == 120.0
    assert math.isnan(float(rows["peer"]["rel_l2_at_launched_60s"]))
    assert float(rows["peer"]["rel_l2_at_launched_300s"]) == 1e-13
    assert (out / "curves.png").stat().st_size > 0


def test_our_runs_alone_need_no_peer(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for name, final in (("without", 1e-10), ("with", 1e-13)):
        (tmp_path / name).mkdir()
        write_csv(tmp_path / name / "history.csv", [{"step": 0, "wall_time_s": 0.0, "rel_l2": 1.0},
                                                    {"step": 1, "wall_time_s": 50.0, "rel_l2": final}])
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "peer_compare.py"), "--ours", str(tmp_path / "without"),
                           str(tmp_path / "with"), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = {row["run"]: row for row in csv.DictReader((out / "times.csv").open())}
    assert set(rows) == {"without", "with"} and float(rows["with"]["trained_s_to_1e-12"]) == 50.0
    assert math.isnan(float(rows["without"]["trained_s_to_1e-12"]))
