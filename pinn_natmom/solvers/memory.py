"""Memory of the direction solves: the bytes each solver's matrices take, and the memory free on a device.

For ``J`` of shape ``N × P`` with ``m = min(N, P)``, ``M = max(N, P)``, sketch size ``ℓ`` and ``s`` bytes per entry,
the matrices a solver forms besides ``J`` take

- ``dense``: ``s P²`` (the Gram matrix ``JᵀJ``, factorised in place);
- ``woodbury``: ``s N²`` (the kernel ``JJᵀ``, factorised in place);
- ``pinv``: ``3 s m²`` (the smaller Gram matrix, its eigenvectors and the eigensolver's workspace);
- ``svd``: ``s (2 M m + 3 m²)`` (``Q`` of the QR factorisation and ``Q U``, then ``R``, ``U`` and ``Vᵀ``);
- ``nystrom``, ``nystrom-pcg``: ``s (4 N ℓ + P ℓ + 2 ℓ²)`` (``Ω``, ``Y``, ``B``, ``U``; ``W = JᵀΩ``; the ``ℓ × ℓ``
  factors), with ``ℓ`` clipped to ``m``.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

GIB = 2**30
MEMINFO = Path("/proc/meminfo")


def solver_bytes(name: str, n_rows: int, n_params: int, itemsize: int, sketch_size: int) -> int:
    """The bytes of the matrices the solver ``name`` forms for an ``N × P`` Jacobian (see the module docstring)."""
    small, large = min(n_rows, n_params), max(n_rows, n_params)
    sketch = min(sketch_size, small)
    entries = {
        "dense": n_params**2,
        "woodbury": n_rows**2,
        "pinv": 3 * small**2,
        "svd": 2 * large * small + 3 * small**2,
        "nystrom": 4 * n_rows * sketch + n_params * sketch + 2 * sketch**2,
    }
    entries["nystrom-pcg"] = entries["nystrom"]
    return itemsize * entries[name]


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
