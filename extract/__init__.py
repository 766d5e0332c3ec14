"""codecfake.extract: frozen SSL hidden states and log-mels into the feature store.

Public API: ``build_extractor`` (mel / xlsr / wavlm), ``extract_manifest`` (batched, resumable, optionally on dask).
"""

from codecfake.extract.errors import ExtractError, MissingCheckpoint, UnknownExtractor
from codecfake.extract.extractors import EXTRACTORS, Extractor, build_extractor
from codecfake.extract.pipeline import extract_manifest

__all__ = ["EXTRACTORS", "ExtractError", "Extractor", "MissingCheckpoint", "UnknownExtractor", "build_extractor", "extract_manifest"]
