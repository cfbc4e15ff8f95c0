"""The memory free on a device, which the automatic choice of solver plans with (``pinn_natmom.solvers.choose``;
what each solver forms is its cost model's, ``strategy``)."""
from __future__ import annotations

import os
from pathlib import Path

import torch

GIB = 2**30
MEMINFO = Path("/proc/meminfo")


def available_bytes(device: torch.device) -> int | None:
    """Memory that can still be allocated on ``device``: free CUDA memory, or ``MemAvailable`` of ``/proc/meminfo``
    (the physical pages on the CPU, else ``None`` when the platform does not say)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
