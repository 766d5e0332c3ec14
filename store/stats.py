"""Per-dimension mean/std of a feature array with dask, shard-aligned chunks, accumulated in float64."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np

from codecfake.store.featureset import FeatureSet

log = logging.getLogger(__name__)


def compute_stats(
    fs: FeatureSet, name: str, *, scheduler: str | None = "threads", store: bool = True
) -> dict[str, Any]:
    """Mean and std over (valid clips × frames) per dimension D; non-finite values are skipped.

    Reads with ``dask.array.from_zarr(chunks=<shard shape>)`` (one task per shard, never misaligned with shards),
    sums x and x² in float64. With ``store`` the result goes to the set's attributes under ``stats[name]``.
    Returns ``{"mean": [D], "std": [D], "count": n values per dim, "valid_clips": n, "computed_utc": iso}``.
    """
    import dask.array as da

    fs.require_complete(name)
    arr = fs.array(name)
    t, d = fs.frame_shape(name)
    x = da.from_zarr(arr, chunks=(fs.shard_size, t, d)).astype(np.float64)  # (N, T, D)
    valid = fs.valid(name)
    mask = da.from_array(valid, chunks=fs.shard_size)[:, None, None]  # (N, 1, 1)
    keep = da.isfinite(x) & mask
    xz = da.where(keep, x, 0.0)
    s1, s2, cnt = da.compute(
        xz.sum(axis=(0, 1)), (xz * xz).sum(axis=(0, 1)), keep.sum(axis=(0, 1)), scheduler=scheduler
    )
    cnt = np.asarray(cnt, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / cnt
        var = np.maximum(s2 / cnt - mean * mean, 0.0)
    out = {
        "mean": mean.tolist(),
        "std": np.sqrt(var).tolist(),
        "count": int(cnt.min()) if cnt.size else 0,
        "valid_clips": int(valid.sum()),
        "computed_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if store:
        stats = dict(fs.attrs.get("stats", {}))
        stats[name] = out
        fs.group.update_attributes({"stats": stats})
        log.info("%s/%s: stored per-dim mean/std over %d valid clips", fs.location, name, out["valid_clips"])
    return out
