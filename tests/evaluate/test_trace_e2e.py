"""A tiny source-tracing run end to end through the CLI: features -> train --task trace -> evaluate -> score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecfake.evaluate.testing import ONE_EPOCH_LCNN


def test_trace_run_trains_evaluates_and_scores(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from codecfake.app.cli import main
    from codecfake.corpus.build.tiny import make_tiny_corpus
    from codecfake.store import FeatureStore

    codec, _ = make_tiny_corpus(tmp_path / "tiny")
    store, runs = tmp_path / "features", tmp_path / "runs"
    assert (
        main(
            [
                "features",
                "--data",
                "codecfake",
                "--root",
                str(codec),
                "--model",
                "mel",
                "--mel-hop",
                "1024",
                "--num-workers",
                "0",
                "--store",
                str(store),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    keys = ",".join(
        FeatureStore(store).keys()
    )  # the codec parts alone (the default trace takes codec + vocoder)
    assert (
        main(
            [
                "train",
                "--task",
                "trace",
                *ONE_EPOCH_LCNN,
                "--features",
                keys,
                "--store",
                str(store),
                "--runs",
                str(runs),
                "--device",
                "cpu",
                "--name",
                "tr",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    run = runs / "tr"
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["classes"] == [
        "bonafide",
        "1",
        "2",
    ]  # tiny corpus: train fakes of methods 1, 2; C7's 7 only in test
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "--run",
                str(run),
                "--store",
                str(store),
                "--device",
                "cpu",
                "--resamples",
                "0",
                "--no-figures",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "source tracing" in out
    trace = json.loads((run / "report" / "trace.json").read_text())
    by_name = {c["name"]: c for c in trace["conditions"]}
    assert by_name["C7"]["open_set"]["n_unknown"] == 3 and by_name["C1"]["open_set"]["n_unknown"] == 0
    assert by_name["C7"]["closed_set"]["rows"][-1] == "7 (unseen)"
    assert by_name["ALL"]["n"] == sum(c["n"] for c in trace["conditions"][:-1])
    assert "## Source tracing" in (run / "report" / "report.md").read_text()
    wav = next((codec / "test" / "C7").glob("F07_*.wav"))
    assert main(["score", str(wav), "--run", str(run), "--device", "cpu", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = "file\trank\tgenerator\tprobability\topen-set score (knn)\tthreshold\tverdict"
    assert lines[0] == head and len(lines) == 3
    cells = [line.split("\t") for line in lines[1:]]
    probs = [float(c[3]) for c in cells]
    assert probs == sorted(probs, reverse=True) and all(c[2] in prov["classes"] for c in cells)
    novelty, thr = float(cells[0][4]), float(cells[0][5])
    assert cells[0][6] == ("unknown generator" if novelty > thr else "known")
    # the file's score through the audio path equals the stored-feature score of the same clip in scores/trace
    from codecfake.evaluate.trace_clips import read_trace_scores

    table = read_trace_scores(run / "scores" / "trace" / "C7.tsv")
    assert {"msp", "energy", "mahalanobis", "knn", "unknown"} <= set(table)
    row = list(table["utt_id"]).index(f"C7/{wav.stem}")
    assert novelty == pytest.approx(table["knn"][row], rel=1e-4, abs=1e-5)
    assert thr == pytest.approx(trace["scorers"]["knn"]["threshold"], rel=1e-5)
    assert main(["score", str(wav), "--run", str(run), "--device", "cpu", "--openset", "msp"]) == 0
    assert "open-set score (msp)" in capsys.readouterr().out
