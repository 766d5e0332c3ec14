"""Typed errors of the extract stage (each message says where, what was expected, what was found, and the fix)."""

from __future__ import annotations

from codecfake.errors import CodecfakeError


class ExtractError(CodecfakeError):
    """Base class of extraction errors."""


class MissingCheckpoint(ExtractError):
    """An SSL checkpoint folder lacks its config or weights (we never download at run time)."""


class UnknownExtractor(ExtractError):
    """An extractor name or parameter that this stage does not know."""


class ExtractorMismatch(ExtractError):
    """A rebuilt extractor would not make the features its recorded spec describes (other weights, a lost param)."""
