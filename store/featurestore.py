"""The store root: a directory (or Zarr store / read-only URL) holding one Zarr group per feature set key."""

from __future__ import annotations

import builtins
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore

from codecfake.store.compressors import normalise_compressor
from codecfake.store.errors import (
    BadShardInput,
    FeatureSetExists,
    FeatureSetMismatch,
    FeatureSetNotFound,
    ReadOnlyStore,
)
from codecfake.store.featureset import META_REQUIRED, ROLE, FeatureSet
from codecfake.store.leases import ShardLeases, set_lock
from codecfake.store.provenance import build_provenance
from codecfake.store.records import RecordIO
from codecfake.store.spec import SCHEMA_VERSION, FeatureSetSpec

log = logging.getLogger(__name__)
MODES = ("create", "resume", "overwrite")


@dataclass(frozen=True)
class FeatureSetInfo:
    """One line of ``FeatureStore.list()``."""

    key: str
    corpus: str
    extractor: str
    model_id: str
    n_clips: int
    arrays: dict[str, bool]  # array name -> complete
    created_utc: str
    part: str = ""  # "" = a whole corpus; else its part ("train", "C1", "eval", …)


def _check_meta(meta: Mapping[str, Any]) -> tuple[int, dict[str, np.ndarray]]:
    """Validate the per-clip metadata before anything is written; returns (N, arrays)."""
    missing = [k for k in META_REQUIRED if k not in meta]
    if missing:
        raise BadShardInput(f"feature set metadata: missing {missing}; required {list(META_REQUIRED)}")
    out: dict[str, np.ndarray] = {}
    n = None
    for name, values in meta.items():
        a = np.asarray(values)
        if a.ndim != 1:
            raise BadShardInput(f"feature set metadata {name!r}: expected 1-D, found shape {a.shape}")
        if n is None:
            n = len(a)
        elif len(a) != n:
            raise BadShardInput(f"feature set metadata {name!r}: length {len(a)} != {n} (utt_id …)")
        if a.dtype.kind in "US" or a.dtype == object:
            a = a.astype(str).astype(object)
        elif a.dtype.kind not in "biuf":
            raise BadShardInput(f"feature set metadata {name!r}: unsupported dtype {a.dtype}")
        out[name] = a
    lab = np.asarray(meta["label"])
    if lab.dtype.kind not in "biu" or not np.isin(lab, (0, 1)).all():
        raise BadShardInput("feature set metadata 'label': expected ints 0 (bona fide) / 1 (spoof)")
    out["label"] = lab.astype(np.int8)
    if n == 0:
        raise BadShardInput("feature set metadata: zero clips")
    if len(set(out["utt_id"].tolist())) != n:
        raise BadShardInput("feature set metadata 'utt_id': ids are not unique")
    return int(n), out


class FeatureStore:
    """Feature sets under one root: a local directory, a ``zarr`` Store (e.g. MemoryStore) or a read-only URL."""

    def __init__(self, root: str | Path | Store):
        self.local_root: Path | None = None
        if isinstance(root, Store):
            self.zarr_store = root
            self.root_str = f"<{type(root).__name__}>"
            if isinstance(root, LocalStore):
                self.local_root = Path(root.root)
        elif isinstance(root, str) and "://" in root and not root.startswith("file://"):
            self.zarr_store = FsspecStore.from_url(root, read_only=True)
            self.root_str = root
        else:
            path = Path(str(root).removeprefix("file://")).expanduser()
            self.local_root = path
            self.zarr_store = LocalStore(path)
            self.root_str = str(path)
        self.read_only = bool(self.zarr_store.read_only)
        self.records_io = RecordIO(self.zarr_store, self.local_root)

    def __repr__(self) -> str:
        return f"FeatureStore({self.root_str!r})"

    # ---- lookup --------------------------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        """Keys of every feature set under the root."""

        if self.local_root is not None and not self.local_root.exists():
            return []
        names = self.records_io.list_dir("")
        return sorted(
            n for n in names if self.records_io.get(f"{n}/zarr.json") is not None and self._is_set(n)
        )

    def _is_set(self, key: str) -> bool:
        doc = self.records_io.get(f"{key}/zarr.json") or {}
        return doc.get("node_type") == "group" and "spec" in doc.get("attributes", {})

    def exists(self, key: str) -> bool:
        return self._is_set(key)

    def open(self, key: str, *, expect: FeatureSetSpec | None = None, nonfinite: str = "error") -> FeatureSet:
        """Open an existing set; with ``expect`` refuse it (``FeatureSetMismatch``) unless its spec is equal."""
        if not self._is_set(key):
            raise FeatureSetNotFound(
                f"{self.root_str}: no feature set {key!r} (have: {self.keys() or 'none'}); "
                "make it with `codecfake features …` or `codecfake store import-hdf5 FILE`"
            )
        mode: Literal["r", "r+"] = "r" if self.read_only else "r+"
        fs = FeatureSet(
            self, key, zarr.open_group(store=self.zarr_store, path=key, mode=mode), nonfinite=nonfinite
        )
        if expect is not None:
            self._refuse_mismatch(fs, expect)
        return fs

    def list(self) -> list[FeatureSetInfo]:
        """One ``FeatureSetInfo`` per set, sorted by key."""
        out = []
        for key in self.keys():
            fs = self.open(key)
            out.append(
                FeatureSetInfo(
                    key=key,
                    corpus=fs.spec.corpus,
                    extractor=fs.spec.extractor,
                    model_id=fs.spec.model_id,
                    n_clips=fs.n_clips,
                    arrays={a: fs.is_complete(a) for a in fs.arrays},
                    created_utc=str(fs.provenance.get("created_utc", "")),
                    part=fs.spec.part,
                )
            )
        return out

    def find(
        self,
        corpus: str | None = None,
        extractor: str | None = None,
        array: str | None = None,
        **spec_fields: Any,
    ) -> builtins.list[str]:  # builtins: `list` in this class is the method above
        """Keys whose spec matches every given field (``array``: the set has that array)."""
        out = []
        for key in self.keys():
            fs = self.open(key)
            if corpus is not None and fs.spec.corpus != corpus:
                continue
            if extractor is not None and fs.spec.extractor != extractor:
                continue
            if array is not None and array not in fs.arrays:
                continue
            if any(getattr(fs.spec, f) != v for f, v in spec_fields.items()):
                continue
            out.append(key)
        return out

    # ---- create / remove -----------------------------------------------------------------------------------------
    def create(
        self,
        spec: FeatureSetSpec,
        meta: Mapping[str, Any],
        *,
        mode: str = "create",
        shard_size: int = 256,
        compressor: str | None = None,
        key: str | None = None,
        extra: Mapping[str, Any] | None = None,
        nonfinite: str = "error",
    ) -> FeatureSet:
        """Create (or resume, or overwrite) the set for ``spec`` with per-clip ``meta`` (1-D arrays, length N).

        ``mode``: "create" refuses an existing set; "resume" reopens it if spec and metadata are equal (else
        ``FeatureSetMismatch``); "overwrite" deletes it first. ``key`` defaults to ``spec.key``. ``extra``: free-form
        provenance (extractor config …). Everything is validated before anything is written.
        """
        if mode not in MODES:
            raise BadShardInput(f"mode must be one of {MODES}, got {mode!r}")
        if self.read_only:
            raise ReadOnlyStore(f"{self.root_str}: read-only store; create feature sets on a local path")
        if not isinstance(shard_size, int) or shard_size < 1:
            raise BadShardInput(f"shard_size must be a positive int, got {shard_size!r}")
        compressor = normalise_compressor(compressor)
        n, arrays = _check_meta(meta)
        key = key or spec.key
        with set_lock(self.local_root, key):  # two processes starting at once: one creates, the other resumes
            return self._create(spec, key, n, arrays, mode, shard_size, compressor, extra, nonfinite)

    def _create(
        self,
        spec: FeatureSetSpec,
        key: str,
        n: int,
        arrays: dict[str, np.ndarray],
        mode: str,
        shard_size: int,
        compressor: str | None,
        extra: Mapping[str, Any] | None,
        nonfinite: str,
    ) -> FeatureSet:
        if self._is_set(key):
            if mode == "create":
                raise FeatureSetExists(
                    f"{self.root_str}/{key}: feature set exists; resume it (mode='resume', the CLI default) or "
                    "replace it with --force (mode='overwrite')"
                )
            if mode == "resume":
                fs = self.open(key, expect=spec, nonfinite=nonfinite)
                self._refuse_meta_mismatch(fs, arrays, shard_size)
                log.info("%s: resuming", fs.location)
                return fs
            self.remove(key)
        attrs: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "key": key,
            "spec": spec.to_dict(),
            "n_clips": n,
            "shard_size": shard_size,
            "compressor": compressor,
            "provenance": build_provenance(spec, extra),
        }
        g = zarr.open_group(store=self.zarr_store, path=key, mode="w", attributes=attrs)
        for name, values in arrays.items():
            dtype = str if values.dtype == object else values.dtype
            a = g.create_array(
                name,
                shape=(n,),
                chunks=(min(n, 65536),),
                dtype=dtype,
                attributes={ROLE: "meta"},
                dimension_names=("clip",),
            )
            a[:] = values
        g.create_group(
            "_commits", attributes={"about": "per-shard commit records (JSON), see codecfake.store.records"}
        )
        log.info("%s/%s: created (%d clips, shards of %d)", self.root_str, key, n, shard_size)
        return FeatureSet(
            self, key, zarr.open_group(store=self.zarr_store, path=key, mode="r+"), nonfinite=nonfinite
        )

    def remove(self, key: str) -> None:
        """Delete a feature set and everything in it."""
        if self.read_only:
            raise ReadOnlyStore(f"{self.root_str}: read-only store; cannot remove {key}")
        if not self._is_set(key):
            raise FeatureSetNotFound(
                f"{self.root_str}: no feature set {key!r} to remove (have: {self.keys()})"
            )
        if self.local_root is not None:
            with set_lock(self.local_root, key):
                ShardLeases(self.local_root / key, key).refuse_if_held("remove or overwrite the set")
                shutil.rmtree(self.local_root / key)
        else:
            from zarr.core.sync import sync

            sync(self.zarr_store.delete_dir(key))
        log.info("%s: removed %s", self.root_str, key)

    # ---- refusals ------------------------------------------------------------------------------------------------
    def _refuse_mismatch(self, fs: FeatureSet, spec: FeatureSetSpec) -> None:
        diff = fs.spec.differences(spec)
        if diff:
            lines = "; ".join(
                f"{f}: stored {a!r} != requested {b!r}" for f, a, b in ((f, *ab) for f, ab in diff.items())
            )
            raise FeatureSetMismatch(
                f"{fs.location}: feature set was built with a different spec ({lines}). Rebuild it with the same "
                f"command plus --force (overwrites), or `codecfake store rm {fs.key}` first",
                diff,
            )

    def _refuse_meta_mismatch(self, fs: FeatureSet, meta: dict[str, np.ndarray], shard_size: int) -> None:
        diff: dict[str, tuple[object, object]] = {}
        if fs.shard_size != shard_size:
            diff["shard_size"] = (fs.shard_size, shard_size)
        if fs.n_clips != len(meta["utt_id"]):
            diff["n_clips"] = (fs.n_clips, len(meta["utt_id"]))
        else:
            for name in META_REQUIRED:
                if not np.array_equal(fs.meta[name].astype(meta[name].dtype), meta[name]):
                    diff[f"meta.{name}"] = ("stored values", "different values")
        if diff:
            raise FeatureSetMismatch(
                f"{fs.location}: existing set differs from the requested one "
                f"({', '.join(f'{k}: {a} != {b}' for k, (a, b) in diff.items())}); rebuild with --force",
                diff,
            )
