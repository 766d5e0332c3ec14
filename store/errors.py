"""Typed errors of the feature store; each message names the set, what was expected, what was found, and the fix."""

from __future__ import annotations

from codecfake.errors import CodecfakeError


class FeatureStoreError(CodecfakeError):
    """Base class of every error raised by ``codecfake.store``."""


class FeatureSetNotFound(FeatureStoreError):
    """No feature set with this key under the store root."""


class FeatureSetExists(FeatureStoreError):
    """``mode="create"`` but the set is already there."""


class FeatureSetMismatch(FeatureStoreError):
    """The stored set was made with a different spec (or manifest) than the one asked for.

    ``differences`` maps each differing field to ``(stored, requested)``.
    """

    def __init__(self, message: str, differences: dict[str, tuple[object, object]]):
        super().__init__(message)
        self.differences = differences


class BadShardInput(FeatureStoreError):
    """Data handed to ``write_shard``/``create`` has the wrong shape, dtype or clip count (nothing was written)."""


class NonFiniteFeatures(FeatureStoreError):
    """Inf/NaN after the float16 cast under the ``error`` policy (nothing was written)."""


class IncompleteFeatureSet(FeatureStoreError):
    """An array is read for training but some shards are not committed yet."""


class CorruptShard(FeatureStoreError):
    """A shard file's index or size does not match the array, or its bytes differ from its commit record's CRC-32."""


class FeatureSetBusy(FeatureStoreError):
    """Another live process writes this set (or this shard); ``holders`` maps shard (-1: the whole set) to the
    holder's ``codecfake.lease.Holder``."""

    def __init__(self, message: str, holders: dict[int, object]):
        super().__init__(message)
        self.holders = holders


class ReadOnlyStore(FeatureStoreError):
    """A write was attempted on a remote (read-only) store."""
