"""Shards this process extracts when others may extract the same set: claimed (leased) just before their audio is
decoded, released once their arrays are committed; shards another live process holds are left to it.

Any number of ``codecfake features`` runs (one per GPU, a SLURM array, hosts sharing the store's folder) started on
one set split its shards this way without a scheduler, and each returns once the whole set is committed: after its
own round it waits for the shards others hold and takes over those whose holder died (``store/leases.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from codecfake.extract.loading import ShardJob
from codecfake.lease import Holder, Lease, holder_of
from codecfake.store.featureset import FeatureSet

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often a process with nothing left to claim looks at the shards others hold


class ShardClaims:
    """The leases this process holds on ``fs``'s shards (thread-safe: the writer thread releases them)."""

    def __init__(self, fs: FeatureSet):
        self.fs = fs
        self.busy: dict[int, Holder] = {}  # shards another live process held when this one reached them
        self._leases: dict[int, Lease] = {}
        self._lock = threading.Lock()

    def claim(self, job: ShardJob) -> bool:
        """True when this process now extracts ``job``'s shard; False when another holds it or has finished it."""
        s = job.shard_index
        got = self.fs.claim_shard(s)
        if got is None:  # a store without leases (not a local folder): one writer is assumed
            return True
        if isinstance(got, Holder):
            self.busy[s] = got
            return False
        if all(
            self.fs.is_committed(name, s) for name in job.array_names
        ):  # finished by another since planned
            got.release()
            return False
        with self._lock:
            self._leases[s] = got
        return True

    def release(self, shard_index: int) -> None:
        with self._lock:
            lease = self._leases.pop(shard_index, None)
        if lease is not None:
            lease.release()

    def release_all(self) -> None:
        """Give back every lease still held (a failed run: its shards go to whoever comes next)."""
        with self._lock:
            leases, self._leases = list(self._leases.values()), {}
        for lease in leases:
            lease.release()


def wait_for_others(fs: FeatureSet, jobs: Sequence[ShardJob], poll_s: float = POLL_S) -> None:
    """Block until one of ``jobs`` (all held by other processes) is committed or free again (its holder died)."""
    if fs.leases is None:
        return
    said = False
    while True:
        for job in jobs:
            if all(fs.is_committed(name, job.shard_index) for name in job.array_names):
                return
            holder = holder_of(fs.leases.path(job.shard_index))
            if holder is None:
                return
            if not said:
                log.info(
                    "%s: %d shard(s) are being written by other processes (e.g. %s); waiting for them",
                    fs.location,
                    len(jobs),
                    holder.describe(),
                )
                said = True
        time.sleep(poll_s)
