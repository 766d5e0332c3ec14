"""Named compressor choices for feature arrays (default none: fp16 activations compress only ~1.08×)."""

from __future__ import annotations

from typing import Any

from zarr.codecs import BloscCodec, BloscShuffle, ZstdCodec

from codecfake.store.errors import BadShardInput

COMPRESSORS = ("none", "zstd[:LEVEL]", "blosc-zstd[:LEVEL]", "blosc-lz4")


def normalise_compressor(name: str | None) -> str | None:
    """Canonical name, or None for no compression; raises ``BadShardInput`` for unknown names."""
    if name in (None, "", "none"):
        return None
    compressors_for(name)
    return name


def compressors_for(name: str | None) -> Any:
    """Zarr ``compressors=`` value for a named choice."""
    if name in (None, "", "none"):
        return None
    base, _, level = name.partition(":")
    try:
        lvl = int(level) if level else 1
    except ValueError:
        raise BadShardInput(f"compressor {name!r}: level must be an integer") from None
    if base == "zstd":
        return ZstdCodec(level=lvl)
    if base == "blosc-zstd":
        return BloscCodec(cname="zstd", clevel=lvl, shuffle=BloscShuffle.shuffle)
    if base == "blosc-lz4":
        return BloscCodec(cname="lz4", clevel=lvl or 5, shuffle=BloscShuffle.shuffle)
    raise BadShardInput(f"unknown compressor {name!r}; choose one of {COMPRESSORS}")
