"""The training data path (train/data.py): every mode yields exactly the written clips with their labels and domains.

Ported from the removed store/dataset.py tests: values, labels, domain ids and coverage in memory and stream mode,
the auto mode's memory limit, and the refusal of an incomplete set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from codecfake.store import FeatureSetSpec, FeatureStore, IncompleteFeatureSet
from codecfake.train.config import TrainConfig
from codecfake.train.data import Prefetcher, load_into_memory, load_training_data
from codecfake.train.data_mode import uses_memory
from codecfake.train.sampler import RandomBatches


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(backend="toy", epochs=1, batch=4, **kw)


def _written(n: int, seed: int) -> np.ndarray:
    """(n, 6, 4) the values `write_feature_set` wrote for `seed`, as float16 (what the store holds)."""
    label = np.tile([0, 1], n)[:n]
    x = np.random.default_rng(seed).normal(size=(n, 6, 4)).astype(np.float32) + 0.8 * label[:, None, None]
    return x.astype(np.float16)


@pytest.mark.parametrize("mode", ["memory", "stream"])
def test_batches_hold_the_written_clips_labels_and_domains(tmp_path: Path, write_set, mode: str) -> None:
    root = tmp_path / "f"
    write_set(root, "mini-codecfake", "codec", n_train=20, n_dev=6, seed=1, rejects=(2, 17))
    write_set(root, "mini-19la", "vocoder", n_train=10, n_dev=4, seed=2, rejects=(5,))
    data = load_training_data(FeatureStore(root), _cfg(task="cotrain"))
    assert data.domains == ["codec", "vocoder"]
    expect = {"mini-codecfake": _written(26, 1), "mini-19la": _written(14, 2)}
    if mode == "memory":
        load_into_memory(data, data.train)
    batches = RandomBatches(len(data.train), 4, seed=5).epoch(0)
    seen = []
    prefetch = Prefetcher(data, data.train, batches)
    try:
        for positions, (x, y, dom) in zip(batches, prefetch):
            assert x.dtype == torch.float16
            assert tuple(x.shape[1:]) == data.frame_shape == (6, 4)
            for k, p in enumerate(positions.tolist()):
                fs = data.sets[int(data.train.set_index[p])]
                i = int(data.train.local[p])
                meta = fs.meta
                np.testing.assert_array_equal(x[k].numpy(), expect[fs.spec.corpus][i])  # the written values
                assert int(y[k]) == int(meta["label"][i]) and meta["split"][i] == "train"
                assert data.domains[int(dom[k])] == meta["domain"][i]
                seen.append((fs.spec.corpus, i))
    finally:
        prefetch.close()
    # every valid training clip exactly once (27 clips in batches of 4: the last batch holds 3), the rejected never
    valid = {("mini-codecfake", i) for i in range(20) if i not in (2, 17)}
    valid |= {("mini-19la", i) for i in range(10) if i != 5}
    assert sorted(seen) == sorted(valid)


def test_auto_mode_loads_into_memory_only_below_the_limit(tmp_path: Path, write_set) -> None:
    root = tmp_path / "f"
    write_set(root, "mini-codecfake", "codec", n_train=20, n_dev=6)
    data = load_training_data(FeatureStore(root), _cfg(task="codec"))
    assert uses_memory(
        _cfg(task="codec", data_mode="auto", memory_limit_mb=1), data
    )  # 26 x 6 x 4 fp16 << 1 MB
    assert uses_memory(_cfg(task="codec", data_mode="memory", memory_limit_mb=1), data)
    assert not uses_memory(_cfg(task="codec", data_mode="stream"), data)
    big = load_training_data(FeatureStore(root), _cfg(task="codec"))
    big.frame_shape = (200_000, 4)  # as if each clip were 1.6 MB: 26 clips > 1 MB
    assert not uses_memory(_cfg(task="codec", data_mode="auto", memory_limit_mb=1), big)


def test_an_incomplete_set_is_refused_before_training(tmp_path: Path) -> None:
    n = 40
    split = np.array(["train"] * 30 + ["dev"] * 10)
    meta = {
        "utt_id": np.array([f"u{i}" for i in range(n)]),
        "label": np.tile([0, 1], n // 2),
        "domain": np.array(["codec"] * n),
        "condition": split.copy(),
        "split": split,
    }
    spec = FeatureSetSpec(
        corpus="c", manifest_sha256="0" * 64, extractor="mel", model_id="mel-80-512-128", weights_sha256=""
    )
    fs = FeatureStore(tmp_path / "f").create(spec, meta, shard_size=16)
    fs.ensure_array("mel", (6, 4))
    fs.write_shard("mel", 0, np.zeros((16, 6, 4), dtype=np.float32))
    with pytest.raises(IncompleteFeatureSet, match="2 of 3 shards not written"):
        load_training_data(FeatureStore(tmp_path / "f"), _cfg(task="codec"))
