"""Audio loading: resampling, fixed length, and a typed error for every kind of bad file."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codecfake.corpus import (
    CorruptAudio,
    EmptyAudio,
    ManifestRow,
    MissingAudio,
    NonFiniteAudio,
    UnsupportedFormat,
    fix_length,
    load_audio,
    load_clip,
    load_clips,
)


def test_resamples_24k_stereo_to_16k_mono(tmp_path: Path) -> None:
    t = np.arange(24000) / 24000
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    sf.write(tmp_path / "s.wav", np.stack([left, np.zeros_like(left)], axis=1), 24000)
    x = load_audio(tmp_path / "s.wav")
    assert x.dtype == np.float32 and x.shape == (16000,)
    spec = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spec) - 440) <= 1  # 1 Hz bins for 1 s
    assert 0.2 < np.abs(x).max() < 0.3  # mono = mean of channels


@pytest.mark.parametrize(
    "fmt", [("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "OPUS"), ("mp3", "MP3", "MPEG_LAYER_III")]
)
def test_decodes_flac_opus_mp3(tmp_path: Path, fmt: tuple[str, str, str]) -> None:
    ext, f, sub = fmt
    x = 0.3 * np.sin(2 * np.pi * 300 * np.arange(48000) / 48000)
    sf.write(tmp_path / f"a.{ext}", x, 48000, format=f, subtype=sub)
    y = load_audio(tmp_path / f"a.{ext}")
    assert abs(len(y) - 16000) < 1200 and np.isfinite(y).all() and np.abs(y).max() > 0.1


def test_fix_length_crops_first_or_repeat_pads() -> None:
    x = np.arange(10, dtype=np.float32)
    assert np.array_equal(fix_length(x, 4), x[:4])
    y = fix_length(x, 25)
    assert np.array_equal(y, np.tile(x, 3)[:25])
    assert fix_length(np.arange(70000, dtype=np.float32)).shape == (64600,)
    with pytest.raises(ValueError):
        fix_length(np.zeros(0, dtype=np.float32))


def _bad_files(d: Path) -> dict[str, tuple[Path, type]]:
    sf.write(d / "ok.wav", 0.1 * np.ones(8000, dtype=np.float32), 16000)
    (d / "empty.wav").write_bytes(b"")
    sf.write(d / "zero.wav", np.zeros(0, dtype=np.float32), 16000)
    good = (d / "ok.wav").read_bytes()
    (d / "corrupt.wav").write_bytes(b"RIFX" + good[4:12] + b"junkjunk" * 8)
    nan = np.ones(800, dtype=np.float32)
    nan[5] = np.nan
    sf.write(d / "nan.wav", nan, 16000, subtype="FLOAT")
    inf = np.ones(800, dtype=np.float32)
    inf[9] = np.inf
    sf.write(d / "inf.wav", inf, 16000, subtype="FLOAT")
    (d / "clip.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 64)
    return {
        "missing": (d / "missing.wav", MissingAudio),
        "empty": (d / "empty.wav", EmptyAudio),
        "zero": (d / "zero.wav", EmptyAudio),
        "corrupt": (d / "corrupt.wav", CorruptAudio),
        "nan": (d / "nan.wav", NonFiniteAudio),
        "inf": (d / "inf.wav", NonFiniteAudio),
        "unsupported": (d / "clip.m4a", UnsupportedFormat),
    }


@pytest.mark.parametrize("case", ["missing", "empty", "zero", "corrupt", "nan", "inf", "unsupported"])
def test_bad_input_raises_a_typed_error_naming_the_file(tmp_path: Path, case: str) -> None:
    path, err = _bad_files(tmp_path)[case]
    with pytest.raises(err) as e:
        load_clip(path)
    assert str(path) in str(e.value) and e.value.path == str(path)


def test_batch_records_rejects_with_reasons_and_counts_every_row(tmp_path: Path) -> None:
    bad = _bad_files(tmp_path)
    rows = [ManifestRow("ok", "ok.wav", "bonafide", "c", "test", "codec", "C1")]
    rows += [ManifestRow(k, p.name, "spoof", "c", "test", "codec", "C1") for k, (p, _) in bad.items()]
    rep = load_clips(rows, tmp_path)
    assert rep.n_in == len(rows) == 8
    assert rep.accepted == [0] and rep.clips.shape == (1, 64600)
    assert np.allclose(rep.clips[0], 0.1, atol=1e-3)
    reasons = {r.utt_id: r.reason for r in rep.rejects}
    assert set(reasons) == set(bad)
    assert reasons["nan"].startswith("NonFiniteAudio") and reasons["missing"].startswith("MissingAudio")
    assert rep.rejected_indices == list(range(1, 8))
    assert rep.summary() == "in=8 = accepted 1 + rejected 7"


def _speech_like(n: int = 64000) -> np.ndarray:
    return (0.3 * np.sin(np.arange(n) * 0.05) * np.hanning(n)).astype(np.float32)


@pytest.mark.parametrize(("subtype", "fmt"), [("PCM_16", "WAV"), ("FLOAT", "WAV"), ("PCM_24", "WAVEX")])
def test_wav_cut_short_of_its_header_is_corrupt_with_both_lengths(
    tmp_path: Path, subtype: str, fmt: str
) -> None:
    full = tmp_path / "full.wav"
    sf.write(full, _speech_like(), 16000, subtype=subtype, format=fmt)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:3000])  # the header still declares 4 s
    n_decoded = sf.read(cut)[0].shape[0]  # libsndfile reads what is there without a word
    with pytest.raises(
        CorruptAudio, match=rf"decodes to {n_decoded} samples but its header declares 64000"
    ) as err:
        load_audio(cut)
    assert str(cut) in str(err.value) and "re-copy" in str(err.value)
    assert load_audio(full).shape == (64000,)  # the intact file passes


def test_length_check_passes_intact_files_with_chunks_after_the_data(tmp_path: Path) -> None:
    p = tmp_path / "tagged.wav"
    with sf.SoundFile(p, "w", 16000, 1, subtype="PCM_16") as f:
        f.title = "a LIST chunk follows the data"
        f.write(_speech_like())
    assert load_audio(p).shape == (64000,)
    flac = tmp_path / "ok.flac"
    sf.write(flac, _speech_like(), 16000)
    assert load_audio(flac).shape == (64000,)


def test_truncated_clip_becomes_a_reject_in_a_batch(tmp_path: Path) -> None:
    full = tmp_path / "full.wav"
    sf.write(full, _speech_like(), 16000, subtype="PCM_16")
    (tmp_path / "cut.wav").write_bytes(full.read_bytes()[:3000])
    rows = [
        ManifestRow("ok", "full.wav", "bonafide", "x", "train", "codec", "train"),
        ManifestRow("cut", "cut.wav", "bonafide", "x", "train", "codec", "train"),
    ]
    report = load_clips(rows, tmp_path)
    assert report.accepted == [0] and [r.utt_id for r in report.rejects] == ["cut"]
    assert report.rejects[0].reason.startswith(
        "CorruptAudio: decodes to 1478 samples but its header declares 64000"
    )
