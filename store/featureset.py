"""One feature set: a Zarr v3 group with 1-D clip metadata and one ``(N, T, D)`` array per layer (``spec.dtype``).

Layout inside the group ``<root>/<key>/``:
``utt_id label domain condition split [n_frames …]`` 1-D metadata, ``L05 L12 mel …`` float16 (or float32) arrays
(inner chunk 1 clip, shard ``shard_size`` clips), ``_commits/<array>[/<shard>].json`` commit records.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import zarr

from codecfake.atomic import fsync_path, remove_stale_temps
from codecfake.lease import Holder, Lease
from codecfake.store.cast import NONFINITE_POLICIES, check_and_cast
from codecfake.store.errors import (
    BadShardInput,
    FeatureSetBusy,
    FeatureSetMismatch,
    IncompleteFeatureSet,
    ReadOnlyStore,
)
from codecfake.store.leases import ShardLeases, set_lock
from codecfake.store.records import ShardRecords
from codecfake.store.spec import FeatureSetSpec

if TYPE_CHECKING:
    from codecfake.store.featurestore import FeatureStore
    from codecfake.store.reader import ShardReader

log = logging.getLogger(__name__)

META_REQUIRED = ("utt_id", "label", "domain", "condition", "split")
_ARRAY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ROLE = "codecfake_role"
COMMIT_GROUP, COMMIT_GROUP_S = 16, 2.0  # commit records are fsynced together every 16 shards or 2 s


@dataclass(frozen=True)
class ShardReport:
    """What ``write_shard`` did: clips written, inf/NaN counts after the cast, rejected clips, time and size."""

    array: str
    shard_index: int
    n_clips: int
    n_nan: int
    n_inf: int
    n_rejected: int
    seconds: float
    nbytes: int


class FeatureSet:
    """A feature set opened through a ``FeatureStore`` (use ``FeatureStore.create/open``, not this constructor)."""

    def __init__(self, store: FeatureStore, key: str, group: zarr.Group, *, nonfinite: str = "error"):
        if nonfinite not in NONFINITE_POLICIES:
            raise BadShardInput(f"nonfinite policy must be one of {NONFINITE_POLICIES}, got {nonfinite!r}")
        self.store = store
        self.key = key
        self.group = group
        self.nonfinite = nonfinite
        attrs: dict[str, Any] = dict(group.attrs)  # JSON of the shapes FeatureStore.create wrote
        self._attrs = attrs
        self.spec = FeatureSetSpec.from_dict(attrs["spec"])
        self.n_clips: int = int(attrs["n_clips"])
        self.shard_size: int = int(attrs["shard_size"])
        self.compressor: str | None = attrs.get("compressor")
        self.records = ShardRecords(store.records_io, key)
        root = store.local_root
        self.leases = ShardLeases(Path(root, key), key) if root is not None and not store.read_only else None
        self._targets: dict[str, tuple[zarr.Array, tuple[int, int]]] = {}  # write_shard's array lookups
        self._unflushed, self._flushed_at = 0, time.monotonic()

    def __repr__(self) -> str:
        return f"FeatureSet({self.key!r}, n_clips={self.n_clips}, arrays={self.arrays})"

    # ---- description ---------------------------------------------------------------------------------------------
    @property
    def location(self) -> str:
        return f"{self.store.root_str}/{self.key}"

    @property
    def dtype(self) -> str:
        """The feature arrays' dtype, from the spec: "float16" (default) or "float32" (e.g. power mels)."""
        return self.spec.dtype

    @property
    def n_shards(self) -> int:
        return -(-self.n_clips // self.shard_size)

    def shard_bounds(self, shard_index: int) -> tuple[int, int]:
        """``[start, stop)`` clip indices of a shard."""
        if not 0 <= shard_index < self.n_shards:
            raise BadShardInput(f"{self.location}: shard {shard_index} outside 0..{self.n_shards - 1}")
        start = shard_index * self.shard_size
        return start, min(start + self.shard_size, self.n_clips)

    @property
    def attrs(self) -> dict[str, Any]:
        """All group attributes (spec, provenance, stats …), re-read from the store."""
        return dict(zarr.open_group(store=self.store.zarr_store, path=self.key, mode="r").attrs)

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self._attrs.get("provenance", {}))

    def _members(self, role: str) -> list[str]:
        """Child arrays with ``attributes[ROLE] == role`` (read from their zarr.json, not by group iteration)."""
        io = self.store.records_io
        out = []
        for child in io.list_dir(self.key):
            doc = io.get(f"{self.key}/{child}/zarr.json") if not child.startswith("_") else None
            if doc and doc.get("node_type") == "array" and doc.get("attributes", {}).get(ROLE) == role:
                out.append(child)
        return sorted(out)

    @property
    def arrays(self) -> list[str]:
        """Names of the feature arrays (``L05``, ``mel`` …), sorted."""
        return self._members("features")

    @cached_property
    def meta(self) -> dict[str, np.ndarray]:
        """1-D per-clip metadata arrays, length ``n_clips``: utt_id, label, domain, condition, split (+ extras).

        String fields come back as object arrays of ``str`` (as ``FeatureStore.create`` normalises them on the way
        in), whatever the backend stores (Zarr's StringDType, HDF5 bytes), so callers compare and index them directly."""
        out = {}
        for name in self._members("meta"):
            a = np.asarray(self._member(name)[:])
            out[name] = a if a.dtype.kind in "biuf" else a.astype(object)
        return out

    def meta_lengths(self) -> dict[str, int]:
        """Length of each 1-D metadata array, from its shape (no values are read)."""
        return {name: int(self._member(name).shape[0]) for name in self._members("meta")}

    def array(self, name: str) -> zarr.Array:
        """The Zarr array of a feature layer (raises ``BadShardInput`` naming the existing arrays)."""
        if name not in self.arrays:
            raise BadShardInput(
                f"{self.location}: no feature array {name!r} (has {self.arrays}); create it with ensure_array()"
            )
        return self._member(name)

    def _member(self, name: str) -> zarr.Array:
        # zarr types group[name] as an array or a group; a feature set's group holds arrays only
        return cast(zarr.Array, self.group[name])

    def frame_shape(self, name: str) -> tuple[int, int]:
        t, d = cast(list[int], self.array(name).attrs["frame_shape"])  # written by ensure_array as [T, D]
        return int(t), int(d)

    # ---- writing -------------------------------------------------------------------------------------------------
    def _require_writable(self) -> None:
        if self.store.read_only:
            raise ReadOnlyStore(
                f"{self.location}: store is read-only (remote URL); write to a local path instead"
            )

    def ensure_array(
        self, name: str, frame_shape: tuple[int, int], *, attributes: dict | None = None
    ) -> None:
        """Create the array ``name`` of shape ``(N, *frame_shape)`` in ``dtype`` unless it exists (others untouched)."""
        self._require_writable()
        t, d = (int(v) for v in frame_shape)
        if not _ARRAY_NAME.match(name) or name in self.meta or name.startswith("_"):
            raise BadShardInput(
                f"{self.location}: invalid array name {name!r} (letters/digits/_; not a meta name)"
            )
        if t <= 0 or d <= 0:
            raise BadShardInput(f"{self.location}/{name}: frame_shape must be positive, got {frame_shape}")
        with set_lock(self.store.local_root, self.key):  # two processes adding it at once: one creates it
            self._ensure_array(name, (t, d), attributes)

    def _ensure_array(self, name: str, frame_shape: tuple[int, int], attributes: dict | None) -> None:
        t, d = frame_shape
        if name in self.arrays:
            have = self.frame_shape(name)
            if have != (t, d):
                raise FeatureSetMismatch(
                    f"{self.location}/{name}: array exists with frame shape {have}, asked for {(t, d)}; "
                    f"remove it with `codecfake store rm {self.key}` or rebuild with --force",
                    {f"{name}.frame_shape": (have, (t, d))},
                )
            return
        from codecfake.store.compressors import compressors_for

        g = zarr.open_group(store=self.store.zarr_store, path=self.key, mode="r+")
        g.create_array(
            name,
            shape=(self.n_clips, t, d),
            chunks=(1, t, d),
            shards=(self.shard_size, t, d),
            dtype=self.dtype,
            compressors=compressors_for(self.compressor),
            fill_value=0.0,
            dimension_names=("clip", "frame", "dim"),
            attributes={ROLE: "features", "frame_shape": [t, d], **(attributes or {})},
            config={"write_empty_chunks": True},
        )
        log.info("%s: created array %s (%d, %d, %d) %s", self.location, name, self.n_clips, t, d, self.dtype)

    def write_shard(
        self,
        name: str,
        shard_index: int,
        data: Any,
        *,
        rejects: tuple[tuple[int, str], ...] | list[tuple[int, str]] = (),
        nonfinite: str | None = None,
    ) -> ShardReport:
        """Write one whole shard ``data`` (n, T, D) float16/32 of array ``name``; commit it after it is durable.

        ``n`` must equal the clips in that shard. ``rejects``: (index within shard, reason) of clips whose audio failed;
        they are stored as zeros and ``valid`` is False for them. ``nonfinite``: "error" | "keep" | "reject"
        (default: the set's policy). One writer per shard; rewriting a committed shard uncommits it first.
        """
        self._require_writable()
        t0 = time.perf_counter()
        if name not in self._targets:  # looking an array up lists the group: once per array, not per shard
            self._targets[name] = (self.array(name), self.frame_shape(name))
        arr, frame_shape = self._targets[name]
        start, stop = self.shard_bounds(shard_index)
        where = f"{self.location}/{name} shard {shard_index}"
        cast = check_and_cast(
            where, data, (stop - start, *frame_shape), rejects, nonfinite or self.nonfinite, self.dtype
        )
        own = self.leases.own(shard_index) if self.leases is not None else None
        lease = own or self._claim_for_write(shard_index, where)  # None off a local store
        try:
            if lease is not None and lease.previous is not None:  # a writer of this shard died holding it
                self.records.remove_stale_temps(name, shard_index)
            self.records.uncommit(name, shard_index)
            self._write_data(arr, name, shard_index, start, stop, cast.data)
            if lease is not None:
                lease.check()  # taken over meanwhile (another host judged it stale): commit nothing
            self.records.commit(
                name,
                shard_index,
                {
                    "n_clips": stop - start,
                    "crc32": cast.crc32,
                    "n_nan": cast.n_nan,
                    "n_inf": cast.n_inf,
                    "nonfinite_clips": list(cast.nonfinite_clips),
                    "rejects": [[i, r] for i, r in cast.rejects],
                    "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
                durable=False,  # group commit: see flush_commits
            )
        finally:
            if lease is not None and own is None:
                lease.release()
        self._unflushed += 1
        if self._unflushed >= COMMIT_GROUP or time.monotonic() - self._flushed_at >= COMMIT_GROUP_S:
            self.flush_commits()
        if cast.n_nan or cast.n_inf:
            log.warning(
                "%s: %d NaN / %d inf after %s cast (policy %s)",
                where,
                cast.n_nan,
                cast.n_inf,
                self.dtype,
                nonfinite or self.nonfinite,
            )
        return ShardReport(
            name,
            shard_index,
            stop - start,
            cast.n_nan,
            cast.n_inf,
            len(cast.rejects),
            time.perf_counter() - t0,
            cast.data.nbytes,
        )

    def claim_shard(self, shard_index: int) -> Lease | Holder | None:
        """Take the lease of a shard before computing it (``store/leases.py``): a ``Lease`` to ``release()`` once
        its arrays are written, the live ``Holder`` of a shard another process writes, or None off a local store."""
        return None if self.leases is None else self.leases.claim(shard_index)

    def _claim_for_write(self, shard_index: int, where: str) -> Lease | None:
        if self.leases is None:
            return None
        got = self.leases.claim(shard_index)
        if isinstance(got, Holder):
            raise FeatureSetBusy(
                f"{where}: {got.describe()} is writing this shard (one writer per shard); wait for it, or let "
                "`codecfake features` share the set's shards between processes",
                {shard_index: got},
            )
        return got

    def _write_data(
        self, arr: zarr.Array, name: str, shard_index: int, start: int, stop: int, data: np.ndarray
    ) -> None:
        """Make the shard's bytes durable: written directly for uncompressed local arrays, else through Zarr."""
        from codecfake.store.reader import mmap_layout_ok
        from codecfake.store.shardfile import write_shard_file

        root = self.store.local_root
        if root is None:
            arr[start:stop] = data
            return
        path = self.shard_path(name, shard_index)
        remove_stale_temps(path)  # a killed writer's; this call is the shard's one writer
        if data.dtype == arr.dtype and mmap_layout_ok(arr):
            write_shard_file(path, data, self.shard_size)  # (n, T, D) in Zarr's shard bytes, fdatasynced
            return
        arr[start:stop] = data
        if path.exists():
            fsync_path(path)
            fsync_path(path.parent)

    def shard_path(self, name: str, shard_index: int) -> Path:
        """The shard's file on a local store (Zarr v3 sharding: one file ``<array>/c/<s>/0/0`` per shard)."""
        if self.store.local_root is None:
            raise ReadOnlyStore(f"{self.location}: not a local store; shards have no file path")
        return Path(self.store.local_root, self.key, name, "c", str(shard_index), "0", "0")

    def flush_commits(self) -> int:
        """Make the commit records written since the last flush durable (one group fsync); returns how many.

        ``write_shard`` calls it every ``COMMIT_GROUP`` shards or ``COMMIT_GROUP_S`` seconds, ``finalize`` and the
        extraction writer when they finish. Until then a power loss (not a killed process) may forget those commits:
        the shards are written again on resume, never read as committed with wrong bytes."""
        self._unflushed, self._flushed_at = 0, time.monotonic()
        return self.store.records_io.flush()

    def finalize(self, name: str) -> bool:
        """Fold the commit records of a complete array into one file; returns False if shards are missing."""
        self._require_writable()
        self.flush_commits()
        with set_lock(self.store.local_root, self.key):  # one folder at a time
            return self.records.fold(name, self.n_shards)

    # ---- state ---------------------------------------------------------------------------------------------------
    def shard_records(self, name: str) -> dict[int, dict[str, Any]]:
        """Commit record of every committed shard of ``name``."""
        self.array(name)
        return self.records.read_all(name)

    def is_committed(self, name: str, shard_index: int) -> bool:
        """Whether one shard has its commit record (reads that record, not every shard's)."""
        return self.records.is_committed(name, shard_index)

    def committed(self, name: str) -> set[int]:
        """Indices of shards whose commit record exists."""
        return set(self.shard_records(name))

    def is_complete(self, name: str) -> bool:
        return len(self.committed(name)) == self.n_shards

    def require_complete(self, name: str) -> None:
        missing = sorted(set(range(self.n_shards)) - self.committed(name))
        if missing:
            raise IncompleteFeatureSet(
                f"{self.location}/{name}: {len(missing)} of {self.n_shards} shards not written (first: {missing[:5]}); "
                "finish it by rerunning the same `codecfake features …` command (it resumes)"
            )

    def valid(self, name: str) -> np.ndarray:
        """(N,) bool: True for clips in committed shards that were not rejected."""
        out = np.zeros(self.n_clips, dtype=bool)
        for s, rec in self.shard_records(name).items():
            start, stop = self.shard_bounds(s)
            out[start:stop] = True
            for i, _ in rec["rejects"]:
                out[start + int(i)] = False
        return out

    def rejects(self, name: str) -> list[dict[str, Any]]:
        """Rejected clips of committed shards: ``{"index", "utt_id", "reason"}``, by index."""
        records = self.shard_records(name)
        if not any(rec["rejects"] for rec in records.values()):
            return []  # the common case: no clip metadata to read (1.1 M ids take seconds)
        utt = (
            self.meta["utt_id"] if "meta" in self.__dict__ else np.asarray(self._member("utt_id")[:])
        )  # (N,)
        out = []
        for s, rec in sorted(records.items()):
            start = s * self.shard_size
            for i, reason in rec["rejects"]:
                out.append({"index": start + int(i), "utt_id": str(utt[start + int(i)]), "reason": reason})
        return out

    def nonfinite_counts(self, name: str) -> dict[int, tuple[int, int]]:
        """``{shard: (n_nan, n_inf)}`` for shards with non-finite values."""
        return {
            s: (r["n_nan"], r["n_inf"])
            for s, r in self.shard_records(name).items()
            if r["n_nan"] or r["n_inf"]
        }

    def stats(self, name: str) -> dict[str, Any] | None:
        """Stored per-dimension statistics of ``name`` (see ``codecfake.store.stats``), or None."""
        return self.attrs.get("stats", {}).get(name)

    # ---- reading -------------------------------------------------------------------------------------------------
    def reader(self, name: str, *, mode: str = "auto") -> ShardReader:
        """Clip reader: zero-copy shard mmap over uncompressed local shards, Zarr per-item reads otherwise."""
        from codecfake.store.reader import ShardReader

        return ShardReader(self, name, mode=mode)
