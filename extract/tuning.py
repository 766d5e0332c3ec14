"""Extraction defaults for the machine at hand: decode workers from the cores this process may use, the batch from
the device (CUDA: the largest power of two whose forward pass fits, probed once; CPU: 8).

The writer is already off the critical path (``extract/writer.py``: one thread, a bounded queue of whole shards), and
waves reach a CUDA device from pinned memory with non-blocking copies (``make_loader(pin_memory=True)``).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from codecfake.extract.extractors import Extractor

log = logging.getLogger(__name__)

CPU_BATCH = 8  # the measured CPU default (bench/extract.py): larger batches do not raise CPU clips/s
MAX_BATCH = 128  # probe ceiling: past 64-128 clips a GPU forward gains little, and a shard is 256 clips
HEADROOM = 0.85  # a probed batch must peak below this share of the device's memory (fragmentation, the writer's copy)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask: containers and taskset count, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def default_num_workers(cores: int | None = None) -> int:
    """Audio-decoding DataLoader workers: every available core but one (the main process runs the model)."""
    return max(1, (available_cores() if cores is None else cores) - 1)


def _fits(extractor: Extractor, batch: int, n_samples: int, device: torch.device) -> bool:
    """One forward pass of ``batch`` silent clips; False on CUDA out-of-memory or a peak above ``HEADROOM``."""
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    try:
        extractor(torch.zeros(batch, n_samples))  # (B, S) float32
        torch.cuda.synchronize(device)
    except torch.cuda.OutOfMemoryError:
        return False
    finally:
        torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(device).total_memory
    return torch.cuda.max_memory_allocated(device) < HEADROOM * total


def default_batch(extractor: Extractor, shard_size: int = 256) -> int:
    """Clips per forward: ``CPU_BATCH`` off CUDA; on CUDA the largest power of two <= min(MAX_BATCH, shard_size)
    whose forward pass fits (probed with silent clips, once per run)."""
    device = torch.device(getattr(extractor, "device", "cpu"))
    if device.type != "cuda":
        return CPU_BATCH
    n_samples = int(getattr(extractor, "n_samples", 64600))
    cap = min(MAX_BATCH, shard_size)
    best, batch = 0, 1
    while batch <= cap and _fits(extractor, batch, n_samples, device):
        best, batch = batch, batch * 2
    best = max(best, 1)  # even batch 1 failing is reported by the first real batch, with its shard
    log.info(
        "batch %d: the largest power of two <= %d whose forward pass fits on %s (%s)",
        best,
        cap,
        device,
        torch.cuda.get_device_name(device),
    )
    return best
