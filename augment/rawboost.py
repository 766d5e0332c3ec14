"""RawBoost (Tak, Kamble, Patino, Todisco, Evans, ICASSP 2022), written from the paper's description and the
parameters SSL_Anti-spoofing documents; every random draw comes from the caller's ``numpy.random.Generator``.

Three algorithms on a 16 kHz waveform x (n,):
- **LnL** (linear and non-linear convolutive noise): y = sum_{j=1..n_f} h_j * x^j, each h_j a cascade of ``bands``
  random FIR notch (band-stop) filters — centre ~ U(f), width ~ U(bw), taps ~ U(coeff) made odd, Hamming window —
  normalised to peak gain 10^(g_j/20) with g_1 ~ U(g) and, for the non-linear terms j >= 2, g_j lower by U(bias) dB;
  then the mean is removed and the peak limited to 1.
- **ISD** (impulsive signal-dependent noise): a fraction beta ~ U(0, p) % of the samples, at random positions, each
  gets x[i] * g_sd * u1 * u2 added (u1, u2 ~ U(-1, 1)); peak limited to 1. Silence stays silent.
- **SSI** (stationary signal-independent noise): white Gaussian noise through one random notch-filter cascade, scaled
  to an SNR ~ U(snr) dB against x, added.
``algo``: 1 LnL, 2 ISD, 3 SSI; in series 4 = 1+2+3, 5 = 1+2, 6 = 1+3, 7 = 2+3; 8 = LnL(x) + ISD(x) in parallel
(sum, peak limited to 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import fft as sp_fft

SAMPLE_RATE_HZ = 16000
SERIES = {1: (1,), 2: (2,), 3: (3,), 4: (1, 2, 3), 5: (1, 2), 6: (1, 3), 7: (2, 3)}


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    lo, hi = sorted(bounds)
    return float(rng.uniform(lo, hi)) if hi > lo else float(lo)


def _peak_limit(y: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return y / peak if peak > 1.0 else y


def bandstop(n_taps: int, f1: float, f2: float, fs: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Hamming-windowed sinc band-stop FIR (odd ``n_taps``), unit gain at 0 Hz: what ``scipy.signal.firwin(n, [f1,
    f2], window="hamming", pass_zero="bandstop")`` designs, without its per-call overhead (25 filters per LnL)."""
    m = np.arange(n_taps) - (n_taps - 1) / 2
    a, b = 2 * f1 / fs, 2 * f2 / fs  # edges as fractions of Nyquist
    h = np.sinc(m) - b * np.sinc(b * m) + a * np.sinc(a * m)  # all-pass minus the ideal band-pass
    h *= np.hamming(n_taps)
    return h / h.sum()


def notch_bank(
    rng: np.random.Generator, p: Mapping[str, Any], gain_db: float, fs: int = SAMPLE_RATE_HZ
) -> tuple[np.ndarray, list[float]]:
    """FIR taps of ``bands`` cascaded random notch filters, peak gain ``gain_db``; also the notch centres (Hz)."""
    taps = np.ones(1)
    centres = []
    nyquist = fs / 2
    for _ in range(int(p["bands"])):
        fc, bw = _uniform(rng, p["f"]), _uniform(rng, p["bw"])
        lo_c, hi_c = p["coeff"]
        n = int(rng.integers(int(lo_c), int(hi_c) + 1)) if hi_c > lo_c else int(lo_c)
        n += 1 - n % 2  # odd: a band-stop FIR must pass the Nyquist frequency
        f1, f2 = max(fc - bw / 2, 1e-3), min(fc + bw / 2, nyquist - 1e-3)
        if f2 - f1 < 1.0:  # a notch squeezed against 0 Hz or Nyquist: nothing to remove
            continue
        taps = np.convolve(taps, bandstop(n, f1, f2, fs))
        centres.append(fc)
    peak = float(np.max(np.abs(np.fft.rfft(taps, 8192))))  # 2 Hz grid: the cascade's peak gain
    return taps * (10 ** (gain_db / 20) / max(peak, 1e-12)), centres


def _centred_spectrum(taps: np.ndarray, size: int) -> np.ndarray:
    """rfft of ``taps`` placed around index 0 (circularly): filtering with it removes the group delay."""
    delay = (len(taps) - 1) // 2
    kernel = np.zeros(
        size, dtype=np.float32
    )  # single precision: ~2.5x faster FFTs, far below audio's noise floor
    kernel[: len(taps) - delay] = taps[delay:]
    if delay:
        kernel[-delay:] = taps[:delay]
    return sp_fft.rfft(kernel)


def fir(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Linear-phase FIR with its group delay removed: output (n,) aligned with x."""
    size = sp_fft.next_fast_len(len(x) + len(taps), real=True)
    spec = sp_fft.rfft(np.asarray(x, dtype=np.float32), size)
    return sp_fft.irfft(spec * _centred_spectrum(taps, size), size)[: len(x)]


def lnl(x: np.ndarray, rng: np.random.Generator, p: Mapping[str, Any]) -> np.ndarray:
    """Linear and non-linear convolutive noise: every term filtered in one frequency-domain sum."""
    g_lo, g_hi = p["g"]
    b_lo, b_hi = p["bias"]
    banks = []
    for j in range(1, int(p["n_f"]) + 1):
        gain = _uniform(rng, (g_lo, g_hi) if j == 1 else (g_lo - b_lo, g_hi - b_hi))
        banks.append(notch_bank(rng, p, gain)[0])
    size = sp_fft.next_fast_len(len(x) + max(len(b) for b in banks), real=True)
    acc = np.zeros(size // 2 + 1, dtype=np.complex64)
    power = np.ones(len(x), dtype=np.float32)
    for taps in banks:
        power = power * x  # x^j
        acc += sp_fft.rfft(power, size) * _centred_spectrum(taps, size)
    y = sp_fft.irfft(acc, size)[: len(x)]
    return _peak_limit(y - y.mean())


def isd(x: np.ndarray, rng: np.random.Generator, p: Mapping[str, Any]) -> np.ndarray:
    """Impulsive signal-dependent noise."""
    beta = _uniform(rng, (0.0, float(p["p"])))
    n_hit = int(len(x) * beta / 100)
    idx = rng.choice(len(x), size=n_hit, replace=False)
    factor = (2 * rng.random(n_hit) - 1) * (2 * rng.random(n_hit) - 1)
    y = np.array(x, dtype=np.float32)
    y[idx] += (float(p["g_sd"]) * x[idx] * factor).astype(np.float32)
    return _peak_limit(y)


def ssi(x: np.ndarray, rng: np.random.Generator, p: Mapping[str, Any]) -> np.ndarray:
    """Stationary signal-independent (coloured) additive noise at a random SNR."""
    noise = rng.standard_normal(len(x), dtype=np.float32)
    taps, _ = notch_bank(rng, p, _uniform(rng, p["g"]))
    noise = fir(noise, taps)
    snr_db = _uniform(rng, p["snr"])
    scale = _energy(x) / (max(_energy(noise), 1e-12) * 10 ** (snr_db / 20))
    return x + noise * scale


_STEPS = {1: lnl, 2: isd, 3: ssi}


def rawboost(x: np.ndarray, rng: np.random.Generator, p: Mapping[str, Any]) -> np.ndarray:
    """Apply RawBoost algorithm ``p["algo"]`` (1..8) to x (n,) at 16 kHz; returns (n,) float32."""
    algo = int(p["algo"])
    x = np.asarray(x, dtype=np.float32)
    if algo == 8:  # parallel: LnL and ISD each on the input, summed
        return _peak_limit(lnl(x, rng, p) + isd(x, rng, p))
    for step in SERIES[algo]:
        x = _STEPS[step](x, rng, p)
    return x


def _energy(x: np.ndarray) -> float:
    """sqrt(sum x^2) without BLAS (np.linalg.norm's dot contends for threads inside decode workers)."""
    return float(np.sqrt(np.sum(np.square(x, dtype=np.float64))))
