"""Per-shard commit records: the marker that makes a shard count as written.

A record is a small JSON document ``<set>/_commits/<array>/<shard>.json`` written *after* the shard's data is durable
(on a local store: data file fdatasynced and renamed into place, its folder fsynced). It holds the shard's clip count,
CRC-32 of its float16 bytes, non-finite counts and rejected clips. ``finalize`` folds the records of a complete array
into one ``_commits/<array>.json`` so a finished layer costs ~N/256 + 2 files.

Group commit: shard records are written to a temp file and renamed into place (atomic: a killed writer leaves the
record or nothing) but fsynced in groups (``RecordIO.flush``: all pending records fsynced concurrently, so the
filesystem joins them into one journal commit, then their folders), not one by one. Since the data is durable before
its record exists, every outcome of a crash or power loss is safe: a record that survives names durable data, a
record lost (or torn, which fails to parse and is ignored) makes that shard be written again on resume.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from codecfake.atomic import fsync_path, remove_stale_temps, write_atomic

log = logging.getLogger(__name__)


async def _collect(it: AsyncIterator[str]) -> list[str]:
    return [k async for k in it]


class RecordIO:
    """Reads and writes JSON documents by store key; atomic + fsynced on local disk."""

    def __init__(self, store: Store, local_root: Path | None):
        self.store = store
        self.local_root = local_root
        self._pending: set[Path] = set()  # renamed into place, not yet fsynced (group commit)
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        if self.local_root is not None:  # local: read the file (no trip through Zarr's event loop)
            try:
                return json.loads((self.local_root / key).read_bytes())
            except (FileNotFoundError, NotADirectoryError):
                return None
        buf = sync(self.store.get(key, prototype=default_buffer_prototype()))
        return None if buf is None else json.loads(buf.to_bytes())

    def put(self, key: str, doc: Any, *, durable: bool = True) -> None:
        """Write ``doc`` atomically; ``durable=False`` defers the fsyncs to the next ``flush`` (local stores)."""
        blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        if self.local_root is None:
            sync(self.store.set(key, default_buffer_prototype().buffer.from_bytes(blob)))
            return
        path = self.local_root / key
        write_atomic(path, blob, fsync=durable, durable_dir=durable)
        if not durable:
            with self._lock:
                self._pending.add(path)

    def flush(self) -> int:
        """Make every deferred record durable: fsync them concurrently (one journal commit), then their folders."""
        with self._lock:
            paths, self._pending = sorted(self._pending), set()
        if not paths:
            return 0
        alive = [p for p in paths if p.exists()]  # a record may be gone again (uncommit, fold)
        with ThreadPoolExecutor(min(16, max(1, len(alive)))) as pool:
            list(pool.map(fsync_path, alive))
        for folder in sorted({p.parent for p in paths}):
            fsync_path(folder)
        return len(paths)

    def delete(self, key: str, *, durable: bool = False) -> None:
        """Remove ``key``; ``durable``: fsync its folder when something was removed (local stores)."""
        if self.local_root is not None:
            path = self.local_root / key
            try:
                path.unlink()
            except FileNotFoundError:
                return
            if durable:
                fsync_path(path.parent)
        else:
            sync(self.store.delete(key))

    def remove_stale_temps(self, key: str) -> int:
        """Delete temp files a killed writer of ``key`` left (local stores; call as ``key``'s one writer)."""
        return 0 if self.local_root is None else remove_stale_temps(self.local_root / key)

    def list_dir(self, prefix: str) -> list[str]:
        """Immediate children of ``prefix`` (no trailing slash: an HTTP listing gives folders as ``name/``)."""
        return sorted({k.rstrip("/") for k in sync(_collect(self.store.list_dir(prefix)))})


class ShardRecords:
    """Commit records of one feature set, keyed by ``(array, shard index)``."""

    def __init__(self, io: RecordIO, set_key: str):
        self.io = io
        self.base = f"{set_key}/_commits"

    def _shard_key(self, array: str, shard: int) -> str:
        return f"{self.base}/{array}/{shard}.json"

    def _folded_key(self, array: str) -> str:
        return f"{self.base}/{array}.json"

    def read_all(self, array: str) -> dict[int, dict[str, Any]]:
        """Every committed shard's record (folded file first, then the per-shard files)."""
        folded = self.io.get(self._folded_key(array)) or {}
        out = {int(s): rec for s, rec in folded.get("shards", {}).items()}
        vanished = False
        for name in self.io.list_dir(f"{self.base}/{array}"):
            if name.endswith(".json") and name[:-5].isdigit() and int(name[:-5]) not in out:
                try:
                    rec = self.io.get(f"{self.base}/{array}/{name}")
                except ValueError:  # torn by a power loss before its group was flushed: not committed
                    log.warning(
                        "%s/%s/%s: unreadable commit record, shard counts as not written",
                        self.base,
                        array,
                        name,
                    )
                    rec = None
                if rec is not None:
                    out[int(name[:-5])] = rec
                vanished = vanished or rec is None
        if vanished:  # another process folded the records meanwhile: they are in the folded file now
            folded = self.io.get(self._folded_key(array)) or {}
            out.update({int(s): rec for s, rec in folded.get("shards", {}).items()})
        return out

    def is_committed(self, array: str, shard: int) -> bool:
        try:
            if self.io.get(self._shard_key(array, shard)) is not None:
                return True
        except ValueError:  # torn: not committed
            return False
        folded = self.io.get(self._folded_key(array)) or {}
        return str(shard) in folded.get("shards", {})

    def commit(self, array: str, shard: int, record: dict[str, Any], *, durable: bool = True) -> None:
        self.io.put(self._shard_key(array, shard), record, durable=durable)

    def remove_stale_temps(self, array: str, shard: int) -> int:
        """Drop the temp record a writer of this shard left when it was killed (the caller is its one writer now;
        listing the folder of every record is why this runs only after a takeover, not on every write)."""
        return self.io.remove_stale_temps(self._shard_key(array, shard))

    def uncommit(self, array: str, shard: int) -> None:
        """Forget a shard before rewriting it, so a crash mid-rewrite leaves it uncommitted."""
        folded = self.io.get(self._folded_key(array))
        if folded is not None and str(shard) in folded.get("shards", {}):
            # unfold: the others keep their per-shard records, then the folded file goes
            for s, rec in folded["shards"].items():
                if int(s) != shard:
                    self.io.put(self._shard_key(array, int(s)), rec)
            self.io.delete(self._folded_key(array), durable=True)
        # durable: a power cut must not bring the old record back over the new bytes (rewrites are rare)
        self.io.delete(self._shard_key(array, shard), durable=True)

    def fold(self, array: str, n_shards: int) -> bool:
        """Fold per-shard records into one file once all ``n_shards`` are committed; returns whether it did."""
        records = self.read_all(array)
        if len(records) < n_shards:
            return False
        self.io.put(self._folded_key(array), {"shards": {str(s): records[s] for s in sorted(records)}})
        for s in range(n_shards):
            self.io.delete(self._shard_key(array, s))
        return True

    def drop(self, array: str) -> None:
        for s in self.read_all(array):
            self.io.delete(self._shard_key(array, s))
        self.io.delete(self._folded_key(array))
