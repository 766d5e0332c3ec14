"""Extraction defaults: decode workers from the available cores, the batch from the device, per-stage timings."""

from __future__ import annotations

import pytest
import torch

from codecfake.corpus import load_manifest
from codecfake.corpus.build.tiny import make_tiny_corpus
from codecfake.extract import build_extractor, tuning
from codecfake.extract.pipeline import extract_manifest


@pytest.mark.parametrize(("cores", "workers"), [(1, 1), (2, 1), (16, 15), (64, 63)])
def test_decode_workers_leave_one_core_for_the_model(cores: int, workers: int) -> None:
    assert tuning.default_num_workers(cores) == workers


def test_available_cores_follow_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning.os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert tuning.available_cores() == 3 and tuning.default_num_workers() == 2


def test_cpu_keeps_batch_8() -> None:
    assert tuning.default_batch(build_extractor("mel"), shard_size=256) == tuning.CPU_BATCH == 8


class _CudaLike:
    device = torch.device("cuda")
    n_samples = 64600


@pytest.mark.parametrize(
    ("limit", "shard", "expected"), [(40, 256, 32), (10_000, 256, 128), (10_000, 48, 32), (0, 256, 1)]
)
def test_cuda_batch_is_the_largest_power_of_two_that_fits(
    monkeypatch: pytest.MonkeyPatch, limit: int, shard: int, expected: int
) -> None:
    tried: list[int] = []

    def fits(ext, batch, n_samples, device):
        tried.append(batch)
        return batch <= limit

    monkeypatch.setattr(tuning, "_fits", fits)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "fake GPU")
    assert tuning.default_batch(_CudaLike(), shard_size=shard) == expected
    assert tried == [2**k for k in range(len(tried))] and max(tried) <= min(tuning.MAX_BATCH, shard)


def test_local_run_reports_stage_timings(tmp_path) -> None:
    make_tiny_corpus(tmp_path / "corpus")
    manifest = load_manifest("codecfake", tmp_path / "corpus" / "codec")
    timings: dict[str, float] = {}
    fs = extract_manifest(
        manifest, build_extractor("mel"), tmp_path / "store", shard_size=8, num_workers=0, timings=timings
    )
    assert fs.is_complete("mel")
    assert set(timings) == {"decode_wait_s", "forward_s", "write_wait_s", "write_s"}
    assert timings["forward_s"] > 0 and timings["write_s"] > 0 and min(timings.values()) >= 0
