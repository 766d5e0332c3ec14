"""Channel augmentations on a 16 kHz clip: real codecs at a bitrate, resampling, low-pass, additive noise.

Codecs are the corpus builder's drivers (``codecfake.corpus.build.codecs``: PyAV/FFmpeg, libsndfile); their output
is delay-aligned to the input with the builder's ``chain.align``, so a variant stays sample-aligned with its clean
clip. Narrowband codecs run at 8 kHz (soxr down and back up), wideband ones at 16 kHz.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.augment.errors import AugmentError
from codecfake.augment.recipe import CODEC_BITRATES, CODEC_RATE_HZ

SAMPLE_RATE_HZ = 16000
MAX_DELAY_MS = 160.0  # the corpus builder's alignment search range
NOISE_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


@functools.lru_cache(maxsize=64)
def _codec(name: str, bitrate: int) -> Any:
    """One driver per (codec, bitrate) and process (DataLoader workers build their own)."""
    from codecfake.corpus.build.codecs import PyAVCodec, SoundfileCodec, get_codec

    rate = CODEC_RATE_HZ[name]
    if name in ("opus", "mp3", "aac"):
        return get_codec(f"{name}:bitrate={bitrate},rate={rate}")
    if name in ("amrnb", "g726"):
        return get_codec(f"{name}:bitrate={bitrate}")
    if name == "gsm":
        return get_codec("gsm")
    if name == "g722":
        return PyAVCodec("g722", "g722", "wav", bitrate, rate)
    subtype = {"mulaw": "ULAW", "alaw": "ALAW"}[name]
    return SoundfileCodec(name, "WAV", subtype, rate)


def codec(x: np.ndarray, rng: np.random.Generator, p: Mapping[str, Any]) -> np.ndarray:
    """Encode and decode x through one codec drawn from ``codecs`` at ``bitrate`` (0: drawn from its list)."""
    from codecfake.corpus.build.chain import align, to_rate

    name = str(p["codecs"][int(rng.integers(len(p["codecs"])))])
    bitrate = int(p["bitrate"]) or int(rng.choice(CODEC_BITRATES[name]))
    rate = CODEC_RATE_HZ[name]
    inner = to_rate(x.astype(np.float32), SAMPLE_RATE_HZ, rate)
    decoded = _codec(name, bitrate)(inner)
    back = to_rate(decoded, rate, SAMPLE_RATE_HZ)
    return align(back, x.astype(np.float32), int(MAX_DELAY_MS * SAMPLE_RATE_HZ / 1000))


def resample(x: np.ndarray, rng: np.random.Generator, p: Mapping[str, Any]) -> np.ndarray:
    """Down to a rate drawn from ``rate`` and back up to 16 kHz (soxr, as every loader here); same length."""
    import soxr

    rate = int(p["rate"][int(rng.integers(len(p["rate"])))])
    y = soxr.resample(soxr.resample(x.astype(np.float32), SAMPLE_RATE_HZ, rate), rate, SAMPLE_RATE_HZ)
    return _fit(y, len(x))


def lowpass(x: np.ndarray, rng: np.random.Generator, p: Mapping[str, Any]) -> np.ndarray:
    """Zero-phase FFT low-pass at an edge ~ U(cut) Hz (150 Hz raised-cosine taper, the corpus chain's)."""
    from codecfake.corpus.build.chain import band_limit

    lo, hi = p["cut"]
    edge = float(rng.uniform(lo, hi)) if hi > lo else float(lo)
    return band_limit(x, SAMPLE_RATE_HZ, edge, 150.0)


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """(n,) Gaussian noise whose power falls as 1/f^0 (white), 1/f (pink) or 1/f^2 (brown)."""
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec /= f ** (0.5 if colour == "pink" else 1.0)
    spec[0] = 0.0
    return np.fft.irfft(spec, n)


@functools.lru_cache(maxsize=8)
def noise_files(folder: str) -> tuple[str, ...]:
    """Audio files under ``folder`` (recursive, sorted): the offline noise sources of ``noise:dir=``."""
    root = Path(folder)
    files = tuple(sorted(str(f) for f in root.rglob("*") if f.suffix.lower() in NOISE_SUFFIXES))
    if not root.is_dir() or not files:
        raise AugmentError(
            f"noise dir={folder}: no {'/'.join(NOISE_SUFFIXES)} files found; point dir= at a folder of noise "
            "recordings (e.g. MUSAN's noise/), or leave it out for seeded coloured noise"
        )
    return files


def _file_noise(n: int, folder: str, rng: np.random.Generator) -> np.ndarray:
    from codecfake.corpus import load_audio

    files = noise_files(folder)
    wave = load_audio(files[int(rng.integers(len(files)))], SAMPLE_RATE_HZ).astype(np.float64)
    wave = np.tile(wave, n // max(len(wave), 1) + 2)
    start = int(rng.integers(len(wave) - n + 1))
    return wave[start : start + n]


def noise(x: np.ndarray, rng: np.random.Generator, p: Mapping[str, Any]) -> np.ndarray:
    """x plus noise scaled to an SNR ~ U(snr) dB (energy over the whole clip)."""
    lo, hi = p["snr"]
    snr_db = float(rng.uniform(lo, hi)) if hi > lo else float(lo)
    if p["dir"]:
        n = _file_noise(len(x), str(p["dir"]), rng)
    else:
        n = coloured_noise(len(x), str(p["colour"][int(rng.integers(len(p["colour"])))]), rng)
    scale = _energy(x) / (max(_energy(n), 1e-12) * 10 ** (snr_db / 20))
    return x + n * scale


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """First n samples, or zero-padded at the end (resampling can be a few samples short)."""
    return y[:n] if len(y) >= n else np.concatenate([y, np.zeros(n - len(y), dtype=y.dtype)])


def _energy(x: np.ndarray) -> float:
    """sqrt(sum x^2) without BLAS (np.linalg.norm's dot contends for threads inside decode workers)."""
    return float(np.sqrt(np.sum(np.square(x, dtype=np.float64))))
