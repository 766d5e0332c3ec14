"""codecfake.extract: frozen SSL hidden states and log-mels into the feature store.

Public API: ``build_extractor`` (mel / xlsr / wavlm), ``extract_manifest`` (batched, resumable, optionally on dask).
Submodules are imported on demand, so ``codecfake --help`` (which imports ``codecfake.extract.cli``) needs no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # the table's names as the type checker sees them (at run time each loads on first use)
    from codecfake.extract.errors import ExtractError as ExtractError
    from codecfake.extract.errors import MissingCheckpoint as MissingCheckpoint
    from codecfake.extract.errors import UnknownExtractor as UnknownExtractor
    from codecfake.extract.extractors import EXTRACTORS as EXTRACTORS
    from codecfake.extract.extractors import Extractor as Extractor
    from codecfake.extract.extractors import build_extractor as build_extractor
    from codecfake.extract.pipeline import extract_manifest as extract_manifest

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
