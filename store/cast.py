"""Input checks and the cast of one shard to the set's dtype (float16 or float32), done before the store is touched."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codecfake.store.errors import BadShardInput, NonFiniteFeatures

NONFINITE_POLICIES = ("error", "keep", "reject")
_ACCEPTED = (np.float16, np.float32, np.float64)


def as_numpy(data: Any) -> np.ndarray:
    """numpy view of ``data``; torch tensors are detached and moved to CPU (bfloat16 widened to float32)."""
    if isinstance(data, np.ndarray):
        return data
    if hasattr(data, "detach"):  # torch.Tensor, without importing torch here
        t = data.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    raise BadShardInput(f"write_shard: expected a numpy array or torch tensor, found {type(data).__name__}")


def nonfinite_clips(y: np.ndarray, step: int = 4) -> np.ndarray:
    """Indices of clips of ``y`` (n, ...) holding inf or NaN. float16: exponent bits all ones, tested a few clips at
    a time on the raw bits (cache-sized temporaries; ~4x faster than ``np.isfinite`` on a 105 MB shard)."""
    if y.dtype != np.float16:
        return np.flatnonzero(~np.isfinite(y).reshape(len(y), -1).all(axis=1))
    bits = y.view(np.uint16).reshape(len(y), -1)
    tmp = np.empty((min(step, len(y)), bits.shape[1]), np.uint16)
    worst = np.zeros(len(y), np.uint16)
    for a in range(0, len(y), step):
        t = tmp[: len(bits[a : a + step])]
        np.bitwise_and(bits[a : a + step], 0x7C00, out=t)
        worst[a : a + step] = t.max(axis=1)
    return np.flatnonzero(worst == 0x7C00)


@dataclass(frozen=True)
class CastShard:
    """A validated shard, cast to the set's dtype. ``data`` is (n, T, D) float16/float32, rejected clips zeroed."""

    data: np.ndarray
    rejects: tuple[tuple[int, str], ...]
    n_nan: int
    n_inf: int
    nonfinite_clips: tuple[int, ...]
    crc32: int


def check_and_cast(
    where: str,
    data: Any,
    expected_shape: tuple[int, int, int],
    rejects: Sequence[tuple[int, str]],
    policy: str,
    dtype: str = "float16",
) -> CastShard:
    """Validate shape/dtype/rejects, cast to ``dtype``, count inf/NaN (non-rejected clips), apply ``policy``.

    ``where`` names the target ("set/L05 shard 3") for messages. Raises ``BadShardInput`` / ``NonFiniteFeatures``.
    """
    if policy not in NONFINITE_POLICIES:
        raise BadShardInput(f"{where}: nonfinite policy must be one of {NONFINITE_POLICIES}, got {policy!r}")
    x = as_numpy(data)
    if x.dtype.type not in _ACCEPTED:
        raise BadShardInput(f"{where}: expected float16/float32/float64 features, found dtype {x.dtype}")
    if x.shape != expected_shape:
        n, t, d = expected_shape
        what = "clip count" if x.ndim == 3 and x.shape[1:] == (t, d) else "shape"
        raise BadShardInput(
            f"{where}: wrong {what}: expected {expected_shape} (clips in this shard, frames, dims), found {x.shape}"
        )
    n = expected_shape[0]
    reject_map: dict[int, str] = {}
    for item in rejects:
        i, reason = int(item[0]), str(item[1])
        if not 0 <= i < n:
            raise BadShardInput(f"{where}: reject index {i} outside the shard's {n} clips")
        if i in reject_map:
            raise BadShardInput(f"{where}: clip {i} rejected twice")
        reject_map[i] = reason
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.ascontiguousarray(x, dtype=np.dtype(dtype))  # (n, T, D)
    if reject_map:
        if y is x:
            y = y.copy()
        y[sorted(reject_map)] = 0
    bad_clips = nonfinite_clips(y)
    n_nan = int(np.isnan(y[bad_clips]).sum()) if bad_clips.size else 0
    n_inf = int(np.isinf(y[bad_clips]).sum()) if bad_clips.size else 0
    if bad_clips.size and policy == "error":
        raise NonFiniteFeatures(
            f"{where}: {n_nan} NaN and {n_inf} inf values after the {dtype} cast in clips {bad_clips[:10].tolist()}"
            f"{'…' if bad_clips.size > 10 else ''} (float16 max 65504); nothing was written. Pass nonfinite='reject'"
            " (zero and mark those clips invalid) or 'keep' (store as is) to accept them."
        )
    if bad_clips.size and policy == "reject":
        if y is x:
            y = y.copy()
        y[bad_clips] = 0
        for i in bad_clips.tolist():
            reject_map.setdefault(i, f"non-finite features after {dtype} cast")
    return CastShard(
        data=y,
        rejects=tuple(sorted(reject_map.items())),
        n_nan=n_nan,
        n_inf=n_inf,
        nonfinite_clips=tuple(int(i) for i in bad_clips),
        # numpy's stubs give ndarray the buffer protocol on Python >= 3.12 only
        crc32=zlib.crc32(memoryview(y).cast("B")),  # type: ignore[arg-type]
    )
