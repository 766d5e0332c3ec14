"""Provenance recorded in every feature set's attributes (DESIGN §3)."""

from __future__ import annotations

import datetime as dt
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from codecfake.store.spec import SCHEMA_VERSION, FeatureSetSpec


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries that shape the stored bytes (torch only if installed)."""
    return {
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "zarr": _version("zarr"),
        "numcodecs": _version("numcodecs"),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "codecfake": _version("codecfake"),
    }


def build_provenance(spec: FeatureSetSpec, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The provenance block: spec, schema, versions, command line, creation time (UTC ISO 8601), caller's extra."""
    return {
        "schema_version": SCHEMA_VERSION,
        "spec": spec.to_dict(),
        "key": spec.key,
        "spec_sha256": spec.digest,
        "versions": library_versions(),
        "package_version": _version("codecfake"),
        "command": list(sys.argv),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "extra": dict(extra or {}),
    }
