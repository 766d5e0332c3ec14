"""One audio file looked at the way the ingest check needs: header (rate, length), and optionally its content
(sha256 of the decoded samples, RMS level). Never raises for a bad file: the reason is returned."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Probe", "probe_audio"]


@dataclass(frozen=True)
class Probe:
    """What one file holds; ``error`` is "" for a readable file, else why it is not."""

    path: str
    error: str = ""
    rate_hz: int = 0
    seconds: float = 0.0
    channels: int = 0
    sha256: str = ""  # of the decoded float32 samples: equal audio in two containers hashes equal
    rms_dbfs: float = -math.inf


def probe_audio(path: str | Path, *, content: bool = True) -> Probe:
    """Header of ``path`` (soundfile), and with ``content`` its decoded samples' hash and RMS level (dBFS)."""
    import soundfile as sf

    p = str(path)
    try:
        info = sf.info(p)
    except Exception as err:  # libsndfile's errors are untyped; the reason is what we report
        return Probe(p, error=f"unreadable header: {str(err).strip().splitlines()[0][:120]}")
    if info.frames == 0:
        return Probe(p, error="no samples", rate_hz=int(info.samplerate), channels=int(info.channels))
    head = Probe(
        p, rate_hz=int(info.samplerate), seconds=info.frames / info.samplerate, channels=int(info.channels)
    )
    if not content:
        return head
    try:
        x, _ = sf.read(p, dtype="float32", always_2d=True)
    except Exception as err:
        return Probe(p, error=f"undecodable: {str(err).strip().splitlines()[0][:120]}", rate_hz=head.rate_hz)
    if not np.isfinite(x).all():
        return Probe(p, error="non-finite samples", rate_hz=head.rate_hz, seconds=head.seconds)
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return Probe(
        p,
        rate_hz=head.rate_hz,
        seconds=head.seconds,
        channels=head.channels,
        sha256=hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(),
        rms_dbfs=20 * math.log10(rms) if rms > 0 else -math.inf,
    )
