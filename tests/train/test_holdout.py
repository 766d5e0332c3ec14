"""Leave-one-generator-out: the held-out generator's fakes never reach train or dev (its bona fide stays), checked
against the raw metadata, and a wrong row filter is caught by the guard."""

from __future__ import annotations

import numpy as np
import pytest

from codecfake.store import FeatureSetSpec, FeatureStore
from codecfake.train import data as data_mod
from codecfake.train.config import TrainConfig
from codecfake.train.data import load_training_data
from codecfake.train.holdout import HoldOutError


def _set(store: FeatureStore, corpus: str, domain: str, methods: list[str], condition_of_spoof: str) -> None:
    """Each method's clips: 2 bona fide + 2 fakes per split; Codecfake style (condition = split) or ASVspoof style."""
    rows = []
    for split in ("train", "dev"):
        for m in methods:
            for k in range(2):
                rows.append(
                    (f"{corpus}_{split}_{m}_r{k}", 0, split, "0" if domain == "codec" else "bonafide")
                )
                rows.append((f"{corpus}_{split}_{m}_f{k}", 1, split, m))
    meta = {
        "utt_id": np.array([r[0] for r in rows]),
        "label": np.array([r[1] for r in rows]),
        "split": np.array([r[2] for r in rows]),
        "method": np.array([r[3] for r in rows]),
        "domain": np.array([domain] * len(rows)),
        # Codecfake train/dev rows carry the split as condition; ASVspoof rows the attack id (bona fide "bonafide")
        "condition": np.array(
            [r[2] if condition_of_spoof == "split" else (r[3] if r[1] else "bonafide") for r in rows]
        ),
    }
    fs = store.create(FeatureSetSpec(corpus, "0" * 64, "mel", "m", "", {}), meta, shard_size=64)
    fs.ensure_array("mel", (2, 2))
    fs.write_shard("mel", 0, np.zeros((len(rows), 2, 2), np.float32))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> FeatureStore:
    store = FeatureStore(tmp_path_factory.mktemp("holdout"))
    _set(store, "mini-codecfake", "codec", ["1", "2", "3"], "split")
    _set(store, "mini-19la", "vocoder", ["A01", "A02"], "attack")
    return store


def _positions_meta(data, split):
    """(method, label) of every chosen position, read from the raw metadata (not through the filter)."""
    out = []
    for s, i in zip(split.set_index.tolist(), split.local.tolist(), strict=True):
        meta = data.sets[s].meta
        out.append((str(meta["method"][i]), int(meta["label"][i])))
    return out


@pytest.mark.parametrize(("hold", "method"), [(("C3",), "3"), (("3",), "3"), (("A02",), "A02")])
def test_held_out_fakes_never_reach_train_or_dev(store, hold, method):
    full = load_training_data(store, TrainConfig(backend="toy", task="cotrain"))
    data = load_training_data(store, TrainConfig(backend="toy", task="cotrain", hold_out=hold))
    for split, whole in ((data.train, full.train), (data.dev, full.dev)):
        rows = _positions_meta(data, split)
        assert (method, 1) not in rows
        n_held = sum(1 for r in _positions_meta(full, whole) if r == (method, 1))
        assert n_held == 2 and len(split) == len(whole) - n_held  # only those fakes left
        assert sum(lab == 0 for _, lab in rows) == sum(lab == 0 for _, lab in _positions_meta(full, whole))


def test_a_wrong_filter_fails(store, monkeypatch):
    # a filter that reads the condition column instead of the generator: Codecfake's train rows say "train"
    wrong = lambda meta, hold: np.isin(np.asarray(meta["condition"]), list(hold))  # noqa: E731
    monkeypatch.setattr(data_mod, "held_out_mask", wrong)
    with pytest.raises(HoldOutError, match="reached the training data"):
        load_training_data(store, TrainConfig(backend="toy", task="cotrain", hold_out=("C3",)))


def test_unknown_or_total_hold_out_is_refused(store):
    with pytest.raises(HoldOutError, match=r"no training fakes of \['C9'\].*A01, A02, C1, C2, C3"):
        load_training_data(store, TrainConfig(backend="toy", task="cotrain", hold_out=("C9",)))
    with pytest.raises(HoldOutError, match="removes every training generator"):
        load_training_data(store, TrainConfig(backend="toy", task="codec", hold_out=("C1", "C2", "C3")))
    # source tracing holds out the same way: the generator's fakes never reach training, so it is an unseen class
    data = load_training_data(store, TrainConfig(backend="toy", task="trace", hold_out=("C2",)))
    assert "2" not in data.classes and ("2", 1) not in _positions_meta(data, data.train)
