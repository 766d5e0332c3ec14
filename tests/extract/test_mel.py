"""Mel extractor against an independent numpy computation of torchaudio's MelSpectrogram defaults."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from codecfake.extract import build_extractor
from codecfake.extract.errors import UnknownExtractor
from codecfake.extract.mel import mel_filterbank


def _numpy_filterbank(n_freqs: int, n_mels: int, sr: int) -> np.ndarray:
    """HTK triangles written out bin by bin: rise from centre m-1 to m, fall to m+1, peak 1."""
    mel_max = 2595.0 * math.log10(1.0 + (sr / 2) / 700.0)
    centres_hz = [700.0 * (10 ** (mel_max * i / (n_mels + 1) / 2595.0) - 1.0) for i in range(n_mels + 2)]
    fb = np.zeros((n_freqs, n_mels))
    for j in range(n_freqs):
        f = j * (sr / 2) / (n_freqs - 1)
        for m in range(n_mels):
            lo, mid, hi = centres_hz[m], centres_hz[m + 1], centres_hz[m + 2]
            if lo <= f <= mid:
                fb[j, m] = (f - lo) / (mid - lo)
            elif mid < f <= hi:
                fb[j, m] = (hi - f) / (hi - mid)
    return fb


def _numpy_mel(x: np.ndarray, n_fft=512, hop=128, n_mels=80, sr=16000) -> np.ndarray:
    padded = np.pad(x, n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[t * hop : t * hop + n_fft] * window for t in range(n_frames)])  # (T, n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (T, F)
    return power @ _numpy_filterbank(n_fft // 2 + 1, n_mels, sr)  # (T, M)


def test_filterbank_matches_written_out_formula():
    ours = mel_filterbank(257, 80, 16000).numpy()
    ref = _numpy_filterbank(257, 80, 16000)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    assert ours.shape == (257, 80) and np.all(ours.max(axis=0) <= 1.0)
    assert np.all(ours.sum(axis=0) > 0)  # no empty band at 257 bins / 80 mels


def test_505_frames_and_values_match_numpy():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(64600)).astype(np.float32)
    raw = build_extractor("mel", log=False)
    assert raw.arrays() == {"mel": (505, 80)}
    out = raw(torch.from_numpy(np.stack([x, x[::-1].copy()])))["mel"]  # (B, T, M)
    assert out.shape == (2, 505, 80) and out.dtype == torch.float32
    ref = _numpy_mel(x.astype(np.float64))
    np.testing.assert_allclose(out[0].numpy(), ref, rtol=1e-3, atol=1e-4)


def test_log_option_natural_log_with_floor_recorded():
    x = torch.zeros(1, 64600)
    x[0, 30000:31000] = torch.sin(torch.arange(1000) * 0.3)
    raw = build_extractor("mel", log=False)(x)["mel"]
    logged_ext = build_extractor("mel", log=True)
    logged = logged_ext(x)["mel"]
    floor = logged_ext.spec_fields()["params"]["log_floor"]
    torch.testing.assert_close(logged, torch.log(torch.clamp(raw, min=floor)))
    assert logged.min().item() == pytest.approx(math.log(floor))  # silent frames sit on the floor
    assert logged_ext.spec_fields()["params"]["log"] is True
    assert build_extractor("mel", log=False).spec_fields()["params"]["log"] is False
    assert logged_ext.spec_fields()["model_id"] == "mel-80-512-128"


def test_unknown_extractor_and_parameter():
    with pytest.raises(UnknownExtractor, match="hubert"):
        build_extractor("hubert")
    with pytest.raises(UnknownExtractor, match="n_melz"):
        build_extractor("mel", n_melz=40)


def test_default_is_the_release_power_mel_stored_float32():
    ext = build_extractor(
        "mel"
    )  # preprocess.py:89: MelSpectrogram(n_mels=80, n_fft=512, hop_length=128), no log
    params = ext.spec_fields()["params"]
    assert (params["log"], params["power"], params["hop_samples"], params["n_fft"]) == (False, 2.0, 128, 512)
    assert ext.dtype == "float32" and build_extractor("mel", log=True).dtype == "float16"


def test_log_mel_spec_is_unchanged_so_demo_keys_stay():
    """The demo's log-mel hop-512 spec, written out as it was before the power default: its key must not move."""
    from codecfake.store.spec import FeatureSetSpec

    ext = build_extractor("mel", log=True, hop_samples=512)
    spec = FeatureSetSpec(
        corpus="mini-codecfake",
        manifest_sha256="0" * 64,
        extractor="mel",
        dtype=ext.dtype,
        **ext.spec_fields(),
    )
    assert spec.key == "mini-codecfake.mel.32aa5baaffe1"
