"""Check a feature set: provenance, metadata, every shard present, readable and matching its commit record."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from codecfake.store.featureset import META_REQUIRED, FeatureSet
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
        a, b = fs.shard_bounds(s)
        try:
            block = reader.shard_block(s, b - a)  # (n, T, D) fs.dtype, one read of the shard file
            if block is None:  # clips not back to back in order: read them one by one
                block = reader.batch(range(a, b))
        except Exception as err:  # noqa: BLE001 - any read failure is a verify finding
            rep.problems.append(f"{name}: shard {s} unreadable: {err}")
            continue
        if zlib.crc32(memoryview(np.ascontiguousarray(block)).cast("B")) != records[s]["crc32"]:
            rep.problems.append(f"{name}: shard {s} data does not match its commit record (CRC-32)")
        if on_shard:
            on_shard(name, s)
