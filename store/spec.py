"""What made a feature set: the spec whose hash is the set's key.

A key is ``<corpus>.<extractor>.<12 hex>`` where the hex digest covers every spec field (canonical JSON, sorted keys),
so two sets that differ in manifest, model weights, extractor parameters or preprocessing never share a key.
Layers are *not* in the key: one set holds one array per layer, and adding a layer later rewrites nothing.
A set that holds one *part* of a dataset (a Codecfake label file, an ASVspoof protocol) records it in ``part`` and
its key reads ``<corpus>.<part>.<extractor>.<12 hex>``; ``part`` "" is left out of the digest, so sets made before
parts existed (and the demo's one set per corpus) keep their keys.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from codecfake.common import N_SAMPLES, SAMPLE_RATE_HZ

SCHEMA_VERSION = 1
DTYPES = (
    "float16",
    "float32",
)  # float32 for values past float16's 65,504 (power mels); the default keeps old keys
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _canonical(value: Any) -> Any:
    """Mappings become sorted dicts, tuples lists: JSON that is byte-identical for equal specs."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


@dataclass(frozen=True)
class FeatureSetSpec:
    """Everything that changes the stored values: manifest, extractor, preprocessing."""

    corpus: str
    manifest_sha256: str
    extractor: str  # "mel" | "xlsr" | "wavlm"
    model_id: str  # "facebook/wav2vec2-xls-r-300m" or "mel-80-512-128"
    weights_sha256: str  # "" for mel
    params: Mapping[str, Any] = field(default_factory=dict)  # n_mels, log, normalise, …
    dtype: str = "float16"  # one of DTYPES: the stored arrays' dtype
    sample_rate_hz: int = SAMPLE_RATE_HZ
    n_samples: int = N_SAMPLES
    pad_rule: str = "repeat"
    crop_rule: str = "first"
    part: str = ""  # "" = the whole corpus; else "train", "dev", "C1", … "eval" (one label file / protocol)
    # {} = the clean audio; else the augmented *variant* of a clean set (codecfake.augment.variant.Variant.spec_entry:
    # tag, recipe, index, seed, the clean set's key "of", which rows): left out of the digest when empty
    augment: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"FeatureSetSpec.dtype: one of {DTYPES} is stored (got {self.dtype!r})")
        json.dumps(_canonical(dict(self.params)))  # params must be JSON-serialisable
        json.dumps(_canonical(dict(self.augment)))

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON-ready dict (params sorted)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["params"] = _canonical(dict(self.params))
        out["augment"] = _canonical(dict(self.augment))
        if not self.part:
            del out["part"]  # keys and digests of whole-corpus sets are what they were before parts existed
        if not self.augment:
            del out["augment"]  # clean sets keep the keys they had before variants existed
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSetSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"FeatureSetSpec: unknown fields {sorted(unknown)}")
        return cls(**{k: v for k, v in data.items()})

    @property
    def digest(self) -> str:
        """sha256 hex of the canonical JSON of every field."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()

    @property
    def key(self) -> str:
        """``<corpus>[.<part>].<extractor>[.<variant tag>].<12 hex>``: deterministic over every field; layers are not
        in it."""
        part = f"{_SAFE.sub('-', self.part)}." if self.part else ""
        tag = f"{_SAFE.sub('-', str(self.augment.get('tag', 'variant')))}." if self.augment else ""
        return f"{_SAFE.sub('-', self.corpus)}.{part}{_SAFE.sub('-', self.extractor)}.{tag}{self.digest[:12]}"

    @property
    def is_variant(self) -> bool:
        """True for an augmented / degraded copy of a clean set (training and evaluation skip it by default)."""
        return bool(self.augment)

    def differences(self, other: FeatureSetSpec) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ: ``{name: (self value, other value)}``; params are compared per entry."""
        mine, theirs = self.to_dict(), other.to_dict()
        diff: dict[str, tuple[Any, Any]] = {}
        for name in mine:
            if name == "params":
                for p in sorted(set(mine["params"]) | set(theirs["params"])):
                    a, b = mine["params"].get(p), theirs["params"].get(p)
                    if a != b:
                        diff[f"params.{p}"] = (a, b)
            elif mine[name] != theirs.get(name, {} if name == "augment" else ""):
                diff[name] = (mine[name], theirs.get(name, {} if name == "augment" else ""))
        if "part" in theirs and "part" not in mine:
            diff["part"] = ("", theirs["part"])
        if "augment" in theirs and "augment" not in mine:
            diff["augment"] = ({}, theirs["augment"])
        return diff


# FeatureSetSpec fields that decide whether feature sets fit one model: everything but corpus, manifest hash and
# part. Training refuses sets that differ in any; evaluation scores a run only on test sets that agree on all.
EXTRACTOR_FIELDS = (
    "extractor",
    "model_id",
    "weights_sha256",
    "params",
    "dtype",
    "sample_rate_hz",
    "n_samples",
    "pad_rule",
    "crop_rule",
)


def extractor_fields(spec: FeatureSetSpec | Mapping[str, Any]) -> dict[str, Any]:
    """The EXTRACTOR_FIELDS of a FeatureSetSpec or of a mapping (a spec's dict, a run's recorded extractor)."""
    d = spec.to_dict() if isinstance(spec, FeatureSetSpec) else dict(spec)  # a mapping: a copy
    return {k: d[k] for k in EXTRACTOR_FIELDS if k in d}
