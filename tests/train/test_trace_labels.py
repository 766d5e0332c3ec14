"""Source-tracing labels come from the manifest's generator column exactly, and a trace run trains and reloads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

FRAME = (6, 4)


def _write(
    root,
    corpus: str,
    domain: str,
    rows: list[tuple[str, int, str, str, str]],
    *,
    with_method: bool = True,
    seed: int = 0,
) -> str:
    """rows: (utt_id, label, split, condition, method) -> a feature set; spoofs shifted by +0.8 * generator rank."""
    from codecfake.store import FeatureStore
    from codecfake.store.testing import synthetic_spec, write_all

    utt, lab, split, cond, method = (np.array(c, dtype=object) for c in zip(*rows))
    meta = {
        "utt_id": utt,
        "label": lab.astype(np.int64),
        "domain": np.full(len(rows), domain, dtype=object),
        "condition": cond,
        "split": split,
    }
    if with_method:
        meta["method"] = method
    spec = synthetic_spec(corpus, seed=seed, params={"n_mels": FRAME[1]})
    fs = FeatureStore(root).create(spec, meta, shard_size=8)
    rng = np.random.default_rng(seed)
    write_all(fs, "mel", rng.normal(size=(len(rows), *FRAME)).astype(np.float32))
    return fs.key


def codec_rows() -> list[tuple[str, int, str, str, str]]:
    """Codecfake style: reals method "0" (A-style reals "L1"), fakes "1".."3" in train/dev, "7" only in test."""
    rows = []
    for split in ("train", "dev"):
        for i in range(4):
            rows.append((f"{split}/real{i}", 0, split, split, "0" if i else "L1"))
            for k in ("1", "3", "2"):
                rows.append((f"{split}/F0{k}_{i}", 1, split, split, k))
    rows += [("C7/real0", 0, "test", "C7", "0"), ("C7/F07_0", 1, "test", "C7", "7")]
    rows.append(("dev/F05_x", 1, "dev", "dev", "5"))  # a dev clip of a generator training never saw
    return rows


def la_rows() -> list[tuple[str, int, str, str, str]]:
    rows = []
    for split in ("train", "dev"):
        for i in range(3):
            rows.append((f"LA_{split}_b{i}", 0, split, "bonafide", "bonafide"))
            for a in ("A02", "A01"):
                rows.append((f"LA_{split}_{a}_{i}", 1, split, a, a))
    return rows


def _expected(utt: str) -> str:
    """The generator a row's utt_id names, computed independently of the code under test."""
    if "real" in utt or "_b" in utt:
        return "bonafide"
    if utt.startswith("LA_"):
        return utt.split("_")[2]
    return utt.split("/F0")[1][0]


@pytest.fixture
def trace_store(tmp_path):
    root = tmp_path / "features"
    keys = [
        _write(root, "mini-codecfake", "codec", codec_rows(), seed=1),
        _write(root, "mini-19la", "vocoder", la_rows(), seed=2),
    ]
    return root, keys


def test_classes_and_labels_are_the_manifest_generators_exactly(trace_store):
    from codecfake.store import FeatureStore
    from codecfake.train.config import TrainConfig
    from codecfake.train.data import load_training_data

    root, keys = trace_store
    data = load_training_data(FeatureStore(root), TrainConfig(task="trace", opt="adam", batch=4))
    # bona fide first (index 0 = P(bona fide)), then the spoof generators of the *training* rows, sorted
    assert data.classes == ("bonafide", "1", "2", "3", "A01", "A02")
    for split in (data.train, data.dev):
        for pos in range(len(split)):
            fs = data.sets[split.set_index[pos]]
            utt = fs.meta["utt_id"][split.local[pos]]
            assert data.classes[split.labels[pos]] == _expected(utt), utt
    dev_utts = {data.sets[s].meta["utt_id"][i] for s, i in zip(data.dev.set_index, data.dev.local)}
    assert (
        "dev/F05_x" not in dev_utts and len(data.dev) == 4 * 4 + 3 * 3
    )  # the unseen dev generator is left out
    counts = np.bincount(data.train.labels, minlength=6)  # bona fide 4 + 3 reals; 4 per codec; 3 per attack
    assert counts.tolist() == [7, 4, 4, 4, 3, 3]
    n = counts.sum()
    assert data.class_weights == pytest.approx([n / (6 * c) for c in counts])


@pytest.mark.parametrize("hold_out", [("C3",), ("3",), ("A01", "C2")])
def test_hold_out_never_trains_or_selects_on_the_held_out_fakes(trace_store, hold_out):
    from codecfake.store import FeatureStore
    from codecfake.train.config import TrainConfig
    from codecfake.train.data import load_training_data

    root, _ = trace_store
    config = TrainConfig(task="trace", opt="adam", batch=4, hold_out=hold_out)
    held = {g.lstrip("C") for g in hold_out}  # the generator names the utt_ids carry: "3", "A01"
    data = load_training_data(FeatureStore(root), config)
    assert not held & set(data.classes) and "bonafide" in data.classes  # a held-out generator is no class
    seen = [
        _expected(data.sets[s].meta["utt_id"][i])
        for split in (data.train, data.dev)
        for s, i in zip(split.set_index, split.local)
    ]
    assert not set(seen) & held  # its fakes left train and dev
    n_real = sum(
        _expected(u) == "bonafide" for s in data.sets for u in s.meta["utt_id"][s.meta["split"] != "test"]
    )
    assert seen.count("bonafide") == n_real  # every real stayed


def test_hold_out_refuses_a_generator_no_training_fake_carries(trace_store):
    from codecfake.store import FeatureStore
    from codecfake.train.config import TrainConfig
    from codecfake.train.data import load_training_data
    from codecfake.train.holdout import HoldOutError

    root, _ = trace_store
    with pytest.raises(HoldOutError, match=r"no training fakes of \['C7'\]"):
        load_training_data(FeatureStore(root), TrainConfig(task="trace", batch=4, hold_out=("C7",)))


def test_generator_labels_fall_back_to_condition_only_when_it_names_generators(tmp_path):
    from codecfake.store import FeatureStore
    from codecfake.train.trace_labels import TraceLabelError, generator_labels

    root = tmp_path / "features"
    la = FeatureStore(root).open(_write(root, "la", "vocoder", la_rows(), with_method=False, seed=3))
    got = generator_labels(la.meta)
    assert got.tolist() == [_expected(u) for u in la.meta["utt_id"]]
    cf = FeatureStore(root).open(_write(root, "cf", "codec", codec_rows(), with_method=False, seed=4))
    with pytest.raises(TraceLabelError, match="re-extract"):
        generator_labels(cf.meta)
    meta = dict(la.meta) | {"method": np.where(la.meta["label"] == 1, "", "bonafide").astype(object)}
    with pytest.raises(TraceLabelError, match="not a generator name"):
        generator_labels(meta)


def test_trace_refuses_binary_class_weights():
    from codecfake.train.config import ConfigError, TrainConfig

    TrainConfig(task="trace")
    with pytest.raises(ConfigError, match="balanced"):
        TrainConfig(task="trace", class_weights=(5.0, 1.0))


class KHead(nn.Module):
    def __init__(self, frame_shape, n_classes=2):
        super().__init__()
        self.proj = nn.Linear(frame_shape[1], 8)
        self.classifier = nn.Linear(8, n_classes)

    def forward(self, x):
        emb = torch.relu(self.proj(x.mean(dim=1)))  # (B, 8)
        return emb, self.classifier(emb)  # (B, K)


def k_builder(name, frame_shape, n_classes=2):
    torch.manual_seed(0)
    return KHead(frame_shape, n_classes)


def test_trace_run_trains_with_k_outputs_and_reloads(trace_store, tmp_path):
    from codecfake.train.config import TrainConfig
    from codecfake.train.loop import train
    from codecfake.train.rundir import load_run

    root, _ = trace_store
    cfg = TrainConfig(task="trace", backend="toy", opt="adam", epochs=1, batch=4, device="cpu", name="t")
    run_dir = train(cfg, root, tmp_path / "runs", builder=k_builder)
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["classes"] == ["bonafide", "1", "2", "3", "A01", "A02"] and len(prov["class_weights"]) == 6
    run = load_run(run_dir, builder=k_builder)
    assert run.classes == tuple(prov["classes"])
    assert run.model(torch.zeros(3, *FRAME))[1].shape == (3, 6)
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and np.isfinite(rows[0]["dev_loss"])


def test_backends_build_k_way_heads():
    from codecfake.train.backends import build_backend

    for name, shape in (("lcnn", (16, 16)), ("aasist", (9, 8))):
        model = build_backend(name, shape, n_classes=5).eval()
        with torch.no_grad():
            assert model(torch.zeros(2, *shape))[1].shape == (2, 5)
