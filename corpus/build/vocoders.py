"""Spoofing attacks of the demo's vocoder domain: WORLD and Griffin-Lim copy-synthesis, offline TTS engines.

Each attack maps a bona fide utterance (n,) float32 at ``rate_hz`` (+ its text and language) to a spoof (m,) float32
at ``rate_hz``. The shared chain (``chain.finish``) is applied afterwards, exactly as for the bona fide.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import istft, stft

from codecfake.corpus.build.chain import to_rate

log = logging.getLogger(__name__)


def world_analyse(x: np.ndarray, rate_hz: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WORLD analysis of (n,) ``x``: F0 (T,) by DIO + StoneMask, spectral envelope and aperiodicity (T, F) by CheapTrick
    and D4C, a function of the input alone.

    D4C's "LoveTrain" voicing test sums the power spectrum up to 7900 Hz; below 15.8 kHz sampling that runs past
    Nyquist into the uninitialised end of a ``new double[fft_size]`` buffer, so at 8 kHz it decided voiced/unvoiced
    from leftover heap memory (measured: D4C's output for one clip changed with the calls made before it, and 99 % of
    frames came out fully aperiodic, i.e. whispered). ``threshold=-inf`` switches that test off: a frame is voiced
    exactly when DIO/StoneMask found an F0, as in WORLD before LoveTrain.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyworld imports the deprecated pkg_resources
        import pyworld

    xd = x.astype(np.float64)
    f0, t = pyworld.dio(xd, rate_hz, frame_period=5.0)
    f0 = pyworld.stonemask(xd, f0, t, rate_hz)
    sp = pyworld.cheaptrick(xd, f0, t, rate_hz)
    ap = pyworld.d4c(xd, f0, t, rate_hz, threshold=float("-inf") if rate_hz < 15800 else 0.85)
    return f0, sp, ap


def world_resynth(x: np.ndarray, rate_hz: int) -> np.ndarray:
    """WORLD copy-synthesis (``world_analyse`` then WORLD's synthesis): (n,) → (n,)."""
    import pyworld

    f0, sp, ap = world_analyse(x, rate_hz)
    y = pyworld.synthesize(f0, sp, ap, rate_hz, frame_period=5.0)
    return y[: len(x)].astype(np.float32)


def _mel_basis(rate_hz: int, n_fft: int, n_mels: int) -> np.ndarray:
    """HTK mel filterbank (n_mels, n_fft // 2 + 1)."""

    def hz2mel(f: np.ndarray) -> np.ndarray:
        return 2595 * np.log10(1 + f / 700)

    mels = np.linspace(0, hz2mel(np.array(rate_hz / 2)), n_mels + 2)
    hz = 700 * (10 ** (mels / 2595) - 1)
    bins = np.linspace(0, rate_hz / 2, n_fft // 2 + 1)
    fb = np.zeros((n_mels, len(bins)))
    for m in range(n_mels):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        fb[m] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0, None)
    return fb


def griffin_lim(x: np.ndarray, rate_hz: int, n_mels: int = 40, n_iter: int = 32, seed: int = 0) -> np.ndarray:
    """Mel spectrogram of ``x`` → pseudo-inverse magnitude → Griffin-Lim phase: (n,) → (n,)."""
    n_fft, hop = 256, 64
    _, _, z = stft(x, fs=rate_hz, nperseg=n_fft, noverlap=n_fft - hop)  # (F, T)
    fb = _mel_basis(rate_hz, n_fft, n_mels)
    mel = fb @ np.abs(z)  # (M, T)
    mag = np.maximum(np.linalg.pinv(fb) @ mel, 0)  # (F, T)
    rng = np.random.default_rng(seed)
    phase = np.exp(2j * np.pi * rng.random(mag.shape))
    for _ in range(n_iter):
        _, y = istft(mag * phase, fs=rate_hz, nperseg=n_fft, noverlap=n_fft - hop)
        _, _, z2 = stft(y, fs=rate_hz, nperseg=n_fft, noverlap=n_fft - hop)
        phase = np.exp(1j * np.angle(z2[:, : mag.shape[1]]))
    _, y = istft(mag * phase, fs=rate_hz, nperseg=n_fft, noverlap=n_fft - hop)
    y = y[: len(x)]
    return np.pad(y, (0, len(x) - len(y))).astype(np.float32)


FALLBACK_TEXT = (
    "Please leave a message after the tone. The meeting has been moved to Thursday afternoon. "
    "Your call is important to us, please stay on the line. We will be with you shortly."
)
_ESPEAK_LANGS = {
    "en",
    "de",
    "fr",
    "es",
    "it",
    "cs",
    "da",
    "nb",
    "nl",
    "pt",
    "ru",
    "uk",
    "hu",
    "lt",
    "ar",
    "he",
    "ml",
    "tn",
    "cmn",
    "zh",
}


@dataclass(frozen=True)
class TTS:
    """An offline TTS engine run as a subprocess; ``english_only`` engines speak English text."""

    name: str
    command: str
    english_only: bool

    def available(self) -> bool:
        return shutil.which(self.command) is not None

    def __call__(self, text: str, language: str, rate_hz: int) -> np.ndarray:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "tts.wav"
            if self.name == "espeak-ng":
                lang = language if language in _ESPEAK_LANGS else "en"
                lang = "cmn" if lang == "zh" else lang
                cmd, stdin = ["espeak-ng", "-v", lang, "-w", str(out), text], None
            elif self.name == "flite":
                cmd, stdin = ["flite", "-voice", "slt", "-t", text, "-o", str(out)], None
            else:
                cmd, stdin = ["text2wave", "-o", str(out)], text
            subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=True, timeout=60)
            y, sr = sf.read(out, dtype="float32", always_2d=True)
        return to_rate(y.mean(axis=1), sr, rate_hz)


TTS_ENGINES: tuple[TTS, ...] = (
    TTS("espeak-ng", "espeak-ng", False),
    TTS("flite", "flite", True),
    TTS("festival", "text2wave", True),
)


def tts_text(text: str, language: str, english_only: bool, min_chars: int = 70) -> tuple[str, str]:
    """The utterance text (or English filler for English-only engines), extended to about 4 s of speech."""
    if english_only and language != "en":
        text, language = "", "en"
    words = text.strip()
    if len(words) < min_chars:
        filler = FALLBACK_TEXT if language == "en" else words
        words = (words + ". " + filler).strip(". ") if words else FALLBACK_TEXT
        while len(words) < min_chars and filler:
            words = words + ". " + filler
    return words, language


def available_attacks() -> dict[str, str]:
    """Attack id → description for the attacks usable on this machine (missing TTS tools are skipped, logged)."""
    out = {
        "A01": "WORLD vocoder copy-synthesis (pyworld: DIO, StoneMask, CheapTrick, D4C)",
        "A02": "Griffin-Lim (32 iterations) from a 40-band mel spectrogram",
    }
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pyworld  # noqa: F401
    except ImportError:
        log.warning("pyworld is not installed: the WORLD attack A01 is skipped (pip install pyworld)")
        del out["A01"]
    for aid, engine in zip(("A03", "A04", "A05"), TTS_ENGINES):
        if engine.available():
            out[aid] = f"TTS: {engine.name}" + (
                " (English voice)" if engine.english_only else " (voice of the text's language)"
            )
        else:
            log.warning(
                "%s not found: TTS attack %s is skipped (bash scripts/install-system-deps.sh)",
                engine.command,
                aid,
            )
    return out
