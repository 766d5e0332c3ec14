"""EER golden tests: hand-worked toy examples, the released Codecfake score files, and a roc_curve cross-check."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from codecfake.eer import EerError, compute_eer, det_curve, eer_both, eer_from_labels, eer_percent
from codecfake.evaluate.confusion import confusion_at
from codecfake.evaluate.score_tsv import read_official_scores

REPO = Path(__file__).resolve().parents[1]
SCORES = Path(os.environ.get("CODECFAKE_REFERENCE", REPO.parent / "shared" / "reference")) / "scores"


def test_hand_worked_toy_example() -> None:
    # bona fide 0.8 0.6 0.3; spoof 0.5 0.4 0.2 0.1. Sorted: .1n .2n .3t .4n .5n .6t .8t
    # k:   0    1    2    3    4    5    6    7
    # FRR  0    0    0   1/3  1/3  1/3  2/3   1
    # FAR  1   3/4  2/4  2/4  1/4   0    0    0      -> min |FRR-FAR| = 1/12 at k = 4 (threshold 0.4)
    tar, non = np.array([0.8, 0.6, 0.3]), np.array([0.5, 0.4, 0.2, 0.1])
    curve = det_curve(tar, non)
    np.testing.assert_allclose(curve.frr, [0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(curve.far, [1, 3 / 4, 2 / 4, 2 / 4, 1 / 4, 0, 0, 0])
    res = compute_eer(tar, non)
    assert res.eer == pytest.approx(7 / 24, abs=1e-15)
    assert res.threshold == 0.4
    # negated: .8t .6t .5n .4n .3t .2n .1n (in -s order) -> min 1/12 at k = 3: EER (2/3 + 3/4) / 2 = 17/24
    both = eer_both(np.concatenate([tar, non]), np.array([0, 0, 0, 1, 1, 1, 1]))
    assert both.plain.eer == pytest.approx(7 / 24, abs=1e-15)
    assert both.flipped.eer == pytest.approx(17 / 24, abs=1e-15)
    assert both.flipped.threshold == -0.5
    assert not both.inverted and both.paper == both.plain.eer


def test_perfect_and_reversed_detectors() -> None:
    s = np.array([0.9, 0.8, 0.2, 0.1])
    y = np.array([0, 0, 1, 1])
    both = eer_both(s, y)
    assert both.plain.eer == 0.0 and both.flipped.eer == 1.0
    rev = eer_both(s, 1 - y)
    assert rev.plain.eer == 1.0 and rev.inverted and rev.paper == 0.0
    assert rev.value(paper_mode=False) == 1.0 and rev.value(paper_mode=True) == 0.0


def test_constant_scores_give_100_percent_like_the_official_code() -> None:
    # All tied: the stable sort walks the targets first, so the only balanced point rejects every target while
    # accepting every spoof (FRR = FAR = 1). The ROC vertices alone would say 50 %; the official code says 100 %.
    both = eer_both(np.full(6, 0.5), np.array([0, 0, 0, 1, 1, 1]))
    assert both.plain.eer == 1.0 and both.flipped.eer == 1.0 and not both.inverted


def test_threshold_reproduces_the_eer_operating_point_without_ties() -> None:
    rng = np.random.default_rng(0)
    s = np.concatenate([rng.normal(1, 1, 300), rng.normal(-1, 1, 500)])
    y = np.concatenate([np.zeros(300, int), np.ones(500, int)])
    res = eer_from_labels(s, y)
    cm = confusion_at(s, y, res.threshold)
    frr = 1 - cm.bonafide_recall
    far = 1 - cm.spoof_recall
    assert (frr + far) / 2 == pytest.approx(res.eer, abs=1e-12)


def test_bad_inputs_raise_typed_errors() -> None:
    with pytest.raises(EerError, match="bona fide"):
        eer_both(np.array([0.1, 0.2]), np.array([1, 1]))
    with pytest.raises(EerError, match="non-finite|NaN"):
        eer_both(np.array([np.nan, 0.2]), np.array([0, 1]))
    with pytest.raises(EerError, match="labels must be 0"):
        eer_both(np.array([0.1, 0.2]), np.array([0, 2]))


# The README's table (EER(s) %, EER(-s) %), at the precision it states.
GOLDEN = [
    ("codec_mellcnn.C2.txt", 9.563, 90.437, 3, False),
    ("cotrain_w2v2aasist_csam.C1.txt", 0.0076, 99.9924, 4, False),
    ("vocoder_mellcnn.C5.txt", 53.0088, 46.9912, 4, True),
]


@pytest.mark.parametrize(("name", "plain", "flipped", "digits", "inverted"), GOLDEN)
def test_released_score_files(name: str, plain: float, flipped: float, digits: int, inverted: bool) -> None:
    path = SCORES / name
    if not path.is_file():
        pytest.skip(f"{path} not present (set CODECFAKE_REFERENCE to the reference folder)")
    sc = read_official_scores(path)
    assert len(sc) == 26456
    both = eer_both(sc.score, sc.label)
    assert round(both.plain.eer_percent, digits) == plain
    assert round(both.flipped.eer_percent, digits) == flipped
    assert both.inverted is inverted
    assert round(100 * both.paper, digits) == min(plain, flipped)
    if name.startswith("vocoder_mellcnn.C5"):  # the numbers: 53.009 plain, 46.991 paper mode
        assert round(both.plain.eer_percent, 3) == 53.009 and round(100 * both.paper, 3) == 46.991


def _eer_via_roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Independent EER from sklearn's ROC, expanded to the official walk so that ties agree.

    roc_curve (drop_intermediate=False) gives one vertex per distinct score v: accept when score >= v. Between two
    vertices sits one tie group of a bona fide and b spoof trials. The official stable sort (targets first) walks
    through that group as a steps rejecting targets (FAR fixed) and then b steps rejecting spoofs (FRR fixed), every
    step at threshold v. We rebuild exactly those points from the ROC counts and take the first minimum of
    |FRR - FAR|. Without ties the expansion adds nothing and this is the plain ROC-vertex EER.
    """
    n_tar, n_non = int(np.sum(labels == 0)), int(np.sum(labels == 1))
    fpr, tpr, thr = roc_curve((labels == 0).astype(int), scores, drop_intermediate=False)
    tp = np.rint(tpr[::-1] * n_tar).astype(int)  # accepted bona fide, lowest threshold first
    fp = np.rint(fpr[::-1] * n_non).astype(int)  # accepted spoof
    thr = thr[::-1]
    rej_t, acc_n = [0], [n_non]
    thresholds = [float(np.min(scores)) - 0.001]
    for i in range(len(tp) - 1):  # group at score thr[i] is rejected going to vertex i + 1
        a, b = tp[i] - tp[i + 1], fp[i] - fp[i + 1]
        for _ in range(a):
            rej_t.append(rej_t[-1] + 1)
            acc_n.append(acc_n[-1])
            thresholds.append(float(thr[i]))
        for _ in range(b):
            rej_t.append(rej_t[-1])
            acc_n.append(acc_n[-1] - 1)
            thresholds.append(float(thr[i]))
    frr = np.array(rej_t) / n_tar
    far = np.array(acc_n) / n_non
    k = int(np.argmin(np.abs(frr - far)))
    return float((frr[k] + far[k]) / 2), thresholds[k]


def _eer_roc_vertices(scores: np.ndarray, labels: np.ndarray) -> float:
    """Plain ROC-vertex EER (no tie expansion), error rates from integer counts so equal |FRR - FAR| compare equal."""
    n_tar, n_non = int(np.sum(labels == 0)), int(np.sum(labels == 1))
    fpr, tpr, _ = roc_curve((labels == 0).astype(int), scores, drop_intermediate=False)
    frr = (n_tar - np.rint(tpr[::-1] * n_tar)) / n_tar  # lowest threshold first, as the official walk
    far = np.rint(fpr[::-1] * n_non) / n_non
    k = int(np.argmin(np.abs(frr - far)))
    return float((frr[k] + far[k]) / 2)


@pytest.mark.parametrize("ties", [False, True])
def test_matches_roc_curve_over_many_seeds(ties: bool) -> None:
    differs_from_vertices = 0
    for seed in range(150):
        rng = np.random.default_rng(seed)
        n_tar, n_non = int(rng.integers(1, 40)), int(rng.integers(1, 60))
        shift = rng.normal(0, 1.5)
        if ties:  # few distinct values: many tie groups mixing both classes
            s = np.concatenate([rng.integers(0, 6, n_tar) + shift, rng.integers(0, 6, n_non)]).astype(float)
        else:
            s = np.concatenate([rng.normal(shift, 1, n_tar), rng.normal(0, 1, n_non)])
        y = np.concatenate([np.zeros(n_tar, int), np.ones(n_non, int)])
        perm = rng.permutation(len(s))  # any trial order: the walk only depends on class at tied scores
        s, y = s[perm], y[perm]
        ours = eer_from_labels(s, y)
        ref_eer, ref_thr = _eer_via_roc_curve(s, y)
        assert abs(ours.eer - ref_eer) < 1e-6, (seed, ours.eer, ref_eer)
        assert ours.threshold == ref_thr, seed
        vertex_gap = abs(ours.eer - _eer_roc_vertices(s, y))
        if not ties:
            assert vertex_gap < 1e-6, seed
        differs_from_vertices += vertex_gap > 1e-6
    # With ties the official walk visits points inside tie groups that no threshold reaches: the expansion matters.
    assert (differs_from_vertices > 0) is ties


def test_eer_percent_is_the_official_eer_and_nan_where_undefined() -> None:
    assert eer_percent(np.array([0.9, 0.8, 0.1, 0.2]), np.array([0, 0, 1, 1])) == 0.0
    assert eer_percent(np.array([0.1, 0.2, 0.9, 0.8]), np.array([0, 0, 1, 1])) == 100.0
    assert np.isnan(eer_percent(np.array([0.1, 0.2]), np.array([1, 1])))
    assert np.isnan(eer_percent(np.array([0.1, np.nan]), np.array([0, 1])))
    scores, labels = np.array([0.9, 0.4, 0.4, 0.1, 0.6]), np.array([0, 0, 1, 1, 1])
    assert eer_percent(scores, labels) == eer_from_labels(scores, labels).eer_percent
