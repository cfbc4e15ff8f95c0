"""The optimizer benchmark's summary (time to engd's median final error, from the logged histories) and its merge of folders."""
import math
import runpy
from pathlib import Path

import pytest

from pinn_natmom.cli.reports import read_csv, write_csv

BENCHMARK = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "benchmark.py"))


def history(optimizer, seed, errors):
    """Rows logged one second apart with the given rel_l2 values."""
    return [{"problem": "heat1d", "optimizer": optimizer, "seed": str(seed), "step": str(k), "wall_time_s": str(float(k)),
             "rel_l2": str(e)} for k, e in enumerate(errors)]


def result(optimizer, seed, final):
    return {"problem": "heat1d", "optimizer": optimizer, "seed": str(seed), "budget_s": "5.0", "steps": "4",
            "final_rel_l2": str(final), **{f"time_to_{eps:g}": "" for eps in BENCHMARK["THRESHOLDS"]}}


ENGD = [[1.0, 1e-3, 3e-6], [1.0, 2e-6, 2e-6], [1.0, 1e-2, 1e-6]]
AUTO = [[1.0, 1e-6, 1e-7], [1.0, 1e-2, 3e-6], [1.0, 1e-1, 1e-2]]


def final_rows():
    """The result rows of the ENGD and AUTO runs above, seeds 0–2."""
    return [result("engd", s, e[-1]) for s, e in enumerate(ENGD)] + [result("natural-auto", s, e[-1]) for s, e in enumerate(AUTO)]


def test_time_to_engds_median_final_error_counts_a_seed_that_never_reaches_it(tmp_path):
    rows = final_rows()
    logged = [row for s, e in enumerate(ENGD) for row in history("engd", s, e)]
    logged += [row for s, e in enumerate(AUTO) for row in history("natural-auto", s, e)]
    times = BENCHMARK["times_to_engd_final"](rows, logged)
    assert times == {"engd": [math.inf, 1.0, 2.0], "natural-auto": [1.0, math.inf, math.inf]}
    write_csv(tmp_path / "heat1d.csv", rows)
    write_csv(tmp_path / "heat1d-history.csv", logged)
    BENCHMARK["summary"](tmp_path, "test machine")
    table = (tmp_path / "benchmark.md").read_text()
    assert "time to engd's median final error" in table
    assert "| engd | 3 | 2.00e-06 |" in table and table.split("| engd |")[1].split("\n")[0].endswith("| 2.0 (2/3) |")
    assert table.split("| natural-auto |")[1].split("\n")[0].endswith("| — (1/3) |")


def benchmark_folder(folder, optimizer_errors, machine="test machine"):
    """A benchmark folder with one heat1d run per (optimizer, seed, errors) and its summary."""
    folder.mkdir()
    write_csv(folder / "heat1d.csv", [result(name, seed, errors[-1]) for name, seed, errors in optimizer_errors])
    write_csv(folder / "heat1d-history.csv", [row for name, seed, errors in optimizer_errors for row in history(name, seed, errors)])
    BENCHMARK["summary"](folder, machine)
    return folder


def test_merge_combines_folders_and_a_later_run_replaces_an_earlier_one(tmp_path):
    first = benchmark_folder(tmp_path / "a", [("engd", s, e) for s, e in enumerate(ENGD)] + [("natural-auto", 0, [1.0, 0.5, 0.25])])
    second = benchmark_folder(tmp_path / "b", [("natural-auto", s, e) for s, e in enumerate(AUTO)])
    BENCHMARK["merge"]([first, second], tmp_path / "merged")
    rows = read_csv(tmp_path / "merged" / "heat1d.csv")
    assert [(r["optimizer"], r["seed"], float(r["final_rel_l2"])) for r in rows] == [
        ("engd", "0", 3e-6), ("engd", "1", 2e-6), ("engd", "2", 1e-6),
        ("natural-auto", "0", 1e-7), ("natural-auto", "1", 3e-6), ("natural-auto", "2", 1e-2)]
    logged = read_csv(tmp_path / "merged" / "heat1d-history.csv")
    assert [float(h["rel_l2"]) for h in logged if (h["optimizer"], h["seed"]) == ("natural-auto", "0")] == AUTO[0]
    table = (tmp_path / "merged" / "benchmark.md").read_text()
    assert "Machine: test machine." in table and table.split("| natural-auto |")[1].split("\n")[0].endswith("| — (1/3) |")
    assert (tmp_path / "merged" / "heat1d.png").stat().st_size > 0


def test_merge_refuses_folders_of_different_machines(tmp_path):
    first = benchmark_folder(tmp_path / "a", [("engd", 0, ENGD[0])])
    second = benchmark_folder(tmp_path / "b", [("engd", 1, ENGD[1])], machine="another machine")
    with pytest.raises(ValueError, match="different machines"):
        BENCHMARK["merge"]([first, second], tmp_path / "merged")


def test_a_run_that_ended_early_keeps_its_last_error_in_the_median_over_time():
    finished = history("engd", 0, [1.0, 1e-3])
    longer = history("engd", 1, [1.0, 1e-1, 1e-2, 1e-4])
    longest = history("engd", 2, [1.0, 1.0, 1.0, 1.0, 1e-5])
    times, medians = BENCHMARK["median_over_time"]([finished, longer, longest], until=6.0)
    assert times == [0.0, 1.0, 2.0, 3.0, 4.0, 6.0]
    assert medians == [1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-4]


def test_optimizer_effect_separates_shifted_groups_and_not_equal_ones():
    shifted = {"a": [0.1 * k for k in range(10)], "b": [5 + 0.1 * k for k in range(10)]}
    assert BENCHMARK["optimizer_effect"](shifted) == pytest.approx(1 / (1 + BENCHMARK["PERMUTATIONS"]))
    assert BENCHMARK["optimizer_effect"]({"a": [0.0, 1.0, 2.0], "b": [2.0, 1.0, 0.0]}) == 1.0
    assert BENCHMARK["optimizer_effect"](shifted, seed=3) == BENCHMARK["optimizer_effect"](shifted, seed=3)


def test_more_than_half_is_the_binomial_tail_beyond_half_the_seeds():
    for q in (0.0, 0.2, 0.5, 0.9, 1.0):
        assert BENCHMARK["more_than_half"](q, 3) == pytest.approx(3 * q**2 - 2 * q**3)
    assert BENCHMARK["more_than_half"](0.5, 4) == pytest.approx(5 / 16)


def test_floor_test_pools_the_optimizers_near_the_lowest_error_and_counts_the_runs_below_engds_median(tmp_path):
    rows = final_rows() + [result("adam", s, 1e-1) for s in range(3)]
    sentence = BENCHMARK["floor_test"](rows)
    assert sentence.startswith("Floor test: the 2 optimizers whose median final rel_l2 lies within 100× of the lowest (6 runs, "
                               "final rel_l2 1.00e-07 … 1.00e-02, median 2.50e-06)")
    assert "33% of these runs end below engd's median final error (2.00e-06)" in sentence
    assert sentence.endswith(f"more than half of 3 seeds with probability {3 / 9 - 2 / 27:.0%}.")
    assert BENCHMARK["floor_test"](rows[:3] + rows[6:]) is None
    folder = benchmark_folder(tmp_path / "a", [("engd", s, e) for s, e in enumerate(ENGD)] + [("natural-auto", s, e) for s, e in enumerate(AUTO)])
    assert "Floor test: the 2 optimizers" in (folder / "benchmark.md").read_text()
