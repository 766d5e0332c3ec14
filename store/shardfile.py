"""Writing one uncompressed shard file directly, in the exact bytes Zarr's sharding codec writes.

Layout (``mmap_layout_ok`` arrays: inner codec ``bytes(little)``, index ``[bytes, crc32c]`` at the end, inner chunk one
clip, chunks in order): ``n`` clips of raw little-endian values back to back, then the index ``shard_size`` ×
(offset, nbytes) uint64 (``2**64 - 1`` twice for chunks outside the array), then the CRC-32C of the index.

Going through ``zarr.Array.__setitem__`` cost ~1.7 s per 105 MB shard on this VM (the codec pipeline copies and
re-assembles the shard); this writes the caller's buffer once, through ``codecfake.atomic``: a temp file in the
shard's folder, ``fdatasync``ed, renamed into place, the folder (and any folder this call created) fsynced. So once
this returns the shard survives a crash or power loss and the commit record may be written. A writer killed at any
point leaves either the old file or the new one, never a mix (plus its temp file, removed by the shard's next writer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from codecfake.atomic import atomic_open

_EMPTY = 2**64 - 1


def shard_index_bytes(n: int, shard_size: int, clip_bytes: int) -> bytes:
    """The index + CRC-32C trailer of a shard holding clips ``0..n-1`` of ``shard_size`` slots."""
    import google_crc32c

    index = np.full((shard_size, 2), _EMPTY, dtype="<u8")
    index[:n, 0] = np.arange(n, dtype=np.uint64) * np.uint64(clip_bytes)
    index[:n, 1] = clip_bytes
    raw = index.tobytes()
    return raw + google_crc32c.value(raw).to_bytes(4, "little")


def write_shard_file(path: Path, data: np.ndarray, shard_size: int) -> None:
    """Durably replace the shard file ``path`` with ``data`` (n, T, D), C-contiguous, little-endian.

    The caller is the shard's one writer (it holds the shard's lease), so temp files a killed writer left beside
    ``path`` are its to remove first (``codecfake.atomic.remove_stale_temps``)."""
    if not data.flags.c_contiguous or data.dtype.byteorder == ">":
        raise ValueError("write_shard_file: data must be a C-contiguous little-endian array")
    n = len(data)
    clip_bytes = data[0].nbytes if n else 0
    trailer = shard_index_bytes(n, shard_size, clip_bytes)
    with atomic_open(path, "wb", durable_dir=True) as fh:
        # the caller's buffer, no copy (the ignore: numpy's stubs give ndarray the buffer protocol on Python >= 3.12 only)
        fh.write(memoryview(data.reshape(-1).view(np.uint8)))  # type: ignore[arg-type]
        fh.write(trailer)
