"""Leaderboard export: both arenas' files per corpus, checksums that verify, DF-Arena's pooled/averaged metrics."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from codecfake.eer import eer_from_labels
from codecfake.evaluate.leaderboard_export import export_run
from codecfake.evaluate.run_calibration import calibrate_run
from codecfake.evaluate.score_tsv import read_scores
from codecfake.evaluate.testing import write_scored_run

CONDITIONS = {"C1": ("codecfake", 30, 30), "C2": ("codecfake", 30, 30), "ITW": ("itw", 40, 25)}


def test_export_writes_both_arenas_with_checksums(tmp_path: Path) -> None:
    run = write_scored_run(tmp_path / "runs" / "r", CONDITIONS, seed=1)
    sums = export_run(run, tmp_path / "out")
    out = tmp_path / "out"
    for rel, digest in sums.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    assert (out / "SHA256SUMS").read_text().count("\n") == len(sums)
    itw = (out / "anti-spoofing-arena" / "InTheWild" / "scores.txt").read_text().splitlines()
    assert len(itw) == 65 and itw[0].startswith("ITW/u00000 ")
    yaml = (out / "anti-spoofing-arena" / "InTheWild" / "submission.yaml").read_text()
    assert f'scores_sha256: "{sums["anti-spoofing-arena/InTheWild/scores.txt"]}"' in yaml
    assert 'id: "SpeechAntiSpoofingBenchmarks/InTheWild"' in yaml and "schema_version: 4" in yaml
    codecfake = (out / "df-arena" / "codecfake.txt").read_text().splitlines()
    assert len(codecfake) == 120  # C1 and C2 pooled: the corpus is one dataset on the board
    assert (
        (out / "df-arena" / "codecfake.csv").read_text().startswith("file_name,label\nC1/u00000,bonafide\n")
    )


def test_df_arena_metrics_match_our_eer_and_pool_over_datasets(tmp_path: Path) -> None:
    import json

    run = write_scored_run(tmp_path / "r", CONDITIONS, seed=2)
    export_run(run, tmp_path / "out")
    m = json.loads((tmp_path / "out" / "df-arena" / "metrics.json").read_text())
    itw = read_scores(run / "scores" / "ITW.tsv")
    assert m["datasets"]["itw"]["EER (%)"] == pytest.approx(eer_from_labels(itw.score, itw.label).eer_percent)
    every = [read_scores(run / "scores" / f"{c}.tsv") for c in CONDITIONS]
    pooled = eer_from_labels(
        np.concatenate([s.score for s in every]), np.concatenate([s.label for s in every])
    )
    assert m["pooled"]["EER (%)"] == pytest.approx(pooled.eer_percent)
    assert m["average"]["EER (%)"] == pytest.approx(np.mean([v["EER (%)"] for v in m["datasets"].values()]))
    assert m["score"] == ["logit(P(bona fide))"]
    calibrate_run(run, figures=False)
    export_run(run, tmp_path / "out2")
    assert json.loads((tmp_path / "out2" / "df-arena" / "metrics.json").read_text())["score"] == [
        "calibrated LLR"
    ]
