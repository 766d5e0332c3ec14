"""``build_extractor``: the one factory of extractors from settings (CLI, pipeline, benches). Rebuilding the
extractor a feature set or a run recorded goes through ``extract/rebuild.py`` (dask workers, ``codecfake score``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

from codecfake.common import N_SAMPLES
from codecfake.corpus.resample import DEFAULT_RESAMPLER
from codecfake.device import resolve_device
from codecfake.extract.errors import UnknownExtractor

EXTRACTORS = ("mel", "xlsr", "wavlm")


class Extractor(Protocol):
    """Waves in, named time-major feature arrays out. Its facts are read-only (properties), so that an
    implementation may compute them or hold them as plain attributes."""

    @property
    def name(self) -> str: ...
    # the store dtype of its arrays: "float16" or "float32"
    @property
    def dtype(self) -> str: ...
    # clip length in samples it is built for
    @property
    def n_samples(self) -> int: ...
    # the rate its input waves must have
    @property
    def sample_rate_hz(self) -> int: ...
    @property
    def device(self) -> torch.device: ...
    # local checkpoint folder (SSL); None when the spec alone rebuilds it (mel)
    @property
    def model_dir(self) -> str | None: ...

    def spec_fields(self) -> dict[str, Any]: ...
    def arrays(self) -> dict[str, tuple[int, int]]: ...
    def provenance(self) -> dict[str, Any]: ...
    def __call__(self, wave: torch.Tensor) -> dict[str, torch.Tensor]: ...


def _mel_fields() -> set[str]:
    from codecfake.extract.mel import MelConfig

    return {f.name for f in dataclasses.fields(MelConfig)}


def build_extractor(
    name: str,
    *,
    model_dir: str | Path | None = None,
    layers: Sequence[int] = (5,),
    device: str | torch.device = "cpu",
    **params: Any,
) -> Extractor:
    """Build "mel" or "xlsr" / "wavlm" (local folder ``model_dir``, ``layers``).

    mel params: any ``MelConfig`` field (``log`` [False: the release's power mel], ``hop_samples`` [128], ``n_mels``
    …) and ``n_samples``; SSL params: ``n_samples``, ``precision`` (fp32 | bf16 | fp16, [fp32]) and ``dtype`` (the
    store's: float16 | float32 [float16]). Both: ``resampler`` (soxr_hq | kaiser_best [soxr_hq]; the release's is
    kaiser_best, which ``codecfake features`` passes on the paper path).
    ``rebuild.extractor_from_spec`` rebuilds one from the spec a feature set recorded."""
    dev = resolve_device(device)
    if name == "mel":
        from codecfake.extract.mel import MelConfig, MelExtractor

        known = _mel_fields() | {"n_samples", "resampler"}
        unknown = set(params) - known
        if unknown:
            raise UnknownExtractor(
                f"mel extractor: unknown parameters {sorted(unknown)}; known: {sorted(known)}"
            )
        n_samples = int(params.pop("n_samples", N_SAMPLES))
        resampler = str(params.pop("resampler", DEFAULT_RESAMPLER))
        return MelExtractor(MelConfig(**params), device=dev, n_samples=n_samples, resampler=resampler)
    if name in ("xlsr", "wavlm"):
        from codecfake.extract.ssl import SSLExtractor

        unknown = set(params) - {"n_samples", "precision", "resampler", "dtype"}
        if unknown:
            raise UnknownExtractor(
                f"{name} extractor: unknown parameters {sorted(unknown)}; known: n_samples, precision, resampler, "
                "dtype"
            )
        return SSLExtractor(
            name,
            str(model_dir) if model_dir is not None else None,
            layers,
            dev,
            n_samples=int(params.get("n_samples", N_SAMPLES)),
            precision=str(params.get("precision", "fp32")),
            resampler=str(params.get("resampler", DEFAULT_RESAMPLER)),
            dtype=str(params.get("dtype", "float16")),
        )
    raise UnknownExtractor(f"extractor {name!r} is not known; expected one of {', '.join(EXTRACTORS)}")
