"""codecfake.store: Zarr v3 feature sets with provenance, resumable whole-shard writes and a zero-copy reader.

Imports nothing of ours but ``codecfake.errors`` and the leaf modules (``codecfake.common``, ``atomic``, ``lease``,
``provenance``), and never torch; training reads sets through ``codecfake.train.data`` (the one training-data path).
Submodules load on demand, so ``codecfake --help`` (which imports ``codecfake.store.cli``) needs no zarr.
"""

from __future__ import annotations

from codecfake.lazy import lazy_exports

_EXPORTS = {
    "BadShardInput": "errors",
    "CorruptShard": "errors",
    "FeatureSetBusy": "errors",
    "FeatureSetExists": "errors",
    "FeatureSetMismatch": "errors",
    "FeatureSetNotFound": "errors",
    "FeatureStoreError": "errors",
    "IncompleteFeatureSet": "errors",
    "NonFiniteFeatures": "errors",
    "ReadOnlyStore": "errors",
    "FeatureSet": "featureset",
    "META_REQUIRED": "featureset",
    "ShardReport": "featureset",
    "FeatureSetInfo": "featurestore",
    "FeatureStore": "featurestore",
    "MODES": "featurestore",
    "ShardReader": "reader",
    "FeatureSetSpec": "spec",
    "SCHEMA_VERSION": "spec",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
