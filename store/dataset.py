"""PyTorch access to a feature array: ``FeatureDataset`` plus samplers for three read patterns.

* ``"random"``  exact uniform shuffling (``ExactRandomSampler``); best when the array is page-cached.
* ``"block"``   shuffle shards, then clips within a window of ``window_shards`` shards (``BlockShuffleSampler``);
                keeps disk reads large when the data does not fit in RAM.
* ``"memory"``  load the selected clips once into RAM (if they fit ``memory_budget_bytes``), then exact random.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from codecfake.store.errors import BadShardInput
from codecfake.store.featureset import FeatureSet
from torch.utils.data import Dataset, Sampler

log = logging.getLogger(__name__)
SAMPLER_MODES = ("random", "block", "memory", "sequential")


class FeatureDataset(Dataset):
    """Items ``{"x": (T, D) float32 tensor, "label": int, "domain": int, "condition": str, "index": int}``.

    ``indices``: clip indices of the set to expose (default: every valid clip). ``domain_ids``: domain name -> int,
    shared across sets when co-training (default: sorted domain names of this set). ``memory_budget_bytes``: load
    the clips into RAM once if their float16 size fits (``in_memory`` says whether it did).
    """

    def __init__(
        self,
        feature_set: FeatureSet,
        array: str,
        indices: Sequence[int] | np.ndarray | None = None,
        *,
        domain_ids: Mapping[str, int] | None = None,
        memory_budget_bytes: int | None = None,
        reader_mode: str = "auto",
        require_complete: bool = True,
    ):
        if require_complete:
            feature_set.require_complete(array)
        self.feature_set = feature_set
        self.array = array
        self.reader = feature_set.reader(array, mode=reader_mode)
        valid = feature_set.valid(array)
        self.indices = np.flatnonzero(valid) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= feature_set.n_clips):
            raise BadShardInput(f"{feature_set.location}: indices outside 0..{feature_set.n_clips - 1}")
        meta = feature_set.meta
        self.labels = meta["label"].astype(np.int64)
        names = sorted(set(meta["domain"].tolist()))
        self.domain_ids = dict(domain_ids) if domain_ids is not None else {d: i for i, d in enumerate(names)}
        unknown = set(names) - set(self.domain_ids)
        if unknown:
            raise BadShardInput(f"{feature_set.location}: domains {sorted(unknown)} missing from domain_ids")
        self.domains = np.array([self.domain_ids[d] for d in meta["domain"].tolist()], dtype=np.int64)
        self.conditions = meta["condition"]
        self.frame_shape = feature_set.frame_shape(array)
        self.memory: np.ndarray | None = None
        if memory_budget_bytes is not None:
            self.load_into_memory(memory_budget_bytes)

    @property
    def in_memory(self) -> bool:
        return self.memory is not None

    def load_into_memory(self, budget_bytes: int) -> bool:
        """Read the selected clips once into one (len, T, D) float16 array if it fits ``budget_bytes``."""
        need = len(self.indices) * self.frame_shape[0] * self.frame_shape[1] * 2
        if need > budget_bytes:
            log.warning("%s/%s: %d clips need %.1f MB > budget %.1f MB; reading from disk instead",
                        self.feature_set.key, self.array, len(self.indices), need / 1e6, budget_bytes / 1e6)
            return False
        self.memory = self.reader.batch(self.indices)  # (len, T, D) float16
        return True

    def __len__(self) -> int:
        return len(self.indices)

    def shard_ids(self) -> np.ndarray:
        """(len,) shard index of each item, for ``BlockShuffleSampler``."""
        return self.indices // self.feature_set.shard_size

    def _item(self, k: int, x: np.ndarray) -> dict[str, Any]:
        i = int(self.indices[k])
        return {
            "x": torch.from_numpy(np.asarray(x, dtype=np.float32)),  # (T, D)
            "label": int(self.labels[i]),
            "domain": int(self.domains[i]),
            "condition": str(self.conditions[i]),
            "index": i,
        }

    def __getitem__(self, k: int) -> dict[str, Any]:
        x = self.memory[k] if self.memory is not None else self.reader[int(self.indices[k])]
        return self._item(int(k), x)

    def __getitems__(self, ks: Sequence[int]) -> list[dict[str, Any]]:
        """Batched fetch used by ``DataLoader``: one reader call for the whole batch."""
        ks = [int(k) for k in ks]
        xs = self.memory[ks] if self.memory is not None else self.reader.batch(self.indices[ks])  # (B, T, D)
        return [self._item(k, x) for k, x in zip(ks, xs)]


class _StatefulSampler(Sampler[int]):
    """Epoch-seeded sampler whose position can be saved and restored (mid-epoch resume)."""

    def __init__(self, n: int, seed: int = 0):
        self.n = int(n)
        self.seed = int(seed)
        self.epoch = 0
        self.position = 0  # items already yielded this epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.position = 0

    def state_dict(self) -> dict[str, int]:
        return {"seed": self.seed, "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.seed, self.epoch, self.position = int(state["seed"]), int(state["epoch"]), int(state["position"])

    def order(self) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        order = self.order()
        start = self.position
        for pos in range(start, self.n):
            self.position = pos + 1
            yield int(order[pos])
        self.epoch += 1
        self.position = 0


class SequentialSampler(_StatefulSampler):
    """0, 1, …, n-1 (scoring, statistics)."""

    def order(self) -> np.ndarray:
        return np.arange(self.n)


class ExactRandomSampler(_StatefulSampler):
    """A uniform permutation per epoch, from ``(seed, epoch)``."""

    def order(self) -> np.ndarray:
        return np.random.default_rng((self.seed, self.epoch)).permutation(self.n)


class BlockShuffleSampler(_StatefulSampler):
    """Shuffle shards, then the clips of each window of ``window_shards`` consecutive (shuffled) shards.

    ``shard_ids``: (n,) shard of each dataset item (``FeatureDataset.shard_ids()``). Every item appears once per epoch.
    """

    def __init__(self, shard_ids: Sequence[int] | np.ndarray, window_shards: int = 4, seed: int = 0):
        self.shard_ids = np.asarray(shard_ids, dtype=np.int64)
        super().__init__(len(self.shard_ids), seed)
        if window_shards < 1:
            raise BadShardInput(f"window_shards must be >= 1, got {window_shards}")
        self.window_shards = int(window_shards)

    def order(self) -> np.ndarray:
        rng = np.random.default_rng((self.seed, self.epoch))
        shards = np.unique(self.shard_ids)
        rng.shuffle(shards)
        by_shard = {int(s): np.flatnonzero(self.shard_ids == s) for s in shards}
        parts = []
        for w in range(0, len(shards), self.window_shards):
            items = np.concatenate([by_shard[int(s)] for s in shards[w : w + self.window_shards]])
            parts.append(rng.permutation(items))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def make_sampler(dataset: FeatureDataset, mode: str = "random", *, seed: int = 0, window_shards: int = 4,
                 memory_budget_bytes: int = 8 << 30) -> _StatefulSampler:
    """Sampler for ``mode`` in ``SAMPLER_MODES``; ``"memory"`` also loads ``dataset`` into RAM if it fits."""
    if mode not in SAMPLER_MODES:
        raise BadShardInput(f"sampler mode must be one of {SAMPLER_MODES}, got {mode!r}")
    if mode == "sequential":
        return SequentialSampler(len(dataset), seed)
    if mode == "block":
        return BlockShuffleSampler(dataset.shard_ids(), window_shards, seed)
    if mode == "memory" and not dataset.in_memory:
        dataset.load_into_memory(memory_budget_bytes)
    return ExactRandomSampler(len(dataset), seed)
