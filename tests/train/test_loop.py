"""The training loop on tiny synthetic feature sets: run directory, selection on dev, errors before work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from codecfake.store import FeatureStore
from codecfake.train.backends import UnknownBackend
from codecfake.train.config import TrainConfig
from codecfake.train.data import TrainDataError, load_training_data
from codecfake.train.loop import TrainError, train
from codecfake.train.rundir import load_run, read_metrics


def _cfg(**kw) -> TrainConfig:
    base = dict(backend="toy", epochs=2, batch=8, lr=0.05, seed=3)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("opt", ["adam", "sam", "asam", "csam", "csam-pd"])
def test_every_optimiser_trains_and_writes_a_run(opt, demo_store, tmp_path: Path, builder) -> None:
    root, keys = demo_store
    run = train(_cfg(opt=opt, task="cotrain"), root, tmp_path / "runs", builder=builder)
    assert run.name == f"cotrain-toy-{opt}-s3-mel"
    rows = read_metrics(run)
    assert [r["epoch"] for r in rows] == [1, 2]
    for key in ("train_loss", "dev_loss", "dev_eer", "lr", "clips_per_s", "data_wait_share"):
        assert all(np.isfinite(r[key]) for r in rows), key
    assert rows[1]["lr"] == pytest.approx(0.05)  # halved every 2 epochs: epochs 1, 2 at lr0
    loaded = load_run(run, builder=builder)
    assert set(loaded.feature_keys) == set(keys) and loaded.array == "mel" and loaded.frame_shape == (6, 4)
    best = min(rows, key=lambda r: r["dev_loss"])
    assert loaded.best["epoch"] == best["epoch"]
    assert (run / "DONE").is_file() and (run / "checkpoints" / "last.safetensors").is_file()


def test_training_learns_the_synthetic_task(demo_store, tmp_path: Path, builder) -> None:
    root, _ = demo_store
    run = train(_cfg(task="codec", epochs=6, lr=0.05), root, tmp_path / "runs", builder=builder)
    rows = read_metrics(run)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert min(r["dev_eer"] for r in rows) < 30.0
    assert [r["lr"] for r in rows] == pytest.approx([0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125])


def test_selection_uses_dev_and_skips_rejected_clips(tmp_path: Path, write_set) -> None:
    root = tmp_path / "f"
    write_set(root, "mini-codecfake", "codec", n_train=20, n_dev=10, n_test=5, rejects=(0, 3, 21))
    data = load_training_data(FeatureStore(root), _cfg(task="codec"))
    assert len(data.train) == 18 and len(data.dev) == 9  # test rows never; rejected clips never
    assert 0 not in data.train.local.tolist() and 21 not in data.dev.local.tolist()


def test_finished_run_is_reused_and_force_overwrites(demo_store, tmp_path: Path, builder, caplog) -> None:
    root, _ = demo_store
    run = train(_cfg(task="codec", epochs=1), root, tmp_path / "runs", builder=builder)
    stamp = (run / "checkpoints" / "best.json").stat().st_mtime_ns
    train(_cfg(task="codec", epochs=1), root, tmp_path / "runs", builder=builder)
    assert (run / "checkpoints" / "best.json").stat().st_mtime_ns == stamp
    with pytest.raises(TrainError, match="different configuration"):
        train(_cfg(task="codec", epochs=1, lr=0.01, name=run.name), root, tmp_path / "runs", builder=builder)
    train(_cfg(task="codec", epochs=1, lr=0.01, name=run.name), root, tmp_path / "runs", builder=builder, force=True)
    assert json.loads((run / "config.json").read_text())["lr"] == 0.01


def test_errors_before_work(demo_store, tmp_path: Path, builder) -> None:
    root, keys = demo_store
    runs = tmp_path / "runs"
    with pytest.raises(UnknownBackend, match="resnet"):
        train(_cfg(backend="resnet"), root, runs)  # the real builder: the error a user sees
    with pytest.raises(TrainDataError, match="no feature set 'nope'"):
        train(_cfg(features=("nope",)), root, runs, builder=builder)
    with pytest.raises(TrainDataError, match="needs two training domains"):
        train(_cfg(opt="csam", task="codec"), root, runs, builder=builder)
    with pytest.raises(TrainDataError, match="make features"):
        train(_cfg(task="codec"), tmp_path / "empty", runs, builder=builder)

    def wrong_shape(name, frame_shape):
        return builder(name, (frame_shape[0], frame_shape[1] + 1))

    with pytest.raises(TrainError, match="cannot take input"):
        train(_cfg(task="codec"), root, runs, builder=wrong_shape)
    assert not runs.exists()  # nothing was written by any of these


def test_real_backends_refuse_tiny_inputs(demo_store, tmp_path: Path) -> None:
    root, _ = demo_store
    from codecfake.train.backends import BackendInputShapeError

    with pytest.raises(BackendInputShapeError):
        train(_cfg(backend="lcnn", task="codec"), root, tmp_path / "runs")


def test_stream_and_memory_modes_give_the_same_weights(demo_store, tmp_path: Path, builder) -> None:
    root, _ = demo_store
    a = train(_cfg(task="cotrain", opt="csam", data_mode="memory", name="a"), root, tmp_path / "r", builder=builder)
    b = train(_cfg(task="cotrain", opt="csam", data_mode="stream", name="b"), root, tmp_path / "r", builder=builder)
    ma, mb = load_run(a, builder=builder).model, load_run(b, builder=builder).model
    for (k, p), q in zip(ma.state_dict().items(), mb.state_dict().values()):
        assert torch.equal(p, q), k


def test_streamed_adam_run_reads_block_shuffled_batches(demo_store, tmp_path: Path, builder, monkeypatch) -> None:
    from codecfake.train import loop
    from codecfake.train.sampler import BlockBatches, RandomBatches

    root, _ = demo_store
    seen: dict[str, list[np.ndarray]] = {}
    real = loop.Prefetcher

    def recording(data, split, batches):  # the training batches of the first epoch, in order
        seen.setdefault(current, [np.asarray(b) for b in batches])
        return real(data, split, batches)

    monkeypatch.setattr(loop, "Prefetcher", recording)
    cfg = {"task": "cotrain", "opt": "adam", "epochs": 1, "shuffle_window_shards": 1}
    for current in ("stream", "memory"):
        train(_cfg(**cfg, data_mode=current, name=current), root, tmp_path / "r", builder=builder)
    data = load_training_data(FeatureStore(root), _cfg(**cfg))
    block = BlockBatches(loop.shard_ids(data, data.train), 8, 3, window=1).epoch(0)
    plain = RandomBatches(len(data.train), 8, 3).epoch(0)
    same = lambda a, b: len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))  # noqa: E731
    assert same(seen["stream"], block) and not same(block, plain)
    assert same(seen["memory"], plain)
