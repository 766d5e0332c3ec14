"""A fused-layer run end to end on CPU: a tiny random-weight WavLM checkpoint, real extraction of three layers into the
store, a 1-epoch training run on two of them fused, evaluation (the learned weights in report.json and report.md) and
`codecfake score`, which recomputes both layers from the checkpoint: its P(bona fide) equals the model's score on the
clip's stored float16 layers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from codecfake.app.cli import main

N_SAMPLES = 16000  # 1 s clips -> 49 frames of 32 dims


def test_fused_layer_run_trains_evaluates_reports_weights_and_scores_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from codecfake.corpus import load_manifest
    from codecfake.corpus.build.tiny import make_tiny_corpus
    from codecfake.evaluate.run_eval import evaluate_run
    from codecfake.extract import build_extractor, extract_manifest
    from codecfake.extract.testing import save_tiny_model
    from codecfake.store import FeatureStore
    from codecfake.train.config import TrainConfig
    from codecfake.train.fusion import FusedBackend, fusion_weights
    from codecfake.train.loop import train
    from codecfake.train.rundir import load_run

    torch.set_num_threads(1)
    model_dir = save_tiny_model(tmp_path / "wavlm", "wavlm", stable=False, seed=0)
    make_tiny_corpus(tmp_path / "corpus")
    manifest = load_manifest("demo-codec", tmp_path / "corpus")
    store = FeatureStore(tmp_path / "features")
    extractor = build_extractor("wavlm", model_dir=model_dir, layers=(0, 1, 3), n_samples=N_SAMPLES)
    fs = extract_manifest(manifest, extractor, store, num_workers=0)
    assert fs.arrays == ["L00", "L01", "L03"]

    cfg = TrainConfig(
        name="fused",
        task="codec",
        backend="lcnn",
        features=(fs.key,),
        layers=(3, 1),
        epochs=1,
        batch=4,
        eval_batch=8,
        device="cpu",
        threads=1,
        seed=1,
    )
    run_dir = train(cfg, store, tmp_path / "runs")
    run = load_run(run_dir, device="cpu")
    assert run.array == "L01+L03" and isinstance(run.model, FusedBackend)
    weights = fusion_weights(run.model, run.array)

    out = evaluate_run(run_dir, tmp_path / "features", device="cpu", figures=False, resamples=20)
    saved = json.loads((out.report_dir / "report.json").read_text())
    assert saved["fusion"] == {
        "arrays": ["L01", "L03"],
        "weights": pytest.approx([weights["L01"], weights["L03"]]),
    }
    assert saved["array"] == "L01+L03" and saved["conditions"]  # the C1.. test clips were scored
    md = (out.report_dir / "report.md").read_text()
    assert f"`L01` {weights['L01']:.3f}, `L03` {weights['L03']:.3f}" in md

    # the score file's value for one test clip equals the model on its two stored layers
    i = next(k for k, r in enumerate(manifest) if r.split == "test")
    stored = torch.from_numpy(np.stack([np.array(fs.reader(a)[i]) for a in ("L01", "L03")]))  # (2, T, D) fp16
    with torch.inference_mode():
        want = torch.softmax(run.model(stored.float()[None])[1].float(), dim=1)[0, 0].item()
    cond = str(fs.meta["condition"][i])
    tsv = (run_dir / "scores" / f"{cond}.tsv").read_text().splitlines()
    row = next(line.split("\t") for line in tsv if line.split("\t")[0] == manifest[i].utt_id)
    assert float(row[1]) == pytest.approx(want, abs=1e-6)

    # single-file scoring recomputes L01 and L03 from the checkpoint in one forward: the same score
    wav = manifest.resolve(manifest[i])
    rc = main(["score", str(wav), "--run", str(run_dir), "--model-dir", str(model_dir), "--device", "cpu"])
    lines = capsys.readouterr().out.splitlines()
    assert rc == 0 and len(lines) == 2
    assert float(lines[1].split("\t")[1]) == pytest.approx(want, abs=1e-6)


def test_seed_rows_group_runs_saved_before_and_after_the_layers_key() -> None:
    from codecfake.evaluate.report import aggregate_runs
    from codecfake.train.config import TrainConfig

    def report(seed: int, eer: float, **cfg) -> dict:
        config = TrainConfig(seed=seed, **cfg).to_dict()
        return {
            "run": f"codec-aasist-adam-s{seed}",
            "config": config,
            "conditions": [{"name": "C1", "eer": eer, "eer_paper": eer, "inverted": False}],
        }

    old = report(1, 2.0)
    del old["config"]["layers"]  # evaluated before `layers` existed
    rows, _ = aggregate_runs([old, report(2, 4.0), report(3, 9.0, layers=(0, 3))], paper_mode=False)
    assert [name for name, _ in rows] == ["codec-aasist-adam (seeds 1, 2)", "codec-aasist-adam-s3"]
    assert rows[0][1]["C1"].startswith("3.000 ± 1.414")  # the fused run is a row of its own
