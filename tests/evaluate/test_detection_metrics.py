"""minDCF / actDCF / Cllr / minCllr: hand-worked values, a brute-force threshold sweep, closed forms of Cllr, the
released score files, and the vectorised bootstrap against the plain functions on materialised resamples."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from codecfake.eer import eer_from_labels
from codecfake.evaluate.bootstrap import bootstrap_eers, condition_rng, stratified_counts
from codecfake.evaluate.cllr import cllr, min_cllr, pav_llr
from codecfake.evaluate.detection_cost import TRACK1, DcfParams, act_dcf, min_dcf
from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.metric_bootstrap import bootstrap_metrics
from codecfake.evaluate.score_tsv import read_official_scores

REPO = Path(__file__).resolve().parents[2]
SCORES = Path(os.environ.get("CODECFAKE_REFERENCE", REPO.parent / "shared" / "reference")) / "scores"


def test_track1_parameters() -> None:
    assert TRACK1.normaliser == pytest.approx(0.5)  # min(1 * 0.95, 10 * 0.05)
    assert TRACK1.weights == pytest.approx((1.9, 1.0))
    assert TRACK1.llr_threshold == pytest.approx(-math.log(1.9))
    assert TRACK1.effective_prior == pytest.approx(0.95 / 1.45)


def test_min_dcf_hand_worked() -> None:
    # bona fide .9 .8 .3, spoof .7 .2 .1 .05. Walk: .05s .1s .2s .3b .7s .8b .9b; DCF_norm = 1.9 P_miss + P_fa
    # k=0: 0 + 1 = 1; k=3 (three spoofs rejected): 0 + 1/4 = .25; k=4: 1.9/3 + 1/4; k=5: 1.9/3; ... -> .25 at .2
    res = min_dcf(np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.05]), np.array([0, 0, 0, 1, 1, 1, 1]))
    assert res.value == pytest.approx(0.25, abs=1e-15)
    assert (res.threshold, res.p_miss, res.p_fa) == (0.2, 0.0, 0.25)


def test_act_dcf_hand_worked() -> None:
    # LLRs bona fide 2, 0, -1; spoof -0.5, -2, 1; threshold -log 1.9 = -0.642: misses {-1} -> 1/3,
    # false alarms {-0.5, 1} -> 2/3; actDCF = 1.9/3 + 2/3 = 1.3
    res = act_dcf(np.array([2.0, 0.0, -1.0, -0.5, -2.0, 1.0]), np.array([0, 0, 0, 1, 1, 1]))
    assert res.value == pytest.approx(1.3, abs=1e-12)
    assert (res.p_miss, res.p_fa) == pytest.approx((1 / 3, 2 / 3))


def _sweep_min_dcf(s: np.ndarray, y: np.ndarray, params: DcfParams) -> float:
    """Every threshold that changes a decision (accept bona fide when score > thr), counted independently."""
    w_miss, w_fa = params.weights
    thr = np.r_[s.min() - 1.0, np.unique(s)]
    bona, spoof = np.sort(s[y == 0]), np.sort(s[y == 1])
    p_miss = np.searchsorted(bona, thr, side="right") / bona.size
    p_fa = 1.0 - np.searchsorted(spoof, thr, side="right") / spoof.size
    return float(np.min(w_miss * p_miss + w_fa * p_fa))


@pytest.mark.parametrize("params", [TRACK1, DcfParams(p_spoof=0.5, c_miss=1, c_fa=1), DcfParams(0.2, 3, 2)])
def test_min_dcf_equals_a_brute_force_threshold_sweep(params: DcfParams) -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        n = int(rng.integers(4, 80))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        s = rng.normal(size=n) + 1.5 * (y == 0)  # continuous: no ties
        assert min_dcf(s, y, params).value == pytest.approx(_sweep_min_dcf(s, y, params), abs=1e-12)
        tied = np.round(
            s, 0
        )  # with ties the official walk also visits points inside tie groups: never higher
        assert min_dcf(tied, y, params).value <= _sweep_min_dcf(tied, y, params) + 1e-12


def test_act_dcf_is_never_below_min_dcf_and_inverted_detectors_cost_one() -> None:
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(4, 60))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        llr = np.round(rng.normal(size=n) * 2 + (y == 0), int(rng.integers(0, 3)))
        assert act_dcf(llr, y).value >= min_dcf(llr, y).value - 1e-12
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    s = np.r_[np.linspace(0, 1, 50), np.linspace(2, 3, 50)]  # every spoof above every bona fide
    assert min_dcf(s, y).value == 1.0


def _discrete_calibrated() -> tuple[np.ndarray, np.ndarray, float]:
    """A two-valued feature with exact proportions: P(x=1 | bona fide) = .8, P(x=1 | spoof) = .2, and its
    calibrated LLR log(P(x|bona fide) / P(x|spoof)); Cllr by the closed form."""
    y = np.r_[np.zeros(1000, int), np.ones(1000, int)]
    x = np.r_[np.ones(800), np.zeros(200), np.ones(200), np.zeros(800)]
    llr = np.where(x == 1, math.log(0.8 / 0.2), math.log(0.2 / 0.8))
    p, q = 0.8, 0.2
    closed = 0.5 * (
        p * math.log2(1 + q / p)
        + (1 - p) * math.log2(1 + (1 - q) / (1 - p))
        + q * math.log2(1 + p / q)
        + (1 - q) * math.log2(1 + (1 - p) / (1 - q))
    )
    return llr, y, closed


def test_cllr_of_calibrated_llrs_matches_the_closed_form() -> None:
    llr, y, closed = _discrete_calibrated()
    assert cllr(llr, y) == pytest.approx(closed, abs=1e-12)
    assert min_cllr(llr, y) == pytest.approx(closed, abs=1e-12)  # already calibrated: PAV changes nothing
    # Gaussian LLRs with variance = 2 x mean are calibrated; Cllr = E[log2(1 + e^-L)], L ~ N(mu, 2 mu), both classes
    mu = 2.0
    expected = integrate.quad(
        lambda v: (
            math.log2(1 + math.exp(-v)) * math.exp(-((v - mu) ** 2) / (4 * mu)) / math.sqrt(4 * math.pi * mu)
        ),
        -40,
        40,
    )[0]
    rng = np.random.default_rng(3)
    sd = math.sqrt(2 * mu)
    llr = np.r_[rng.normal(mu, sd, 200_000), rng.normal(-mu, sd, 200_000)]
    y = np.r_[np.zeros(200_000, int), np.ones(200_000, int)]
    assert cllr(llr, y) == pytest.approx(expected, abs=3e-3)
    assert cllr(llr + 2.0, y) > cllr(llr, y) + 0.05  # a shift is a calibration error


def test_min_cllr_by_pav() -> None:
    y = np.r_[np.zeros(5, int), np.ones(5, int)]
    assert min_cllr(np.r_[np.ones(5), np.zeros(5)], y) == 0.0  # separated
    assert min_cllr(np.zeros(10), y) == pytest.approx(1.0)  # one tie group: LLR 0 for everyone
    rng = np.random.default_rng(5)
    s = rng.normal(size=300)
    y = (rng.random(300) > 1 / (1 + np.exp(-2 * s))).astype(int)  # bona fide (0) more likely at high s
    mc = min_cllr(s, y)
    assert mc == pytest.approx(min_cllr(np.exp(3 * s) + 7, y), abs=1e-12)  # monotone transform: same ranking
    assert all(
        mc <= cllr(a * s + b, y) for a, b in ((1, 0), (2, 0), (3, -1), (0.5, 1))
    )  # below any such mapping
    assert cllr(pav_llr(s, y), y) == pytest.approx(mc, abs=1e-12)  # the PAV mapping attains it


def test_bad_input_is_refused() -> None:
    with pytest.raises(EvaluationError, match="NaN"):
        min_dcf(np.array([0.1, np.nan]), np.array([0, 1]))
    with pytest.raises(EvaluationError, match="0 spoof"):
        cllr(np.array([0.1, 0.2]), np.array([0, 0]))
    with pytest.raises(EvaluationError, match="P_spoof"):
        DcfParams(p_spoof=1.5)


def test_bootstrap_equals_the_plain_metrics_on_every_materialised_resample() -> None:
    rng = np.random.default_rng(2)
    for case in range(12):
        n = int(rng.integers(6, 50))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        s = np.round(rng.normal(size=n) + (y == 0), case % 3)  # ties in two cases out of three
        llr = np.round(rng.normal(size=n), 1)
        boot = bootstrap_metrics(s, y, 9, condition_rng(5, f"c{case}"), llr=llr)
        assert np.array_equal(boot["eer"][0], bootstrap_eers(s, y, 9, condition_rng(5, f"c{case}"))[0])
        for r, c in enumerate(stratified_counts(y, 9, condition_rng(5, f"c{case}"))):
            idx = np.repeat(np.arange(n), c)
            ss, yy, ll = s[idx], y[idx], llr[idx]
            assert boot["eer"][0, r] == pytest.approx(eer_from_labels(ss, yy).eer_percent, abs=1e-12)
            assert boot["min_dcf"][0, r] == pytest.approx(min_dcf(ss, yy).value, abs=1e-12)
            assert boot["act_dcf"][0, r] == pytest.approx(act_dcf(ll, yy).value, abs=1e-12)
            assert boot["cllr"][0, r] == pytest.approx(cllr(ll, yy), abs=1e-12)
            assert boot["min_cllr"][0, r] == pytest.approx(min_cllr(ss, yy), abs=1e-10)


def test_paired_bootstrap_shares_the_draws() -> None:
    rng = np.random.default_rng(4)
    y = np.r_[np.zeros(40, int), np.ones(60, int)]
    s = rng.normal(size=100) + (y == 0)
    both = bootstrap_metrics(np.stack([s, 2 * s]), y, 20, condition_rng(1, "x"), metrics=("min_dcf", "eer"))
    assert both["min_dcf"].shape == (2, 20)
    np.testing.assert_allclose(
        both["min_dcf"][0], both["min_dcf"][1]
    )  # a monotone copy: identical per resample
    with pytest.raises(EvaluationError, match="need LLR"):
        bootstrap_metrics(s, y, 5, condition_rng(1, "x"), metrics=("cllr",))


GOLDEN = [  # released Codecfake score files: minDCF of P(real) as given (Track 1 costs)
    ("vocoder_mellcnn.C5.txt", 1.0),  # ranks C5 backwards (EER 53 %): no threshold beats accepting everything
    ("cotrain_w2v2aasist_csam.C1.txt", 0.00015119443604475356),  # 2 of 13,228 fakes above the best threshold
]


@pytest.mark.parametrize(("name", "expected"), GOLDEN)
def test_released_score_files(name: str, expected: float) -> None:
    path = SCORES / name
    if not path.is_file():
        pytest.skip(f"{path} not present (set CODECFAKE_REFERENCE to the reference folder)")
    sc = read_official_scores(path)
    res = min_dcf(sc.score, sc.label)
    assert res.value == pytest.approx(expected, rel=1e-12)
    assert res.value == pytest.approx(_sweep_min_dcf(sc.score, sc.label, TRACK1), abs=1e-12)
