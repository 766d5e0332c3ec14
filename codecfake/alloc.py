"""Keep freed heap memory in the process instead of handing it back to the OS after every training step.

glibc's malloc serves large blocks (above a dynamic threshold, at most 32 MB) with ``mmap`` and ``munmap``s them on
free, and trims the heap top back to the OS; a training step frees and re-allocates the same large activations every
step, so every step page-faults them in again (three AASIST steps at batch 128 on 127×80 mel frames: 6.4 M minor
faults, most of the step in the kernel). ``keep_freed_memory()`` makes the allocator keep them: no mmap for
allocations, no trimming. Memory stays at the peak of one step, which training reaches anyway.

Called once at start-up by every entry point (``codecfake.app.cli.main``, dask workers in ``codecfake.extract.distributed``,
DataLoader workers through ``worker_init``). It also exports the equivalent ``MALLOC_*_`` variables so child processes
(spawned DataLoader or dask workers) start with the same setting. Set ``CODECFAKE_MALLOC=default`` to leave glibc's
defaults alone. No effect (returns False) on other C libraries (macOS, musl).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # mallopt parameters (malloc.h)
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: ~2 GB, effectively never trim the heap top
ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}
_done = False


def keep_freed_memory() -> bool:
    """Tune glibc malloc for this process (idempotent); returns whether the setting is active."""
    global _done
    if _done:
        return True
    if os.environ.get("CODECFAKE_MALLOC", "").lower() == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if ok:
        for k, v in ENV.items():
            os.environ.setdefault(k, v)
        _done = True
        log.debug(
            "malloc: no mmap for allocations, no heap trimming (CODECFAKE_MALLOC=default turns this off)"
        )
    return ok


def worker_init(_worker_id: int = 0) -> None:
    """``DataLoader(worker_init_fn=worker_init)``: the same setting inside each worker process."""
    keep_freed_memory()
