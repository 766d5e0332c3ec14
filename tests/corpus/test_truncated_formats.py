"""Length checks for formats whose headers only estimate the length: a file cut short is CorruptAudio, whole ones
pass. libsndfile itself decodes what is left and reports that as the file's length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codecfake.corpus import CorruptAudio, load_audio
from codecfake.corpus.containers import _mpeg_frame_length

FORMATS = {  # name: (format, subtype, suffix, sample rate)
    "mp3": ("MP3", "MPEG_LAYER_III", "mp3", 16000),
    "vorbis": ("OGG", "VORBIS", "ogg", 16000),
    "opus": ("OGG", "OPUS", "opus", 16000),
    "ima-adpcm": ("WAV", "IMA_ADPCM", "wav", 16000),
    "ms-adpcm": ("WAV", "MS_ADPCM", "wav", 16000),
    "gsm": ("WAV", "GSM610", "wav", 8000),
}
WHY = {  # what each container shows when cut
    "mp3": "its Xing/Info tag declares 32000",
    "vorbis": "last Ogg page",
    "opus": "last Ogg page",
    "ima-adpcm": "its data chunk declares",
    "ms-adpcm": "its data chunk declares",
    "gsm": "its data chunk declares",
}


def _write(tmp_path: Path, name: str) -> Path:
    fmt, subtype, suffix, rate = FORMATS[name]
    t = np.arange(2 * rate) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + t)) + 0.01 * np.random.default_rng(0).standard_normal(len(t))
    path = tmp_path / f"whole.{suffix}"
    sf.write(path, x.astype(np.float32), rate, format=fmt, subtype=subtype)
    return path


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_cut_files_are_corrupt_and_whole_ones_load(tmp_path: Path, name: str) -> None:
    whole = _write(tmp_path, name)
    assert load_audio(whole).shape[0] > 0
    raw = whole.read_bytes()
    cut = whole.with_name(f"cut{whole.suffix}")
    cut.write_bytes(raw[: int(len(raw) * 0.9)])
    decoded = sf.read(cut)[0].shape[0]  # what libsndfile makes of it, silently
    assert 0 < decoded
    with pytest.raises(CorruptAudio, match=WHY[name]) as err:
        load_audio(cut)
    assert f"decodes to {decoded} samples" in str(err.value) and str(cut) in str(err.value)


def test_mp3_without_a_xing_tag_is_walked_frame_by_frame(tmp_path: Path) -> None:
    raw = _write(tmp_path, "mp3").read_bytes()
    first = _mpeg_frame_length(raw[:4])
    assert first and b"Xing" in raw[:first]  # LAME's tag sits in a first, silent frame
    plain = tmp_path / "plain.mp3"
    plain.write_bytes(raw[first:])  # a CBR-style file: frames only, no length anywhere
    assert load_audio(plain).shape[0] > 0
    at_frame = _mpeg_frame_length(raw[first : first + 4])
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(raw[first : len(raw) - at_frame // 2])  # ends half way into its last frame
    with pytest.raises(CorruptAudio, match=r"its last MPEG frame \(number \d+\) needs \d+ more bytes"):
        load_audio(cut)
