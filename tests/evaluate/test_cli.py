"""The evaluate stage's CLI: evaluate, report (seed aggregation), score (single files), baselines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from codecfake.app.cli import main
from codecfake.evaluate.testing import FRAME, make_run


def test_evaluate_and_report_cli(env, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from codecfake.store import FeatureStore

    store = FeatureStore(env.store_root)
    runs = tmp_path / "runs"
    # two seeds of one config, and a different config (opt=sam) -> two table rows
    for seed in (1, 2):
        make_run(runs / f"codec-aasist-adam-s{seed}", store, env.keys["codec"], seed=seed, torch_seed=seed)
    sam = make_run(runs / "codec-aasist-sam-s1", store, env.keys["codec"], seed=1)
    cfg = json.loads((sam / "config.json").read_text())
    (sam / "config.json").write_text(json.dumps(cfg | {"opt": "sam"}))
    for r in sorted(runs.iterdir()):
        assert (
            main(
                [
                    "evaluate",
                    "--run",
                    str(r),
                    "--store",
                    str(env.store_root),
                    "--device",
                    "cpu",
                    "--no-figures",
                ]
            )
            == 0
        )
    out = capsys.readouterr().out
    assert "| run | 19LA | C1 | C2 | A1 | CAVG | AVG |" in out
    (runs / "not-evaluated").mkdir()
    md = tmp_path / "table.md"
    assert main(["report", *map(str, sorted(runs.iterdir())), "--out", str(md)]) == 0
    table = md.read_text()
    assert table == capsys.readouterr().out
    eer_table, metrics_table = table.split("minDCF / actDCF / Cllr per condition")
    lines = [x for x in eer_table.splitlines() if x.startswith("| codec")]
    assert len(lines) == 2
    assert (
        len([x for x in metrics_table.splitlines() if x.startswith("| codec")]) == 2
    )  # grouped the same way
    agg = next(x for x in lines if "seeds 1, 2" in x)
    # mean ± sample std of the two runs' C1 cells
    c1 = [
        json.loads((runs / f"codec-aasist-adam-s{s}" / "report" / "report.json").read_text()) for s in (1, 2)
    ]
    vals = [next(c["eer"] for c in r["conditions"] if c["name"] == "C1") for r in c1]
    assert f"{np.mean(vals):.3f} ± {np.std(vals, ddof=1):.3f}" in agg.split("|")[3]
    assert agg.startswith("| codec-aasist-adam (seeds 1, 2) |")
    assert main(["report", str(runs / "not-evaluated")]) == 2


def test_score_cli_scores_files_and_reports_bad_ones(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from codecfake.extract.mel import MelConfig, MelExtractor
    from codecfake.train.backends import build_backend
    from codecfake.train.config import TrainConfig
    from codecfake.train.rundir import load_run, make_provenance, write_run

    n_samples = (FRAME[0] - 1) * 128  # 1408 samples -> 12 mel frames, the tiny model's input
    spec = MelExtractor(MelConfig(log=True)).spec_fields()
    extractor = {
        "extractor": "mel",
        **spec,
        "dtype": "float16",
        "sample_rate_hz": 16000,
        "n_samples": n_samples,
        "pad_rule": "repeat",
        "crop_rule": "first",
    }
    torch.manual_seed(0)
    run_dir = write_run(
        tmp_path / "run",
        build_backend("aasist", FRAME).eval(),
        TrainConfig(name="run", batch=8),
        make_provenance(["x.mel.0"], "mel", FRAME, extractor),
    )
    rng = np.random.default_rng(0)
    good = tmp_path / "a.wav"
    sf.write(
        good, (0.1 * rng.standard_normal(8000)).astype(np.float32), 8000
    )  # resampled to 16 kHz by corpus rules
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 16000)
    missing = tmp_path / "missing.wav"
    rc = main(["score", str(good), str(empty), str(missing), "--run", str(run_dir), "--device", "cpu"])
    cap = capsys.readouterr()
    assert rc == 1
    lines = cap.out.splitlines()
    assert lines[0] == "file\tP(bonafide)\tverdict" and len(lines) == 4
    path, score, verdict = lines[1].split("\t")
    # the same number by hand: corpus rules -> the mel extractor -> float16 -> the model
    from codecfake.corpus import load_clip

    wave = torch.from_numpy(load_clip(good, n_samples=n_samples))[None]
    x = MelExtractor(MelConfig(log=True), n_samples=n_samples)(wave)["mel"].half().float()
    with torch.inference_mode():
        want = torch.softmax(load_run(run_dir).model(x)[1], dim=1)[0, 0].item()
    assert path == str(good) and float(score) == pytest.approx(want, abs=1e-6)
    assert verdict == ("bonafide" if want > 0.5 else "spoof")
    assert lines[2].endswith("\terror") and lines[3].endswith("\terror")
    assert "2 of 3 files could not be scored" in cap.err


def test_score_cli_needs_model_dir_for_ssl_runs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from codecfake.train.backends import build_backend
    from codecfake.train.config import TrainConfig
    from codecfake.train.rundir import make_provenance, write_run

    extractor = {
        "extractor": "xlsr",
        "model_id": "facebook/wav2vec2-xls-r-300m",
        "weights_sha256": "ab",
        "params": {},
    }
    run_dir = write_run(
        tmp_path / "ssl",
        build_backend("aasist", FRAME),
        TrainConfig(name="ssl", batch=8),
        make_provenance(["x"], "L05", FRAME, extractor),
    )
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(1600, np.float32), 16000)
    assert main(["score", str(wav), "--run", str(run_dir), "--device", "cpu"]) == 2
    assert "pass the local checkpoint folder with --model-dir" in caplog.text


def test_baselines_cli_writes_markdown_and_json(env, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "b" / "baselines.md"
    keys = f"{env.keys['codec']},{env.keys['la']}"
    assert main(["baselines", "--store", str(env.store_root), "--features", keys, "--out", str(out)]) == 0
    cap = capsys.readouterr()
    assert out.read_text() == cap.out and "| C1 | mini-codecfake |" in cap.out
    doc = json.loads(out.with_suffix(".json").read_text())
    assert {r["condition"] for r in doc["rows"]} == {"19LA", "C1", "C2", "A1"}
    assert "corpus artefacts" in cap.err
    shutil.rmtree(out.parent)
