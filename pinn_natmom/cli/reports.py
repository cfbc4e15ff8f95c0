"""Small helpers the benchmark scripts share: CSV files of result rows, Markdown tables and the machine's name."""
from __future__ import annotations

import csv
import os
import platform
from collections.abc import Sequence
from pathlib import Path

import torch


def write_csv(path: Path, rows: list[dict]) -> None:
    """``rows`` as a CSV file whose columns are every key met, in order of first appearance (nothing for no rows)."""
    if not rows:
        return
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with Path(path).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict]:
    """The rows of a CSV file as dictionaries of strings; none when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def markdown_table(rows: list[dict], columns: Sequence[str] | None = None) -> str:
    """A Markdown table of ``rows`` (``columns``: those of the first row by default)."""
    columns = list(rows[0]) if columns is None else list(columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(column, "")) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else the platform's processor string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """``"<CPU>, <n> cores, torch <version>"``."""
    return f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}"
