"""Samplers: exact per-batch domain counts for any ratio, epoch coverage, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codecfake.train.sampler import RandomBatches, StratifiedBatches, domain_counts


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 300), min_size=2, max_size=3),
    batch=st.integers(4, 64),
    ratio=st.one_of(st.none(), st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3)),
    seed=st.integers(0, 99),
)
def test_every_batch_has_exact_domain_counts_and_every_clip_appears(sizes, batch, ratio, seed) -> None:
    ratio = ratio[: len(sizes)] if ratio else None
    domains = np.concatenate([np.full(n, d) for d, n in enumerate(sizes)])
    sampler = StratifiedBatches(
        domains, batch, seed, ratio, epoch_mode="pass"
    )  # coverage is the one-pass epoch's
    counts = sampler.counts
    assert sum(counts) == batch and all(c >= 1 for c in counts)
    shares = np.asarray(ratio if ratio else sizes, dtype=float)
    assert np.all(np.abs(np.asarray(counts) - shares / shares.sum() * batch) < 1.0 + 1e-9) or min(counts) == 1
    batches = sampler.epoch(0)
    assert len(batches) == len(sampler)
    for b in batches:
        assert np.bincount(domains[b], minlength=len(sizes)).tolist() == counts
    seen = np.concatenate(batches)
    assert set(seen.tolist()) == set(range(len(domains)))  # coverage: every clip at least once per epoch
    for d, n in enumerate(sizes):  # a domain repeats a clip only after all of its clips were drawn
        stream = seen[domains[seen] == d]
        first = stream[:n]
        assert len(set(first.tolist())) == min(n, len(stream))


def test_domain_counts_examples() -> None:
    assert domain_counts([740747, 25380], 128) == [
        124,
        4,
    ]  # proportional, exact sum (official: 123 + 4 = 127)
    assert domain_counts([900, 100], 128, [0.5, 0.5]) == [64, 64]
    assert domain_counts([1000, 1], 16) == [15, 1]  # a tiny domain still appears in every batch
    assert domain_counts([1000, 1], 16, min_count=2) == [14, 2]  # csam-pd: sub-batches of >= 2 for batch norm
    with pytest.raises(ValueError, match="3 values for 2 domains"):
        domain_counts([5, 5], 8, [1, 1, 1])


def test_epochs_are_deterministic_and_differ() -> None:
    domains = np.repeat([0, 1], [50, 20])
    a, b = StratifiedBatches(domains, 10, 7), StratifiedBatches(domains, 10, 7)
    assert all(np.array_equal(x, y) for x, y in zip(a.epoch(3), b.epoch(3)))
    assert not all(np.array_equal(x, y) for x, y in zip(a.epoch(3), a.epoch(4)))


def test_random_batches_cover_each_clip_once() -> None:
    s = RandomBatches(102, 10, seed=1)
    batches = s.epoch(0)
    assert len(batches) == len(s) == 11
    assert sorted(np.concatenate(batches).tolist()) == list(range(102))
    s2 = RandomBatches(21, 10, seed=1)  # a last batch of one clip is dropped (batch norm)
    assert [len(b) for b in s2.epoch(0)] == [10, 10]


def test_single_ratio_value_is_the_first_domains_share() -> None:
    domains = np.repeat([0, 1], [90, 10])
    assert StratifiedBatches(domains, 32, 0, [0.5]).counts == [16, 16]
    assert StratifiedBatches(domains, 32, 0, [0.75]).counts == [24, 8]
    with pytest.raises(ValueError, match="domain_ratio has 3 values"):
        StratifiedBatches(domains, 32, 0, [0.2, 0.3, 0.5])


def test_block_batches_cover_every_clip_once_and_stay_within_a_window_of_shards() -> None:
    from codecfake.train.sampler import BlockBatches

    shards = np.repeat(np.arange(12), 10)  # 12 shard files of 10 clips
    s = BlockBatches(shards, batch=8, seed=3, window=3)
    for epoch in range(3):
        batches = s.epoch(epoch)
        flat = np.concatenate(batches)
        assert len(batches) == len(s) == 15
        assert sorted(flat.tolist()) == list(range(120))  # each clip exactly once
        windows = [set(shards[flat[i : i + 30]].tolist()) for i in range(0, 120, 30)]
        assert all(len(w) == 3 for w in windows)  # 30 consecutive positions = one window = 3 whole shards
        assert [b.tolist() for b in batches] == [
            b.tolist() for b in s.epoch(epoch)
        ]  # pure function of (seed, epoch)
    assert not np.array_equal(np.concatenate(s.epoch(0)), np.concatenate(s.epoch(1)))
    with pytest.raises(ValueError, match="window"):
        BlockBatches(shards, batch=8, seed=0, window=0)


def test_csam_epoch_is_the_releases_dataloader_length() -> None:
    # the release: len(DataLoader) = ceil(batch * ceil(largest / batch) * K / batch) = K * ceil(largest / batch)
    codecfake = StratifiedBatches(np.repeat([0, 1], [740_747, 25_380]), 128, 688)
    assert codecfake.counts == [124, 4] and len(codecfake) == 11_576 and codecfake.pass_length() == 6_345
    sizes, batch = (45, 13), 8  # a small stratified set: counts [6, 2]
    domains = np.repeat([0, 1], sizes)
    release = StratifiedBatches(domains, batch, 5)
    one_pass = StratifiedBatches(domains, batch, 5, epoch_mode="pass")
    assert len(release) == 2 * math.ceil(45 / batch) == 12
    assert len(one_pass) == max(math.ceil(45 / 6), math.ceil(13 / 2)) == 8
    for e in range(3):
        assert [np.bincount(domains[b], minlength=2).tolist() for b in release.epoch(e)] == [[6, 2]] * 12
    with pytest.raises(ValueError, match="epoch_mode"):
        StratifiedBatches(domains, batch, 5, epoch_mode="twice")


def test_release_epochs_continue_one_stream_per_domain() -> None:
    # epochs carry the stream on: over epochs 0..3 each domain's clips come as back-to-back permutations of its pool
    sizes = (45, 13)
    domains = np.repeat([0, 1], sizes)
    s = StratifiedBatches(domains, 8, 5)
    flat = np.concatenate([b for e in range(4) for b in s.epoch(e)])
    for d, n in enumerate(sizes):
        stream = flat[domains[flat] == d]
        for k in range(len(stream) // n):
            assert sorted(stream[k * n : (k + 1) * n].tolist()) == np.flatnonzero(domains == d).tolist()
    again = StratifiedBatches(domains, 8, 5)  # a fresh sampler (a resumed run) continues exactly there
    assert [b.tolist() for b in again.epoch(2)] == [b.tolist() for b in s.epoch(2)]
    assert s.describe()["epoch_mode"] == "release" and again.describe() == s.describe()


def _missing_histogram(batches, domains, d) -> np.ndarray:
    return np.array([int(np.sum(domains[b] == d)) for b in batches])


def test_uniform_batches_follow_the_hypergeometric_law_and_block_batches_do_not() -> None:
    from scipy.stats import chisquare, hypergeom

    from codecfake.train.sampler import BlockBatches, domain_mix, uniform_missing_share

    n_codec, n_voc, batch = 300, 20, 16  # 19LA-like: a small domain, shards of one domain each
    domains = np.repeat([0, 1], [n_codec, n_voc])
    shards = np.arange(len(domains)) // 20
    law = hypergeom(len(domains), n_voc, batch)
    uniform = [b for e in range(60) for b in RandomBatches(len(domains), batch, 1).epoch(e)]
    block = [b for e in range(60) for b in BlockBatches(shards, batch, 1, window=2).epoch(e)]
    for batches, fits in ((uniform, True), (block, False)):
        counts = _missing_histogram(batches, domains, 1)
        observed = np.bincount(counts, minlength=batch + 1)[:5]  # 0..3 vocoder clips, then >= 4 pooled
        observed = np.r_[observed[:4], len(counts) - observed[:4].sum()]
        expected = np.r_[law.pmf(np.arange(4)), law.sf(3)] * len(counts)
        assert bool(chisquare(observed, expected).pvalue > 0.01) is fits
    expected_missing = uniform_missing_share([n_codec, n_voc], batch)[1]
    assert expected_missing == pytest.approx(law.pmf(0), rel=1e-9)
    assert abs(domain_mix(uniform, domains, 2)[1] - expected_missing) < 0.05
    assert domain_mix(block, domains, 2)[1] > 0.5  # most block batches hold no vocoder clip
