"""The one processing chain that bona fide and spoof share: only the codec/vocoder differs (otherwise a
classifier learns the chain, not the codec: docs/corpus.md).

    source → soxr to ``rate_hz`` (once) → [codec or vocoder, at rate_hz] → align to the original (codec delay)
           → FFT low-pass to ``lowpass_hz`` → soxr to ``out_rate_hz`` → first ``n_samples`` → RMS to ``level_dbfs``
           → dither at ``dither_dbfs`` → 16-bit file

Bona fide takes the same path with the identity in brackets. The final band limit is below every codec's own band
edge, so "energy above 3.4 kHz" cannot tell them apart; the shared dither fills digital silence in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
from scipy.fft import next_fast_len

from codecfake.common import N_SAMPLES


@dataclass(frozen=True)
class ChainConfig:
    """Parameters of the shared chain. Rates in Hz, levels in dB re full scale."""

    rate_hz: int = 8000  # internal rate: every codec and vocoder runs here
    lowpass_hz: float = 3400.0  # one band limit for all, applied at rate_hz: nothing above it survives
    lowpass_taper_hz: float = 150.0  # raised-cosine roll-off just below lowpass_hz
    out_rate_hz: int = 16000
    n_samples: int = N_SAMPLES  # at out_rate_hz: the paper's fixed length, so no repeat padding downstream
    level_dbfs: float = -26.0  # RMS level match
    dither_dbfs: float = -72.0  # white noise floor added to every output (no digital silence)
    max_delay_ms: float = 160.0  # alignment search range for codec delay

    @property
    def n_internal(self) -> int:
        """Samples at rate_hz needed for n_samples at out_rate_hz, plus a small margin."""
        return int(np.ceil(self.n_samples * self.rate_hz / self.out_rate_hz)) + 16

    @property
    def max_delay(self) -> int:
        return int(self.max_delay_ms * self.rate_hz / 1000)


def to_rate(x: np.ndarray, sr: int, rate_hz: int) -> np.ndarray:
    """(n,) at ``sr`` → (m,) float32 at ``rate_hz`` (soxr HQ); the identity when the rates match."""
    x = np.asarray(x, dtype=np.float32)
    return x if sr == rate_hz else soxr.resample(x, sr, rate_hz).astype(np.float32)


def estimate_delay(y: np.ndarray, ref: np.ndarray, max_delay: int) -> int:
    """Lag d in [-max_delay, max_delay] maximising the correlation of y[n + d] with ref[n] (FFT based)."""
    n = min(len(ref), len(y))
    a, b = ref[:n] - ref[:n].mean(), y[:n] - y[:n].mean()
    size = next_fast_len(
        n + max_delay, real=True
    )  # no wrap-around for |d| <= max_delay; ~4x less than 2^ceil(2n)
    xc = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)  # xc[d] = sum b[n+d] a[n]
    lags = np.concatenate([np.arange(0, max_delay + 1), np.arange(-max_delay, 0)])
    vals = np.concatenate([xc[: max_delay + 1], xc[size - max_delay :]])
    return int(lags[int(np.argmax(vals))])


def align(y: np.ndarray, ref: np.ndarray, max_delay: int) -> np.ndarray:
    """Shift (m,) ``y`` so that it lines up with (n,) ``ref``; returns (n,) (edge samples padded by reflection)."""
    d = estimate_delay(y, ref, max_delay)
    if d > 0:
        y = y[d:]
    elif d < 0:
        y = np.concatenate([y[-d:0:-1][:-d], y])  # reflect the start instead of inserting zeros
    if len(y) < len(ref):
        pad = len(ref) - len(y)
        y = np.concatenate([y, y[::-1][:pad]]) if len(y) >= pad else np.resize(y, len(ref))
    return y[: len(ref)].astype(np.float32)


def band_limit(x: np.ndarray, rate_hz: int, edge_hz: float, taper_hz: float) -> np.ndarray:
    """Zero-phase FFT low-pass over the whole clip: gain 1 below edge-taper, raised cosine, 0 from ``edge_hz``."""
    spec = np.fft.rfft(x.astype(np.float64))
    f = np.fft.rfftfreq(len(x), 1 / rate_hz)
    ramp = np.clip((edge_hz - f) / taper_hz, 0.0, 1.0)
    gain = 0.5 - 0.5 * np.cos(np.pi * ramp)
    return np.fft.irfft(spec * gain, len(x)).astype(np.float32)


def finish(x: np.ndarray, cfg: ChainConfig, rng: np.random.Generator) -> np.ndarray:
    """Shared tail of the chain: (n,) at rate_hz → (cfg.n_samples,) float32 at out_rate_hz, level-matched, dithered."""
    x = band_limit(x, cfg.rate_hz, cfg.lowpass_hz, cfg.lowpass_taper_hz)
    x = to_rate(x, cfg.rate_hz, cfg.out_rate_hz)
    if len(x) < cfg.n_samples:  # short vocoder/TTS outputs: the same repeat rule the loader uses
        x = np.tile(x, cfg.n_samples // max(len(x), 1) + 1)
    x = x[: cfg.n_samples]
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    x = x * (10 ** (cfg.level_dbfs / 20) / max(rms, 1e-9))
    x = x + (10 ** (cfg.dither_dbfs / 20)) * rng.standard_normal(len(x)).astype(np.float32)
    peak = float(np.abs(x).max())
    if peak > 0.99:  # rare loud transients: soft scale instead of clipping
        x = x * (0.99 / peak)
    return x.astype(np.float32)
