"""Audio loading with the paper's preprocessing: decode, mono, resample to 16 kHz, first 64,600 samples or repeat-pad.

Bad input raises a typed ``AudioError`` naming the file and the problem; ``load_clips`` turns those into ``Reject``
records so that a batch reports ``n_in = accepted + rejected`` and nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from codecfake.common import N_SAMPLES, SAMPLE_RATE_HZ
from codecfake.corpus.containers import truncation
from codecfake.corpus.resample import DEFAULT_RESAMPLER, RESAMPLERS, UnknownResampler, resample
from codecfake.errors import CodecfakeError

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".oga", ".aif", ".aiff", ".au")


class AudioError(CodecfakeError):
    """An audio file cannot be used; ``path`` and ``problem`` are kept for reject lists."""

    def __init__(self, path: str | Path, problem: str, fix: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}. {fix}")


class MissingAudio(AudioError):
    """The file does not exist."""


class EmptyAudio(AudioError):
    """The file is 0 bytes or decodes to 0 samples."""


class CorruptAudio(AudioError):
    """The header or data cannot be decoded."""


class NonFiniteAudio(AudioError):
    """The samples contain NaN or inf."""


class UnsupportedFormat(AudioError):
    """The container/codec is not one soundfile decodes (wav, flac, ogg/opus, mp3)."""


def _read_all(f: sf.SoundFile) -> np.ndarray:
    """Every frame as (n, channels) float32; files libsndfile cannot seek in (GSM 6.10 in WAV) are read in blocks,
    since a read to the end needs a known length there."""
    if f.seekable():
        return f.read(dtype="float32", always_2d=True)
    blocks = []
    while len(block := f.read(1 << 16, dtype="float32", always_2d=True)):
        blocks.append(block)
    return np.concatenate(blocks) if blocks else np.zeros((0, f.channels), np.float32)


def _decode(path: Path) -> tuple[np.ndarray, int]:
    if not path.exists():
        raise MissingAudio(path, "file not found", "Check the manifest root/path or rebuild the corpus.")
    if path.is_dir():
        raise UnsupportedFormat(
            path, "is a directory, not an audio file", "Point the manifest row at the audio file."
        )
    if path.stat().st_size == 0:
        raise EmptyAudio(path, "file is empty (0 bytes)", "Re-copy or regenerate the file.")
    try:
        with sf.SoundFile(str(path)) as f:
            container, header_frames = f.format, f.frames
            x, sr = _read_all(f), f.samplerate  # (n, channels)
    except sf.LibsndfileError as err:
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            raise CorruptAudio(
                path, f"cannot decode ({err})", "The header or data is damaged: re-copy the file."
            ) from err
        raise UnsupportedFormat(
            path,
            f"format {path.suffix or '(no suffix)'} not decodable ({err})",
            "Convert it to wav/flac (e.g. `ffmpeg -i IN -ar 16000 OUT.wav`).",
        ) from err
    except (RuntimeError, ValueError, EOFError) as err:
        raise CorruptAudio(
            path, f"cannot decode ({err})", "The header or data is damaged: re-copy the file."
        ) from err
    cut = truncation(path, container, header_frames, x.shape[0])
    if cut is not None:
        raise CorruptAudio(
            path,
            f"decodes to {x.shape[0]} samples but {cut} ({x.shape[0] / sr:.3f} s decoded at {sr} Hz)",
            "The file is truncated or damaged (e.g. an interrupted copy or a bad archive): re-copy or re-download it",
        )
    return x, int(sr)


def load_audio(
    path: str | Path,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    resampler: str = DEFAULT_RESAMPLER,
    max_samples: int | None = None,
) -> np.ndarray:
    """Decode ``path`` to a mono float32 array of shape (n,) at ``sample_rate_hz``.

    ``resampler``: "soxr_hq" (soxr's default quality) or "kaiser_best" (the release's librosa 0.9.1 load, length
    ``ceil(n * 16000 / sr)``). ``max_samples``: kaiser_best may stop after that many output samples (the same values;
    a first-N crop needs no more)."""
    if resampler not in RESAMPLERS:
        raise UnknownResampler(
            f"resampler {resampler!r} is not known; expected one of {', '.join(RESAMPLERS)}"
        )
    path = Path(path)
    x, sr = _decode(path)
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise EmptyAudio(path, "decodes to 0 samples", "Remove the row or regenerate the file.")
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise NonFiniteAudio(
            path, f"{bad} NaN/inf samples", "Regenerate the file; a float wav was written with NaN/inf."
        )
    mono = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]  # (n,)
    if sr != sample_rate_hz:
        mono = resample(mono, sr, sample_rate_hz, resampler, max_samples)
    if mono.shape[0] == 0:
        raise EmptyAudio(
            path, f"too short to resample from {sr} Hz", "Remove the row or regenerate the file."
        )
    return np.ascontiguousarray(mono, dtype=np.float32)


def fix_length(x: np.ndarray, n_samples: int = N_SAMPLES) -> np.ndarray:
    """First ``n_samples`` of (n,) ``x``, or ``x`` tiled ``n_samples // n + 1`` times and cut (repeat padding)."""
    if x.ndim != 1 or x.shape[0] == 0:
        raise ValueError(f"fix_length expects a non-empty 1-D array, got shape {x.shape}")
    if x.shape[0] >= n_samples:
        return x[:n_samples]
    return np.tile(x, n_samples // x.shape[0] + 1)[:n_samples]


def load_clip(
    path: str | Path,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    n_samples: int = N_SAMPLES,
    resampler: str = DEFAULT_RESAMPLER,
) -> np.ndarray:
    """``fix_length(load_audio(path))``: (n_samples,) float32."""
    return fix_length(load_audio(path, sample_rate_hz, resampler, max_samples=n_samples), n_samples)


@dataclass(frozen=True)
class Reject:
    """A row whose audio could not be used, and why."""

    utt_id: str
    path: str
    reason: str


@dataclass
class LoadReport:
    """Result of ``load_clips``: ``clips`` (n_accepted, n_samples) for ``accepted`` row indices, plus rejects."""

    clips: np.ndarray
    accepted: list[int] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    rejected_indices: list[int] = field(default_factory=list)

    @property
    def n_in(self) -> int:
        return len(self.accepted) + len(self.rejects)

    def summary(self) -> str:
        return f"in={self.n_in} = accepted {len(self.accepted)} + rejected {len(self.rejects)}"


def load_clips(
    rows: Sequence,
    root: str | Path | None = None,
    *,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    n_samples: int = N_SAMPLES,
) -> LoadReport:
    """Load manifest rows (anything with ``utt_id`` and ``path``) as fixed-length clips, recording failures.

    ``root`` resolves relative paths (pass ``manifest.root``). Each failure is logged and kept as a ``Reject``.
    """
    base = Path(root) if root is not None else Path(".")
    out = np.zeros((len(rows), n_samples), dtype=np.float32)  # (n_in, n_samples)
    report = LoadReport(clips=out)
    for i, row in enumerate(rows):
        p = Path(row.path)
        p = p if p.is_absolute() else base / p
        try:
            out[len(report.accepted)] = load_clip(p, sample_rate_hz, n_samples)
        except AudioError as err:
            report.rejects.append(Reject(row.utt_id, str(p), f"{type(err).__name__}: {err.problem}"))
            report.rejected_indices.append(i)
            log.warning("rejected %s: %s", row.utt_id, err)
            continue
        report.accepted.append(i)
    report.clips = out[: len(report.accepted)]
    log.info("load_clips: %s", report.summary())
    return report
