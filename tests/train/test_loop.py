"""The training loop on tiny synthetic feature sets: run directory, selection on dev, errors before work."""

from __future__ import annotations

import json
import math
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
    train(
        _cfg(task="codec", epochs=1, lr=0.01, name=run.name),
        root,
        tmp_path / "runs",
        builder=builder,
        force=True,
    )
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
    a = train(
        _cfg(task="cotrain", opt="csam", data_mode="memory", name="a"), root, tmp_path / "r", builder=builder
    )
    b = train(
        _cfg(task="cotrain", opt="csam", data_mode="stream", name="b"), root, tmp_path / "r", builder=builder
    )
    ma, mb = load_run(a, builder=builder).model, load_run(b, builder=builder).model
    for (k, p), q in zip(ma.state_dict().items(), mb.state_dict().values()):
        assert torch.equal(p, q), k


class _Recorder:
    """Stands in for trainer.Prefetcher and keeps every training batch the run asked for."""

    seen: list = []

    def __init__(self, data, split, batches, **kw):
        from codecfake.train.data import Prefetcher

        _Recorder.seen.extend(np.asarray(b).copy() for b in batches)
        self._inner = Prefetcher(data, split, batches, **kw)
        self.wait_s = 0.0

    def __iter__(self):
        return iter(self._inner)

    def close(self) -> None:
        self._inner.close()


def test_streamed_runs_draw_uniform_batches(demo_store, tmp_path: Path, builder, monkeypatch) -> None:
    from scipy.stats import hypergeom

    from codecfake.train import trainer
    from codecfake.train.sampler import RandomBatches

    root, _ = demo_store
    monkeypatch.setattr(trainer, "Prefetcher", _Recorder)
    _Recorder.seen = []
    cfg = _cfg(task="cotrain", opt="adam", data_mode="stream", name="s", epochs=3)
    run = train(cfg, root, tmp_path / "r", builder=builder)
    assert json.loads((run / "checkpoints" / "last.json").read_text())["sampler"]["kind"] == "RandomBatches"
    data = load_training_data(FeatureStore(root), cfg)
    plan = RandomBatches(len(data.train), cfg.batch, cfg.seed)
    assert [b.tolist() for b in _Recorder.seen] == [b.tolist() for e in range(3) for b in plan.epoch(e)]
    # the drawn batches' vocoder counts follow the hypergeometric law of uniform draws (40 codec + 16 vocoder clips)
    voc = data.domains.index("vocoder")
    counts = [int(np.sum(data.train.domains[b] == voc)) for e in range(40) for b in plan.epoch(e)]
    law = hypergeom(len(data.train), int(np.sum(data.train.domains == voc)), cfg.batch)
    assert abs(np.mean(counts) - law.mean()) < 0.1
    assert abs(np.mean(np.array(counts) == 0) - law.pmf(0)) < 0.04


def test_block_shuffle_only_on_request_and_logged(demo_store, tmp_path: Path, builder, caplog) -> None:
    root, _ = demo_store
    with caplog.at_level("WARNING"):
        run = train(
            _cfg(
                task="cotrain",
                opt="adam",
                data_mode="stream",
                name="b",
                shuffle="block",
                shuffle_window_shards=1,
            ),
            root,
            tmp_path / "r",
            builder=builder,
        )
    assert json.loads((run / "checkpoints" / "last.json").read_text())["sampler"]["kind"] == "BlockBatches"
    warning = [r.getMessage() for r in caplog.records if "--shuffle block" in r.getMessage()]
    assert len(warning) == 1 and "hold no vocoder clip" in warning[0] and "uniform:" in warning[0]


def test_csam_epochs_have_the_releases_length(demo_store, tmp_path: Path, builder) -> None:
    root, _ = demo_store  # 40 codec + 16 vocoder training clips, batch 8
    for mode, steps in (
        ("release", 2 * math.ceil(40 / 8)),
        ("pass", max(math.ceil(40 / 6), math.ceil(16 / 2))),
    ):
        run = train(
            _cfg(task="cotrain", opt="csam", csam_epoch=mode, name=mode),
            root,
            tmp_path / "r",
            builder=builder,
        )
        assert [r["steps"] for r in read_metrics(run)] == [steps, steps]
        assert read_metrics(run)[-1]["global_step"] == 2 * steps


def test_release_dev_loss_is_the_mean_of_shuffled_batch_means(demo_store, tmp_path: Path, builder) -> None:
    from codecfake.train.data import load_into_memory
    from codecfake.train.losses import weighted_ce

    root, _ = demo_store
    cfg = _cfg(task="cotrain", opt="adam", dev_loss="batch-mean", epochs=1, name="bm")
    row = read_metrics(train(cfg, root, tmp_path / "r", builder=builder))[0]
    model = load_run(tmp_path / "r" / "bm", builder=builder).model.eval()
    data = load_training_data(FeatureStore(root), cfg)
    load_into_memory(data, data.dev)
    x, y = torch.from_numpy(data.dev.x).float(), torch.from_numpy(data.dev.labels)
    w = torch.tensor(cfg.class_weights)
    perm = np.random.default_rng([cfg.seed, 0, 0xDE7]).permutation(len(y))  # 20 dev clips -> batches 8, 8, 4
    with torch.no_grad():
        means = [float(weighted_ce(model(x[b])[1], y[b], w)) for b in (perm[:8], perm[8:16], perm[16:])]
        exact = float(weighted_ce(model(x)[1], y, w))
    assert row["dev_loss"] == pytest.approx(np.mean(means), rel=1e-5)
    assert row["dev_loss_exact"] == pytest.approx(exact, rel=1e-5) and abs(exact - np.mean(means)) > 1e-4
    default = read_metrics(
        train(_cfg(task="cotrain", opt="adam", epochs=1, name="ex"), root, tmp_path / "r", builder=builder)
    )[0]
    assert default["dev_loss"] == default["dev_loss_exact"]
