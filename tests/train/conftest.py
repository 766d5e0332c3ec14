"""Shared fixtures for the train tests: a tiny toy back-end (codecfake.train.testing; the real ones live in
train/backends.py)."""

from __future__ import annotations

import pytest
import torch

from codecfake.train.testing import toy_builder


@pytest.fixture
def builder():
    return toy_builder


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def write_feature_set(
    root,
    corpus: str,
    domain: str,
    *,
    n_train: int = 24,
    n_dev: int = 12,
    n_test: int = 0,
    frame_shape: tuple[int, int] = (6, 4),
    seed: int = 0,
    extractor: str = "mel",
    array: str = "mel",
    rejects: tuple[int, ...] = (),
    shard_size: int = 16,
    utt_prefix: str = "",
    extra: dict | None = None,
) -> str:
    """A small labelled feature set straight into a store: spoof clips are shifted by +0.8 (learnable). ``extra``:
    provenance entries (``{"preset": NAME}``: the set was made with ``codecfake features --preset NAME``)."""
    import numpy as np

    from codecfake.store import FeatureStore
    from codecfake.store.testing import synthetic_spec

    rng = np.random.default_rng(seed)
    n = n_train + n_dev + n_test
    split = np.array(["train"] * n_train + ["dev"] * n_dev + ["test"] * n_test)
    label = np.tile([0, 1], n)[:n].astype(np.int64)
    meta = {
        "utt_id": np.array([f"{utt_prefix or corpus}_{i:04d}" for i in range(n)]),
        "label": label,
        "domain": np.array([domain] * n),
        "condition": split.copy(),
        "split": split,
    }
    spec = synthetic_spec(corpus, seed=seed, extractor=extractor, params={"n_mels": frame_shape[1]})
    fs = FeatureStore(root).create(spec, meta, shard_size=shard_size, extra=extra)
    fs.ensure_array(array, frame_shape)
    x = rng.normal(size=(n, *frame_shape)).astype(np.float32) + 0.8 * label[:, None, None]
    for s in range(fs.n_shards):
        lo, hi = fs.shard_bounds(s)
        rej = [(i - lo, "corrupt audio") for i in rejects if lo <= i < hi]
        fs.write_shard(array, s, x[lo:hi], rejects=rej)
    return fs.key


@pytest.fixture
def demo_store(tmp_path):
    """A store with the two demo corpora (codec 40 train clips, vocoder 16) over a (6, 4) "mel" array."""
    root = tmp_path / "features"
    keys = [
        write_feature_set(root, "mini-codecfake", "codec", n_train=40, n_dev=12, n_test=6, seed=1),
        write_feature_set(root, "mini-19la", "vocoder", n_train=16, n_dev=8, seed=2),
    ]
    return root, keys


@pytest.fixture
def write_set():
    """The :func:`write_feature_set` helper (tests run with --import-mode=importlib: no conftest imports)."""
    return write_feature_set
