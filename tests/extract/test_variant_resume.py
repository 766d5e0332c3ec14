"""A variant set's extraction resumes after a crash like any set: the rerun writes only the missing shards and the
result equals an uninterrupted extraction bit for bit (the variant is a function of the clip, not of the run)."""

from __future__ import annotations

import numpy as np
import pytest

from codecfake.augment.recipe import parse_augment
from codecfake.augment.variant import Variant
from codecfake.corpus import load_manifest
from codecfake.corpus.build.tiny import make_tiny_corpus
from codecfake.extract import build_extractor, writer
from codecfake.extract.pipeline import extract_manifest
from codecfake.store.featurestore import FeatureStore


def test_variant_extraction_resumes_after_a_crash(tmp_path, monkeypatch):
    codec_root, _ = make_tiny_corpus(tmp_path / "corpus", n_speakers=2, clips_per_speaker=3)
    rows = load_manifest("codecfake", codec_root).select(split="train")  # 6 clips: shards of 2
    ext = build_extractor("mel", hop_samples=1024, n_fft=1024, win_length=1024, log=True)
    variant = Variant(
        parse_augment("rawboost:1:algo=5")[0].recipe, of="clean-key", rows={"splits": ["train"]}
    )
    kw = {"batch": 2, "shard_size": 2, "num_workers": 0, "variant": variant}
    full = extract_manifest(rows, ext, tmp_path / "uninterrupted", **kw)

    real, calls = writer.write_buffer, []

    def crash_on_second_shard(fs, buf):
        calls.append(buf.job.shard_index)
        if len(calls) == 2:
            raise OSError("disk gone")
        return real(fs, buf)

    monkeypatch.setattr(writer, "write_buffer", crash_on_second_shard)
    with pytest.raises(OSError, match="disk gone"):
        extract_manifest(rows, ext, tmp_path / "crashed", **kw)
    monkeypatch.setattr(writer, "write_buffer", real)
    partial = FeatureStore(tmp_path / "crashed").open(full.key)
    assert partial.committed("mel") == {0}
    resumed = extract_manifest(rows, ext, tmp_path / "crashed", **kw)
    assert resumed.key == full.key and resumed.is_complete("mel")
    np.testing.assert_array_equal(
        resumed.reader("mel").batch(np.arange(6)), full.reader("mel").batch(np.arange(6))
    )
