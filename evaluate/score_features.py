"""Score a trained run on feature-store rows: P(bona fide) = softmax(logits)[:, 0], batched, no gradients.

Test sets are the feature sets whose extractor spec (extractor, model id, weights, params and preprocessing — every
field but corpus and manifest) equals that of the run's training sets and that hold the run's array, complete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from codecfake.common import extractor_fields
from codecfake.evaluate.errors import NoTestSets
from codecfake.train.layers import array_names, open_reader

log = logging.getLogger(__name__)

__all__ = ["find_test_sets", "score_rows"]


def find_test_sets(store: Any, extractor: Mapping[str, Any], array: str) -> list[Any]:
    """Feature sets in ``store`` whose extractor spec equals ``extractor`` (``LoadedRun.extractor``), holding a
    complete ``array`` (a fused "L00+L05": each of its arrays) and rows with split "test"."""
    wanted = extractor_fields(extractor)
    found, skipped = [], []
    for key in store.keys():
        fs = store.open(key)
        if extractor_fields(fs.spec) != wanted:
            continue
        if any(a not in fs.arrays or not fs.is_complete(a) for a in array_names(array)):
            skipped.append(f"{key} (array {array} missing or incomplete)")
            continue
        if not np.any(fs.meta["split"] == "test"):
            continue
        found.append(fs)
    for s in skipped:
        log.warning("not evaluated: %s; finish it with `codecfake features ...` (it resumes)", s)
    if not found:
        raise NoTestSets(
            f"store {store!r}: no feature set with split 'test' rows matches the run's extractor "
            f"({wanted.get('extractor')}, {wanted.get('model_id')}) and array {array}; extract one with "
            "`codecfake features --data ... --model ...` using the same model and layers"
        )
    return found


@torch.inference_mode()
def score_rows(
    model: torch.nn.Module,
    fs: Any,
    array: str,
    indices: np.ndarray,
    *,
    device: torch.device,
    batch: int = 256,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """P(bona fide) for the (n,) row ``indices`` of ``fs[array]``: (n,) float64. ``progress(k)`` after k clips.

    A fused ``array`` ("L00+L05") reads its layers together: batches (B, N, T, D) for the run's FusedBackend."""
    for name in array_names(array):  # a shard changed on disk since it was written is refused before scoring
        fs.check_shards(name, indices)
    reader = open_reader(fs, array)
    model.eval()
    out = np.empty(len(indices), dtype=np.float64)
    for start in range(0, len(indices), batch):
        idx = np.asarray(indices[start : start + batch])
        x = torch.from_numpy(np.asarray(reader.batch(idx), dtype=np.float32)).to(
            device
        )  # (B, T, D) | (B, N, T, D)
        _, logits = model(x)  # (B, 2) [bona fide, spoof]
        out[start : start + len(idx)] = torch.softmax(logits.float(), dim=1)[:, 0].cpu().numpy()
        if progress is not None:
            progress(len(idx))
    return out
