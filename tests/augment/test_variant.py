"""A variant is a pure function of (recipe, index, seed, clip) that differs from the clean clip and stays aligned; a
failing, non-finite or silent one becomes a reject with its reason."""

from __future__ import annotations

import numpy as np
import pytest

from codecfake.augment import variant as variant_mod
from codecfake.augment.recipe import parse_augment, parse_degrade
from codecfake.augment.variant import Variant
from codecfake.corpus.build.chain import estimate_delay
from codecfake.corpus.build.tiny import synth_voice


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    x = synth_voice(np.random.default_rng(0), seconds=1.0)  # (16000,) speech-like, 16 kHz
    return x.astype(np.float32)


@pytest.mark.parametrize(
    "text", ["rawboost", "rawboost:1:algo=3", "codec:1:codecs=gsm", "resample", "lowpass", "noise"]
)
def test_variant_is_reproducible_and_differs_from_the_clean_clip(clip, text):
    recipe = parse_augment(text)[0].recipe
    v0 = Variant(recipe, index=0, seed=7)
    a, reason = v0(clip, "spk1_001")
    assert reason == "" and a.dtype == np.float32 and a.shape == clip.shape
    b, _ = Variant(recipe, index=0, seed=7)(clip.copy(), "spk1_001")  # a fresh object, as another worker has
    assert np.array_equal(a, b)
    assert not np.allclose(a, clip, atol=1e-4)
    if text not in ("codec:1:codecs=gsm", "resample"):  # random draws per clip / index / seed
        assert not np.array_equal(a, Variant(recipe, index=1, seed=7)(clip, "spk1_001")[0])
        assert not np.array_equal(a, Variant(recipe, index=0, seed=8)(clip, "spk1_001")[0])
        assert not np.array_equal(a, v0(clip, "spk1_002")[0])


@pytest.mark.parametrize("name", ["mp3:32k", "opus:12k", "amr", "g726:32k"])
def test_codec_variants_stay_sample_aligned(clip, name):
    y, reason = Variant(parse_degrade(name)[0], role="degrade")(clip, "u")
    assert reason == ""
    assert estimate_delay(y, clip, 400) == 0
    assert np.corrcoef(y, clip)[0, 1] > 0.6  # AMR-NB at 12.2k keeps the waveform only roughly


def test_spec_entry_records_what_changes_the_samples():
    v = Variant(
        parse_augment("noise:2:snr=5..10")[0].recipe,
        index=1,
        seed=3,
        of="c.mel.abc",
        rows={"splits": ["train"]},
    )
    e = v.spec_entry()
    assert (e["tag"], e["family"], e["index"], e["seed"], e["of"]) == ("noise1", "noise", 1, 3, "c.mel.abc")
    assert e["params"]["snr"] == [5.0, 10.0] and e["rows"] == {"splits": ["train"]}
    assert Variant(parse_degrade("mp3:32k")[0], role="degrade").tag == "deg-mp3-32k"


def test_failures_become_rejects_with_their_reason(clip, tmp_path, monkeypatch):
    missing = parse_augment(f"noise:1:dir={tmp_path / 'none'}")[0].recipe
    y, reason = Variant(missing)(clip, "u")
    assert reason.startswith("AugmentFailed: noise: AugmentError") and "no .wav" in reason
    assert not y.any()
    high = (0.3 * np.sin(2 * np.pi * 7500 * np.arange(16000) / 16000)).astype(np.float32)
    y, reason = Variant(parse_augment("lowpass:1:cut=1000")[0].recipe)(high, "u")
    assert reason.startswith("AugmentSilent") and not y.any()
    monkeypatch.setattr(variant_mod, "_apply_fn", lambda family: lambda x, rng, p: np.full_like(x, np.nan))
    y, reason = Variant(parse_augment("rawboost")[0].recipe)(clip, "u")
    assert reason.startswith("AugmentNonFinite") and not y.any()
