"""Test helpers of the evaluate stage (and of anyone testing on evaluated runs): tiny synthetic mel-like feature
sets written straight into a real store, labelled rows in Codecfake and ASVspoof styles, and a run written through
train's ``write_run``. ``make_env`` builds the evaluate tests' shared store and run. ``write_scored_run`` writes a
run folder of score files alone (no model, no store): ``scores/<condition>.tsv``, ``dev_scores.tsv`` and
``report/report.json`` with the EER part as the evaluation computes it, what calibrate / fuse / export / report /
compare read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from codecfake.evaluate.score_tsv import Scores
    from codecfake.store import FeatureSet, FeatureSetSpec, FeatureStore

__all__ = [
    "FRAME",
    "MEL_PARAMS",
    "ONE_EPOCH_LCNN",
    "mel_spec",
    "synthetic_features",
    "write_set",
    "codec_meta",
    "codec_rows",
    "la_rows",
    "Env",
    "make_run",
    "make_env",
    "write_scored_run",
    "write_trace_set",
]

FRAME = (12, 80)  # (T, D): small, but 80 "mel" bands so the baselines' band arithmetic applies
MEL_PARAMS = {"n_mels": 80, "n_fft": 512, "hop": 128, "power": 2.0, "log": False, "f_max_hz": 8000}
# `codecfake train` flags of the end-to-end tests: one epoch of the real LCNN with Adam, batches of 4 (add --task)
ONE_EPOCH_LCNN = ("--backend", "lcnn", "--opt", "adam", "--epochs", "1", "--batch", "4")


def mel_spec(corpus: str, params: dict | None = None) -> FeatureSetSpec:
    """A mel ``FeatureSetSpec`` of ``corpus`` (synthetic params unless given)."""
    from codecfake.store.testing import synthetic_spec

    return synthetic_spec(corpus, params=params or MEL_PARAMS)


def synthetic_features(labels: np.ndarray, rng: np.random.Generator, hf_cut: np.ndarray) -> np.ndarray:
    """(N, T, 80) power 'mel': bona fide has energy in every band, spoofs lose bands >= hf_cut (a codec artefact)."""
    x = rng.gamma(2.0, 1.0, size=(len(labels), *FRAME)).astype(np.float32)
    for i, y in enumerate(labels):
        if y == 1:
            x[i, :, hf_cut[i] :] *= 1e-3
    return x


def write_set(
    store: FeatureStore,
    corpus: str,
    rows: list[tuple[str, int, str, str]],
    *,
    seed: int,
    hf_cut: int = 60,
    params: dict | None = None,
    array: str = "mel",
) -> FeatureSet:
    """rows: (utt_id, label, condition, split); returns the FeatureSet (shard size 8, all shards committed)."""
    from codecfake.store.testing import write_all

    rng = np.random.default_rng(seed)
    meta = codec_meta(rows)
    fs = store.create(mel_spec(corpus, params), meta, shard_size=8)
    cuts = np.full(len(rows), hf_cut)
    cuts[np.char.startswith(meta["condition"].astype(str), "A")] = (
        78  # A-attacks: band-limited only at the very top (harder)
    )
    write_all(fs, array, synthetic_features(meta["label"], rng, cuts))
    return fs


def codec_meta(rows: list[tuple[str, int, str, str]]) -> dict[str, np.ndarray]:
    """rows (utt_id, label, condition, split) -> a set's metadata columns, every clip in the codec domain."""
    utt, lab, cond, split = (np.array(c) for c in zip(*rows, strict=True))
    return {
        "utt_id": utt,
        "label": lab.astype(np.int64),
        "domain": np.full(len(rows), "codec"),
        "condition": cond,
        "split": split,
    }


def codec_rows(
    conditions: tuple[str, ...] = ("C1", "C2", "A1"), n: int = 6
) -> list[tuple[str, int, str, str]]:
    """Codecfake-style rows (utt_id, label, condition, split): train, dev, and each condition with its own reals."""
    rows = [(f"train/{i}", i % 2, "train", "train") for i in range(16)]
    rows += [(f"dev/{i}", i % 2, "dev", "dev") for i in range(8)]
    for c in conditions:
        rows += [(f"{c}/{i}", i % 2, c, "test") for i in range(2 * n)]
    return rows


def la_rows(n: int = 6) -> list[tuple[str, int, str, str]]:
    """ASVspoof-style rows: bona fide rows say "bonafide", spoofs their attack id (a pooled condition)."""
    rows = [(f"LA_T_{i}", i % 2, "bonafide" if i % 2 == 0 else "A01", "train") for i in range(8)]
    rows += [(f"LA_E_b{i}", 0, "bonafide", "test") for i in range(n)]
    rows += [(f"LA_E_s{i}", 1, ("A07", "A08")[i % 2], "test") for i in range(n)]
    return rows


@dataclass
class Env:
    """The evaluate tests' store (codec, LA and other-params sets, keys by those names) and one codec run."""

    root: Path
    store_root: Path
    run_dir: Path
    keys: dict[str, str]


def make_run(
    run_dir: Path,
    store: FeatureStore,
    train_key: str,
    *,
    seed: int = 1,
    name: str | None = None,
    torch_seed: int = 0,
) -> Path:
    """An untrained AASIST codec run on ``train_key``'s spec, written through ``write_run``; returns its folder."""
    from codecfake.store.spec import extractor_fields
    from codecfake.train.backends import build_backend
    from codecfake.train.config import TrainConfig
    from codecfake.train.rundir import make_provenance, write_run

    torch.manual_seed(torch_seed)
    model = build_backend("aasist", FRAME)
    cfg = TrainConfig(
        name=name or run_dir.name,
        task="codec",
        backend="aasist",
        opt="adam",
        features=(train_key,),
        array="mel",
        seed=seed,
        batch=8,
    )
    prov = make_provenance([train_key], "mel", FRAME, extractor_fields(store.open(train_key).spec))
    return write_run(run_dir, model.eval(), cfg, prov, metrics={"epoch": 1})


def make_env(root: Path) -> Env:
    """The shared store under ``root/features`` and the run ``root/runs/codec-aasist-adam-s1``."""
    from codecfake.store import FeatureStore

    store = FeatureStore(root / "features")
    codec = write_set(store, "mini-codecfake", codec_rows(), seed=1)
    la = write_set(store, "mini-19la", la_rows(), seed=2)
    other = write_set(store, "other-params", codec_rows(("C3",)), seed=3, params=MEL_PARAMS | {"log": True})
    run_dir = make_run(root / "runs" / "codec-aasist-adam-s1", store, codec.key)
    return Env(
        root=root,
        store_root=root / "features",
        run_dir=run_dir,
        keys={"codec": codec.key, "la": la.key, "other": other.key},
    )


# ---- runs known only by their score files


def _trials(name: str, n_bona: int, n_spoof: int, rng: np.random.Generator, noise: float) -> Scores:
    y = np.r_[np.zeros(n_bona, int), np.ones(n_spoof, int)]
    x = np.where(y == 0, 1.0, -1.0) + rng.normal(0, noise, y.size)
    ids = np.array([f"{name}/u{i:05d}" for i in range(y.size)])
    from codecfake.evaluate.score_fusion import posterior_from_llr
    from codecfake.evaluate.score_tsv import Scores

    return Scores(ids, posterior_from_llr(x), y, np.full(y.size, name))


def write_scored_run(
    run_dir: str | Path,
    conditions: Mapping[str, tuple[str, int, int]],
    *,
    seed: int = 0,
    noise: float = 1.0,
    dev: tuple[int, int] | None = (200, 300),
) -> Path:
    """``conditions``: name -> (corpus, n bona fide, n spoof); scores = P(bona fide) of ±1 + N(0, noise) log-odds,
    the same trial ids for the same names whatever the seed (so runs written with other seeds share trials)."""
    from codecfake.evaluate.detection_report import MetricConfig
    from codecfake.evaluate.run_outputs import DEV_SCORES
    from codecfake.evaluate.score_file_report import scores_report
    from codecfake.evaluate.score_tsv import write_scores

    run = Path(run_dir)
    rng = np.random.default_rng(seed)
    scores = {}
    for name, (_, n_b, n_s) in conditions.items():
        scores[name] = _trials(name, n_b, n_s, rng, noise)
        write_scores(run / "scores" / f"{name}.tsv", scores[name])
    if dev is not None:
        write_scores(run / DEV_SCORES, _trials("dev", *dev, rng, noise))
    system = {"array": "mel", "extractor": {"extractor": "mel", "model_id": "test"}, "config": {"seed": seed}}
    corpus_of = {c: v[0] for c, v in conditions.items()}
    report = scores_report(
        run, scores, corpus_of, dev_threshold=None, system=system, cfg=MetricConfig(resamples=0)
    )
    (run / "report").mkdir(parents=True, exist_ok=True)
    (run / "report" / "report.json").write_text(json.dumps(report) + "\n")
    return run


def write_trace_set(
    store: FeatureStore,
    corpus: str = "mini-trace",
    *,
    n: int = 8,
    seed: int = 0,
    frame: tuple[int, int] = (16, 16),
) -> FeatureSet:
    """A codec-domain mel set for source tracing: bona fide and generators "1".."3" in train/dev/test (their
    features shifted by the generator, so a model can learn them), "7" in test only (unseen, condition C7), and
    speakers s0/s1 everywhere plus s9 only among the test reals (an unseen speaker). Returns the FeatureSet."""
    from codecfake.store.testing import write_all

    rows = []
    for part in ("train", "dev"):
        for g in ("0", "1", "2", "3"):
            rows += [(f"{part}/{g}_{i}", part, part, g, f"s{i % 2}") for i in range(n)]
    for c, g in (("C1", "1"), ("C7", "7")):
        rows += [(f"{c}/0_{i}", "test", c, "0", "s9" if i == 0 else f"s{i % 2}") for i in range(n)]
        rows += [(f"{c}/{g}_{i}", "test", c, g, f"s{i % 2}") for i in range(n)]
    utt, split, cond, method, speaker = (np.array(c, dtype=object) for c in zip(*rows))
    label = (method != "0").astype(np.int64)
    meta = {"utt_id": utt, "label": label, "domain": np.full(len(rows), "codec", dtype=object)}
    meta |= {"condition": cond, "split": split, "method": method, "speaker": speaker}
    fs = store.create(mel_spec(corpus, {"n_mels": frame[1]}), meta, shard_size=16)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(rows), *frame)).astype(np.float32)
    for i, g in enumerate(method):
        x[i, :, 4 * (int(g) % 4) : 4 * (int(g) % 4) + 4] += 3.0  # each generator lifts its own bands
    write_all(fs, "mel", x)
    return fs
