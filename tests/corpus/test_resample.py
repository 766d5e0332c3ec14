"""The release's resampler (librosa 0.9.1 load = resampy kaiser_best + ceil length) against resampy's own output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from codecfake.corpus import load_audio, load_clip
from codecfake.corpus.resample import UnknownResampler, kaiser_best, release_length, resample

GOLDEN = Path(__file__).resolve().parent / "data" / "resampy_kaiser_best.npz"


@pytest.mark.parametrize("rate", [24000, 44100, 22050])
def test_kaiser_best_equals_resampy_with_librosas_length(rate: int) -> None:
    z = np.load(GOLDEN)
    x, want = z[f"x_{rate}"], z[f"y_{rate}"]
    got = kaiser_best(x, rate, 16000)
    assert got.dtype == np.float32 and len(got) == len(want) == release_length(len(x), rate, 16000)
    # one float32 accumulation per tap as resampy; the rebuilt filter table differs from resampy's file by 2e-15
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)
    assert np.array_equal(kaiser_best(x, rate, 16000, n_out=len(want) // 2), got[: len(want) // 2])


def test_load_audio_offers_both_resamplers_and_refuses_others(tmp_path: Path) -> None:
    x = np.load(GOLDEN)["x_24000"]
    path = tmp_path / "codec24k.wav"
    sf.write(
        path, np.stack([x, x], axis=1), 24000, subtype="FLOAT"
    )  # stereo: mono = channel mean, as librosa
    release = load_audio(path, resampler="kaiser_best")
    assert np.array_equal(release, kaiser_best(x, 24000, 16000))
    assert np.array_equal(load_audio(path), soxr.resample(x, 24000, 16000).astype(np.float32))  # the default
    assert not np.allclose(release[: len(load_audio(path))], load_audio(path), atol=1e-4)
    clip = load_clip(
        path, n_samples=4000, resampler="kaiser_best"
    )  # 1,601 samples tiled, the padded zero too
    assert np.array_equal(clip, np.tile(release, 3)[:4000])
    with pytest.raises(UnknownResampler, match="kaiser_fast"):
        load_audio(path, resampler="kaiser_fast")
    with pytest.raises(UnknownResampler, match="soxr_hq, kaiser_best"):
        resample(x, 24000, 16000, "sinc")
