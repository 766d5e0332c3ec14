"""The demo page's minDCF / actDCF / Cllr section, from reports that carry the ASVspoof 5 metrics."""

from __future__ import annotations

import json
from pathlib import Path

from codecfake.app.demo.results import metrics_section
from codecfake.evaluate.detection_report import MetricConfig
from codecfake.evaluate.score_file_report import refresh_report
from codecfake.evaluate.testing import write_scored_run


def test_metrics_section_lists_each_configuration(tmp_path: Path) -> None:
    conditions = {
        "C1": ("mini-codecfake", 30, 30),
        "C2": ("mini-codecfake", 30, 30),
        "19LA": ("mini-19la", 20, 40),
    }
    reports = []
    for seed in (1, 2):
        run = write_scored_run(tmp_path / f"codec-lcnn-adam-s{seed}", conditions, seed=seed)
        refresh_report(run, MetricConfig(resamples=0))
        reports.append(json.loads((run / "report" / "report.json").read_text()))
    lines = metrics_section(reports)
    assert lines[0].startswith("## minDCF / actDCF / Cllr")
    assert "logit(P(bona fide)), uncalibrated" in lines[2]
    table = lines[3].strip().splitlines()
    assert table[2] == "| run | 19LA | C1 | C2 | CAVG pooled | AVG pooled | mini-codecfake pooled |"
    assert table[4].startswith("| codec-lcnn-adam (seeds 1, 2) |") and "(n=2)" in table[4]  # seeds: one row
    assert metrics_section([{"conditions": []}]) == []
