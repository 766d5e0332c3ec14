"""Test helpers of the experiment runner: a tiny store holding both training domains and test conditions in the
paper's naming (mini-Codecfake: C1, C2 with their own reals; mini-19la: a pooled 19LA test), and small matrix files.

The features are learnable noise (spoofs shifted by +0.8) over a (32, 16) "mel" array, small enough that a real
Mel-LCNN trains an epoch in a fraction of a second on one CPU thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FRAME = (32, 16)  # (T, D): the smallest the real LCNN takes
COLUMNS = ("19LA", "C1", "C2", "CAVG", "AVG")


def _rows(domain: str, n_train: int, n_dev: int, n_test: int) -> dict[str, np.ndarray]:
    """Per-clip metadata: alternating bona fide / spoof; codec fakes by C1/C2, vocoder fakes by A01/A02 (train)
    and a pooled ASVspoof-style test (bona fide "bonafide", spoofs A07)."""
    n = n_train + n_dev + n_test
    split = np.array(["train"] * n_train + ["dev"] * n_dev + ["test"] * n_test)
    label = np.tile([0, 1], n)[:n].astype(np.int64)
    if domain == "codec":
        gen = np.array(
            [f"C{1 + (i // 2) % 2}" for i in range(n)]
        )  # C1, C1, C2, C2, …: each with its own reals
        condition = np.where(split == "test", gen, np.where(label == 1, gen, "bonafide"))
        method = np.where(label == 1, np.char.lstrip(gen, "C"), "0")
    else:
        attack = np.where(split == "test", "A07", np.array([f"A0{1 + (i // 2) % 2}" for i in range(n)]))
        condition = np.where(label == 1, attack, "bonafide")
        method = condition
    return {
        "utt_id": np.array([f"{domain}_{i:04d}" for i in range(n)]),
        "label": label,
        "domain": np.array([domain] * n),
        "condition": condition,
        "split": split,
        "method": method,
    }


def write_domain_set(root: Path, corpus: str, domain: str, *, seed: int, sizes: tuple[int, int, int]) -> str:
    """One small set of ``corpus`` (train/dev/test ``sizes``) with a complete "mel" array; returns its key."""
    from codecfake.store import FeatureStore
    from codecfake.store.testing import synthetic_spec, write_all

    meta = _rows(domain, *sizes)
    spec = synthetic_spec(corpus, seed=seed, params={"n_mels": FRAME[1]})
    fs = FeatureStore(root).create(spec, meta, shard_size=16)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(meta["label"]), *FRAME)).astype(np.float32) + 0.8 * meta["label"][:, None, None]
    write_all(fs, "mel", x)
    return fs.key


def write_matrix_store(root: Path) -> list[str]:
    """Both demo corpora: mini-codecfake (codec: 32 train, 8 dev, 16 test in C1/C2) and mini-19la (vocoder: 16, 8,
    8 pooled test)."""
    return [
        write_domain_set(root, "mini-codecfake", "codec", seed=1, sizes=(32, 8, 16)),
        write_domain_set(root, "mini-19la", "vocoder", seed=2, sizes=(16, 8, 8)),
    ]


def write_matrix(path: Path, cells: list[str], *, extra: str = "", seeds: int = 1) -> Path:
    """A matrix file over the tiny store: ``cells`` are TOML inline tables' bodies, e.g.
    ``'task = "codec", backend = "lcnn", opt = "adam", extractor = "mel"'``; one epoch at batch 8 unless ``extra``
    overrides."""
    body = ",\n  ".join("{ " + c + " }" for c in cells)
    path.write_text(
        f"""[matrix]
title = "tiny"
table = "T"
data = "demo"
eer = "plain"
columns = {list(COLUMNS)!r}
seeds = {seeds}
preset = "none"
train = {{ epochs = 1, batch = 8, threads = 1 }}
{extra}
cells = [
  {body},
]
"""
    )
    return path


__all__ = ["COLUMNS", "FRAME", "write_domain_set", "write_matrix", "write_matrix_store"]
