"""codecfake.store: Zarr v3 feature sets with provenance, resumable whole-shard writes and a zero-copy reader.

Imports nothing of ours but ``codecfake.errors``, and never torch. Training reads sets through
``codecfake.train.data`` (the one training-data path).
"""

from codecfake.store.errors import (
    BadShardInput,
    CorruptShard,
    FeatureSetExists,
    FeatureSetMismatch,
    FeatureSetNotFound,
    FeatureStoreError,
    IncompleteFeatureSet,
    NonFiniteFeatures,
    ReadOnlyStore,
)
from codecfake.store.featureset import META_REQUIRED, FeatureSet, ShardReport
from codecfake.store.featurestore import MODES, FeatureSetInfo, FeatureStore
from codecfake.store.reader import ShardReader
from codecfake.store.spec import SCHEMA_VERSION, FeatureSetSpec

__all__ = [
    "BadShardInput",
    "CorruptShard",
    "FeatureSet",
    "FeatureSetExists",
    "FeatureSetInfo",
    "FeatureSetMismatch",
    "FeatureSetNotFound",
    "FeatureSetSpec",
    "FeatureStore",
    "FeatureStoreError",
    "IncompleteFeatureSet",
    "META_REQUIRED",
    "MODES",
    "NonFiniteFeatures",
    "ReadOnlyStore",
    "SCHEMA_VERSION",
    "ShardReader",
    "ShardReport",
]
