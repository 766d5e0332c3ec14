"""The report's ASVspoof 5 metrics block: per condition, averaged and pooled sets, intervals, calibrated or not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codecfake.evaluate.detection_cost import min_dcf
from codecfake.evaluate.detection_markdown import detection_table, render_detection
from codecfake.evaluate.detection_report import MetricConfig, detection_block, metric_sets
from codecfake.evaluate.run_calibration import apply_calibration, calibrate_run, load_calibration
from codecfake.evaluate.score_tsv import read_scores
from codecfake.evaluate.testing import write_scored_run

CONDITIONS = {
    "C1": ("codecfake", 40, 40),
    "C2": ("codecfake", 40, 40),
    "ASV5-C00": ("asvspoof5", 50, 60),
    "ASV5-C01": ("asvspoof5", 30, 70),
    "ITW": ("itw", 30, 30),
}


def test_sets_are_the_papers_averages_and_each_multi_condition_corpus() -> None:
    sets = metric_sets({c: corpus for c, (corpus, _, _) in CONDITIONS.items()})
    assert sets == {
        "CAVG": ["C1", "C2"],
        "AVG": ["ITW", "C1", "C2"],
        "codecfake": ["C1", "C2"],
        "ASV5": ["ASV5-C00", "ASV5-C01"],
    }


def test_block_values_intervals_and_calibration(tmp_path: Path) -> None:
    run = write_scored_run(tmp_path / "r", CONDITIONS, seed=3)
    scores = {c: read_scores(run / "scores" / f"{c}.tsv") for c in CONDITIONS}
    corpus = {c: v[0] for c, v in CONDITIONS.items()}
    block = detection_block(scores, corpus, MetricConfig(resamples=50))
    by_name = {c["name"]: c for c in block["conditions"]}
    assert [c["name"] for c in block["conditions"]] == [
        "ITW",
        "C1",
        "C2",
        "ASV5-C00",
        "ASV5-C01",
    ]  # paper's order
    c1 = by_name["C1"]
    assert c1["llr"].startswith("logit")
    assert c1["min_dcf"] == pytest.approx(min_dcf(scores["C1"].score, scores["C1"].label).value)
    assert c1["ci"]["min_dcf"][0] <= c1["min_dcf"] <= c1["ci"]["min_dcf"][1]
    asv5 = block["sets"]["ASV5"]
    assert asv5["averaged"]["min_dcf"] == pytest.approx(
        np.mean([by_name[c]["min_dcf"] for c in ("ASV5-C00", "ASV5-C01")])
    )
    both = [scores["ASV5-C00"], scores["ASV5-C01"]]
    pooled = min_dcf(np.concatenate([s.score for s in both]), np.concatenate([s.label for s in both])).value
    assert asv5["pooled"]["min_dcf"] == pytest.approx(pooled) and asv5["pooled"]["n_spoof"] == 130
    md = render_detection(block)
    assert "| ASV5 | ASV5-C00, ASV5-C01 | pooled |" in md and "run `codecfake calibrate RUN`" in md
    calibrate_run(run, figures=False)
    cal = {c: apply_calibration(read_scores(run / "scores" / f"{c}.tsv"), None) for c in CONDITIONS}
    after = detection_block(cal, corpus, MetricConfig(resamples=0))
    for c in after["conditions"]:
        assert c["llr"] == "calibrated" and "ci" not in c
        assert c["act_dcf"] >= c["min_dcf"] - 1e-12  # a calibrated run's actDCF is never below its minDCF
    assert load_calibration(run) is not None
    table = detection_table([("r", [block]), ("r (seeds 1, 2)", [block, after])])
    assert "ASV5 pooled" in table.splitlines()[2] and "(n=2)" in table


def test_attack_breakdown_of_a_codec_condition_corpus(tmp_path: Path) -> None:
    from codecfake.evaluate.detection_report import attack_breakdown

    run = write_scored_run(tmp_path / "r", CONDITIONS, seed=4)
    scores = {c: read_scores(run / "scores" / f"{c}.tsv") for c in CONDITIONS}
    corpus = {c: v[0] for c, v in CONDITIONS.items()}
    methods = {c: np.where(scores[c].label == 0, "bonafide", "ASV5-A17") for c in ("ASV5-C00", "ASV5-C01")}
    methods["ASV5-C01"][-10:] = "ASV5-A18"
    methods |= {
        c: np.where(scores[c].label == 0, "0", c[-1]) for c in ("C1", "C2")
    }  # one codec each: left out
    table = attack_breakdown(scores, methods, corpus)
    assert set(table) == {"ASV5"} and set(table["ASV5"]) == {"ASV5-A17", "ASV5-A18"}
    assert table["ASV5"]["ASV5-A18"]["n_spoof"] == 10 and table["ASV5"]["ASV5-A17"]["n_spoof"] == 120
