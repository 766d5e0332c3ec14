"""codecfake.extract: frozen SSL hidden states and log-mels into the feature store.

Public API: ``build_extractor`` (mel / xlsr / wavlm), ``extract_manifest`` (batched, resumable, optionally on dask).
Submodules are imported on demand, so ``codecfake --help`` (which imports ``codecfake.extract.cli``) needs no torch.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "ExtractError": "errors",
    "MissingCheckpoint": "errors",
    "UnknownExtractor": "errors",
    "EXTRACTORS": "extractors",
    "Extractor": "extractors",
    "build_extractor": "extractors",
    "extract_manifest": "pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"codecfake.extract.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'codecfake.extract' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
