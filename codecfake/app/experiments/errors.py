"""The experiment runner's error: a matrix file that cannot be run as written."""

from __future__ import annotations

from codecfake.presets import PresetError

__all__ = ["MatrixError"]


class MatrixError(PresetError):
    """A matrix file is missing, malformed, or names a task, optimiser, back-end or option that does not exist."""
