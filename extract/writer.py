"""Shard buffers and the writer thread that commits whole shards while the next batches compute."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from codecfake.extract.loading import ShardJob

if TYPE_CHECKING:
    from codecfake.store import FeatureSet

log = logging.getLogger(__name__)


@dataclass
class ShardBuffer:
    """Outputs of one shard as they arrive (in the set's dtype), plus its rejects ``(index within shard, reason)``."""

    job: ShardJob
    frame_shapes: dict[str, tuple[int, int]]
    dtype: str = "float16"  # the feature set's spec.dtype
    data: dict[str, np.ndarray] = field(default_factory=dict)
    rejects: list[tuple[int, str]] = field(default_factory=list)
    n_filled: int = 0

    def __post_init__(self) -> None:
        n = self.job.n_clips
        self.data = {
            name: np.zeros((n, *self.frame_shapes[name]), self.dtype) for name in self.job.array_names
        }

    def add(self, lo: int, outputs: dict[str, torch.Tensor], reasons: list[str]) -> None:
        """Place a batch that starts at clip ``lo`` of this shard. ``outputs[name]`` (B, T, D)."""
        for name in self.job.array_names:
            out = outputs[name]
            # cast on the device (fp16 halves the copy); fp16 overflow becomes inf, which the store's guard rejects
            self.data[name][lo : lo + out.shape[0]] = out.to(getattr(torch, self.dtype)).cpu().numpy()
        self.rejects.extend((lo + j, r) for j, r in enumerate(reasons) if r)
        self.n_filled += len(reasons)

    @property
    def full(self) -> bool:
        return self.n_filled == self.job.n_clips


def write_buffer(feature_set: FeatureSet, buf: ShardBuffer) -> int:
    """Commit every array of one finished shard; returns the number of rejected clips in it."""
    for name in buf.job.array_names:
        report = feature_set.write_shard(name, buf.job.shard_index, buf.data[name], rejects=buf.rejects)
        log.debug("committed %s", report)
    return len(buf.rejects)


class ShardWriter:
    """Background threads writing whole shards (``threads`` of them, each shard by one thread only: one writer per
    shard); an error in one surfaces at the next ``put``/``close``. Several threads overlap one shard's fsync with
    the next one's bytes; commit records are made durable in groups and once more at ``close``."""

    def __init__(
        self,
        feature_set: FeatureSet,
        max_pending: int = 2,
        threads: int = 1,
        on_written: Callable[[int], None] | None = None,
    ):
        self.feature_set = feature_set
        self.on_written = on_written  # shard index, once its arrays are committed (releases its lease)
        self.queue: queue.Queue[ShardBuffer | None] = queue.Queue(maxsize=max_pending + threads - 1)
        self.error: BaseException | None = None
        self.n_written = 0
        self.n_rejected = 0
        self.busy_s = 0.0  # seconds the writer threads spent committing shards, summed over threads
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, name=f"shard-writer-{i}", daemon=True)
            for i in range(max(1, threads))
        ]
        for t in self.threads:
            t.start()

    def _run(self) -> None:
        while (buf := self.queue.get()) is not None:
            if self.error is None:
                t0 = time.perf_counter()
                try:
                    n_rej = write_buffer(self.feature_set, buf)
                    with self._lock:
                        self.n_rejected += n_rej
                        self.n_written += 1
                    if self.on_written is not None:
                        self.on_written(buf.job.shard_index)
                except BaseException as err:  # re-raised in the main thread
                    self.error = err
                with self._lock:
                    self.busy_s += time.perf_counter() - t0

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, buf: ShardBuffer) -> None:
        self._raise()
        self.queue.put(buf)

    def close(self) -> None:
        """Wait for every queued shard to be committed and durable; re-raise the writer's error if any."""
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join()
        self.feature_set.flush_commits()
        self._raise()
