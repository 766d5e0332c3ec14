"""A trace model's outputs on stored clips: penultimate embeddings and logits, the open-set scorers' input.

``trace_outputs`` runs the model over rows of one feature set; ``split_outputs`` over the positions of a
``train.data.Split`` (rows of several sets), in the split's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from codecfake.evaluate.openset_scorers import TraceOutputs
from codecfake.train.input_arrays import open_reader, valid_mask

__all__ = ["trace_outputs", "split_outputs", "valid_rows"]


def valid_rows(fs: Any, array: str, idx: np.ndarray) -> np.ndarray:
    """The rows of ``idx`` whose clips are valid in ``array`` (rejected audio is never scored)."""
    idx = np.asarray(idx, dtype=np.int64)
    return idx[valid_mask(fs, array)[idx]]


@torch.inference_mode()
def trace_outputs(
    model: torch.nn.Module,
    fs: Any,
    array: str,
    indices: np.ndarray,
    *,
    device: Any,
    batch: int = 256,
    progress: Callable[[int], None] | None = None,
) -> TraceOutputs:
    """Embeddings (n, D) and logits (n, K) of the rows ``indices`` of ``fs[array]``, read in ascending order."""
    reader = open_reader(fs, array)  # fused layers: (B, N, T, D) batches
    model.eval()
    indices = np.asarray(indices, dtype=np.int64)
    emb: list[np.ndarray] = []
    logits: list[np.ndarray] = []
    for start in range(0, len(indices), batch):
        idx = indices[start : start + batch]
        x = torch.from_numpy(np.asarray(reader.batch(idx), dtype=np.float32)).to(device)  # (B, T, D)
        e, z = model(x)  # (B, E), (B, K)
        emb.append(e.float().flatten(1).cpu().numpy())
        logits.append(z.float().cpu().numpy())
        if progress is not None:
            progress(len(idx))
    if not emb:
        return TraceOutputs(np.empty((0, 0), np.float32), np.empty((0, 0)))
    return TraceOutputs(np.concatenate(emb), np.concatenate(logits))


def split_outputs(
    model: torch.nn.Module, sets: Sequence[Any], split: Any, array: str, *, device: Any, batch: int = 256
) -> TraceOutputs:
    """Outputs of every position of ``split`` (``set_index``, ``local`` over ``sets``), in the split's order."""
    parts: list[tuple[np.ndarray, TraceOutputs]] = []
    for s, fs in enumerate(sets):
        pos = np.flatnonzero(split.set_index == s)
        if len(pos):
            order = pos[np.argsort(split.local[pos], kind="stable")]  # ascending rows: sequential reads
            parts.append(
                (order, trace_outputs(model, fs, array, split.local[order], device=device, batch=batch))
            )
    out = TraceOutputs.concat([p for _, p in parts])
    where = np.concatenate([o for o, _ in parts])
    back = np.empty_like(where)
    back[where] = np.arange(len(where))
    return out.take(back)
