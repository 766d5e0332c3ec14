"""codecfake.store: Zarr v3 feature sets with provenance, resumable whole-shard writes and a zero-copy reader.

Imports nothing of ours but ``codecfake.errors`` and the leaf modules (``codecfake.common``, ``atomic``, ``lease``,
``provenance``), and never torch; training reads sets through ``codecfake.train.data`` (the one training-data path).
Submodules load on demand, so ``codecfake --help`` (which imports ``codecfake.store.cli``) needs no zarr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # the table's names as the type checker sees them (at run time each loads on first use)
    from codecfake.store.errors import BadShardInput as BadShardInput
    from codecfake.store.errors import CorruptShard as CorruptShard
    from codecfake.store.errors import FeatureSetBusy as FeatureSetBusy
    from codecfake.store.errors import FeatureSetExists as FeatureSetExists
    from codecfake.store.errors import FeatureSetMismatch as FeatureSetMismatch
    from codecfake.store.errors import FeatureSetNotFound as FeatureSetNotFound
    from codecfake.store.errors import FeatureStoreError as FeatureStoreError
    from codecfake.store.errors import IncompleteFeatureSet as IncompleteFeatureSet
    from codecfake.store.errors import NonFiniteFeatures as NonFiniteFeatures
    from codecfake.store.errors import ReadOnlyStore as ReadOnlyStore
    from codecfake.store.featureset import META_REQUIRED as META_REQUIRED
    from codecfake.store.featureset import FeatureSet as FeatureSet
    from codecfake.store.featureset import ShardReport as ShardReport
    from codecfake.store.featurestore import MODES as MODES
    from codecfake.store.featurestore import FeatureSetInfo as FeatureSetInfo
    from codecfake.store.featurestore import FeatureStore as FeatureStore
    from codecfake.store.reader import ShardReader as ShardReader
    from codecfake.store.spec import SCHEMA_VERSION as SCHEMA_VERSION
    from codecfake.store.spec import FeatureSetSpec as FeatureSetSpec

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
