"""min t-DCF (ASVspoof 2019 LA cost model): a hand-worked example, a brute-force cross-check, and evaluation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from codecfake.evaluate.errors import ScoreFileError
from codecfake.evaluate.tdcf import (
    COST_2019,
    AsvScores,
    asv_error_rates,
    asv_file_for,
    condition_tdcf,
    min_tdcf,
    read_asv_scores,
)


def _asv_file(path: Path, asv: AsvScores) -> Path:
    lines = [f"bonafide target {v}" for v in asv.target] + [f"bonafide nontarget {v}" for v in asv.nontarget]
    lines += [f"A07 spoof {v}" for v in asv.spoof]
    path.write_text("\n".join(lines) + "\n")
    return path


HAND_ASV = AsvScores(
    np.array([1.0, 2.0, 3.0, 4.0]), np.array([-1.0, 0.0, 1.5, -2.0]), np.array([0.5, 2.5, 3.5, -0.5])
)


def test_hand_worked_example() -> None:
    # ASV walk -2n -1n 0n 1t 1.5n ...: FRR = FAR = 1/4 first at k = 4 -> tau = 1.0 (the 4th lowest score).
    # Accept when >= tau: P_fa = 1/4 (1.5), P_miss = 0, P_miss,spoof = 2/4 (0.5, -0.5).
    assert asv_error_rates(HAND_ASV) == (1.0, 0.25, 0.0, 0.5)
    # C1 = 0.9405 (1 - 0) - 0.0095 * 10 * 0.25 = 0.91675; C2 = 10 * 0.05 * (1 - 0.5) = 0.25.
    # CM walk .1s .2s .3s .4b .7b .8s .9b: t-DCF_norm = (C1 P_miss + C2 P_fa) / 0.25 = 1, .75, .5, .25, 1.472, ...
    res = min_tdcf(np.array([0.9, 0.7, 0.4]), np.array([0.8, 0.3, 0.2, 0.1]), HAND_ASV)
    assert res.c1 == pytest.approx(0.91675, abs=1e-12) and res.c2 == pytest.approx(0.25, abs=1e-12)
    assert res.min_tdcf == pytest.approx(0.25, abs=1e-12) and res.cm_threshold == 0.3


def _brute_force(bona: np.ndarray, spoof: np.ndarray, asv: AsvScores) -> float:
    """Independent: every threshold, loops, no shared code (distinct scores, so ties do not arise)."""
    asv_all = sorted([(v, 1) for v in asv.target] + [(v, 0) for v in asv.nontarget])
    best, tau = None, None
    for k in range(len(asv_all) + 1):  # reject the k lowest ASV trials
        frr = sum(t for _, t in asv_all[:k]) / len(asv.target)
        far = sum(1 - t for _, t in asv_all[k:]) / len(asv.nontarget)
        if best is None or abs(frr - far) < best:
            best, tau = abs(frr - far), (asv_all[k - 1][0] if k else asv_all[0][0] - 0.001)
    p_fa = sum(v >= tau for v in asv.nontarget) / len(asv.nontarget)
    p_miss = sum(v < tau for v in asv.target) / len(asv.target)
    p_ms = sum(v < tau for v in asv.spoof) / len(asv.spoof)
    c = COST_2019
    c1 = c.p_tar * (c.c_miss_cm - c.c_miss_asv * p_miss) - c.p_non * c.c_fa_asv * p_fa
    c2 = c.c_fa_cm * c.p_spoof * (1 - p_ms)
    values = []
    for t in [-np.inf, *sorted(np.concatenate([bona, spoof]))]:
        p_miss_cm = sum(v <= t for v in bona) / len(bona)
        p_fa_cm = sum(v > t for v in spoof) / len(spoof)
        values.append((c1 * p_miss_cm + c2 * p_fa_cm) / min(c1, c2))
    return min(values)


def test_matches_a_brute_force_computation_on_synthetic_scores() -> None:
    rng = np.random.default_rng(7)
    for trial in range(3):
        asv = AsvScores(rng.normal(2, 1, 80), rng.normal(-2, 1, 120), rng.normal(1 - trial, 1.5, 60))
        bona, spoof = rng.normal(1, 1, 50), rng.normal(-1, 1, 90)
        assert min_tdcf(bona, spoof, asv).min_tdcf == pytest.approx(_brute_force(bona, spoof, asv), abs=1e-12)


def test_asv_file_reading_and_lookup(tmp_path: Path) -> None:
    f = _asv_file(tmp_path / "asv.txt", HAND_ASV)
    got = read_asv_scores(f)
    np.testing.assert_array_equal(got.spoof, HAND_ASV.spoof)
    (tmp_path / "bad.txt").write_text("bonafide target\n")
    with pytest.raises(ScoreFileError, match="line 1 has 2 fields"):
        read_asv_scores(tmp_path / "bad.txt")
    root = tmp_path / "LA"
    (root / "ASVspoof2019_LA_asv_scores").mkdir(parents=True)
    eval_file = _asv_file(
        root / "ASVspoof2019_LA_asv_scores" / "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt", HAND_ASV
    )
    la = SimpleNamespace(
        spec=SimpleNamespace(corpus="asvspoof2019la"), provenance={"extra": {"dataset_root": str(root)}}
    )
    assert asv_file_for(la) == eval_file
    assert asv_file_for(SimpleNamespace(spec=SimpleNamespace(corpus="mini-19la"), provenance={})) is None
    la.provenance = {"extra": {"dataset_root": str(tmp_path / "elsewhere")}}
    assert asv_file_for(la) is None  # not on disk: no t-DCF, no error


def test_paper_orientation_follows_the_lower_eer(tmp_path: Path) -> None:
    f = _asv_file(tmp_path / "asv.txt", HAND_ASV)
    s = np.array([0.1, 0.3, 0.6, 0.9, 0.8, 0.7, 0.2])  # bona fide scored low: the CM is backwards
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    out = condition_tdcf(s, y, f)
    assert out["paper"]["flipped"] is True
    assert out["paper"]["min_tdcf"] == pytest.approx(min_tdcf(-s[y == 0], -s[y == 1], HAND_ASV).min_tdcf)
    assert out["paper"]["min_tdcf"] < out["plain"]["min_tdcf"]
