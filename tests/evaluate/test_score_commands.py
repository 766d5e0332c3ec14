"""`codecfake metrics` / `eer`, `calibrate`, `fuse`, `export` end to end on score-file runs, and bad score files."""

from __future__ import annotations

import json
from pathlib import Path

from codecfake.app.cli import main
from codecfake.corpus.testing import asv5_line, write_lines
from codecfake.evaluate.testing import write_scored_run

CONDITIONS = {"C1": ("codecfake", 60, 60), "C2": ("codecfake", 60, 60)}


def test_metrics_and_eer_print_every_metric(tmp_path: Path, capsys) -> None:
    run = write_scored_run(tmp_path / "r", CONDITIONS, seed=5)
    files = [str(run / "scores" / f"{c}.tsv") for c in CONDITIONS]
    for command in ("metrics", "eer"):
        assert main([command, *files, "--resamples", "20"]) == 0
        out = capsys.readouterr().out
        assert "| C1 | C2 | CAVG | AVG |" in out  # the EER table as before
        assert "## ASVspoof 5 metrics" in out and "| CAVG | C1, C2 | pooled |" in out
        assert "P_spoof 0.05, C_miss 1, C_fa 10" in out
    assert main(["metrics", *files, "--resamples", "0", "--p-spoof", "0.5", "--c-fa", "1"]) == 0
    assert "P_spoof 0.5, C_miss 1, C_fa 1" in capsys.readouterr().out


def _asv5(root: Path) -> Path:
    write_lines(
        root / "ASVspoof5.eval.track_1.tsv",
        [asv5_line(f"E_{k:010d}", attack="bonafide" if k < 20 else "A17") for k in range(50)],
    )
    return root


def test_metrics_checks_a_score_file_against_the_protocol(tmp_path: Path, capsys, caplog) -> None:
    root = _asv5(tmp_path / "asv5")
    good = tmp_path / "scores.txt"
    good.write_text("".join(f"E_{k:010d} {1.0 if k < 20 else -1.0 + k / 100}\n" for k in range(50)))
    assert main(["metrics", str(good), "--protocol", "asvspoof5", str(root), "--resamples", "0"]) == 0
    assert "| ASV5-C00 | 20 | 30 |" in capsys.readouterr().out
    missing = tmp_path / "missing.txt"
    missing.write_text("".join(f"E_{k:010d} 0.5\n" for k in range(49)))
    assert main(["metrics", str(missing), "--protocol", "asvspoof5", str(root)]) == 2
    assert "1 of the 50 trials of the asvspoof5 protocol" in caplog.text
    dup = tmp_path / "dup.tsv"
    dup.write_text(
        "utt_id\tscore\tlabel\tcondition\nE_0000000000\t0.9\tbonafide\tASV5-C00\nE_0000000000\t0.8\tbonafide\tASV5-C00\n"
    )
    assert main(["metrics", str(dup)]) == 2
    assert "line 3 repeats trial 'E_0000000000' of line 2" in caplog.text
    nan = tmp_path / "nan.tsv"
    nan.write_text("utt_id\tscore\tlabel\tcondition\nE_0000000000\tnan\tbonafide\tASV5-C00\n")
    assert main(["metrics", str(nan)]) == 2
    assert "line 2 has a NaN score" in caplog.text
    flipped = tmp_path / "flipped.tsv"
    flipped.write_text(
        "utt_id\tscore\tlabel\tcondition\n"
        + "".join(f"E_{k:010d}\t0.5\t{'spoof' if k < 20 else 'spoof'}\tASV5-C00\n" for k in range(50))
    )
    assert main(["metrics", str(flipped), "--protocol", "asvspoof5", str(root)]) == 2
    assert "line 2 labels trial 'E_0000000000' spoof, the asvspoof5 protocol" in caplog.text


def test_calibrate_fuse_export_and_report(tmp_path: Path, capsys) -> None:
    a = write_scored_run(tmp_path / "runs" / "a", CONDITIONS, seed=6, noise=1.3)
    b = write_scored_run(tmp_path / "runs" / "b", CONDITIONS, seed=7, noise=1.3)
    assert main(["calibrate", str(a), "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    assert "fitted on 200 + 300 dev trials" in out and "dev after" in out
    rep = json.loads((a / "report" / "report.json").read_text())
    assert (
        rep["detection"]["conditions"][0]["llr"] == "calibrated" and rep["calibration"]["llr_threshold"] < 0
    )
    md = (a / "report" / "report.md").read_text()
    assert "Calibration (fitted on 200 + 300 **dev** trials" in md and "reliability.png" in md
    assert main(["calibrate", str(tmp_path / "runs" / "nope")]) == 2
    assert (
        main(
            [
                "fuse",
                str(a),
                str(b),
                "--name",
                "ab",
                "--runs-dir",
                str(tmp_path / "runs"),
                "--resamples",
                "20",
            ]
        )
        == 0
    )
    fused = json.loads((tmp_path / "runs" / "ab" / "report" / "report.json").read_text())
    assert [c["name"] for c in fused["conditions"]] == ["C1", "C2"] and fused["detection"]["sets"]["CAVG"]
    capsys.readouterr()
    assert main(["report", str(a), str(b), str(tmp_path / "runs" / "ab"), "--resamples", "0"]) == 0
    table = capsys.readouterr().out
    assert "| ab |" in table and "minDCF / actDCF / Cllr" in table
    assert main(["compare", str(a), str(tmp_path / "runs" / "ab"), "--resamples", "20"]) == 0
    assert main(["export", str(tmp_path / "runs" / "ab")]) == 0
    assert (tmp_path / "runs" / "ab" / "export" / "SHA256SUMS").is_file()


def test_calibrate_refuses_a_one_class_dev_set(tmp_path: Path, caplog) -> None:
    run = write_scored_run(tmp_path / "r", CONDITIONS, dev=(50, 0))
    assert main(["calibrate", str(run)]) == 2
    assert "0 spoof trials; calibration needs both classes" in caplog.text
    assert not (run / "calibration.json").is_file()


def test_compare_adds_paired_metric_deltas(tmp_path: Path, capsys) -> None:
    from codecfake.evaluate.compare_metrics import compare_metrics

    a = write_scored_run(tmp_path / "a", CONDITIONS, seed=8, noise=0.8)
    b = write_scored_run(tmp_path / "b", CONDITIONS, seed=9, noise=2.5)  # much worse: resolved
    deltas = compare_metrics([a], [b], resamples=200)
    assert set(deltas["min_dcf"]) == {"C1", "C2", "CAVG", "AVG"}
    assert deltas["min_dcf"]["CAVG"].lo > 0 and deltas["min_dcf"]["CAVG"].excludes_zero
    same = compare_metrics([a], [a], resamples=50)
    assert all(d.delta == 0 and d.lo == d.hi == 0 for d in same["act_dcf"].values())
    out_json = tmp_path / "cmp.json"
    assert main(["compare", str(a), str(b), "--resamples", "50", "--json", str(out_json)]) == 0
    assert "Paired deltas of the ASVspoof 5 metrics" in capsys.readouterr().out
    assert set(json.loads(out_json.read_text())["metric_deltas"]) == {
        "min_dcf",
        "act_dcf",
        "cllr",
        "min_cllr",
    }
