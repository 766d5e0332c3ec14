"""Check a feature set: provenance, metadata, every shard present, readable and matching its commit record; what
interrupted writers left (temp files, stale leases). ``check_shards``: the same CRC check of the shards a training or
evaluation run is about to read, once per process."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from codecfake.atomic import is_temp_name
from codecfake.store.errors import CorruptShard
from codecfake.store.featureset import META_REQUIRED, FeatureSet
from codecfake.store.reader import ShardReader
from codecfake.store.spec import SCHEMA_VERSION

PROVENANCE_FIELDS = ("schema_version", "spec", "versions", "package_version", "command", "created_utc")


@dataclass
class VerifyReport:
    """``problems`` make ``codecfake store verify`` exit non-zero; ``notes`` are informational."""

    key: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    fs: FeatureSet,
    *,
    allow_nonfinite: bool = False,
    check_data: bool = True,
    on_shard: Callable[[str, int], None] | None = None,
) -> VerifyReport:
    """Verify ``fs``; with ``check_data`` every committed shard is read and its CRC-32 compared to its record."""
    rep = VerifyReport(fs.key)
    attrs = fs.attrs
    if attrs.get("schema_version") != SCHEMA_VERSION:
        rep.problems.append(
            f"schema_version {attrs.get('schema_version')!r}, this code reads {SCHEMA_VERSION}"
        )
    prov = attrs.get("provenance", {})
    missing = [f for f in PROVENANCE_FIELDS if f not in prov]
    if missing:
        rep.problems.append(f"provenance lacks {missing}")
    elif prov["spec"] != fs.spec.to_dict():
        rep.problems.append("provenance spec differs from the set's spec attribute")
    if fs.key != fs.spec.key:
        rep.notes.append(f"custom key (spec key would be {fs.spec.key})")
    lengths = fs.meta_lengths()  # from the arrays' shapes: 1.1 M ids need not be read to count them
    for name in META_REQUIRED:
        if name not in lengths:
            rep.problems.append(f"metadata array {name!r} missing")
        elif lengths[name] != fs.n_clips:
            rep.problems.append(f"metadata {name!r} has {lengths[name]} entries, expected {fs.n_clips}")
    if not fs.arrays:
        rep.problems.append("no feature arrays")
    for name in fs.arrays:
        _verify_array(fs, name, rep, allow_nonfinite, check_data, on_shard)
    _writers_left(fs, rep)
    return rep


def _verify_array(
    fs: FeatureSet,
    name: str,
    rep: VerifyReport,
    allow_nonfinite: bool,
    check_data: bool,
    on_shard: Callable[[str, int], None] | None,
) -> None:
    arr = fs.array(name)
    t, d = fs.frame_shape(name)
    if arr.shape != (fs.n_clips, t, d) or arr.dtype != np.dtype(fs.dtype):
        rep.problems.append(
            f"{name}: shape {arr.shape} dtype {arr.dtype}, expected {(fs.n_clips, t, d)} {fs.dtype}"
        )
        return
    records = fs.shard_records(name)
    missing = sorted(set(range(fs.n_shards)) - set(records))
    if missing:
        rep.problems.append(
            f"{name}: {len(missing)}/{fs.n_shards} shards not committed (first {missing[:5]})"
        )
    n_rej = sum(len(r["rejects"]) for r in records.values())
    n_nan = sum(r["n_nan"] for r in records.values())
    n_inf = sum(r["n_inf"] for r in records.values())
    rep.notes.append(
        f"{name}: {len(records)}/{fs.n_shards} shards, {n_rej} rejected clips, {n_nan} NaN, {n_inf} inf"
    )
    if (n_nan or n_inf) and not allow_nonfinite:
        rep.problems.append(
            f"{name}: {n_nan} NaN / {n_inf} inf values stored (shards {sorted(fs.nonfinite_counts(name))})"
        )
    if not check_data:
        return
    reader = fs.reader(name)
    for s in sorted(records):
        problem = shard_problem(fs, reader, name, s, records[s])
        if problem:
            rep.problems.append(problem)
        if on_shard:
            on_shard(name, s)


def shard_problem(fs: FeatureSet, reader: ShardReader, name: str, s: int, record: dict) -> str | None:
    """Read one committed shard and compare its CRC-32 with its commit record: None, or what is wrong."""
    a, b = fs.shard_bounds(s)
    try:
        crc = reader.shard_crc32(s, b - a)  # on the shard file's memory map, no copy
        if crc is None:
            block = reader.shard_block(s, b - a)  # (n, T, D) fs.dtype, one read of the shard file
            if block is None:  # clips not back to back in order: read them one by one
                block = reader.batch(range(a, b))
            # numpy's stubs give ndarray the buffer protocol on Python >= 3.12 only
            crc = zlib.crc32(memoryview(np.ascontiguousarray(block)).cast("B"))  # type: ignore[arg-type]
    except Exception as err:  # noqa: BLE001 - any read failure is a verify finding
        return f"{name}: shard {s} unreadable: {err}"
    if crc != record["crc32"]:
        return f"{name}: shard {s} data does not match its commit record (CRC-32)"
    return None


def _writers_left(fs: FeatureSet, rep: VerifyReport) -> None:
    """Notes on what interrupted or running writers left: temp files, stale and live shard leases."""
    folder = fs.store.local_root
    if folder is None:
        return
    temps = sorted(p for p in (folder / fs.key).rglob(".*.tmp") if is_temp_name(p.name))
    if temps:
        shown = ", ".join(str(p.relative_to(folder / fs.key)) for p in temps[:5])
        rep.notes.append(
            f"{len(temps)} temporary file(s) of interrupted writes ({shown}{' …' if len(temps) > 5 else ''}): "
            "the next writer of each removes it; safe to delete while nothing writes the set"
        )
    if fs.leases is None:
        return
    for shard, holder in sorted(fs.leases.holders().items()):
        rep.notes.append(f"shard {shard} is being written by {holder.describe()}")
    stale = fs.leases.stale()
    if stale:
        rep.notes.append(
            f"stale leases of writers that stopped before committing: shards {sorted(stale)[:10]} "
            "(taken over by the next `codecfake features` of the set)"
        )


# ---- the check before training and evaluation -----------------------------------------------------------------------
_CHECKED: set[tuple[str, int, int]] = set()  # (shard file, size, mtime_ns) whose CRC this process checked
ENV_SKIP = "CODECFAKE_SHARD_CHECK"  # "0": skip the check (codecfake train/evaluate --no-shard-check)


def skip_shard_checks() -> None:
    """Turn ``check_shards`` off for this process and its children (``--no-shard-check``)."""
    os.environ[ENV_SKIP] = "0"


def check_shards(fs: FeatureSet, name: str, clips: Sequence[int] | np.ndarray | None = None) -> int:
    """Before training or evaluation reads ``clips`` (default: all) of array ``name``: compare each shard holding
    them with its commit record's CRC-32, once per process (a shard file unchanged since it was checked is not read
    again). A mismatch raises ``CorruptShard`` naming the shards and the ``codecfake store verify`` command.

    Costs one sequential read of those shards (``make bench-store``: ``shard_check``). ``CODECFAKE_SHARD_CHECK=0``
    (the CLI's ``--no-shard-check``) skips it. Returns the number of shards read."""
    if os.environ.get(ENV_SKIP, "1") == "0":
        return 0
    records = fs.shard_records(name)
    if clips is None:
        shards = sorted(records)
    else:
        shards = sorted({int(i) // fs.shard_size for i in np.asarray(clips, dtype=np.int64)} & set(records))
    todo = []
    for s in shards:
        key = _file_key(fs, name, s)
        if key is None or key not in _CHECKED:
            todo.append((s, key))
    if not todo:
        return 0
    n_threads = min(len(todo), os.cpu_count() or 1)  # preadv and zlib.crc32 release the GIL
    readers = [fs.reader(name) for _ in range(n_threads)]  # a reader is not shared between threads

    def check(k: int) -> list[str | None]:
        return [shard_problem(fs, readers[k], name, s, records[s]) for s, _ in todo[k::n_threads]]

    with ThreadPoolExecutor(n_threads) as pool:
        bad = [p for found in pool.map(check, range(n_threads)) for p in found if p]
    if bad:
        root = fs.store.root_str
        raise CorruptShard(
            f"{fs.location}: {len(bad)} shard(s) differ from what was written ({'; '.join(bad[:3])}"
            f"{' …' if len(bad) > 3 else ''}); see every problem with `codecfake store verify {fs.key} --store "
            f"{root}`, then rebuild the set (the `codecfake features` command that made it, plus --force), or "
            "read it anyway with --no-shard-check"
        )
    _CHECKED.update(key for _, key in todo if key is not None)
    return len(todo)


def _file_key(fs: FeatureSet, name: str, s: int) -> tuple[str, int, int] | None:
    """(path, size, mtime) of a local shard file, so the check is redone when the file changes; off a local disk
    (a remote, read-only store) the shard's address alone: once per process."""
    if fs.store.local_root is None:
        return (f"{fs.location}/{name}/{s}", 0, 0)
    try:
        st = fs.shard_path(name, s).stat()
    except OSError:
        return None
    return (str(fs.shard_path(name, s)), st.st_size, st.st_mtime_ns)
