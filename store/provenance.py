"""Provenance recorded in every feature set's attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codecfake.provenance import environment, library_versions
from codecfake.store.spec import SCHEMA_VERSION, FeatureSetSpec

__all__ = ["build_provenance", "library_versions"]


def build_provenance(spec: FeatureSetSpec, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The provenance block: spec, schema, key and digest, then ``codecfake.provenance.environment()`` (package
    version, git commit, library versions, command line, UTC creation time, host), then the caller's extra."""
    return {
        "schema_version": SCHEMA_VERSION,
        "spec": spec.to_dict(),
        "key": spec.key,
        "spec_sha256": spec.digest,
        **environment(),
        "extra": dict(extra or {}),
    }
