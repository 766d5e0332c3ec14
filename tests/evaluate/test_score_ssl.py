"""`codecfake score` on an SSL run, end to end on CPU: a tiny random-weight XLS-R checkpoint, a tiny corpus, real
feature extraction into the store, a real (1-epoch) training run, then the CLI rebuilding the extractor from
--model-dir. The printed P(bona fide) must equal the model's score on the clip's *stored* float16 features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from codecfake.app.cli import main

N_SAMPLES = 16000  # 1 s clips -> 49 frames of the tiny model's 32 dims: small and fast, AASIST-sized (T >= 3)


def test_score_cli_ssl_run_matches_stored_features(
    tmp_path: Path, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    from codecfake.corpus import load_manifest
    from codecfake.corpus.build.tiny import make_tiny_corpus
    from codecfake.evaluate.score_audio import build_run_extractor, score_files
    from codecfake.extract import build_extractor, extract_manifest
    from codecfake.extract.testing import save_tiny_model
    from codecfake.store import FeatureStore
    from codecfake.train.config import TrainConfig
    from codecfake.train.loop import train
    from codecfake.train.rundir import load_run

    torch.set_num_threads(1)
    model_dir = save_tiny_model(tmp_path / "xlsr", "xlsr", stable=True, seed=0)
    make_tiny_corpus(tmp_path / "corpus")
    manifest = load_manifest("demo-codec", tmp_path / "corpus")
    store = FeatureStore(tmp_path / "features")
    extractor = build_extractor("xlsr", model_dir=model_dir, layers=(1,), n_samples=N_SAMPLES)
    fs = extract_manifest(manifest, extractor, store, num_workers=0)
    assert fs.frame_shape("L01") == (49, 32)

    cfg = TrainConfig(
        name="ssl",
        task="codec",
        backend="aasist",
        features=(fs.key,),
        array="L01",
        epochs=1,
        batch=4,
        eval_batch=8,
        device="cpu",
        threads=1,
        seed=1,
    )
    run_dir = train(cfg, store, tmp_path / "runs")

    # a test clip (C1) and where its stored features are
    i = next(k for k, r in enumerate(manifest) if r.split == "test")
    wav = manifest.resolve(manifest[i])
    assert str(fs.meta["utt_id"][i]) == manifest[i].utt_id
    stored = torch.from_numpy(np.array(fs.reader("L01")[i]))  # (T, D) float16, as the store keeps it
    assert stored.dtype == torch.float16
    run = load_run(run_dir, device="cpu")
    with torch.inference_mode():
        want = torch.softmax(run.model.eval()(stored.float()[None])[1].float(), dim=1)[0, 0].item()

    # library path: the rebuilt extractor gives the same features after the float16 cast, so the same score. The
    # tolerance only covers batch-composition float noise in the SSL forward (the store's clip was one of a batch of 8,
    # here it is alone), which is far below float16's resolution and so vanishes in the cast in practice.
    got = score_files([wav], run, build_run_extractor(run, model_dir=model_dir))[0]
    assert got.error is None and got.score == pytest.approx(want, abs=1e-6)

    # the CLI prints the same number to 6 decimals (so up to 5e-7 off)
    rc = main(["score", str(wav), "--run", str(run_dir), "--model-dir", str(model_dir), "--device", "cpu"])
    lines = capsys.readouterr().out.splitlines()
    assert rc == 0 and lines[0] == "file\tP(bonafide)\tverdict" and len(lines) == 2
    path, score, verdict = lines[1].split("\t")
    assert path == str(wav) and float(score) == pytest.approx(want, abs=1e-6)
    assert verdict == ("bonafide" if want > 0.5 else "spoof")

    # a different checkpoint (same architecture, another seed) is refused: its weights hash differs from the run's
    other = save_tiny_model(tmp_path / "xlsr-other", "xlsr", stable=True, seed=1)
    rc = main(["score", str(wav), "--run", str(run_dir), "--model-dir", str(other), "--device", "cpu"])
    assert rc == 2
    assert "differs from the one recorded" in caplog.text and "weights_sha256" in caplog.text
