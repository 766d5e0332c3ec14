"""Training on stored variants: each clip once per epoch, read as one of its copies, with exact batches and CSAM's
per-domain counts; the same copies after a reload (resume); a missing variant set is refused with the command."""

from __future__ import annotations

import numpy as np
import pytest

from codecfake.augment.recipe import parse_augment
from codecfake.augment.variant import Variant
from codecfake.store import FeatureSetSpec, FeatureStore
from codecfake.train.config import TrainConfig
from codecfake.train.data import Prefetcher, load_into_memory, load_training_data
from codecfake.train.sampler import RandomBatches, StratifiedBatches
from codecfake.train.variants import VariantsMissing, load_variants_into_memory

SHAPE = (3, 2)


def _spec(corpus: str, augment: dict | None = None) -> FeatureSetSpec:
    return FeatureSetSpec(corpus, "0" * 64, "mel", "mel-80-512-128", "", {"n_mels": 2}, augment=augment or {})


def _write(store: FeatureStore, spec: FeatureSetSpec, meta: dict, value_of) -> str:
    """One set whose clip i holds the constant value_of(i) (so a read tells which copy it came from)."""
    fs = store.create(spec, meta, shard_size=8)
    fs.ensure_array("mel", SHAPE)
    n = len(meta["utt_id"])
    x = np.stack([np.full(SHAPE, value_of(i), np.float32) for i in range(n)])
    for s in range(fs.n_shards):
        lo, hi = fs.shard_bounds(s)
        fs.write_shard(
            "mel",
            s,
            x[lo:hi],
            rejects=[(i - lo, "AugmentFailed: x") for i in (3,) if lo <= i < hi and spec.augment],
        )
    return fs.key


def _meta(corpus: str, domain: str, n_train: int, n_dev: int) -> dict:
    n = n_train + n_dev
    label = np.tile([0, 1], n)[:n]
    return {
        "utt_id": np.array([f"{corpus}_{i:03d}" for i in range(n)]),
        "label": label,
        "domain": np.array([domain] * n),
        "condition": np.array(["train"] * n_train + ["dev"] * n_dev),
        "split": np.array(["train"] * n_train + ["dev"] * n_dev),
        "method": np.where(label == 1, "1", "0"),
    }


def make_store(root, augment: str = "rawboost:2,codec:1", seed: int = 1234) -> FeatureStore:
    """Two domains; clean clip i of corpus c holds 1000*c + i, slot k's copy holds that + 100*(k+1)."""
    store = FeatureStore(root)
    slots = [(r.recipe, i) for r in parse_augment(augment) for i in range(r.count)]
    for c, (corpus, domain, n_train) in enumerate(
        (("mini-codecfake", "codec", 20), ("mini-19la", "vocoder", 12))
    ):
        meta = _meta(corpus, domain, n_train, 4)
        key = _write(store, _spec(corpus), meta, lambda i, c=c: 1000 * c + i)
        for k, (recipe, index) in enumerate(slots):
            from codecfake.augment.recipe import applies_to

            rows = [i for i in range(n_train) if applies_to(recipe, domain, int(meta["label"][i]))]
            sub = {f: v[rows] for f, v in meta.items()}
            variant = Variant(recipe, index, seed, of=key, rows={"splits": ["train"]})
            _write(
                store,
                _spec(corpus, variant.spec_entry()),
                sub,
                lambda j, rows=rows, c=c, k=k: 1000 * c + rows[j] + 100 * (k + 1),
            )
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> FeatureStore:
    return make_store(tmp_path_factory.mktemp("variants"))


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(backend="toy", batch=8, augment="rawboost:2,codec:1", **kw)


def _clean_value(data, p: int) -> float:
    s, i = int(data.train.set_index[p]), int(data.train.local[p])
    return 1000.0 * ["mini-codecfake", "mini-19la"].index(data.sets[s].spec.corpus) + i


@pytest.mark.parametrize("mode", ["stream", "memory"])
def test_each_clip_once_per_epoch_as_one_of_its_copies(store, mode):
    data = load_training_data(store, _cfg())
    assert data.variants.slots == ["rawboost#0", "rawboost#1", "codec#0"]
    if mode == "memory":
        load_into_memory(data, data.train)
        load_variants_into_memory(data)
    sampler = RandomBatches(len(data.train), 8, seed=1)
    for epoch in range(3):
        batches = sampler.epoch(epoch)
        assert [len(b) for b in batches] == [8] * 4  # 32 clips: exact batches
        split = data.epoch_split(epoch)
        seen = []
        feeder = Prefetcher(data, split, batches)
        for positions, (x, y, _) in zip(batches, feeder, strict=True):
            for p, clip, label in zip(positions.tolist(), x.numpy(), y.tolist(), strict=True):
                offset = float(clip[0, 0]) - _clean_value(data, p)
                assert offset in (
                    0.0,
                    100.0,
                    200.0,
                    300.0,
                )  # clean or one of its variants, never another clip
                if offset:
                    k = int(offset // 100) - 1
                    assert (
                        data.variants.set_index[p, k] >= 0
                    )  # a copy the clip has (not rejected, recipe applies)
                assert label == data.train.labels[p]
                seen.append(p)
        feeder.close()
        assert sorted(seen) == list(range(len(data.train)))  # every clip exactly once


def test_copies_the_clip_lacks_are_never_drawn(store):
    data = load_training_data(store, _cfg())
    have = data.variants.set_index >= 0
    codec = data.train.domains == data.domains.index("codec")
    bona = data.train.labels == 0
    assert not have[codec & bona, 2].any()  # codec on=auto: no codec copy of Codecfake-framed bona fide
    rejected = data.train.local == 3  # the helper rejects variant row 3 of every variant set
    assert have[~codec & ~rejected, 2].all()  # the vocoder domain's codec copies exist for both classes
    assert not have[rejected, 0].any()  # rawboost's row 3 is clean row 3: rejected at extraction, never drawn
    draws = np.stack([data.variants.draw(e) for e in range(200)])  # (epochs, n)
    for p in range(len(data.train)):
        drawn = set(draws[:, p].tolist()) - {-1}
        assert drawn == set(np.flatnonzero(have[p]).tolist())
    share_clean = (draws == -1).mean(axis=0)
    expect = 1.0 / (1 + have.sum(axis=1))  # uniform over the clip's copies, clean included
    assert np.all(np.abs(share_clean - expect) < 0.12)


def test_clean_probability_and_resume(store):
    always = load_training_data(store, _cfg(clean_prob=1.0))
    never = load_training_data(store, _cfg(clean_prob=0.0))
    assert (always.variants.draw(0) == -1).all()
    has_any = (never.variants.set_index >= 0).any(axis=1)
    assert (never.variants.draw(0)[has_any] >= 0).all()
    again = load_training_data(store, _cfg())  # a resumed run rebuilds the table: the same copies per epoch
    first = load_training_data(store, _cfg())
    for epoch in (0, 5):
        assert np.array_equal(first.variants.draw(epoch), again.variants.draw(epoch))
    assert not np.array_equal(first.variants.draw(0), first.variants.draw(1))


def test_csam_counts_hold_with_variants(store):
    data = load_training_data(store, _cfg(task="cotrain", opt="csam"))
    sampler = StratifiedBatches(data.train.domains, 8, seed=2, epoch_mode="pass")
    split = data.epoch_split(0)
    for b in sampler.epoch(0):
        counts = np.bincount(split.domains[b], minlength=2)
        assert counts.tolist() == sampler.counts  # the copies keep their clip's domain


def test_missing_variant_set_is_refused_with_the_command(store):
    with pytest.raises(VariantsMissing, match=r"rawboost#2 .*make features AUGMENT=rawboost:3"):
        load_training_data(store, TrainConfig(backend="toy", augment="rawboost:3"))
    with pytest.raises(VariantsMissing, match="seed 99"):
        load_training_data(store, TrainConfig(backend="toy", augment="rawboost:1", augment_seed=99))
