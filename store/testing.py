"""Test helpers others may use too: tiny feature sets for the store tests (N=10 clips, shards of 4,
the last one short, frames (5, 3)), the spec of any synthetic set, and a writer of every shard of an array.

Imported as `codecfake.store.testing` by tests of any stage (see docs/INTERFACES.md, "Test helpers")."""

from __future__ import annotations

from typing import Any

import numpy as np

from codecfake.store import FeatureSet, FeatureSetSpec

N, SHARD, T, D = 10, 4, 5, 3


def make_spec(**changes: Any) -> FeatureSetSpec:
    fields: dict[str, Any] = dict(
        corpus="mini-codecfake",
        manifest_sha256="ab" * 32,
        extractor="xlsr",
        model_id="facebook/wav2vec2-xls-r-300m",
        weights_sha256="cd" * 32,
        params={"layers_run": 5},
    )
    fields.update(changes)
    return FeatureSetSpec(**fields)


def synthetic_spec(
    corpus: str, *, seed: int = 0, extractor: str = "mel", params: dict[str, Any] | None = None
) -> FeatureSetSpec:
    """The spec of a synthetic set of ``corpus``: manifest hash ``seed`` written out in 64 digits (a different seed, a
    different set), no weights; model id "mel-80-512-128" for the ``mel`` extractor, "toy/ssl" for any other."""
    return FeatureSetSpec(
        corpus=corpus,
        manifest_sha256=f"{seed:064d}",
        extractor=extractor,
        model_id="mel-80-512-128" if extractor == "mel" else "toy/ssl",
        weights_sha256="",
        params=params or {},
    )


def make_meta(n: int = N) -> dict[str, np.ndarray]:
    return {
        "utt_id": np.array([f"C1/F01_{i:03d}" for i in range(n)], dtype=object),
        "label": np.arange(n) % 2,
        "domain": np.array(["codec" if i < n - 3 else "vocoder" for i in range(n)], dtype=object),
        "condition": np.array([f"C{1 + i % 3}" for i in range(n)], dtype=object),
        "split": np.array(["train"] * (n - 2) + ["dev"] * 2, dtype=object),
        "n_frames": np.full(n, T, dtype=np.int32),
    }


def make_data(n: int = N, t: int = T, d: int = D, seed: int = 0) -> np.ndarray:
    """(n, t, d) float32: smooth, clip-specific, every value distinct enough to catch misplaced clips."""
    rng = np.random.default_rng(seed)
    base = np.cumsum(rng.normal(size=(n, t, d)), axis=1)
    return (base + np.arange(n)[:, None, None] * 10).astype(np.float32)


def write_all(fs: FeatureSet, name: str, data: np.ndarray, rejects: dict[int, list] | None = None) -> None:
    fs.ensure_array(name, data.shape[1:])
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        fs.write_shard(name, s, data[a:b], rejects=(rejects or {}).get(s, ()))
