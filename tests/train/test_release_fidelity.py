"""The release's training behaviour offered beside ours: its CSAM draw, its LCNN input layout on SSL features
(recorded in config.json), its cuDNN settings on CUDA."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from codecfake.train.config import ConfigError, TrainConfig
from codecfake.train.loop import TrainError, deterministic_cudnn, train
from codecfake.train.rundir import load_run, read_metrics
from codecfake.train.sampler import ReleaseCSAMBatches, StratifiedBatches

N_CODEC, N_19LA = 740_747, 25_380  # Codecfake train, ASVspoof 2019 LA train


def test_release_draw_at_codecfake_scale_is_the_releases_csam_sampler() -> None:
    domains = np.repeat([0, 1], [N_CODEC, N_19LA])
    s = ReleaseCSAMBatches(domains, 128, seed=688)
    assert s.grab == [123, 4] and s.groups == 5_788 and len(s) == 11_576 and s.pass_batches == 5_743
    first = s._pass(0)
    assert len(first[-1]) == 100 and all(len(b) == 128 for b in first[:-1])  # the pass ends on a short batch
    n_19la = np.array([np.count_nonzero(domains[b]) for b in first])
    assert np.bincount(n_19la).tolist()[4:] == [5_563, 180]  # misaligned groups: 4 or 5 19LA clips a batch
    times = np.bincount(np.concatenate(first), minlength=N_CODEC + N_19LA)
    assert times.max() == 1  # neither sampler runs out within a pass ...
    skipped = times == 0
    assert (skipped[:N_CODEC].sum(), skipped[N_CODEC:].sum()) == (28_823, 2_228)  # ... and each skips clips
    again = np.bincount(np.concatenate(s._pass(1)), minlength=N_CODEC + N_19LA) == 0
    assert again.sum() == skipped.sum() and not np.array_equal(
        again, skipped
    )  # a fresh random skip each pass
    # an epoch is len(DataLoader) steps of one iterator re-created when exhausted: a small case, same rule
    small = ReleaseCSAMBatches(np.repeat([0, 1], [50, 9]), 8, seed=1)  # groups 6 + 1, 7 a pass, 14 an epoch
    assert (small.grab, small.pass_batches, len(small)) == ([6, 1], 7, 14)
    passes = [b for k in range(4) for b in small._pass(k)]
    epochs = [b for e in range(2) for b in ReleaseCSAMBatches(np.repeat([0, 1], [50, 9]), 8, seed=1).epoch(e)]
    assert all(np.array_equal(a, b) for a, b in zip(epochs, passes[:28], strict=True))


def test_exact_draw_keeps_counts_and_carries_streams_where_the_release_skips() -> None:
    domains = np.repeat([0, 1], [N_CODEC, N_19LA])
    exact = StratifiedBatches(domains, 128, seed=688)
    batches = exact.epoch(0)
    assert exact.counts == [124, 4] and len(batches) == 11_576
    assert all(np.count_nonzero(domains[b]) == 4 for b in batches[:50])
    times = np.bincount(np.concatenate(batches), minlength=N_CODEC + N_19LA)[:N_CODEC]
    assert times.min() == 1 and times.max() == 2  # every codec clip once before any clip a second time


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(**{**dict(backend="toy", epochs=2, batch=8, lr=0.05, seed=3), **kw})


def test_training_with_the_release_draw(demo_store, tmp_path: Path, builder) -> None:
    root, _ = (
        demo_store  # 40 codec + 16 vocoder training clips, batch 8: groups of int(40/56*8)=5 + int(16/56*8)=2
    )
    run = train(_cfg(task="cotrain", opt="csam", csam_draw="release", name="rel"), root, tmp_path / "r",
                builder=builder)  # fmt: skip
    assert [r["steps"] for r in read_metrics(run)] == [2 * math.ceil(40 / 8)] * 2
    last = json.loads((run / "checkpoints" / "last.json").read_text())
    assert last["sampler"]["kind"] == "ReleaseCSAMBatches" and last["sampler"]["grab"] == [5, 2]
    with pytest.raises(ConfigError, match="csam_draw"):
        TrainConfig(opt="csam-pd", csam_draw="release")
    with pytest.raises(ConfigError, match="csam_draw"):
        TrainConfig(opt="csam", csam_draw="release", csam_epoch="pass")


@pytest.mark.parametrize(
    ("extractor", "array", "layout"), [("xlsr", "L05", "freq-first"), ("mel", "mel", "time-first")]
)
def test_lcnn_takes_the_releases_layout_for_its_features_and_records_it(
    extractor: str, array: str, layout: str, write_set, tmp_path: Path
) -> None:
    root = tmp_path / "features"
    write_set(
        root, "codecfake", "codec", n_train=8, n_dev=4, frame_shape=(24, 16), extractor=extractor, array=array
    )
    cfg = TrainConfig(backend="lcnn", task="codec", epochs=1, batch=4, name="l")
    run = load_run(train(cfg, root, tmp_path / "runs"))
    assert json.loads((run.run_dir / "config.json").read_text())["lcnn_layout"] == layout
    assert run.model.freq_major == (layout == "freq-first")
    # an explicit layout wins over the features' default
    other = "time-first" if layout == "freq-first" else "freq-first"
    run2 = load_run(train(cfg.replace(lcnn_layout=other, name="l2"), root, tmp_path / "runs"))
    assert run2.config.lcnn_layout == other and run2.model.freq_major == (other == "freq-first")


def test_lcnn_runs_saved_before_the_layout_field_stay_time_first(write_set, tmp_path: Path) -> None:
    root = tmp_path / "features"
    write_set(
        root, "codecfake", "codec", n_train=8, n_dev=4, frame_shape=(24, 16), extractor="xlsr", array="L05"
    )
    cfg = TrainConfig(backend="lcnn", task="codec", epochs=1, batch=4, name="old", lcnn_layout="time-first")
    run_dir = train(cfg, root, tmp_path / "runs")
    saved = json.loads((run_dir / "config.json").read_text())
    del saved["lcnn_layout"]  # as written before the field existed
    (run_dir / "config.json").write_text(json.dumps(saved))
    assert load_run(run_dir).config.lcnn_layout == "time-first" and not load_run(run_dir).model.freq_major
    assert train(cfg, root, tmp_path / "runs") == run_dir  # the same (time-first) command reuses it
    with pytest.raises(TrainError, match="lcnn_layout"):  # today's default on XLS-R features is freq-first
        train(cfg.replace(lcnn_layout="auto"), root, tmp_path / "runs")


def test_cudnn_is_deterministic_on_cuda_as_the_releases_setup_seed() -> None:
    before = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = False, True
        deterministic_cudnn(torch.device("cpu"))
        assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (False, True)
        deterministic_cudnn(torch.device("cuda", 0))  # sets flags only; needs no GPU
        assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (True, False)
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before


def test_runs_record_the_cpu_and_the_numerics_settings_they_ran_under(
    demo_store, tmp_path: Path, builder, monkeypatch
) -> None:
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    root, _ = demo_store
    run = train(_cfg(task="codec", opt="adam", epochs=1, name="cpu"), root, tmp_path / "r", builder=builder)
    cpu = json.loads((run / "provenance.json").read_text())["cpu"]
    assert cpu["model"] and cpu["cores"] >= 1
    assert (
        cpu["numerics_env"].get("MKL_CBWR") == "COMPATIBLE"
        and "ONEDNN_MAX_CPU_ISA" not in cpu["numerics_env"]
    )
