"""Mel spectrogram for Mel-LCNN: torchaudio's ``MelSpectrogram`` defaults re-implemented with ``torch.stft``.

torchaudio cannot be imported on our CPU torch build, so the transform is written out: 80 mel bands, n_fft 512,
periodic Hann window of 512, hop 128, ``center=True`` with reflect padding, power 2, HTK mel scale from 0 Hz to
Nyquist, no filter normalisation. 64,600 samples at 16 kHz give 64600 // 128 + 1 = 505 frames.

The default is the release's input: the power mel without log (``preprocess.py:89``), stored as float32 because the
power of loud clips passes float16's 65,504. ``log=True`` (natural log of max(mel, floor)) is the option; it is
stored as float16 like the SSL features (the demo's preset).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from codecfake.common import N_SAMPLES, SAMPLE_RATE_HZ
from codecfake.corpus.resample import DEFAULT_RESAMPLER, RESAMPLERS, UnknownResampler

_MEL_BREAK_HZ = 700.0
_MEL_HIGH_FREQ_Q = 2595.0


def hz_to_mel_htk(freq_hz: float) -> float:
    """HTK mel scale: 2595 * log10(1 + f / 700)."""
    return _MEL_HIGH_FREQ_Q * math.log10(1.0 + freq_hz / _MEL_BREAK_HZ)


def mel_filterbank(
    n_freqs: int, n_mels: int, sample_rate_hz: int, f_min_hz: float = 0.0, f_max_hz: float | None = None
) -> torch.Tensor:
    """Triangular HTK filters, peak 1, no area normalisation (torchaudio ``melscale_fbanks`` with norm=None).

    Returns ``(n_freqs, n_mels)`` float32; column m rises from mel point m to m+1 and falls to m+2.
    """
    f_max_hz = float(sample_rate_hz // 2) if f_max_hz is None else f_max_hz
    all_freqs = torch.linspace(0, sample_rate_hz // 2, n_freqs, dtype=torch.float64)  # (F,)
    m_pts = torch.linspace(hz_to_mel_htk(f_min_hz), hz_to_mel_htk(f_max_hz), n_mels + 2, dtype=torch.float64)
    f_pts = _MEL_BREAK_HZ * (10.0 ** (m_pts / _MEL_HIGH_FREQ_Q) - 1.0)  # (M+2,) Hz
    f_diff = f_pts[1:] - f_pts[:-1]  # (M+1,)
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)  # (F, M+2)
    down = -slopes[:, :-2] / f_diff[:-1]  # (F, M)
    up = slopes[:, 2:] / f_diff[1:]  # (F, M)
    return torch.clamp(torch.minimum(down, up), min=0.0).to(torch.float32)


@dataclass(frozen=True)
class MelConfig:
    """Parameters that change the values (all of them go into the feature set's key)."""

    sample_rate_hz: int = SAMPLE_RATE_HZ
    n_fft: int = 512
    win_length: int = 512
    hop_samples: int = 128
    n_mels: int = 80
    f_min_hz: float = 0.0
    f_max_hz: float = 8000.0
    power: float = 2.0
    log: bool = (
        False  # False: the release's power mel (float32 store); True: natural log of max(mel, log_floor)
    )
    log_floor: float = 1e-6

    def n_frames(self, n_samples: int) -> int:
        """Frames for ``center=True``: n // hop + 1."""
        return n_samples // self.hop_samples + 1


def mel_config_from_spec(fields: Mapping[str, Any]) -> MelConfig:
    """The ``MelConfig`` that a set's spec fields record (:meth:`MelExtractor.spec_fields` plus the spec's own
    ``sample_rate_hz``): every field is read back, so the inverse of ``spec_fields`` lives beside it. A field the
    spec lacks (a set made before it was recorded) keeps its default; the caller checks the result's spec."""
    params = dict(fields.get("params") or {})
    recorded = {**params, "sample_rate_hz": fields.get("sample_rate_hz")}
    values: dict[str, Any] = {}
    for f in dataclasses.fields(MelConfig):
        v = recorded.get(f.name)
        if v is not None:  # log_floor is recorded as None for power mels: the default then
            default = f.default
            values[f.name] = type(default)(v) if isinstance(default, bool | int | float) else v
    return MelConfig(**values)


class MelExtractor:
    """``(B, n_samples)`` float32 waves at 16 kHz -> ``{"mel": (B, T, n_mels)}`` float32 (time-major)."""

    name = "mel"

    def __init__(
        self,
        config: MelConfig = MelConfig(),
        device: str | torch.device = "cpu",
        n_samples: int = N_SAMPLES,
        resampler: str = DEFAULT_RESAMPLER,
    ):
        if resampler not in RESAMPLERS:
            raise UnknownResampler(
                f"resampler {resampler!r} is not known; expected one of {', '.join(RESAMPLERS)}"
            )
        self.resampler = resampler  # how clips not at 16 kHz are loaded (corpus/resample.py)
        self.config = config
        self.device = torch.device(device)
        self.n_samples = n_samples
        self.window = torch.hann_window(config.win_length, periodic=True, device=self.device)
        n_freqs = config.n_fft // 2 + 1
        self.fbank = mel_filterbank(
            n_freqs, config.n_mels, config.sample_rate_hz, config.f_min_hz, config.f_max_hz
        ).to(self.device)  # (F, M)

    @property
    def dtype(self) -> str:
        """Store dtype: float32 for power mels (values pass float16's 65,504), float16 for log mels."""
        return "float16" if self.config.log else "float32"

    @property
    def sample_rate_hz(self) -> int:
        """The sample rate the filterbank assumes its input has (the spec's ``sample_rate_hz``)."""
        return self.config.sample_rate_hz

    model_dir = None  # no checkpoint: the spec alone rebuilds a mel extractor

    @property
    def model_id(self) -> str:
        c = self.config
        return f"mel-{c.n_mels}-{c.n_fft}-{c.hop_samples}"

    def spec_fields(self) -> dict[str, Any]:
        """``model_id``, ``weights_sha256`` ("" for mel) and ``params`` for ``FeatureSetSpec``."""
        c = self.config
        params = {
            "n_mels": c.n_mels,
            "n_fft": c.n_fft,
            "win_length": c.win_length,
            "hop_samples": c.hop_samples,
            "window": "hann-periodic",
            "center": True,
            "pad_mode": "reflect",
            "power": c.power,
            "mel_scale": "htk",
            "norm": None,
            "f_min_hz": c.f_min_hz,
            "f_max_hz": c.f_max_hz,
            "log": c.log,
            "log_floor": c.log_floor if c.log else None,
        }
        if self.resampler != DEFAULT_RESAMPLER:  # soxr, every set's resampler before the field, adds nothing
            params["resampler"] = self.resampler
        return {"model_id": self.model_id, "weights_sha256": "", "params": params}

    def arrays(self) -> dict[str, tuple[int, int]]:
        """Array name -> frame shape ``(T, D)`` for ``n_samples`` input samples."""
        return {"mel": (self.config.n_frames(self.n_samples), self.config.n_mels)}

    def provenance(self) -> dict[str, Any]:
        return {"extractor": "mel", "torch": torch.__version__, **self.spec_fields()}

    @torch.inference_mode()
    def __call__(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.config
        wave = wave.to(self.device, torch.float32, non_blocking=True)  # (B, S); pinned -> async copy
        spec = torch.stft(
            wave,
            n_fft=c.n_fft,
            hop_length=c.hop_samples,
            win_length=c.win_length,
            window=self.window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )  # (B, F, T) complex
        power = spec.abs().pow(c.power)  # (B, F, T)
        mel = torch.matmul(power.transpose(1, 2), self.fbank)  # (B, T, M)
        if c.log:
            mel = torch.log(torch.clamp(mel, min=c.log_floor))
        return {"mel": mel}
