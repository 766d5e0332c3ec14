"""codecfake.extract: frozen SSL hidden states and log-mels into the feature store.

Public API: ``build_extractor`` (mel / xlsr / wavlm), ``extract_manifest`` (batched, resumable, optionally on dask).
Submodules are imported on demand, so ``codecfake --help`` (which imports ``codecfake.extract.cli``) needs no torch.
"""

from __future__ import annotations

from codecfake.lazy import lazy_exports

_EXPORTS = {
    "ExtractError": "errors",
    "MissingCheckpoint": "errors",
    "UnknownExtractor": "errors",
    "EXTRACTORS": "extractors",
    "Extractor": "extractors",
    "build_extractor": "extractors",
    "extract_manifest": "pipeline",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
