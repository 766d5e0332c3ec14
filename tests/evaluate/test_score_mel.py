"""`codecfake score` on a mel run made with the demo's mel settings, end to end through the CLI: features with FFT
1024, hop 1024 and log values given as flags, a real (1-epoch) training run, then single-file scoring, which rebuilds
the extractor from the run's recorded spec. The printed P(bona fide) must equal the model's score on the clip's
*stored* features — a rebuild that dropped a parameter (the FFT size once) is refused or scores other features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from codecfake.app.cli import main
from codecfake.evaluate.testing import ONE_EPOCH_LCNN

MEL_FLAGS = ["--mel-n-fft", "1024", "--mel-hop", "1024", "--mel-values", "log"]  # the demo's, as plain flags


def test_score_cli_mel_run_with_demo_settings_matches_stored_features(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from codecfake.corpus import load_manifest
    from codecfake.corpus.build.tiny import make_tiny_corpus
    from codecfake.store import FeatureStore
    from codecfake.train.rundir import load_run

    torch.set_num_threads(1)
    codec, _ = make_tiny_corpus(tmp_path / "tiny")
    store_dir, runs = tmp_path / "features", tmp_path / "runs"
    common = ["--store", str(store_dir), "--device", "cpu"]
    features = ["features", "--data", "codecfake", "--root", str(codec), "--extractor", "mel", *MEL_FLAGS]
    assert main([*features, "--num-workers", "0", *common]) == 0
    store = FeatureStore(store_dir)
    keys = store.keys()
    train = ["train", "--task", "codec", *ONE_EPOCH_LCNN]
    assert (
        main(
            [
                *train,
                "--features",
                ",".join(keys),
                "--runs",
                str(runs),
                "--name",
                "mel",
                "--threads",
                "1",
                *common,
            ]
        )
        == 0
    )
    run = load_run(runs / "mel", device="cpu")
    params = run.extractor["params"]
    assert (params["n_fft"], params["hop_samples"], params["log"]) == (1024, 1024, True)

    # a test clip, where its stored features are, and the run's score on them
    fs = next(store.open(k) for k in keys if (store.open(k).meta["split"] == "test").any())
    i = int(np.flatnonzero(fs.meta["split"] == "test")[0])
    manifest = load_manifest("codecfake", codec)
    wav = manifest.resolve(next(r for r in manifest if r.utt_id == str(fs.meta["utt_id"][i])))
    stored = torch.from_numpy(np.array(fs.reader("mel")[i]))  # (64, 80) float16, as the store keeps it
    assert stored.shape == (64, 80) and stored.dtype == torch.float16
    with torch.inference_mode():
        want = torch.softmax(run.model.eval()(stored.float()[None])[1].float(), dim=1)[0, 0].item()

    capsys.readouterr()
    assert main(["score", str(wav), "--run", str(runs / "mel"), "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "file\tP(bonafide)\tverdict" and len(lines) == 2
    path, score, verdict = lines[1].split("\t")
    # printed to 6 decimals: up to 5e-7 off
    assert path == str(wav) and float(score) == pytest.approx(want, abs=1e-6)
    assert verdict == ("bonafide" if want > 0.5 else "spoof")
