"""What a codec is (``Codec``: (n,) float32 at ``rate_hz`` -> (m,) float32 at the same rate), a registry entry
(``CodecSpec``) and the error of both: shared by the classical codecs (``codecs``) and the neural ones (``neural``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from codecfake.errors import CodecfakeError


class CodecError(CodecfakeError):
    """Unknown codec name, bad option, or a codec that failed on a clip."""


class Codec(Protocol):
    # read-only (properties): frozen dataclasses and the neural codecs' attributes both qualify
    @property
    def name(self) -> str: ...
    @property
    def rate_hz(self) -> int: ...

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class CodecSpec:
    """A registry entry: a factory taking keyword options, and its documented defaults."""

    factory: Callable[..., Codec]
    defaults: dict = field(default_factory=dict)
    doc: str = ""
