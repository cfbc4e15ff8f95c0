"""The run folder a solve leaves behind: config.json, history.csv, metrics.json and checkpoint.pt.

Every file is written to a temporary name in the same folder and renamed into place, so a crash mid-write never
leaves a truncated file where a good one stood. Before a new checkpoint replaces ``checkpoint.pt``, the old one is
kept as ``checkpoint-previous.pt``.
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

from ..state import to_device
from ..train import COMMUNICATION_COLUMN, HISTORY_COLUMNS, Snapshot

CONFIG, HISTORY, METRICS = "config.json", "history.csv", "metrics.json"
CHECKPOINT, PREVIOUS_CHECKPOINT = "checkpoint.pt", "checkpoint-previous.pt"
CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, reported in one line."""


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
    """``history.csv`` with the columns of ``pinn_natmom.train.HISTORY_COLUMNS`` (and the bytes communicated per
    step in a run over several processes), full float precision."""
    rows = list(rows)
    columns = HISTORY_COLUMNS + ((COMMUNICATION_COLUMN,) if rows and COMMUNICATION_COLUMN in rows[-1] else ())
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (int(row.get(k, 0)) if k in ("step", COMMUNICATION_COLUMN) else repr(float(row[k])))
                         for k in columns})
    write_atomic(path, buffer.getvalue().encode())


def write_checkpoint(run_dir: Path, snapshot: Snapshot, network: Mapping[str, Any]) -> None:
    """``checkpoint.pt``: the ``Snapshot`` (tensors on the CPU) and the network shape,
    loadable with ``torch.load(weights_only=True)``; the checkpoint it replaces becomes ``checkpoint-previous.pt``."""
    payload = {
        "format": CHECKPOINT_FORMAT, "step": snapshot.step, "theta": snapshot.theta.detach().cpu(),
        "optimizer_state": to_device(snapshot.optimizer_state, torch.device("cpu")), "points_rng": snapshot.points_rng,
        "points_version": snapshot.points_version, "history": snapshot.history, "elapsed": snapshot.elapsed,
        **network,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    current = run_dir / CHECKPOINT
    if current.exists():
        write_atomic(run_dir / PREVIOUS_CHECKPOINT, current.read_bytes())
    write_atomic(current, buffer.getvalue())


def read_checkpoint(path: Path) -> Snapshot:
    """The snapshot in a checkpoint file, or ``CheckpointError`` saying what is wrong (missing, truncated,
    not a checkpoint) and, when there is one, which previous checkpoint to resume from instead."""
    previous = path.with_name(PREVIOUS_CHECKPOINT)
    fallback = f"; the previous checkpoint {previous} may be used instead (--resume {previous})" if previous != path and previous.exists() else ""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}{fallback}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many types for damaged files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"the checkpoint {path} is truncated or damaged ({reason}){fallback}") from None
    keys = {"format", "step", "theta", "optimizer_state", "points_rng", "points_version", "history", "elapsed"}
    if not isinstance(payload, dict) or not keys <= set(payload):
        raise CheckpointError(f"{path} is not a checkpoint of this program (missing {sorted(keys - set(payload or {}))}){fallback}")
    if payload["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {payload['format']}, this version reads {CHECKPOINT_FORMAT}")
    return Snapshot(int(payload["step"]), payload["theta"], payload["optimizer_state"], payload["points_rng"],
                    int(payload["points_version"]), list(payload["history"]), float(payload["elapsed"]))


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
