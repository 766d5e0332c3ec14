"""evaluate_run end to end on a real store and a real run directory (random-weight tiny AASIST)."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest
import torch

from codecfake.evaluate.conditions import averages, group_test_rows
from codecfake.evaluate.errors import NoTestSets
from codecfake.evaluate.results import evaluate_condition
from codecfake.evaluate.run_eval import evaluate_run
from codecfake.evaluate.score_features import find_test_sets
from codecfake.evaluate.score_tsv import HEADER, Scores, read_scores


def test_grouping_codecfake_style_per_condition_and_asvspoof_pooled() -> None:
    meta = {
        "split": np.array(["train", "test", "test", "test", "test"]),
        "condition": np.array(["train", "C1", "C1", "C2", "C2"]),
        "label": np.array([0, 0, 1, 0, 1]),
    }
    groups = group_test_rows("mini-codecfake", meta)
    assert [(g.name, g.indices.tolist(), g.pooled) for g in groups] == [
        ("C1", [1, 2], False),
        ("C2", [3, 4], False),
    ]
    meta = {
        "split": np.array(["test"] * 4),
        "condition": np.array(["bonafide", "A07", "A08", "bonafide"]),
        "label": np.array([0, 1, 1, 0]),
    }
    (g,) = group_test_rows("asvspoof2019la", meta)
    assert (g.name, g.indices.tolist(), g.pooled) == ("19LA", [0, 1, 2, 3], True)
    (g,) = group_test_rows(
        "itw",
        {"split": np.array(["test"] * 2), "condition": np.array(["ITW", "ITW"]), "label": np.array([0, 1])},
    )
    assert g.name == "ITW"


def test_averages_follow_the_paper_and_say_what_they_cover() -> None:
    eers = {"19LA": 1.0, "ITW": 2.0, "C1": 3.0, "C2": 5.0, "A1": 100.0}
    avg = averages(eers)
    assert avg["CAVG"]["value"] == 4.0 and avg["CAVG"]["over"] == ["C1", "C2"]
    assert avg["CAVG"]["missing"] == ["C3", "C4", "C5", "C6", "C7"]
    assert avg["AVG"]["value"] == pytest.approx(11 / 4)  # A1 is never averaged
    assert math.isnan(averages({"A1": 1.0})["CAVG"]["value"])
    # Table VIII, W2V2-AASIST (CSAM): the paper's CAVG 0.077 and AVG 0.616 from its cells
    row = dict(
        zip(
            ["19LA", "ITW", "C1", "C2", "C3", "C4", "C5", "C6", "C7"],
            [0.313, 4.689, 0.008, 0.023, 0.008, 0.008, 0.030, 0.030, 0.431],
        )
    )
    avg = averages(row)
    assert round(avg["CAVG"]["value"], 3) == 0.077 and int(avg["AVG"]["value"] * 1000) / 1000 == 0.615


def test_inverted_condition_warns_loudly(caplog: pytest.LogCaptureFixture) -> None:
    sc = Scores(
        utt_id=np.array(["a", "b", "c", "d"]),
        score=np.array([0.1, 0.2, 0.8, 0.9]),
        label=np.array([0, 0, 1, 1]),
        condition=np.array(["C5"] * 4),
    )
    with caplog.at_level(logging.WARNING):
        r = evaluate_condition("C5", "x", sc)
    assert r.inverted and r.eer == 100.0 and r.eer_paper == 0.0
    assert "INVERTED on C5" in caplog.text


def test_find_test_sets_matches_the_extractor_spec(env) -> None:
    from codecfake.store import FeatureStore
    from codecfake.train.rundir import load_run

    run = load_run(env.run_dir)
    keys = {fs.key for fs in find_test_sets(FeatureStore(env.store_root), run.extractor, run.array)}
    assert keys == {env.keys["codec"], env.keys["la"]}  # the log-mel set differs in params: not evaluated
    with pytest.raises(NoTestSets, match="array L05"):
        find_test_sets(FeatureStore(env.store_root), run.extractor, "L05")


def test_evaluate_run_writes_scores_report_and_figures(env) -> None:
    from codecfake.store import FeatureStore
    from codecfake.train.rundir import load_run

    out = evaluate_run(env.run_dir, env.store_root, device="cpu", batch=5)
    names = [c["name"] for c in out.report["conditions"]]
    assert names == ["19LA", "C1", "C2", "A1"]
    tsv = env.run_dir / "scores" / "C1.tsv"
    assert tsv.read_text().splitlines()[0].split("\t") == list(HEADER)
    sc = read_scores(tsv)
    # the file holds softmax(model(x))[:, 0] of exactly the C1 test rows
    run = load_run(env.run_dir)
    fs = FeatureStore(env.store_root).open(env.keys["codec"])
    idx = np.flatnonzero(np.asarray(fs.meta["condition"], dtype=object).astype(str) == "C1")
    x = torch.from_numpy(fs.reader("mel").batch(idx).astype(np.float32))
    with torch.inference_mode():
        want = torch.softmax(run.model(x)[1], dim=1)[:, 0].numpy()
    np.testing.assert_allclose(sc.score, want, rtol=1e-5, atol=1e-6)
    assert sc.utt_id.tolist() == np.asarray(fs.meta["utt_id"], dtype=object).astype(str)[idx].tolist()
    la = read_scores(env.run_dir / "scores" / "19LA.tsv")
    assert set(la.condition.tolist()) == {"bonafide", "A07", "A08"}
    rep = json.loads((env.run_dir / "report" / "report.json").read_text())
    assert rep["averages"]["plain"]["CAVG"]["over"] == ["C1", "C2"]
    assert rep["averages"]["plain"]["AVG"]["over"] == ["19LA", "C1", "C2"]
    la_c = next(c for c in rep["conditions"] if c["name"] == "19LA")
    assert set(la_c["detail"]) == {"A07", "A08"}
    assert rep["dev_threshold"] is not None and rep["conditions"][0]["confusion_dev"] is not None
    md = (env.run_dir / "report" / "report.md").read_text()
    assert "| run | 19LA | C1 | C2 | A1 | CAVG | AVG |" in md
    for png in ("det.png", "eer.png", "confusion.png"):
        assert (env.run_dir / "report" / png).read_bytes()[:4] == b"\x89PNG"
    # rerun overwrites, never appends
    n_lines = len(tsv.read_text().splitlines())
    evaluate_run(env.run_dir, env.store_root, device="cpu", figures=False)
    assert len(tsv.read_text().splitlines()) == n_lines == 1 + 12
