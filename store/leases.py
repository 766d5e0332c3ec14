"""Who writes what, across processes and hosts that share a store's folder: shard leases and the set lock.

- **Shard lease** ``<set>/_leases/<shard>`` (``codecfake.lease``: an ``flock``ed file naming host, pid, start and
  last renewal): held by the one process that computes and writes a shard, from before it computes the shard until
  its commit records are written. ``write_shard`` takes it itself when its caller did not; a shard another live
  process holds is refused (``FeatureSetBusy``). Extraction claims shards ahead and skips the held ones, so several
  ``codecfake features`` on one set share its shards; a holder killed with -9 loses its lock at once (another host's
  after its NFS lease ends) and the shard is taken over, its temp files removed by the new writer.
- **Set lock** ``<root>/.<key>.lock``: held while a set is created, resumed, overwritten, removed, gains an array or
  folds its records, so two processes starting at once never both create it; the second waits, then resumes it.

Only local stores (a folder, shared or not) have leases; a ``zarr`` store in memory or a remote one has nothing to
share, and its writes go on unleased.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codecfake.atomic import write_json_atomic
from codecfake.lease import Holder, Lease, acquire, holder_of, own_lease, read_holder
from codecfake.store.errors import FeatureSetBusy

log = logging.getLogger(__name__)

LEASES = "_leases"  # folder of a set's shard leases
SET_LOCK_WAIT_S = (
    300.0  # a set lock is held for seconds (create, fold); waiting longer means something is wrong
)
_POLL_S = 0.2


def set_lock_path(root: Path, key: str) -> Path:
    return root / f".{key}.lock"


@contextmanager
def set_lock(root: Path | None, key: str, *, wait_s: float = SET_LOCK_WAIT_S) -> Iterator[None]:
    """Hold the set lock of ``key`` (re-entrant in one process; no-op off a local store), waiting for another
    holder up to ``wait_s`` seconds."""
    if root is None or own_lease(set_lock_path(root, key)) is not None:
        yield
        return
    path, deadline, said = set_lock_path(root, key), time.monotonic() + wait_s, False
    while isinstance(got := acquire(path, purpose=f"set {key}"), Holder):
        if time.monotonic() > deadline:
            raise FeatureSetBusy(
                f"{root}/{key}: {got.describe()} has held the set's lock for over {wait_s:.0f} s; stop that "
                f"process, or remove {path} if it is gone",
                {-1: got},
            )
        if not said:
            log.info(
                "%s/%s: waiting for %s, which is creating or changing the set", root, key, got.describe()
            )
            said = True
        time.sleep(_POLL_S)
    try:
        yield
    finally:
        got.release()


class ShardLeases:
    """The shard leases of one set on a local store (``folder``: ``<root>/<key>``)."""

    def __init__(self, folder: Path, key: str):
        self.folder, self.key = folder, key
        self.dir = folder / LEASES

    def path(self, shard: int) -> Path:
        return self.dir / str(int(shard))

    def _make_dir(self) -> None:
        if not (self.dir / "zarr.json").is_file():  # an empty group, so Zarr tools accept the folder
            doc = {
                "zarr_format": 3,
                "node_type": "group",
                "attributes": {"about": "shard leases (codecfake.lease)"},
            }
            write_json_atomic(self.dir / "zarr.json", doc)

    def claim(self, shard: int) -> Lease | Holder:
        """Take shard ``shard``'s lease: a ``Lease``, or the live ``Holder`` that has it (this process's own too)."""
        self._make_dir()
        got = acquire(self.path(shard), purpose=f"{self.key} shard {shard}")
        if isinstance(got, Lease) and got.previous is not None:
            log.warning(
                "%s: shard %d: taking over from %s, which stopped before committing it",
                self.folder,
                shard,
                got.previous.describe(),
            )
        return got

    def own(self, shard: int) -> Lease | None:
        return own_lease(self.path(shard))

    def files(self) -> dict[int, Path]:
        if not self.dir.is_dir():
            return {}
        return {int(p.name): p for p in self.dir.iterdir() if p.name.isdigit()}

    def holders(self) -> dict[int, Holder]:
        """Live holders by shard (this process's leases included)."""
        out = {}
        for shard, path in self.files().items():
            holder = holder_of(path)
            if holder is not None:
                out[shard] = holder
        return out

    def stale(self) -> dict[int, Holder | None]:
        """Lease files whose holder is gone (killed before it committed): shard -> the holder it named."""
        return {s: read_holder(p) for s, p in self.files().items() if holder_of(p) is None}

    def refuse_if_held(self, doing: str) -> None:
        """Raise ``FeatureSetBusy`` when another live process holds any shard of the set."""
        held = self.holders()
        if held:
            first = next(iter(held.values()))
            raise FeatureSetBusy(
                f"{self.folder}: cannot {doing}: {first.describe()} is writing it (shards "
                f"{sorted(held)[:5]}{' …' if len(held) > 5 else ''}); wait for it to finish or stop it",
                dict(held),
            )
