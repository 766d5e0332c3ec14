"""`codecfake score` on a calibrated run prints the LLR and the decision at the operating point; on a score-fusion
run every member scores and the fusion map decides."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from codecfake.app.cli import main
from codecfake.evaluate.calibration import LinearLlrMap
from codecfake.evaluate.detection_cost import TRACK1
from codecfake.evaluate.testing import FRAME


def _tiny_run(path: Path) -> Path:
    from codecfake.extract.mel import MelConfig, MelExtractor
    from codecfake.train.backends import build_backend
    from codecfake.train.config import TrainConfig
    from codecfake.train.rundir import make_provenance, write_run

    extractor = {
        "extractor": "mel",
        **MelExtractor(MelConfig(log=True)).spec_fields(),
        "dtype": "float16",
        "sample_rate_hz": 16000,
        "n_samples": (FRAME[0] - 1) * 128,
        "pad_rule": "repeat",
        "crop_rule": "first",
    }
    torch.manual_seed(0)
    model = build_backend("aasist", FRAME).eval()
    return write_run(
        path,
        model,
        TrainConfig(name=path.name, batch=8),
        make_provenance(["x.mel.0"], "mel", FRAME, extractor),
    )


def _calibrate(run: Path, slope: float, offset: float) -> None:
    cmap = LinearLlrMap((slope,), offset, 0.655, 10, 10)
    rec = {
        "map": cmap.to_dict(),
        "llr_threshold": TRACK1.llr_threshold,
        "decision": "bona fide when LLR >= -0.6419",
    }
    (run / "calibration.json").write_text(json.dumps(rec))


def test_calibrated_and_fused_runs_print_llr_and_decision(tmp_path: Path, capsys) -> None:
    run = _tiny_run(tmp_path / "run")
    wav = tmp_path / "a.wav"
    sf.write(wav, (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32), 16000)
    assert main(["score", str(wav), "--run", str(run), "--device", "cpu"]) == 0
    p = float(capsys.readouterr().out.splitlines()[1].split("\t")[1])
    _calibrate(run, 2.0, 1.0)
    assert main(["score", str(wav), "--run", str(run), "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"file\tP(bonafide)\tLLR\tdecision (LLR >= {TRACK1.llr_threshold:.4f})"
    _, score, llr, decision = lines[1].split("\t")
    want = 2.0 * math.log(p / (1 - p)) + 1.0
    assert float(score) == pytest.approx(p, abs=1e-6) and float(llr) == pytest.approx(want, abs=1e-3)
    assert decision == ("bonafide" if want >= TRACK1.llr_threshold else "spoof")
    fused = tmp_path / "fused"
    fused.mkdir()
    fmap = LinearLlrMap((1.5, 0.5), -0.25, 0.655, 10, 10, inputs=("run", "run"))
    record = {"members": [str(run), str(run)], "member_names": ["run", "run"], "map": fmap.to_dict()}
    (fused / "fusion.json").write_text(json.dumps(record | {"llr_threshold": 0.0}))
    assert main(["score", str(wav), "--run", str(fused), "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("decision (LLR >= 0.0000)")
    want = 2.0 * math.log(p / (1 - p)) - 0.25
    assert float(lines[1].split("\t")[2]) == pytest.approx(want, abs=1e-3)
