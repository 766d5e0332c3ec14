"""Classical codecs as encode→decode round trips, and the registry ``get_codec("opus:bitrate=6000")``.

A codec maps (n,) float32 at its ``rate_hz`` to (m,) float32 at the same rate (m ≈ n; decoder delay is removed later
by alignment in ``chain.align``). All run in memory through PyPI wheels: PyAV (bundled FFmpeg), soundfile
(libsndfile) and pycodec2's libcodec2 (``codec2_isolated``). The neural codecs (transformers) come from
``codecfake.corpus.build.neural``; what a codec and a registry entry are, from ``codecfake.corpus.build.codec_spec``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import cast

import av
import numpy as np
import soundfile as sf
import soxr

from codecfake.corpus.build.codec_spec import Codec, CodecError, CodecSpec
from codecfake.corpus.build.neural import NEURAL_CODECS


def _to_float(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.int16:
        return a.astype(np.float32) / 32768.0
    if a.dtype == np.int32:
        return a.astype(np.float32) / 2147483648.0
    return a.astype(np.float32)


@dataclass(frozen=True)
class PyAVCodec:
    """Round trip through an FFmpeg encoder (``codec``) in container ``container`` at ``bit_rate`` bps."""

    name: str
    codec: str
    container: str
    bit_rate: int
    rate_hz: int = 8000
    sample_fmt: str = "s16"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        buf = io.BytesIO()
        with av.open(buf, "w", format=self.container) as out:
            # every REGISTRY entry names an audio encoder, which add_stream's typing cannot tell from a string
            st = cast(av.AudioStream, out.add_stream(self.codec, rate=self.rate_hz))
            st.bit_rate = self.bit_rate
            st.layout = "mono"
            clipped = np.clip(x, -1.0, 1.0)
            if self.sample_fmt.startswith("s16"):
                pcm = (clipped * 32767).astype(np.int16)[None, :]  # (1, n)
            else:
                pcm = clipped.astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(pcm, format=self.sample_fmt, layout="mono")
            frame.sample_rate = self.rate_hz
            for packet in st.encode(frame):
                out.mux(packet)
            for packet in st.encode(None):
                out.mux(packet)
        buf.seek(0)
        chunks, out_rate = [], self.rate_hz
        with av.open(buf, "r") as inp:
            for fr in inp.decode(audio=0):
                a = _to_float(fr.to_ndarray())  # (channels, n) or (1, n*channels) when packed
                chunks.append(a.mean(axis=0) if a.shape[0] > 1 else a[0])
                out_rate = fr.sample_rate
        if not chunks:
            raise CodecError(f"codec {self.name}: decoder returned no audio for a {len(x)}-sample clip")
        y = np.concatenate(chunks)
        if out_rate != self.rate_hz:  # e.g. the Opus decoder always outputs 48 kHz
            y = soxr.resample(y, out_rate, self.rate_hz)
        return y.astype(np.float32)


@dataclass(frozen=True)
class SoundfileCodec:
    """Round trip through libsndfile ``fmt``/``subtype`` (GSM 6.10, G.721 = G.726 32 kbit/s, …)."""

    name: str
    fmt: str
    subtype: str
    rate_hz: int = 8000

    def __call__(self, x: np.ndarray) -> np.ndarray:
        buf = io.BytesIO()
        sf.write(buf, np.clip(x, -1.0, 1.0), self.rate_hz, format=self.fmt, subtype=self.subtype)
        buf.seek(0)
        y, _ = sf.read(buf, dtype="float32")
        return y


@dataclass(frozen=True)
class Codec2Codec:
    """Codec 2 (parametric vocoder-codec) at ``mode`` bit/s, 8 kHz: pycodec2's libcodec2, freshly loaded per clip.

    Through pycodec2 itself the output depends on what the process decoded before (a static noise generator in the
    library); ``codec2_isolated`` makes it a function of the input alone.
    """

    name: str
    mode: int = 1300
    rate_hz: int = 8000

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from codecfake.corpus.build.codec2_isolated import round_trip

        spf = 320 if self.mode in (700, 1200, 1300, 1400, 1600) else 160  # 40 ms or 20 ms frames at 8 kHz
        n = int(np.ceil(len(x) / spf)) * spf
        pcm = np.zeros(n, dtype=np.int16)
        pcm[: len(x)] = (np.clip(x, -1.0, 1.0) * 32767).astype(np.int16)
        return (round_trip(pcm, self.mode).astype(np.float32) / 32768.0)[: len(x)]


REGISTRY: dict[str, CodecSpec] = {
    "opus": CodecSpec(
        lambda bitrate, rate: PyAVCodec(f"opus-{bitrate // 1000}k", "libopus", "ogg", bitrate, rate, "flt"),
        {"bitrate": 6000, "rate": 8000},
        "Opus (libopus via PyAV)",
    ),
    "mp3": CodecSpec(
        lambda bitrate, rate: PyAVCodec(
            f"mp3-{bitrate // 1000}k", "libmp3lame", "mp3", bitrate, rate, "fltp"
        ),
        {"bitrate": 16000, "rate": 8000},
        "MP3 (LAME via PyAV)",
    ),
    "amrnb": CodecSpec(
        lambda bitrate: PyAVCodec(f"amrnb-{bitrate / 1000:g}k", "libopencore_amrnb", "amr", bitrate, 8000),
        {"bitrate": 4750},
        "AMR-NB (opencore via PyAV), 8 kHz",
    ),
    "aac": CodecSpec(
        lambda bitrate, rate: PyAVCodec(f"aac-{bitrate // 1000}k", "aac", "adts", bitrate, rate, "fltp"),
        {"bitrate": 24000, "rate": 8000},
        "AAC-LC (FFmpeg aac via PyAV)",
    ),
    "g726": CodecSpec(
        lambda bitrate: PyAVCodec(f"g726-{bitrate // 1000}k", "g726", "wav", bitrate, 8000),
        {"bitrate": 32000},
        "G.726 ADPCM (FFmpeg via PyAV), 8 kHz",
    ),
    "gsm": CodecSpec(
        lambda: SoundfileCodec("gsm610", "WAV", "GSM610", 8000), {}, "GSM 06.10 full rate (libsndfile)"
    ),
    "g721": CodecSpec(
        lambda: SoundfileCodec("g721-32k", "WAV", "G721_32", 8000), {}, "G.721 ADPCM 32 kbit/s (libsndfile)"
    ),
    "codec2": CodecSpec(
        lambda mode: Codec2Codec(f"codec2-{mode}", mode), {"mode": 1300}, "Codec 2 (pycodec2), 8 kHz"
    ),
    **NEURAL_CODECS,
}


def get_codec(spec: str) -> Codec:
    """``NAME[:key=value,…]`` → a codec, e.g. ``opus:bitrate=12000``, ``codec2:mode=700``, ``encodec:model_dir=DIR``."""
    name, _, opts = spec.partition(":")
    if name not in REGISTRY:
        raise CodecError(f"unknown codec {name!r} in {spec!r}; known: {sorted(REGISTRY)}")
    entry = REGISTRY[name]
    kwargs = dict(entry.defaults)
    for item in filter(None, opts.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in entry.defaults:
            raise CodecError(f"codec {name}: bad option {item!r}; options: {entry.defaults or 'none'}")
        default = entry.defaults[key]
        try:
            kwargs[key] = type(default)(value) if default is not None else value
        except ValueError as err:
            raise CodecError(
                f"codec {name}: option {key}={value!r} is not a {type(default).__name__}"
            ) from err
    return entry.factory(**kwargs)


# Default condition table (the issue's, at an 8 kHz internal rate: see docs/corpus.md for the reasons).
DEFAULT_TABLE: dict[str, str] = {
    "C1": "opus:bitrate=6000",
    "C2": "mp3:bitrate=16000",
    "C3": "amrnb:bitrate=4750",
    "C4": "gsm",
    "C5": "aac:bitrate=24000",
    "C6": "g726:bitrate=32000",
    "C7": "codec2:mode=1300",
}
