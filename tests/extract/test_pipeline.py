"""extract_manifest: values, rejects, resume after kill -9, no-op rerun, adding a layer, dask equality."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from codecfake.corpus import Manifest, ManifestRow, load_clip, load_manifest
from codecfake.corpus.build.tiny import make_tiny_corpus
from codecfake.extract import build_extractor
from codecfake.extract.pipeline import extract_manifest
from codecfake.store.featurestore import FeatureStore


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-corpus")
    make_tiny_corpus(out)
    return out


@pytest.fixture(scope="module")
def manifest(corpus) -> Manifest:
    return load_manifest("codecfake", corpus / "codec")


def _with_bad_rows(manifest: Manifest, tmp_path: Path) -> Manifest:
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF not really a wav file")
    bad = [
        ManifestRow(
            "bad/missing", str(tmp_path / "missing.wav"), "spoof", "codecfake", "train", "codec", "train"
        ),
        ManifestRow(
            "bad/corrupt", str(tmp_path / "corrupt.wav"), "bonafide", "codecfake", "dev", "codec", "dev"
        ),
    ]
    rows = list(manifest.rows)
    return Manifest(rows[:5] + bad[:1] + rows[5:] + bad[1:], manifest.root, manifest.name)


def _arrays(fs, name: str) -> np.ndarray:
    reader = fs.reader(name)
    return np.stack([np.asarray(reader[i]) for i in range(len(reader))])  # (N, T, D) fp16


def test_values_meta_and_rejects(manifest, tmp_path):
    m = _with_bad_rows(manifest, tmp_path)
    ext = build_extractor("mel")
    fs = extract_manifest(m, ext, tmp_path / "store", batch=3, shard_size=4, num_workers=1)
    assert fs.is_complete("mel") and fs.n_clips == len(m) == 32
    stored = _arrays(fs, "mel")
    assert stored.shape == (32, 505, 80) and stored.dtype == np.float32  # the release's power mel, kept exact
    valid = fs.valid("mel")
    rejects = {r["utt_id"]: r["reason"] for r in fs.rejects("mel")}
    assert set(rejects) == {"bad/missing", "bad/corrupt"}
    assert rejects["bad/missing"].startswith("MissingAudio")
    assert valid.sum() + len(rejects) == len(m)  # counts reconcile
    assert not stored[~valid].any()  # rejected clips are zeros
    for i in (0, 7, 30):
        want = ext(torch.from_numpy(load_clip(m.resolve(m[i])))[None])["mel"][0].numpy()
        np.testing.assert_array_equal(stored[i], want)
    assert list(fs.meta["utt_id"]) == [r.utt_id for r in m]
    assert list(fs.meta["label"]) == [r.label_int for r in m]
    assert list(fs.meta["split"]) == [r.split for r in m]
    assert fs.spec.manifest_sha256 == m.content_hash()
    assert fs.provenance["extra"]["extractor"]["model_id"] == "mel-80-512-128"


def test_rerun_of_finished_set_is_a_noop(manifest, tmp_path, caplog):
    store = tmp_path / "store"
    fs = extract_manifest(manifest, build_extractor("mel"), store, shard_size=8, num_workers=0)
    shard_files = sorted((store / fs.key / "mel").rglob("c/*/0/0"))
    mtimes = [p.stat().st_mtime_ns for p in shard_files]
    with caplog.at_level(logging.INFO, logger="codecfake.extract"):
        again = extract_manifest(manifest, build_extractor("mel"), store, shard_size=8, num_workers=0)
    assert again.key == fs.key
    assert "already committed; nothing to do" in caplog.text
    assert [p.stat().st_mtime_ns for p in shard_files] == mtimes and len(mtimes) == fs.n_shards


_KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    import torch
    from codecfake.corpus import load_manifest
    from codecfake.extract import build_extractor
    from codecfake.extract.pipeline import extract_manifest

    torch.set_num_threads(1)
    mel = build_extractor("mel")

    class Slow:  # the real extractor, slowed so the parent can kill mid-run
        def __getattr__(self, name):  # every attribute is the real extractor's, so the set's key is the same
            return getattr(mel, name)
        def __call__(self, wave):
            time.sleep(0.15)
            return mel(wave)

    m = load_manifest("codecfake", sys.argv[1])
    extract_manifest(m, Slow(), sys.argv[2], batch=2, shard_size=3, num_workers=0)
""")


def test_kill_9_then_resume_equals_uninterrupted(manifest, corpus, tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    script = tmp_path / "run.py"
    script.write_text(_KILL_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(corpus / "codec"), str(killed)])
    ext = build_extractor("mel")
    key = None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            store = FeatureStore(killed)
            if key is None and store.keys():
                key = store.keys()[0]
            if key and "mel" in store.open(key).arrays and len(store.open(key).committed("mel")) >= 3:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "extraction finished before it could be killed"
    fs = FeatureStore(killed).open(key)
    assert 3 <= len(fs.committed("mel")) < fs.n_shards
    resumed = extract_manifest(manifest, ext, killed, batch=2, shard_size=3, num_workers=0)
    assert resumed.key == key  # the killed set itself was resumed
    full = extract_manifest(manifest, ext, clean, batch=2, shard_size=3, num_workers=0)
    assert resumed.key == full.key and resumed.is_complete("mel")
    np.testing.assert_array_equal(_arrays(resumed, "mel"), _arrays(full, "mel"))  # bit for bit
    np.testing.assert_array_equal(resumed.valid("mel"), full.valid("mel"))


def test_adding_a_layer_keeps_the_first(manifest, tiny_xlsr, tmp_path):
    small = Manifest(manifest.rows[:6], manifest.root, manifest.name)
    one = extract_manifest(
        small,
        build_extractor("xlsr", model_dir=tiny_xlsr, layers=(1,)),
        tmp_path,
        shard_size=4,
        num_workers=0,
    )
    l01_files = sorted((tmp_path / one.key / "L01").rglob("c/*/0/0"))
    mtimes = [p.stat().st_mtime_ns for p in l01_files]
    both_ext = build_extractor("xlsr", model_dir=tiny_xlsr, layers=(1, 2))
    both = extract_manifest(small, both_ext, tmp_path, shard_size=4, num_workers=0)
    assert both.key == one.key  # layers are not part of the key
    assert {"L01", "L02"} <= set(both.arrays) and both.is_complete("L02")
    assert [p.stat().st_mtime_ns for p in l01_files] == mtimes
    direct = both_ext(torch.from_numpy(load_clip(small.resolve(small[5])))[None])
    np.testing.assert_allclose(_arrays(both, "L02")[5], direct["L02"][0].half().numpy(), rtol=1e-3, atol=1e-3)


def test_dask_two_local_workers_equal_single_process(manifest, tmp_path):
    """Non-default constructor arguments (hop 512, log, 48,000 samples) reach the dask workers' extractors."""
    ext = build_extractor("mel", hop_samples=512, log=True, n_samples=48000)
    single = extract_manifest(manifest, ext, tmp_path / "single", batch=4, shard_size=8, num_workers=0)
    dask = extract_manifest(manifest, ext, tmp_path / "dask", batch=4, shard_size=8, cluster="local:2")
    assert dask.key == single.key and dask.is_complete("mel")
    assert dask.frame_shape("mel") == (48000 // 512 + 1, 80)
    np.testing.assert_array_equal(_arrays(dask, "mel"), _arrays(single, "mel"))  # bit for bit


@pytest.mark.slow
def test_dask_ssl_with_short_clips_equals_single_process(manifest, tiny_xlsr, tmp_path):
    small = Manifest(manifest.rows[:8], manifest.root, manifest.name)
    ext = build_extractor("xlsr", model_dir=tiny_xlsr, layers=(1,), n_samples=16000)
    single = extract_manifest(small, ext, tmp_path / "single", batch=4, shard_size=4, num_workers=0)
    dask = extract_manifest(small, ext, tmp_path / "dask", batch=4, shard_size=4, cluster="local:2")
    assert dask.key == single.key and dask.frame_shape("L01") == ext.arrays()["L01"]
    assert ext.arrays()["L01"][0] == 49  # 16,000 samples, not the default 64,600
    # workers run other BLAS thread counts, so float sums may round one float16 step apart
    np.testing.assert_allclose(_arrays(dask, "L01"), _arrays(single, "L01"), rtol=2e-3, atol=1e-3)


def test_dask_worker_rebuilds_the_sets_extractor_from_its_spec(manifest, tmp_path):
    from codecfake.extract.distributed import worker_extractor
    from codecfake.extract.pipeline import open_feature_set

    ext = build_extractor("mel", hop_samples=512, n_fft=1024, win_length=1024, log=True, n_samples=48000)
    fs = open_feature_set(manifest, ext, FeatureStore(tmp_path), "create", 8)
    rebuilt = worker_extractor(fs, ["mel"], None, "cpu")
    assert rebuilt.config == ext.config and rebuilt.n_samples == 48000


def test_power_mel_of_a_loud_clip_past_float16_is_stored_exactly(tmp_path):
    import soundfile as sf

    t = np.arange(64600) / 16000
    # a float WAV may go past ±1 (PCM cannot: power mels of |x| <= 1 stay below ~39,000, under float16's 65,504)
    loud = (2.0 * np.sign(np.sin(2 * np.pi * 4011 * t))).astype(np.float32)
    loud[:8000] *= 1e-4  # a quiet start: power values far below float16's normal range (6.1e-5)
    sf.write(tmp_path / "loud.wav", loud, 16000, subtype="FLOAT")
    m = Manifest(
        [ManifestRow("loud", str(tmp_path / "loud.wav"), "bonafide", "x", "train", "codec", "train")],
        tmp_path,
        "loud",
    )
    ext = build_extractor("mel")
    want = ext(torch.from_numpy(load_clip(tmp_path / "loud.wav"))[None])["mel"][
        0
    ].numpy()  # (505, 80) float32
    assert want.max() > np.finfo(np.float16).max  # this clip overflows float16
    assert (want < np.finfo(np.float16).tiny).any()  # and has values float16 would store as subnormals
    fs = extract_manifest(m, ext, tmp_path / "store", num_workers=0)
    assert fs.spec.dtype == "float32" and fs.valid("mel").all() and not fs.rejects("mel")
    np.testing.assert_array_equal(fs.reader("mel")[0], want)  # exact, not clipped, not inf
