"""FeatureDataset and the samplers: every mode yields exactly the written clips with their labels and domains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from codecfake.store import FeatureStore, IncompleteFeatureSet
from codecfake.store.dataset import (
    BlockShuffleSampler,
    ExactRandomSampler,
    FeatureDataset,
    make_sampler,
)
from codecfake.store.testing import SHARD, N, make_data, make_meta, make_spec, write_all
from torch.utils.data import DataLoader


@pytest.fixture
def fs(tmp_path: Path):
    fs = FeatureStore(tmp_path / "features").create(make_spec(), make_meta(), shard_size=SHARD)
    write_all(fs, "L05", make_data(), rejects={1: [(2, "corrupt audio")]})
    return fs


@pytest.mark.parametrize("mode", ["random", "block", "memory", "sequential"])
def test_loader_modes_return_written_data(fs, mode: str) -> None:
    ds = FeatureDataset(fs, "L05")
    sampler = make_sampler(ds, mode, seed=5, window_shards=1)
    assert ds.in_memory == (mode == "memory")
    seen = []
    expected = make_data().astype(np.float16).astype(np.float32)
    meta = make_meta()
    for batch in DataLoader(ds, batch_size=4, sampler=sampler):
        assert batch["x"].dtype == torch.float32 and batch["x"].shape[1:] == (5, 3)
        for x, i, lab, dom, cond in zip(batch["x"], batch["index"], batch["label"], batch["domain"],
                                        batch["condition"]):
            i = int(i)
            np.testing.assert_array_equal(x.numpy(), expected[i])
            assert lab == meta["label"][i] and cond == meta["condition"][i]
            assert dom == {"codec": 0, "vocoder": 1}[meta["domain"][i]]
            seen.append(i)
    assert sorted(seen) == [i for i in range(N) if i != 6]  # every valid clip once, the rejected one never


def test_memory_mode_respects_budget(fs) -> None:
    ds = FeatureDataset(fs, "L05", memory_budget_bytes=100)
    assert not ds.in_memory
    assert ds.load_into_memory(10**6) and ds.in_memory


def test_samplers_deterministic_and_resumable() -> None:
    a, b = ExactRandomSampler(50, seed=1), ExactRandomSampler(50, seed=1)
    first = list(a)
    assert sorted(first) == list(range(50)) and first == list(b) and list(a) != first  # new epoch, new order
    c = ExactRandomSampler(50, seed=1)
    it = iter(c)
    head = [next(it) for _ in range(20)]
    state = c.state_dict()
    d = ExactRandomSampler(50, seed=0)
    d.load_state_dict(state)
    assert head + list(d) == first


def test_block_shuffle_keeps_windows_together() -> None:
    shard_ids = np.repeat(np.arange(8), 16)  # 8 shards of 16 items
    order = list(BlockShuffleSampler(shard_ids, window_shards=2, seed=3))
    assert sorted(order) == list(range(128))
    for w in range(0, 128, 32):
        assert len(set(shard_ids[order[w : w + 32]].tolist())) == 2  # each window: clips of exactly 2 shards
    assert order != sorted(order)


def test_incomplete_set_is_refused(tmp_path: Path) -> None:
    fs = FeatureStore(tmp_path / "f").create(make_spec(), make_meta(), shard_size=SHARD)
    fs.ensure_array("L05", (5, 3))
    fs.write_shard("L05", 0, make_data()[:SHARD])
    with pytest.raises(IncompleteFeatureSet, match="2 of 3 shards not written"):
        FeatureDataset(fs, "L05")
    assert len(FeatureDataset(fs, "L05", require_complete=False)) == SHARD


@pytest.mark.slow  # ~7 s: two spawned workers import torch
def test_dataloader_spawn_workers(fs) -> None:
    ds = FeatureDataset(fs, "L05")
    loader = DataLoader(ds, batch_size=3, sampler=make_sampler(ds, "random", seed=0), num_workers=2,
                        multiprocessing_context="spawn")
    idx = sorted(int(i) for b in loader for i in b["index"])
    assert idx == [i for i in range(N) if i != 6]
