"""Which feature sets a run trains on when none are named: one dataset per domain, never a silent pick."""

from __future__ import annotations

import pytest

from codecfake.store import FeatureStore
from codecfake.train.config import TrainConfig
from codecfake.train.data import TrainDataError, load_training_data


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(**{**dict(backend="toy", task="codec", opt="adam", batch=8, extractor="mel"), **kw})


def test_two_corpora_for_one_domain_are_refused_with_their_keys(tmp_path, write_set) -> None:
    root = tmp_path / "features"
    demo = write_set(root, "mini-codecfake", "codec", n_train=20, n_dev=8, seed=1)
    real = write_set(root, "codecfake", "codec", n_train=20, n_dev=8, seed=2)
    with pytest.raises(TrainDataError, match="2 datasets") as err:
        load_training_data(FeatureStore(root), _cfg())
    text = str(err.value)
    assert demo in text and real in text and "FEATURES=" in text and "--features" in text
    chosen = load_training_data(FeatureStore(root), _cfg(features=(real,)))  # the fix the message names
    assert [fs.key for fs in chosen.sets] == [real]


def test_parts_of_one_dataset_are_used_together(tmp_path, write_set) -> None:
    root = tmp_path / "features"
    train_part = write_set(root, "codecfake", "codec", n_train=20, n_dev=0, seed=3, utt_prefix="tr")
    dev_part = write_set(root, "codecfake", "codec", n_train=0, n_dev=8, seed=4, utt_prefix="dv")
    write_set(root, "codecfake", "codec", n_train=0, n_dev=0, n_test=6, seed=5, utt_prefix="c1")
    vocoder = write_set(root, "asvspoof2019", "vocoder", n_train=12, n_dev=6, seed=6)
    data = load_training_data(FeatureStore(root), _cfg())
    assert sorted(fs.key for fs in data.sets) == sorted(
        [train_part, dev_part]
    )  # a test-only part is not needed
    assert (len(data.train), len(data.dev)) == (20, 8)
    co = load_training_data(FeatureStore(root), _cfg(task="cotrain"))
    assert sorted(fs.key for fs in co.sets) == sorted([train_part, dev_part, vocoder])


def test_the_same_clip_in_two_sets_is_refused(tmp_path, write_set) -> None:
    root = tmp_path / "features"
    whole = write_set(root, "codecfake", "codec", n_train=20, n_dev=8, seed=7, utt_prefix="x")
    part = write_set(root, "codecfake", "codec", n_train=20, n_dev=0, seed=8, utt_prefix="x")
    with pytest.raises(TrainDataError, match="both hold train/dev clip 'x_0000'") as err:
        load_training_data(FeatureStore(root), _cfg())
    assert whole in str(err.value) and part in str(err.value)


def test_two_extractions_of_one_corpus_are_two_datasets(tmp_path, write_set) -> None:
    root = tmp_path / "features"
    a = write_set(root, "codecfake", "codec", n_train=20, n_dev=8, seed=9, utt_prefix="a")
    b = write_set(root, "codecfake", "codec", n_train=20, n_dev=8, seed=9, utt_prefix="b", frame_shape=(6, 5))
    with pytest.raises(TrainDataError, match="2 datasets") as err:
        load_training_data(FeatureStore(root), _cfg())
    assert a in str(err.value) and b in str(err.value)
