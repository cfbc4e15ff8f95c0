"""The run folder a solve leaves behind: config.json, history.csv, metrics.json and checkpoint.pt.

Every file is written to a temporary name in the same folder and renamed into place, so a crash mid-write never
leaves a truncated file where a good one stood.
"""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from .train import HISTORY_COLUMNS


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    write_atomic(path, (json.dumps(payload, indent=2, default=str) + "\n").encode())


def write_history(path: Path, rows: Iterable[Mapping[str, float]]) -> None:
    """``history.csv`` with the columns of :data:`pinn_natmom.train.HISTORY_COLUMNS`, full float precision."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (int(row[k]) if k == "step" else repr(float(row[k]))) for k in HISTORY_COLUMNS})
    write_atomic(path, buffer.getvalue().encode())


def write_checkpoint(path: Path, payload: Mapping[str, Any]) -> None:
    """A checkpoint of tensors and plain values, loadable with ``torch.load(weights_only=True)``."""
    buffer = io.BytesIO()
    torch.save(dict(payload), buffer)
    write_atomic(path, buffer.getvalue())


def environment(device: torch.device) -> dict[str, str]:
    """Versions and the device name, for config.json."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": installed("numpy"),
        "pinn_natmom": installed("pinn-natmom"),
        "platform": platform.platform(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "cpu_threads": str(torch.get_num_threads()),
    }
    return info
