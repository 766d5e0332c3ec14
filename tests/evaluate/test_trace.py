"""Source-tracing metrics against hand-computed values; the open-set threshold comes from dev only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

CLASSES = ("bonafide", "1", "2")


def test_accuracy_macro_f1_and_confusion_by_hand():
    from codecfake.evaluate.trace_metrics import closed_set

    true = ["bonafide", "bonafide", "1", "1", "2", "2", "7", "7"]
    pred = np.array([0, 1, 1, 1, 2, 0, 1, 1])
    cs = closed_set(true, pred, CLASSES)
    assert cs.n == 6 and cs.accuracy == pytest.approx(4 / 6)
    # F1 = 2 TP / (n predicted + n true): bona fide 2*1/(2+2), "1" 2*2/(3+2), "2" 2*1/(1+2) (unseen rows not counted)
    assert cs.per_class_f1 == pytest.approx({"bonafide": 0.5, "1": 0.8, "2": 2 / 3})
    assert cs.macro_f1 == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert cs.rows == ["bonafide", "1", "2", "7 (unseen)"]
    assert cs.matrix == [[1, 1, 0], [0, 2, 0], [1, 0, 1], [0, 2, 0]]


def test_auroc_fpr95_and_detection_rate_by_hand():
    from codecfake.evaluate.trace_metrics import auroc, fpr_at_tpr, open_set

    # novelty scores (higher = unknown): unknown 0.3 is above 2 of 3 known scores, unknown 0.5 above all 3: (2 + 3) / 6
    assert auroc([0.1, 0.2, 0.4], [0.3, 0.5]) == pytest.approx(5 / 6)
    assert auroc([0.5, 0.1], [0.5]) == pytest.approx(0.75)  # a tie counts one half
    assert np.isnan(auroc([0.5], []))
    # 20 known scores 0.01..0.20: keeping 95 % (19) puts the threshold at 0.19; unknown <= 0.19 are accepted
    known = np.arange(1, 21) / 100
    assert fpr_at_tpr(known, np.array([0.05, 0.19, 0.195, 0.9])) == pytest.approx(0.5)
    os_ = open_set(np.array([0.1, 0.2, 0.4, 0.3, 0.5]), np.array([1, 1, 1, 0, 0], bool), threshold=0.35)
    assert (os_.detection_rate, os_.false_unknown_rate) == (0.5, pytest.approx(1 / 3))
    assert os_.auroc == pytest.approx(5 / 6) and (os_.n_known, os_.n_unknown) == (3, 2)


def test_threshold_keeps_the_dev_share():
    from codecfake.evaluate.trace_metrics import novelty_threshold

    scores = np.random.default_rng(0).permutation(np.arange(1, 21) / 100)  # 0.01 .. 0.20
    thr = novelty_threshold(scores, keep=0.95)
    assert thr == pytest.approx(0.19) and (scores > thr).sum() == 1  # 1 of 20 (5 %) above, 95 % kept
    assert novelty_threshold(scores, keep=0.9) == pytest.approx(0.18)
    assert novelty_threshold(scores, keep=1.0) == pytest.approx(0.20)
    assert novelty_threshold(scores, keep=0.01) == pytest.approx(0.01)


FRAME = (16, 16)


def _store(root, dev_seed: int, test_seed: int):
    """One set (same key in every store): train/dev rows of generators bonafide, 1, 2; test rows incl. unseen 7."""
    from codecfake.store import FeatureStore
    from codecfake.store.testing import synthetic_spec, write_all

    gens = ["bonafide", "1", "2"]
    rows = [(f"{s}/{g}{i}", s, g) for s in ("train", "dev") for g in gens for i in range(6)]
    rows += [(f"C7/{g}{i}", "test", g) for g in ("bonafide", "7") for i in range(6)]
    utt, split, gen = (np.array(c, dtype=object) for c in zip(*rows))
    label = (gen != "bonafide").astype(np.int64)
    meta = {
        "utt_id": utt,
        "label": label,
        "domain": np.full(len(rows), "codec", dtype=object),
        "condition": np.where(split == "test", "C7", split).astype(object),
        "split": split,
        "method": np.where(label == 1, gen, "0").astype(object),
    }
    fs = FeatureStore(root).create(synthetic_spec("tr", params={"n_mels": FRAME[1]}), meta, shard_size=64)
    x = np.empty((len(rows), *FRAME), np.float32)
    for name, seed in (("train", 0), ("dev", dev_seed), ("test", test_seed)):  # train features never change
        part = split == name
        x[part] = np.random.default_rng(seed).normal(size=(part.sum(), *FRAME))
    write_all(fs, "mel", x)  # one shard
    return FeatureStore(root), fs


class MeanHead(torch.nn.Module):
    """logits = W (3 x mean over frames) + b: K outputs whose max softmax varies with the input."""

    def __init__(self, frame_shape, n_classes=2):
        super().__init__()
        torch.manual_seed(0)
        self.classifier = torch.nn.Linear(frame_shape[1], n_classes)

    def forward(self, x):
        emb = 3 * x.mean(dim=1)  # (B, D)
        return emb, self.classifier(emb)  # (B, K)


def _run(tmp_path, key):
    from codecfake.train.config import TrainConfig
    from codecfake.train.rundir import load_run, make_provenance, write_run

    model = MeanHead(FRAME, 3).eval()
    cfg = TrainConfig(
        name="r", task="trace", backend="lcnn", opt="adam", features=(key,), array="mel", batch=8
    )
    prov = make_provenance([key], "mel", FRAME, {"extractor": "mel"}, classes=list(CLASSES))
    return load_run(
        write_run(tmp_path / "runs" / "r", model, cfg, prov), builder=lambda n, s, **kw: MeanHead(s, **kw)
    )


def test_open_set_threshold_comes_from_dev_only(tmp_path):
    from codecfake.evaluate.conditions import conditions_of
    from codecfake.evaluate.run_eval import write_trace_outputs
    from codecfake.evaluate.run_outputs import RunOutputs

    base_store, fs = _store(tmp_path / "a", dev_seed=1, test_seed=10)
    run = _run(tmp_path, fs.key)
    out = {}
    for name, (dev_seed, test_seed) in {"a": (1, 10), "other_test": (1, 11), "other_dev": (2, 10)}.items():
        store, fs = _store(tmp_path / f"s_{name}", dev_seed, test_seed)
        out[name], _ = write_trace_outputs(
            run,
            store,
            conditions_of([fs]),
            RunOutputs(tmp_path / f"rep_{name}"),
            device="cpu",
            figures=name == "a",
        )
    a, t, d = out["a"], out["other_test"], out["other_dev"]
    assert set(a["scorers"]) == {"msp", "energy", "mahalanobis", "knn"}
    for name in a["scorers"]:  # every scorer: test features never move its threshold, dev features do
        assert a["scorers"][name]["threshold"] == t["scorers"][name]["threshold"], name
        assert a["scorers"][name]["threshold"] != d["scorers"][name]["threshold"], name
        assert a["conditions"][0]["scorers"][name]["auroc"] != t["conditions"][0]["scorers"][name]["auroc"], (
            name
        )
    assert a["threshold"] == t["threshold"]  # new test features: the same threshold
    assert (
        a["conditions"][0]["open_set"]["auroc"] != t["conditions"][0]["open_set"]["auroc"]
    )  # test side moved
    assert d["threshold"] != a["threshold"]  # new dev features: another threshold
    assert a["n_dev_known"] == 18 and a["conditions"][0]["open_set"]["n_unknown"] == 6
    assert [c["name"] for c in a["conditions"]] == ["C7", "ALL"]
    assert a["figures"] == ["trace_confusion.png", "openset_scores.png"]
    assert all((tmp_path / "rep_a" / "report" / f).stat().st_size for f in a["figures"])
    assert "## Source tracing" in (tmp_path / "rep_a" / "report" / "trace.md").read_text()
