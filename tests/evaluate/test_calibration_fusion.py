"""Calibration (prior-weighted logistic regression on dev) and score fusion, on synthetic score files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codecfake.evaluate.calibration import CalibrationError, fit_llr_map, score_logit
from codecfake.evaluate.cllr import cllr, min_cllr
from codecfake.evaluate.detection_cost import TRACK1, act_dcf, min_dcf
from codecfake.evaluate.errors import TrialMismatch
from codecfake.evaluate.run_calibration import calibrate_run, load_calibration
from codecfake.evaluate.run_outputs import CALIBRATION_FILE, DEV_SCORES
from codecfake.evaluate.score_fusion import fuse_runs, posterior_from_llr
from codecfake.evaluate.score_tsv import HEADER_LLR, Scores, read_scores, write_scores


def _gaussian(rng: np.random.Generator, n: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """P(bona fide) whose logit x is N(2, 1) for bona fide, N(-1, 1) for spoof: the true LLR is 3x - 1.5; the
    detector reports logit 0.5 x + shift (miscalibrated: too shy, shifted)."""
    y = np.r_[np.zeros(n // 3, int), np.ones(n - n // 3, int)]
    x = np.where(y == 0, rng.normal(2, 1, n), rng.normal(-1, 1, n))
    return posterior_from_llr(0.5 * x + shift), y


def test_calibration_recovers_the_true_llr_from_dev_only() -> None:
    rng = np.random.default_rng(0)
    dev_p, dev_y = _gaussian(rng, 12_000, shift=1.0)
    cmap = fit_llr_map(dev_p, dev_y)  # logit(P) = 0.5 x + 1 -> LLR = 3x - 1.5 = 6 logit(P) - 7.5
    assert cmap.slopes[0] == pytest.approx(6.0, rel=0.05)
    assert cmap.offset == pytest.approx(-7.5, abs=0.3)
    assert cmap.prior == pytest.approx(TRACK1.effective_prior)
    test_p, test_y = _gaussian(rng, 12_000, shift=1.0)
    raw, llr = score_logit(test_p), cmap.llr(test_p)
    assert (
        act_dcf(raw, test_y).value > min_dcf(test_p, test_y).value + 0.05
    )  # uncalibrated: decisions cost more
    assert act_dcf(llr, test_y).value == pytest.approx(min_dcf(test_p, test_y).value, abs=0.02)
    assert cllr(llr, test_y) == pytest.approx(min_cllr(test_p, test_y), abs=0.02)
    assert act_dcf(llr, test_y).value >= min_dcf(llr, test_y).value - 1e-12


def test_calibration_refuses_a_one_class_dev_set_and_a_backwards_one() -> None:
    with pytest.raises(CalibrationError, match="0 spoof trials; calibration needs both classes"):
        fit_llr_map(np.array([0.2, 0.9, 0.4]), np.array([0, 0, 0]))
    rng = np.random.default_rng(1)
    p, y = _gaussian(rng, 2000)
    with pytest.raises(CalibrationError, match="would flip the scores"):
        fit_llr_map(1.0 - p, y)


def _write_run(run: Path, rng: np.random.Generator, noise: float, trials: dict[str, int]) -> None:
    """A run folder with dev_scores.tsv and scores/C1.tsv, C2.tsv: shared trial ids, scores = truth + noise."""
    for name, n in trials.items():
        y = np.r_[np.zeros(n // 2, int), np.ones(n - n // 2, int)]
        x = np.where(y == 0, 1.0, -1.0) + rng.normal(0, noise, n)
        ids = np.array([f"{name}/u{i:04d}" for i in range(n)])
        path = run / (DEV_SCORES if name == "dev" else f"scores/{name}.tsv")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_scores(path, Scores(ids, posterior_from_llr(x), y, np.full(n, name)))


TRIALS = {"dev": 800, "C1": 400, "C2": 300}


def test_calibrate_run_writes_the_map_and_llrs_beside_the_scores(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "a"
    _write_run(run, np.random.default_rng(2), 1.0, TRIALS)
    record = calibrate_run(run)
    assert (run / CALIBRATION_FILE).is_file() and (run / "report" / "reliability.png").is_file()
    assert record["llr_threshold"] == pytest.approx(TRACK1.llr_threshold)
    assert record["dev_after"]["cllr"] < record["dev_before"]["cllr"]
    c1 = read_scores(run / "scores" / "C1.tsv")
    assert (run / "scores" / "C1.tsv").read_text().splitlines()[0].split("\t") == list(HEADER_LLR)
    np.testing.assert_allclose(c1.llr, load_calibration(run).llr(c1.score), rtol=1e-7, atol=1e-7)


def test_fusion_of_a_run_with_itself_changes_no_decision(tmp_path: Path) -> None:
    a = tmp_path / "runs" / "a"
    _write_run(a, np.random.default_rng(3), 1.2, TRIALS)
    b = tmp_path / "runs" / "a-copy"
    b.mkdir(parents=True)
    for f in [DEV_SCORES, "scores/C1.tsv", "scores/C2.tsv"]:
        (b / f).parent.mkdir(parents=True, exist_ok=True)
        (b / f).write_text((a / f).read_text())
    fused = fuse_runs([a, b], tmp_path / "runs" / "f")
    assert fused["map"]["inputs"] == ["a", "a-copy"]
    calibrate_run(a, figures=False)
    thr = TRACK1.llr_threshold
    for cond in ("C1", "C2"):
        alone, both = (
            read_scores(a / "scores" / f"{cond}.tsv"),
            read_scores(tmp_path / "runs/f/scores" / f"{cond}.tsv"),
        )
        np.testing.assert_array_equal(alone.utt_id, both.utt_id)
        np.testing.assert_array_equal(alone.llr >= thr, both.llr >= thr)
        assert min_dcf(both.score, both.label).value == pytest.approx(min_dcf(alone.score, alone.label).value)
    assert json.loads((tmp_path / "runs/f/fusion.json").read_text())["kind"] == "score-fusion"


def test_fusion_of_complementary_runs_beats_each_and_refuses_other_trials(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    runs = []
    for name in ("x", "y"):
        run = tmp_path / name
        _write_run(run, rng, 1.5, TRIALS)  # independent noise: fusion averages it out
        runs.append(run)
    fuse_runs(runs, tmp_path / "f")
    fused = read_scores(tmp_path / "f/scores/C1.tsv")
    single = [read_scores(r / "scores/C1.tsv") for r in runs]
    assert min_dcf(fused.score, fused.label).value < min(min_dcf(s.score, s.label).value for s in single)
    _write_run(tmp_path / "z", rng, 1.5, {"dev": 790, "C1": 400, "C2": 300})
    with pytest.raises(
        TrialMismatch, match=r"dev: runs x and z did not score the same trials \(800 vs 790 trials"
    ):
        fuse_runs([runs[0], tmp_path / "z"], tmp_path / "g")
