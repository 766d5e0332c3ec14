"""Every error the training stage raises, in one place (each a ``codecfake.errors.CodecfakeError``).

The CLI prints any of them as one line and exits 2. ``ExtractionMismatch`` is also a store ``FeatureSetMismatch``
(``differences``: field -> (first set, other set)), so code that catches the store's error catches it too.
"""

from __future__ import annotations

from codecfake.errors import CodecfakeError
from codecfake.store.errors import FeatureSetMismatch

__all__ = [
    "BackendError",
    "BackendInputShapeError",
    "CheckpointError",
    "ConfigError",
    "ExtractionMismatch",
    "HoldOutError",
    "OfficialImportError",
    "RunBusy",
    "RunError",
    "TraceLabelError",
    "TrainDataError",
    "TrainError",
    "UnknownBackend",
    "UnsafeCheckpoint",
    "VariantsMissing",
]


class ConfigError(CodecfakeError):
    """A training configuration key is unknown, or its value has the wrong type or range."""


class BackendError(CodecfakeError):
    """A back-end cannot be built as asked."""


class UnknownBackend(BackendError, ValueError):
    """The back-end name is not one of BACKENDS."""


class BackendInputShapeError(BackendError, ValueError):
    """The feature frame shape (T, D) is too small (or malformed) for the back-end's pooling stack."""


class TrainDataError(CodecfakeError):
    """The feature sets for a training run are missing, incomplete or do not fit together."""


class ExtractionMismatch(TrainDataError, FeatureSetMismatch):
    """Sets to train on together were extracted differently (``differences``: field -> (first set, other set))."""


class TraceLabelError(CodecfakeError):
    """A feature set's metadata cannot give every clip a generator label."""


class TrainError(CodecfakeError):
    """A training run cannot start or continue as asked."""


class RunError(CodecfakeError):
    """A run directory is missing, incomplete or inconsistent."""


class RunBusy(RunError):
    """Another live process holds the run folder (training it); ``holder`` names its host and pid."""

    def __init__(self, message: str, holder: dict | None = None):
        super().__init__(message)
        self.holder = dict(holder or {})


class CheckpointError(CodecfakeError):
    """A checkpoint pair is missing, torn, or does not fit the model."""


class OfficialImportError(CodecfakeError):
    """A released checkpoint cannot be read or does not fit our back-end."""


class UnsafeCheckpoint(OfficialImportError):
    """The pickle references something outside the allow-list; nothing it names was called."""


class HoldOutError(CodecfakeError):
    """A held-out generator is unknown to the training sets, or its fakes reached the training data."""


class VariantsMissing(CodecfakeError):
    """A training set lacks a variant set that ``--augment`` asks for (extract it with ``codecfake augment``)."""
