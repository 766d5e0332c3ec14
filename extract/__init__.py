"""codecfake.extract: frozen SSL hidden states and log-mels into the feature store.

Public API: ``build_extractor`` (mel / xlsr / wavlm), ``extract_manifest`` (batched, resumable, optionally on dask).
They are imported on first use, so that the ``codecfake`` command line (which registers every stage) does not
import torch for ``codecfake store ls`` and friends.
"""

from importlib import import_module
from typing import Any

from codecfake.extract.errors import ExtractError, MissingCheckpoint, UnknownExtractor

_LAZY = {"EXTRACTORS": "codecfake.extract.extractors", "Extractor": "codecfake.extract.extractors",
         "build_extractor": "codecfake.extract.extractors", "extract_manifest": "codecfake.extract.pipeline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EXTRACTORS", "ExtractError", "Extractor", "MissingCheckpoint", "UnknownExtractor", "build_extractor", "extract_manifest"]
