"""Clip reads: positioned reads (``pread``) in a thread pool over uncompressed Zarr shard files, a zero-copy memory
map for single clips, Zarr per-item reads as the fallback.

A sharded Zarr v3 array with codecs ``[sharding(codecs=[bytes(little)], index=[bytes, crc32c] at end)]`` stores each
shard as one file ``<array>/c/<s>/0/0``: inner chunks (one clip each, raw little-endian) followed by the index,
``shard_size`` × (offset, nbytes) uint64, then a CRC-32C of the index. We read and check the index once per shard.
``batch`` reads clips with ``os.preadv`` straight into the caller's (B, T, D) buffer: clips that lie back to back in a
shard file become one read, and up to ``io_threads`` reads are in flight at once (the GIL is released while the
kernel copies), so a cold-cache random batch keeps the disk's queue full instead of page-faulting one clip at a time
(with an 8 MB read-ahead, a fault on a memory map reads ~8 MB around each 412 KB clip). ``reader[i]`` returns a
read-only view into a memory map of the shard (zero-copy). Never ``oindex`` on sharded arrays (zarr #3829).
"""

from __future__ import annotations

import logging
import mmap
import os
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from codecfake.store.errors import BadShardInput, CorruptShard

if TYPE_CHECKING:
    from codecfake.store.featureset import FeatureSet

log = logging.getLogger(__name__)
_EMPTY = np.uint64(2**64 - 1)
MODES = ("auto", "mmap", "zarr")
IO_THREADS = (
    32  # reads in flight per batch: 32 beat 16 by 17 % cold on this VM (store_ooc.json); NVMe may want 64
)
_MAX_RUN = 64  # clips per preadv at most (26 MB of XLS-R clips; IOV_MAX is 1024)


def mmap_layout_ok(array: Any) -> bool:
    """True when the array's shards are raw little-endian clips with the index (bytes + crc32c) at the end."""
    from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec

    codecs = array.metadata.codecs
    if len(codecs) != 1 or not isinstance(codecs[0], ShardingCodec):
        return False
    sh = codecs[0]
    inner_ok = (
        len(sh.codecs) == 1
        and isinstance(sh.codecs[0], BytesCodec)
        # endian None (1-byte dtypes) would have raised AttributeError here; such arrays take the zarr path
        and sh.codecs[0].endian is not None
        and sh.codecs[0].endian.value == "little"
    )
    index_ok = (
        len(sh.index_codecs) == 2
        and isinstance(sh.index_codecs[0], BytesCodec)
        and isinstance(sh.index_codecs[1], Crc32cCodec)
        and sh.index_location.value == "end"
    )
    enc = array.metadata.chunk_key_encoding
    return (
        inner_ok
        and index_ok
        and getattr(enc, "separator", "/") == "/"
        and getattr(enc, "name", "") == "default"
    )


class _Shard:
    """An open shard file: descriptor, checked index (shard_size, 2) uint64, memory map made on first ``view``."""

    __slots__ = ("fd", "index", "size", "_map")

    def __init__(self, path: Path, shard_size: int, clip_bytes: int):
        import google_crc32c

        self.fd = os.open(path, os.O_RDONLY)
        try:
            self.size = os.fstat(self.fd).st_size
            n_index = shard_size * 16
            if self.size < n_index + 4:
                raise CorruptShard(
                    f"{path}: {self.size} bytes, shorter than its index; rewrite it (resume the writer)"
                )
            tail = os.pread(self.fd, n_index + 4, self.size - n_index - 4)
            if len(tail) != n_index + 4 or google_crc32c.value(tail[:-4]) != int.from_bytes(
                tail[-4:], "little"
            ):
                raise CorruptShard(f"{path}: shard index checksum mismatch; rewrite it (resume the writer)")
            index = np.frombuffer(tail[:-4], dtype="<u8").reshape(shard_size, 2)
            filled = index[:, 0] != _EMPTY
            if (index[filled, 1] != clip_bytes).any() or (
                index[filled, 0] + index[filled, 1] > self.size
            ).any():
                raise CorruptShard(f"{path}: index entries do not match {clip_bytes}-byte clips")
        except BaseException:
            os.close(self.fd)
            raise
        self.index = index
        self._map: mmap.mmap | None = None

    def view(self) -> mmap.mmap:
        if self._map is None:
            self._map = mmap.mmap(self.fd, self.size, access=mmap.ACCESS_READ)
        return self._map

    def close(self) -> None:
        self._map = None  # views handed out keep their own reference to the mapping
        os.close(self.fd)


def _read_runs(runs: list[tuple[_Shard, int, list[memoryview]]], where: str) -> None:
    """``preadv`` each (shard, file offset, consecutive clip buffers) run; short reads are corrupt shards."""
    for shard, offset, bufs in runs:
        want = sum(b.nbytes for b in bufs)
        got = os.preadv(shard.fd, bufs, offset)
        while 0 < got < want:  # a short read of a regular file: continue where it stopped
            done, rest = got, []
            for b in bufs:
                if done >= b.nbytes:
                    done -= b.nbytes
                else:
                    rest.append(b[done:])
                    done = 0
            bufs, offset, want = rest, offset + got, want - got
            got = os.preadv(shard.fd, bufs, offset)
        if got != want:
            raise CorruptShard(f"{where}: short read at byte {offset} ({got} of {want}); rewrite the shard")


class ShardReader:
    """Random access to clips of one feature array. ``reader[i]`` -> (T, D), ``reader.batch(idx)`` -> (B, T, D).

    ``mode``: "auto" (mmap when possible), "mmap" (error if impossible), "zarr" (per-item Zarr reads).
    In mmap mode ``reader[i]`` is a read-only view into the page cache; copy it if you keep it past the reader.
    ``io_threads``: reads in flight in ``batch`` (1 = read in the calling thread).
    """

    def __init__(
        self,
        fs: FeatureSet,
        name: str,
        *,
        mode: str = "auto",
        max_open: int = 128,
        io_threads: int = IO_THREADS,
    ):
        if mode not in MODES:
            raise BadShardInput(f"reader mode must be one of {MODES}, got {mode!r}")
        self.fs = fs
        self.name = name
        self.array = fs.array(name)
        self.frame_shape = fs.frame_shape(name)
        self.n_clips = fs.n_clips
        self.shard_size = fs.shard_size
        self.max_open = max_open
        self.io_threads = max(1, int(io_threads))
        can_mmap = fs.store.local_root is not None and mmap_layout_ok(self.array)
        if mode == "mmap" and not can_mmap:
            raise BadShardInput(
                f"{fs.location}/{name}: mmap reader needs uncompressed shards on a local path "
                f"(compressor={fs.compressor!r}, root={fs.store.root_str}); use mode='auto' or 'zarr'"
            )
        self.mode = "mmap" if (can_mmap and mode != "zarr") else "zarr"
        root = fs.store.local_root
        self._dir = Path(root, fs.key, name, "c") if can_mmap and root is not None else None
        self.dtype = np.dtype(self.array.dtype).newbyteorder("<")
        self._clip_bytes = self.frame_shape[0] * self.frame_shape[1] * self.dtype.itemsize
        self._zeros = np.zeros(self.frame_shape, dtype=self.dtype)
        self._zeros.setflags(write=False)
        self._reset()

    def _reset(self) -> None:
        self._maps: OrderedDict[int, _Shard | None] = OrderedDict()
        self._retired: list[_Shard] = []  # evicted while a batch may still read them; closed after it
        self._pool: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"ShardReader({self.fs.key}/{self.name}, mode={self.mode})"

    def __len__(self) -> int:
        return self.n_clips

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers: files and threads are reopened lazily
        state = self.__dict__.copy()
        for k in ("_maps", "_retired", "_pool"):
            state.pop(k)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def close(self) -> None:
        for entry in self._maps.values():
            if entry is not None:
                entry.close()
        for entry in self._retired:
            entry.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._reset()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    # ---- mmap path -----------------------------------------------------------------------------------------------
    def _shard(self, s: int) -> _Shard | None:
        """The open shard file ``s`` (index checked); None if the shard file is absent."""
        hit = self._maps.get(s, False)
        if hit is not False:  # False: not looked up yet (None: looked up, no file)
            self._maps.move_to_end(s)
            return hit  # type: ignore[return-value]  # the checker reads the default as bool, which `is not False` keeps
        path = self._dir / str(s) / "0" / "0"  # type: ignore[operator]  # _dir is set in mmap mode, the only caller's
        entry = _Shard(path, self.shard_size, self._clip_bytes) if path.exists() else None
        self._maps[s] = entry
        if len(self._maps) > self.max_open:
            old = self._maps.popitem(last=False)[1]
            if old is not None:
                self._retired.append(old)
        return entry

    def _close_retired(self) -> None:
        while self._retired:
            self._retired.pop().close()

    def _locate(self, i: int) -> tuple[_Shard | None, int]:
        """(shard, byte offset) of clip ``i``; offset -1 when the clip was never written (reads as zeros)."""
        s, j = divmod(i, self.shard_size)
        entry = self._shard(s)
        if entry is None or entry.index[j, 0] == _EMPTY:
            return entry, -1
        return entry, int(entry.index[j, 0])

    def _mmap_clip(self, i: int) -> np.ndarray:
        entry, offset = self._locate(i)
        self._close_retired()
        if entry is None or offset < 0:  # no shard means offset -1: the `entry is None` is for the checker
            return self._zeros
        return np.frombuffer(
            entry.view(), dtype=self.dtype, count=self._clip_bytes // self.dtype.itemsize, offset=offset
        ).reshape(self.frame_shape)

    def _pread_batch(self, idx: list[int], out: np.ndarray) -> None:
        """Fill ``out[pos]`` with clip ``idx[pos]``: runs of back-to-back clips, spread over ``io_threads`` reads."""
        # (B, clip_bytes) view of out; batch() checked that each clip out[pos] is contiguous (rows may be strided)
        rows = np.lib.stride_tricks.as_strided(out, (len(idx), out[0].size), (out.strides[0], out.itemsize))
        flat = rows.view(np.uint8)
        runs: list[tuple[_Shard, int, list[memoryview]]] = []
        end = None
        for pos in np.argsort(idx, kind="stable").tolist():  # ascending (shard, offset)
            entry, offset = self._locate(idx[pos])
            if entry is None or offset < 0:  # as in _mmap_clip
                out[pos] = 0
                continue
            buf = memoryview(flat[pos])
            if end == (entry, offset) and len(runs[-1][2]) < _MAX_RUN:
                runs[-1][2].append(buf)
            else:
                runs.append((entry, offset, [buf]))
            end = (entry, offset + self._clip_bytes)
        where = f"{self.fs.location}/{self.name}"
        try:
            k = min(self.io_threads, len(runs))
            if k <= 1:
                _read_runs(runs, where)
            else:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.io_threads, thread_name_prefix="shard-read")
                for fut in [self._pool.submit(_read_runs, runs[t::k], where) for t in range(k)]:
                    fut.result()
        finally:
            self._close_retired()

    # ---- public --------------------------------------------------------------------------------------------------
    def _check(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += self.n_clips
        if not 0 <= i < self.n_clips:
            raise IndexError(f"{self.fs.key}/{self.name}: clip {i} outside 0..{self.n_clips - 1}")
        return i

    def __getitem__(self, i: int) -> np.ndarray:
        """Clip ``i`` as (T, D)."""
        i = self._check(i)
        if self.mode == "mmap":
            return self._mmap_clip(i)
        return np.asarray(self.array[i])

    def batch(self, indices: Sequence[int] | np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Clips ``indices`` stacked in the given order: (B, T, D) (read into ``out`` if given)."""
        idx = [self._check(i) for i in np.asarray(indices).reshape(-1).tolist()]
        if out is None:
            out = np.empty((len(idx), *self.frame_shape), dtype=self.dtype)
        elif out.shape != (len(idx), *self.frame_shape):
            raise BadShardInput(f"batch: out has shape {out.shape}, expected {(len(idx), *self.frame_shape)}")
        if not idx:
            return out
        if self.mode == "mmap":
            if out.dtype == self.dtype and (out.flags.c_contiguous or out[0].flags.c_contiguous):
                # contiguous clips, e.g. a layer's plane out[:, l] of a fused (B, N, T, D) batch (train/input_arrays.py)
                self._pread_batch(idx, out)
            else:  # another dtype or a strided view: read into our own buffer, then cast/copy once
                out[...] = self.batch(idx)
        else:
            for pos in np.argsort(idx, kind="stable").tolist():
                out[pos] = self.array[idx[pos]]
        return out

    def shard_crc32(self, s: int, n: int) -> int | None:
        """zlib CRC-32 of the first ``n`` clips of shard ``s`` computed on the memory map of its file (no copy: the
        shard check before training costs one pass over the page cache) when they lie in order, back to back; None
        when they do not, the file is absent or the reader is not in mmap mode: use ``shard_block`` then."""
        if self.mode != "mmap":
            return None
        entry = self._shard(s)
        if entry is None:
            return None
        start = entry.index[0, 0]
        expected = start + np.arange(n, dtype=np.uint64) * np.uint64(self._clip_bytes)
        if start == _EMPTY or not (entry.index[:n, 0] == expected).all():
            return None
        try:
            return zlib.crc32(memoryview(entry.view())[int(start) : int(start) + n * self._clip_bytes])
        finally:
            self._close_retired()

    def shard_block(self, s: int, n: int) -> np.ndarray | None:
        """The first ``n`` clips of shard ``s`` as one (n, T, D) array read in one go when they lie in order, back to
        back in the shard file (how a whole-shard write lays them out; zeros for an absent shard file); None when
        they do not or the reader is not in mmap mode: use ``batch`` then (``store verify`` reads shards so)."""
        if self.mode != "mmap":
            return None
        entry = self._shard(s)
        out = np.zeros((n, *self.frame_shape), dtype=self.dtype)
        if entry is None:
            return out
        start = entry.index[0, 0]
        expected = start + np.arange(n, dtype=np.uint64) * np.uint64(self._clip_bytes)
        if start == _EMPTY or not (entry.index[:n, 0] == expected).all():
            return None
        try:
            _read_runs(
                # numpy's stubs give ndarray the buffer protocol on Python >= 3.12 only
                [(entry, int(start), [memoryview(out.reshape(-1).view(np.uint8))])],  # type: ignore[arg-type]
                f"{self.fs.location}/{self.name}",
            )
        finally:
            self._close_retired()
        return out
