"""Clip reads: a zero-copy memory map over uncompressed Zarr shard files, Zarr per-item reads as the fallback.

A sharded Zarr v3 array with codecs ``[sharding(codecs=[bytes(little)], index=[bytes, crc32c] at end)]`` stores each
shard as one file ``<array>/c/<s>/0/0``: inner chunks (one clip each, raw little-endian float16/32) followed by the
index, ``shard_size`` × (offset, nbytes) uint64, then a CRC-32C of the index. We parse the index once per shard,
``np.memmap`` the file and hand out ``np.frombuffer`` views, so a warm read is a pointer computation. Never
``oindex`` on sharded arrays (zarr #3829: ~10× slower than slices).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from codecfake.store.errors import BadShardInput, CorruptShard

if TYPE_CHECKING:
    from codecfake.store.featureset import FeatureSet

log = logging.getLogger(__name__)
_EMPTY = np.uint64(2**64 - 1)
MODES = ("auto", "mmap", "zarr")


def mmap_layout_ok(array: Any) -> bool:
    """True when the array's shards are raw little-endian clips with the index (bytes + crc32c) at the end."""
    from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec

    codecs = array.metadata.codecs
    if len(codecs) != 1 or not isinstance(codecs[0], ShardingCodec):
        return False
    sh = codecs[0]
    inner_ok = len(sh.codecs) == 1 and isinstance(sh.codecs[0], BytesCodec) and sh.codecs[0].endian.value == "little"
    index_ok = (
        len(sh.index_codecs) == 2
        and isinstance(sh.index_codecs[0], BytesCodec)
        and isinstance(sh.index_codecs[1], Crc32cCodec)
        and sh.index_location.value == "end"
    )
    enc = array.metadata.chunk_key_encoding
    return inner_ok and index_ok and getattr(enc, "separator", "/") == "/" and getattr(enc, "name", "") == "default"


class ShardReader:
    """Random access to clips of one feature array. ``reader[i]`` -> (T, D), ``reader.batch(idx)`` -> (B, T, D).

    Values come in the set's dtype (``fs.dtype``: float16, or float32 e.g. for power mels).

    ``mode``: "auto" (mmap when possible), "mmap" (error if impossible), "zarr" (per-item Zarr reads).
    In mmap mode ``reader[i]`` is a read-only view into the page cache; copy it if you keep it past the reader.
    """

    def __init__(self, fs: FeatureSet, name: str, *, mode: str = "auto", max_open: int = 128):
        if mode not in MODES:
            raise BadShardInput(f"reader mode must be one of {MODES}, got {mode!r}")
        self.fs = fs
        self.name = name
        self.array = fs.array(name)
        self.frame_shape = fs.frame_shape(name)
        self.n_clips = fs.n_clips
        self.shard_size = fs.shard_size
        self.max_open = max_open
        can_mmap = fs.store.local_root is not None and mmap_layout_ok(self.array)
        if mode == "mmap" and not can_mmap:
            raise BadShardInput(
                f"{fs.location}/{name}: mmap reader needs uncompressed shards on a local path "
                f"(compressor={fs.compressor!r}, root={fs.store.root_str}); use mode='auto' or 'zarr'"
            )
        self.mode = "mmap" if (can_mmap and mode != "zarr") else "zarr"
        self._dir = Path(fs.store.local_root, fs.key, name, "c") if can_mmap else None  # type: ignore[arg-type]
        self._maps: OrderedDict[int, tuple[np.ndarray, np.ndarray] | None] = OrderedDict()
        self.dtype = np.dtype(fs.dtype).newbyteorder("<")
        self._clip_bytes = self.frame_shape[0] * self.frame_shape[1] * self.dtype.itemsize
        self._zeros = np.zeros(self.frame_shape, dtype=self.dtype)
        self._zeros.setflags(write=False)

    def __repr__(self) -> str:
        return f"ShardReader({self.fs.key}/{self.name}, mode={self.mode})"

    def __len__(self) -> int:
        return self.n_clips

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers: maps are reopened lazily
        state = self.__dict__.copy()
        state["_maps"] = OrderedDict()
        return state

    def close(self) -> None:
        self._maps.clear()

    # ---- mmap path -----------------------------------------------------------------------------------------------
    def _shard(self, s: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(file bytes memmap, index (shard_size, 2) uint64) of shard ``s``; None if the shard file is absent."""
        hit = self._maps.get(s, False)
        if hit is not False:
            self._maps.move_to_end(s)
            return hit  # type: ignore[return-value]
        path = self._dir / str(s) / "0" / "0"  # type: ignore[operator]
        if not path.exists():
            entry = None
        else:
            m = np.memmap(path, dtype=np.uint8, mode="r")
            n_index = self.shard_size * 16
            if m.size < n_index + 4:
                raise CorruptShard(f"{path}: {m.size} bytes, shorter than its index; rewrite it (resume the writer)")
            raw = bytes(m[-(n_index + 4) : -4])
            import google_crc32c

            if google_crc32c.value(raw) != int.from_bytes(bytes(m[-4:]), "little"):
                raise CorruptShard(f"{path}: shard index checksum mismatch; rewrite it (resume the writer)")
            index = np.frombuffer(raw, dtype="<u8").reshape(self.shard_size, 2)
            filled = index[:, 0] != _EMPTY
            if (index[filled, 1] != self._clip_bytes).any() or (index[filled, 0] + index[filled, 1] > m.size).any():
                raise CorruptShard(f"{path}: index entries do not match {self._clip_bytes}-byte clips")
            entry = (m, index)
        self._maps[s] = entry
        if len(self._maps) > self.max_open:
            self._maps.popitem(last=False)
        return entry

    def _mmap_clip(self, i: int) -> np.ndarray:
        s, j = divmod(i, self.shard_size)
        entry = self._shard(s)
        if entry is None:
            return self._zeros
        m, index = entry
        offset = index[j, 0]
        if offset == _EMPTY:
            return self._zeros
        count = self._clip_bytes // self.dtype.itemsize
        return np.frombuffer(m, dtype=self.dtype, count=count, offset=int(offset)).reshape(self.frame_shape)

    # ---- public --------------------------------------------------------------------------------------------------
    def _check(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += self.n_clips
        if not 0 <= i < self.n_clips:
            raise IndexError(f"{self.fs.key}/{self.name}: clip {i} outside 0..{self.n_clips - 1}")
        return i

    def __getitem__(self, i: int) -> np.ndarray:
        """Clip ``i`` as (T, D) in the set's dtype."""
        i = self._check(i)
        if self.mode == "mmap":
            return self._mmap_clip(i)
        return np.asarray(self.array[i])

    def batch(self, indices: Sequence[int] | np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Clips ``indices`` stacked in the given order: (B, T, D) in the set's dtype (copied into ``out`` if given)."""
        idx = [self._check(i) for i in np.asarray(indices).reshape(-1).tolist()]
        if out is None:
            out = np.empty((len(idx), *self.frame_shape), dtype=self.dtype)
        elif out.shape != (len(idx), *self.frame_shape):
            raise BadShardInput(f"batch: out has shape {out.shape}, expected {(len(idx), *self.frame_shape)}")
        # visit clips in sorted order (shard by shard, ascending offsets), write to their batch position
        for pos in np.argsort(idx, kind="stable").tolist():
            out[pos] = self._mmap_clip(idx[pos]) if self.mode == "mmap" else self.array[idx[pos]]
        return out
