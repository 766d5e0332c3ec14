"""``build_extractor``: the one factory every caller uses (CLI, pipeline, dask workers, evaluate)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from codecfake.extract.errors import UnknownExtractor

from codecfake.common import N_SAMPLES
from codecfake.device import resolve_device

EXTRACTORS = ("mel", "xlsr", "wavlm")


class Extractor(Protocol):
    """Waves in, named time-major feature arrays out."""

    name: str
    recipe: dict[str, Any]  # build_extractor(**recipe) rebuilds it (dask workers do)

    def spec_fields(self) -> dict[str, Any]: ...
    def arrays(self) -> dict[str, tuple[int, int]]: ...
    def provenance(self) -> dict[str, Any]: ...
    def __call__(self, wave: torch.Tensor) -> dict[str, torch.Tensor]: ...


def build_extractor(
    name: str,
    *,
    model_dir: str | Path | None = None,
    layers: Sequence[int] = (5,),
    device: str | torch.device = "cpu",
    **params: Any,
) -> Extractor:
    """Build "mel" (params: ``log``, ``hop_samples``) or "xlsr" / "wavlm" (local folder ``model_dir``, ``layers``)."""
    dev = resolve_device(device)
    if name == "mel":
        from codecfake.extract.mel import MelConfig, MelExtractor

        unknown = set(params) - {"log", "hop_samples", "n_samples"}
        if unknown:
            raise UnknownExtractor(f"mel extractor: unknown parameters {sorted(unknown)}; known: log, hop_samples")
        given = {key: kind(params[key]) for key, kind in (("log", bool), ("hop_samples", int)) if key in params}
        config = MelConfig(**given)  # what is not given: MelConfig's defaults, the paper's
        return MelExtractor(config, device=dev, n_samples=int(params.get("n_samples", N_SAMPLES)))
    if name in ("xlsr", "wavlm"):
        from codecfake.extract.ssl import SSLExtractor

        unknown = set(params) - {"n_samples"}
        if unknown:
            raise UnknownExtractor(f"{name} extractor: unknown parameters {sorted(unknown)}")
        return SSLExtractor(name, str(model_dir) if model_dir is not None else None, layers, dev,
                            n_samples=int(params.get("n_samples", N_SAMPLES)))
    raise UnknownExtractor(f"extractor {name!r} is not known; expected one of {', '.join(EXTRACTORS)}")
