"""Codecs round-trip real audio; the shared chain aligns, band-limits and level-matches bona fide and fakes alike."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codecfake.corpus.build.chain import ChainConfig, align, estimate_delay, finish, to_rate
from codecfake.corpus.build.codecs import DEFAULT_TABLE, REGISTRY, CodecError, CodecSpec, get_codec
from codecfake.corpus.build.plan import Utterance
from codecfake.corpus.build.render import render_codec_item
from codecfake.corpus.build.sources import SourceClip
from codecfake.corpus.build.tiny import synth_voice

CFG = ChainConfig()


@pytest.fixture(scope="module")
def voice8k() -> np.ndarray:
    x = np.concatenate([synth_voice(np.random.default_rng(s), 1.5) for s in range(3)])  # (72000,) at 16 kHz
    return to_rate(x, 16000, 8000)


def _logspec(x: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(x, 256)[::128] * np.hanning(256)  # (T, 256)
    return np.log(np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-8).ravel()


@pytest.mark.parametrize("cond", sorted(DEFAULT_TABLE))
def test_default_codecs_change_the_audio_but_keep_it_recognisable(cond: str, voice8k: np.ndarray) -> None:
    codec = get_codec(DEFAULT_TABLE[cond])
    assert codec.rate_hz == 8000
    y = align(codec(voice8k), voice8k, CFG.max_delay)
    assert y.shape == voice8k.shape and np.isfinite(y).all()
    corr = np.corrcoef(_logspec(y), _logspec(voice8k))[
        0, 1
    ]  # codec 2 is parametric: compare spectra, not waves
    err = np.sqrt(np.mean((y - voice8k) ** 2) / np.mean(voice8k**2))
    assert err > 0.01, f"{codec.name} is bit-transparent: not a fake"
    assert corr > 0.6, f"{codec.name}: output unrelated to input (corr {corr:.2f})"


def test_codec_specs_parse_options_and_reject_bad_ones() -> None:
    assert get_codec("opus:bitrate=12000").name == "opus-12k"
    assert get_codec("codec2:mode=700").name == "codec2-700"
    with pytest.raises(CodecError, match="unknown codec 'speex'"):
        get_codec("speex")
    with pytest.raises(CodecError, match="bad option"):
        get_codec("gsm:bitrate=1")
    with pytest.raises(CodecError, match="not a int"):
        get_codec("mp3:bitrate=fast")


def test_align_recovers_a_known_codec_delay(voice8k: np.ndarray) -> None:
    delayed = np.concatenate([0.001 * np.ones(137, dtype=np.float32), voice8k])
    assert estimate_delay(delayed, voice8k, 500) == 137
    assert np.allclose(align(delayed, voice8k, 500), voice8k)
    early = voice8k[40:]
    assert estimate_delay(early, voice8k, 500) == -40


def test_finish_gives_fixed_length_level_and_no_energy_above_the_band_edge(voice8k: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    y = finish(voice8k[: CFG.n_internal], CFG, rng)
    assert y.shape == (64600,) and y.dtype == np.float32
    rms_db = 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    assert abs(rms_db - CFG.level_dbfs) < 0.5
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / 16000)
    above = spec[f > CFG.lowpass_hz + 50].mean()
    below = spec[(f > 200) & (f < 3000)].mean()
    dither_power = (10 ** (CFG.dither_dbfs / 20)) ** 2 * len(y)  # white-noise power per FFT bin
    assert above < 3 * dither_power and below > 1000 * above
    assert np.count_nonzero(y == 0) < 10  # dither: no digital silence


def _clips(tmp_path: Path, n: int = 3) -> tuple[SourceClip, ...]:
    out = []
    for i in range(n):
        p = tmp_path / f"c{i}.wav"
        sf.write(p, synth_voice(np.random.default_rng(i), 1.6), 16000)
        out.append(SourceClip(str(p), "sf", "test", "spk", "en", "", 1.6))
    return tuple(out)


def test_identity_codec_gives_the_bona_fide_back_so_only_the_codec_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Identity:
        name, rate_hz = "identity", 8000

        def __call__(self, x: np.ndarray) -> np.ndarray:
            return np.concatenate([np.zeros(25, dtype=np.float32) + 1e-4, x])  # a pure 25-sample codec delay

    monkeypatch.setitem(REGISTRY, "identity", CodecSpec(lambda: Identity()))
    utt = Utterance("spk_0001", _clips(tmp_path), "spk", "en", "", "test", "train")
    out = render_codec_item(utt, {"C1": "identity", "C4": "gsm"}, CFG, seed=1)
    real, same, gsm = out["real"], out["C1"], out["C4"]
    dither = 10 ** (CFG.dither_dbfs / 20)
    assert np.abs(real - same).max() < 12 * dither  # only the two dither draws differ
    assert np.abs(real - gsm).max() > 100 * dither
    for x in out.values():
        assert (
            abs(np.sqrt(np.mean(x.astype(np.float64) ** 2)) - np.sqrt(np.mean(real.astype(np.float64) ** 2)))
            < 1e-3
        )
