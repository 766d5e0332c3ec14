"""`codecfake openset-loo`: leave-one-generator-out trace runs choose the scorer, then the all-generator run is
evaluated with it and the page is written by the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


@pytest.mark.slow  # four trainings and an evaluation: ~50 s on 2 loaded cores
def test_openset_loo_trains_held_out_runs_chooses_and_writes_the_page(tmp_path: Path) -> None:
    from codecfake.app.cli import main
    from codecfake.evaluate.testing import write_trace_set
    from codecfake.store import FeatureStore

    fs = write_trace_set(FeatureStore(tmp_path / "features"))
    out = tmp_path / "openset.md"
    argv = ["openset-loo", "--store", str(tmp_path / "features"), "--runs", str(tmp_path / "runs")]
    argv += ["--device", "cpu", "--features", fs.key, "--epochs", "1", "--resamples", "50", "--out", str(out)]
    argv += ["--threads", "1"]
    assert main(argv) == 0
    doc = json.loads(out.with_suffix(".json").read_text())
    loo = doc["loo"]
    assert loo["generators"] == ["C1", "C2", "C3"]
    means = {s: v["auroc"]["value"] for s, v in loo["mean"].items()}
    assert set(means) == {"msp", "energy", "mahalanobis", "knn"} and loo["chosen"] == max(
        means, key=means.get
    )
    for g in loo["generators"]:  # each held-out run never trained on its generator, and knows the others
        run = tmp_path / "runs" / f"trace-lcnn-adam-s688-mel-loo-{g}"
        assert json.loads((run / "config.json").read_text())["hold_out"] == [g]
        classes = json.loads((run / "provenance.json").read_text())["classes"]
        assert g[1:] not in classes and len(classes) == 3
        assert loo["counts"][g] == [8 * 3, 8]  # known dev clips (bona fide + 2 generators) vs its 8 dev fakes
        assert (
            run / "openset" / "held_out.json"
        ).is_file()  # its scores, reused by a rerun with the same weights
    trace = json.loads((tmp_path / "runs" / "trace-lcnn-adam-s688-mel" / "report" / "trace.json").read_text())
    assert trace["default"] == loo["chosen"] and trace["hold_out"] == []
    rows = {r["name"]: r for r in doc["test"]["rows"]}
    assert set(rows) == {"C7", "ALL (each clip once)"} and rows["C7"]["n_unknown"] == 8
    speakers = doc["test"]["bona_fide_speakers"]
    assert speakers["unseen_speakers"] == ["s9"] and speakers["unseen"]["n"] == 1  # C1/0_0 = C7/0_0: one real
    page = out.read_text()
    assert f"**Default scorer: {loo['chosen']}**" in page and "codecfake openset-loo" in page


def _held_out(g: str, shift: dict[str, float], seed: int):
    """Scores of one held-out generator: known ~ N(0, 1), unknown ~ N(shift[scorer], 1) per scorer."""
    from codecfake.evaluate.openset_loo import HeldOutScores

    rng = np.random.default_rng(seed)
    known = {s: rng.normal(size=40) for s in shift}
    unknown = {s: rng.normal(size=12) + d for s, d in shift.items()}
    return HeldOutScores(g, f"runs/x-loo-{g}", known, unknown)


def test_the_choice_is_the_best_mean_auroc_with_paired_differences() -> None:
    from codecfake.app.openset_page import render_page
    from codecfake.evaluate.openset_loo import loo_table
    from codecfake.evaluate.trace_metrics import auroc

    shift = {"msp": 0.0, "energy": 0.5, "mahalanobis": 3.0, "knn": 1.5}
    results = [_held_out(g, shift, i) for i, g in enumerate(["C1", "C2", "A01"])]
    table = loo_table(results, resamples=200, seed=1)
    means = {s: np.mean([auroc(r.known[s], r.unknown[s]) for r in results]) for s in shift}
    assert {s: table.mean[s]["auroc"].value for s in shift} == pytest.approx(means)
    assert table.chosen == "mahalanobis" == max(means, key=means.get)
    assert set(table.delta_auroc) == {"msp", "energy", "knn"}
    assert table.delta_auroc["msp"].lo > 0  # a 3-sigma shift beats chance on every resample
    for r in results:
        iv = table.per_generator[r.generator]["knn"]["auroc"]
        assert iv.lo <= iv.value <= iv.hi
    test = {"default": "mahalanobis", "scorers": list(shift), "thresholds": dict.fromkeys(shift, 1.0), "keep": 0.95,
            "rows": [], "bona_fide_speakers": None}  # fmt: skip
    page = render_page({"loo": table, "test": test, "seconds": {"C1": 5.0}, "commands": [["codecfake", "x"]],
                        "full_run": "runs/x", "wall_s": 60.0, "argv": ["codecfake", "openset-loo"]})  # fmt: skip
    assert "**Default scorer: mahalanobis**" in page and "| C1 | 40 / 12 |" in page


def test_resampled_auroc_and_fpr_equal_the_metrics_of_each_materialised_resample() -> None:
    from codecfake.evaluate.bootstrap import stratified_counts
    from codecfake.evaluate.openset_intervals import resampled_open_set
    from codecfake.evaluate.trace_metrics import auroc, fpr_at_tpr

    rng = np.random.default_rng(4)
    known, unknown = np.round(rng.normal(size=30), 1), np.round(rng.normal(size=9) + 1, 1)  # ties included
    labels = np.r_[np.zeros(30, np.int64), np.ones(9, np.int64)]
    counts = stratified_counts(labels, 25, np.random.default_rng(5))
    aur, fpr = resampled_open_set(known, unknown, counts)
    for r in range(25):
        k, u = np.repeat(known, counts[r, :30]), np.repeat(unknown, counts[r, 30:])
        assert aur[r] == pytest.approx(auroc(k, u)) and fpr[r] == pytest.approx(fpr_at_tpr(k, u))


def test_the_code_default_is_the_scorer_the_committed_loo_table_chose() -> None:
    """docs/openset-results.json is written by `codecfake openset-loo`; the default must be what it chose."""
    from codecfake.evaluate.openset_scorers import DEFAULT_SCORER

    page = Path(__file__).resolve().parents[2] / "docs" / "openset-results.json"
    assert json.loads(page.read_text())["loo"]["chosen"] == DEFAULT_SCORER
