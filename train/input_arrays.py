"""A run's input arrays: one store array ("L05", "mel") or several SSL layers fused ("L00+L03+L05").

A fused run names its input as the layers' array names joined by "+" (``TrainConfig.array``, provenance ``array``);
everything that opens a run's input goes through :func:`array_names`, :func:`open_reader` and :func:`valid_mask`, so
a one-array name takes exactly the plain path (``fs.reader(name)``, ``fs.valid(name)``). The N arrays of a batch are
read by one :class:`StackedReader` call into one (B, N, T, D) float16 buffer; train/fusion.py mixes them.
No torch here: train/config.py imports this.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

SEP = "+"
_LAYER = re.compile(r"L(\d+)")


def layer_array(k: int) -> str:
    """Store array name of SSL ``hidden_states[k]``: 5 -> "L05" (extract/ssl.py names them so)."""
    return f"L{int(k):02d}"


def fused_array_name(layers: Sequence[int]) -> str:
    """(0, 3, 5) -> "L00+L03+L05"; (5,) -> "L05"."""
    return SEP.join(layer_array(k) for k in layers)


def array_names(array: str) -> tuple[str, ...]:
    """The store arrays behind a run's input: "L00+L03" -> ("L00", "L03"); "L05" -> ("L05",)."""
    return tuple(array.split(SEP)) if array else ()


def layer_indices(array: str) -> tuple[int, ...] | None:
    """hidden_states indices of an SSL input ("L00+L05" -> (0, 5)); None when a name is not ``L<k>``."""
    names = array_names(array)
    found = [m for m in (_LAYER.fullmatch(a) for a in names) if m is not None]
    return tuple(int(m.group(1)) for m in found) if names and len(found) == len(names) else None


def is_fused(array: str) -> bool:
    return len(array_names(array)) > 1


def input_shape(array: str, frame_shape: Sequence[int]) -> tuple[int, ...]:
    """What one clip looks like to the model: (N, T, D) for a fused input, (T, D) otherwise."""
    n = len(array_names(array))
    return (n, *frame_shape) if n > 1 else tuple(frame_shape)


def has_arrays(fs: Any, array: str) -> bool:
    """True when feature set ``fs`` holds every array of ``array``."""
    return all(a in fs.arrays for a in array_names(array))


def valid_mask(fs: Any, array: str) -> np.ndarray:
    """(N,) bool: clips valid in every array of ``array`` (a clip rejected in one layer is skipped)."""
    names = array_names(array)
    out = fs.valid(names[0])
    for a in names[1:]:
        out = out & fs.valid(a)
    return out


class StackedReader:
    """Reads a batch of clips from N arrays of one feature set at once: ``batch(idx)`` -> (B, N, T, D) (float16).

    One call per batch: each array's reads of the batch's clips land straight in its plane ``out[:, l]`` of the one
    buffer (``ShardReader.batch(…, out=)`` takes a plane: its clips are contiguous), so no array is read in a pass of
    its own and nothing is concatenated afterwards. Memory: B × N × T × D × 2 bytes, e.g. 128 × 5 × 201 × 1024 × 2 B =
    263 MB for five XLS-R layers at Codecfake's shape (52.7 MB per layer).
    """

    def __init__(self, fs: Any, names: Sequence[str]):
        self.names = tuple(names)
        self.readers = [fs.reader(a) for a in self.names]
        shapes = {tuple(r.frame_shape) for r in self.readers}
        if len(shapes) != 1:
            from codecfake.store.errors import BadShardInput

            raise BadShardInput(
                f"{fs.key}: arrays {list(self.names)} have different frame shapes {sorted(shapes)}; "
                "fused layers must share (T, D)"
            )
        self.frame_shape = shapes.pop()
        self.dtype = np.dtype(
            getattr(self.readers[0], "dtype", np.float16)
        )  # the set's dtype (float16 for SSL)
        self.n_clips = len(self.readers[0])

    def __len__(self) -> int:
        return self.n_clips

    def __getitem__(self, i: int) -> np.ndarray:
        """Clip ``i`` as (N, T, D) float16 (a copy)."""
        return np.stack([r[i] for r in self.readers])

    def batch(self, indices: Sequence[int] | np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Clips ``indices`` in the given order: (B, N, T, D) float16 (read into ``out`` if given)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        shape = (len(idx), len(self.readers), *self.frame_shape)
        if out is None:
            out = np.empty(shape, dtype=self.dtype)
        elif out.shape != shape:
            from codecfake.store.errors import BadShardInput

            raise BadShardInput(f"batch: out has shape {out.shape}, expected {shape}")
        for layer, reader in enumerate(self.readers):
            reader.batch(idx, out=out[:, layer])  # (B, T, D) plane of the one buffer
        return out


def open_reader(fs: Any, array: str) -> Any:
    """``fs.reader(array)`` for one array; a :class:`StackedReader` over the layers of a fused name."""
    names = array_names(array)
    return StackedReader(fs, names) if len(names) > 1 else fs.reader(array)


__all__ = [
    "layer_array",
    "fused_array_name",
    "array_names",
    "layer_indices",
    "is_fused",
    "input_shape",
    "has_arrays",
    "valid_mask",
    "StackedReader",
    "open_reader",
]
