"""The stratified bootstrap of the official EER: exact per resample, stratified, reproducible, nominal coverage."""

from __future__ import annotations

from math import erf, sqrt

import numpy as np
import pytest

from codecfake.eer import compute_eer
from codecfake.evaluate.bootstrap import (
    bootstrap_eers,
    condition_rng,
    eer_interval,
    percentile_interval,
    resampled_eers,
    stratified_counts,
)
from codecfake.evaluate.errors import EvaluationError


def _gaussian(rng: np.random.Generator, n: int, d: float) -> tuple[np.ndarray, np.ndarray]:
    """(2n,) scores: bona fide ~ N(d, 1), spoof ~ N(0, 1), shuffled; (2n,) labels."""
    s = np.r_[rng.normal(d, 1, n), rng.normal(0, 1, n)]
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    perm = rng.permutation(2 * n)
    return s[perm], y[perm]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(
    "n_max", [12, 900]
)  # one block of the walk, and many (the block search is exercised)
def test_each_resample_equals_the_official_eer_of_the_materialised_resample(ties: bool, n_max: int) -> None:
    rng = np.random.default_rng(3 + n_max + ties)
    for _ in range(12):
        n_t, n_n = rng.integers(1, n_max, size=2)
        s = rng.integers(0, 5, n_t + n_n).astype(float) if ties else rng.normal(size=n_t + n_n)
        y = rng.permutation(np.r_[np.zeros(n_t, int), np.ones(n_n, int)])
        counts = stratified_counts(y, 8, rng)
        plain, paper = resampled_eers(s, y, counts), resampled_eers(s, y, counts, paper=True)
        for r in range(8):
            idx = np.repeat(np.arange(s.size), counts[r])  # the resample, trial by trial
            tar, non = s[idx][y[idx] == 0], s[idx][y[idx] == 1]
            want = 100 * compute_eer(tar, non).eer
            assert plain[r] == want  # exactly: same walk, same float operations at the EER point
            assert paper[r] == min(want, 100 * compute_eer(-tar, -non).eer)


def test_resamples_are_stratified_and_actually_resample() -> None:
    y = np.r_[np.zeros(30, int), np.ones(70, int)][np.random.default_rng(0).permutation(100)]
    counts = stratified_counts(y, 50, np.random.default_rng(1))
    assert (counts[:, y == 0].sum(axis=1) == 30).all() and (counts[:, y == 1].sum(axis=1) == 70).all()
    assert len({row.tobytes() for row in counts}) == 50  # every resample differs
    assert (counts == 0).any() and (counts >= 2).any()  # drawn with replacement


def test_streamed_draws_equal_the_materialised_ones() -> None:
    s, y = _gaussian(np.random.default_rng(2), 300, 1.0)
    want = resampled_eers(s, y, stratified_counts(y, 40, condition_rng(5, "C1")))
    np.testing.assert_array_equal(bootstrap_eers(s, y, 40, condition_rng(5, "C1"))[0], want)


def test_fixed_seed_reproduces_and_another_seed_differs() -> None:
    s, y = _gaussian(np.random.default_rng(4), 200, 1.5)
    a, boot_a = eer_interval(s, y, name="C3", resamples=100, seed=11)
    b, boot_b = eer_interval(s, y, name="C3", resamples=100, seed=11)
    assert a == b and np.array_equal(boot_a, boot_b)
    c, _ = eer_interval(s, y, name="C3", resamples=100, seed=12)
    d, _ = eer_interval(s, y, name="C4", resamples=100, seed=11)  # each condition has its own draws
    assert c != a and d != a
    assert a.value == 100 * compute_eer(s[y == 0], s[y == 1]).eer


def test_interval_covers_the_true_eer_at_its_nominal_rate() -> None:
    """Bona fide ~ N(2, 1), spoof ~ N(0, 1): true EER = Phi(-1) = 15.87 %; 200 test sets of 100 + 100 trials."""
    true = 100 * 0.5 * (1 + erf(-1.0 / sqrt(2)))
    rng = np.random.default_rng(7)
    hits = 0
    for rep in range(200):
        s, y = _gaussian(rng, 100, 2.0)
        lo, hi = percentile_interval(bootstrap_eers(s, y, 200, np.random.default_rng(rep))[0], 0.95)
        hits += lo <= true <= hi
    assert 0.90 <= hits / 200 <= 0.99  # nominal 95 %; an interval that always covers would be too wide


def test_bad_inputs_raise_typed_errors() -> None:
    with pytest.raises(EvaluationError, match="bona fide and spoof"):
        bootstrap_eers(np.array([0.1, 0.2]), np.array([1, 1]), 10, np.random.default_rng(0))
    with pytest.raises(EvaluationError, match="non-finite"):
        bootstrap_eers(np.array([0.1, np.nan]), np.array([0, 1]), 10, np.random.default_rng(0))
    with pytest.raises(EvaluationError, match="at least 1 resample"):
        bootstrap_eers(np.array([0.1, 0.2]), np.array([0, 1]), 0, np.random.default_rng(0))
