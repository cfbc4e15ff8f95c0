"""Keep freed host memory in the process for reuse (glibc's ``malloc`` thresholds).

A training step on the CPU allocates and frees tensors of a few MiB: the activations of the line search's candidate
batch, the error evaluation's hidden layer, the Jacobian. glibc serves a request of at least its *mmap threshold*
with a fresh mapping, which the kernel zero-fills page by page on first touch, and returns the top of the heap to
the system once more than its *trim threshold* lies free there. Both start at 128 KiB and rise only when a mapping
is freed (to that mapping's size, at most 32 MiB; trim: twice that), so how often a run pays the page faults depends
on the sizes it happened to free first (results/pdes/README.md measures what it costs). Setting both once, before
training,

* ``M_MMAP_THRESHOLD = 32 MiB`` (the largest value glibc accepts) and
* ``M_TRIM_THRESHOLD = 256 MiB``,

makes every step reuse the same heap memory. Tensors above 32 MiB are still mapped and unmapped each time, and up
to 256 MiB of freed memory stays with the process instead of going back to the system.

Nothing is changed on other C libraries, or when the user has set ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` in the environment (glibc's own way to choose these values).
"""
from __future__ import annotations

import ctypes
import os
import platform

MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 256 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (module docstring); ``True`` when both were set."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or any(k in os.environ for k in ENVIRONMENT):
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
