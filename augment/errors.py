"""Errors of the augmentation stage: a bad ``AUGMENT=`` / ``DEGRADE=`` / ``FEATAUG=`` text, refused before any work."""

from __future__ import annotations

from codecfake.errors import CodecfakeError


class AugmentError(CodecfakeError):
    """An augmentation or degradation cannot be built or run as asked."""


class UnknownAugmentation(AugmentError):
    """A family / degradation name that does not exist; the message lists the known ones."""


class BadAugmentParameter(AugmentError):
    """A parameter that is unknown, malformed or out of range; the message names it and its range."""


class NotEnoughDisk(AugmentError):
    """The store's disk lacks the room for the variants asked for (``--force`` extracts anyway)."""
