"""Fidelity: W2V2-LCNN release pickles (plain and DataParallel) import frequency-first and reproduce the release's
outputs through ``import-official``, ``evaluate`` and ``score``.

The release feeds its LCNN ``feat.transpose(2, 3)`` of XLS-R features stored (201, 1024), i.e. a (1024, 201) image
(``main_train.py:271``, ``generate_score.py``). The goldens here come from ``release_lcnn_forward``, which follows the
release's layer list with ``torch.nn.functional`` on exactly that input, never through our LCNN class; the pickles
are built in the release's class shape from seeded random weights (the released W2V2-LCNN files are not public).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from codecfake.app.cli import main
from codecfake.evaluate.official_import import import_official
from codecfake.train.rundir import load_run
from codecfake.train.testing import random_w2v2_lcnn_state, release_lcnn_forward, save_release_pickle

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("release")
    state = random_w2v2_lcnn_state(seed=0)
    paths = {}
    for name, wrapped in (("codec_w2v2lcnn", False), ("vocoder_w2v2lcnn", True)):
        (root / name).mkdir()
        paths[name] = root / name / "anti-spoofing_feat_model.pt"
        save_release_pickle(paths[name], state, "LCNN", data_parallel=wrapped)
    x = torch.randn(2, 201, 1024, generator=torch.Generator().manual_seed(1)).half().float()  # as stored
    with torch.no_grad():
        emb, logits = release_lcnn_forward(state, x)
    return {"state": state, "paths": paths, "x": x, "emb": emb, "logits": logits}


@pytest.mark.parametrize("name", ["codec_w2v2lcnn", "vocoder_w2v2lcnn"])
def test_w2v2_lcnn_pickles_import_frequency_first_and_reproduce_goldens(
    name: str, release: dict, tmp_path: Path
) -> None:
    raw = release["paths"][name].read_bytes()
    assert (b"DataParallel" in raw) == (name == "vocoder_w2v2lcnn")
    run = load_run(import_official(release["paths"][name], "lcnn", name, runs=tmp_path))
    assert (run.config.lcnn_layout, run.config.task, run.array, run.frame_shape) == (
        "freq-first",
        name.split("_")[0],
        "L05",
        (201, 1024),
    )
    assert json.loads((run.run_dir / "config.json").read_text())["lcnn_layout"] == "freq-first"
    with torch.no_grad():
        emb, logits = run.model(release["x"])
    torch.testing.assert_close(logits, release["logits"], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(emb, release["emb"], rtol=1e-5, atol=1e-5)
    if (
        name == "codec_w2v2lcnn"
    ):  # the same weights read time-first (our layout before this) give other logits
        with torch.no_grad():
            _, time_first = load_run(run.run_dir, builder=_time_first_builder).model(release["x"])
        assert (time_first - release["logits"]).abs().max() > 1e-2


def _time_first_builder(name: str, frame_shape: tuple[int, int], **kw) -> torch.nn.Module:
    from codecfake.train.backends import build_backend

    return build_backend(name, frame_shape, **{**kw, "freq_major": False})


def _test_set(store: Path, run, x: torch.Tensor) -> None:
    """A store holding one Codecfake-like test part whose features are `x`, made by the run's extractor."""
    from codecfake.store import FeatureSetSpec, FeatureStore
    from codecfake.store.testing import write_all

    spec = FeatureSetSpec(corpus="toy", manifest_sha256="0" * 64, part="C1", **run.extractor)
    n = len(x)
    meta = {
        "utt_id": np.array([f"C1/clip{i}" for i in range(n)], dtype=object),
        "label": np.arange(n) % 2,
        "domain": np.array(["codec"] * n, dtype=object),
        "condition": np.array(["C1"] * n, dtype=object),
        "split": np.array(["test"] * n, dtype=object),
    }
    fs = FeatureStore(store).create(spec, meta, shard_size=4)
    write_all(fs, "L05", x.numpy())


def test_imported_w2v2_lcnn_evaluates_stored_features_as_the_release(release: dict, tmp_path: Path) -> None:
    from codecfake.evaluate.score_tsv import read_scores

    path = release["paths"]["codec_w2v2lcnn"]
    assert main(["-q", "import-official", str(path), "--backend", "lcnn", "--name", "w2v2lcnn",
                 "--runs", str(tmp_path / "runs")]) == 0  # fmt: skip
    run = load_run(tmp_path / "runs" / "w2v2lcnn")
    _test_set(tmp_path / "store", run, release["x"])  # stored test features -> the run -> P(bona fide)
    assert main(["-q", "evaluate", "--run", str(run.run_dir), "--store", str(tmp_path / "store"),
                 "--device", "cpu", "--resamples", "10"]) == 0  # fmt: skip
    scores = read_scores(next((run.run_dir / "scores").glob("*C1*.tsv")))
    want = torch.softmax(release["logits"], dim=1)[:, 0].numpy()
    np.testing.assert_allclose(scores.score, want, rtol=1e-5, atol=1e-6)


def test_imported_w2v2_lcnn_scores_audio_as_the_release(
    release: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from codecfake.corpus import load_clip
    from codecfake.extract import build_extractor
    from codecfake.extract.testing import WIDE, save_tiny_model

    model_dir = save_tiny_model(tmp_path / "xlsr", "xlsr", stable=True, config=WIDE)  # layer 5: (201, 1024)
    path = release["paths"]["codec_w2v2lcnn"]
    assert main(["-q", "import-official", str(path), "--backend", "lcnn", "--name", "w2v2lcnn",
                 "--runs", str(tmp_path / "runs"), "--features-hint", str(model_dir)]) == 0  # fmt: skip
    run_dir = tmp_path / "runs" / "w2v2lcnn"
    assert load_run(run_dir).extractor["params"]["resampler"] == "kaiser_best"  # the release's librosa load
    # a 24 kHz file -> kaiser_best -> XLS-R layer 5 -> float16 -> the release's LCNN, frequency-first
    wav = tmp_path / "clip.wav"
    sf.write(wav, (0.1 * np.random.default_rng(0).standard_normal(24000)).astype(np.float32), 24000)
    capsys.readouterr()
    assert (
        main(["score", str(wav), "--run", str(run_dir), "--model-dir", str(model_dir), "--device", "cpu"])
        == 0
    )
    got = float(capsys.readouterr().out.splitlines()[1].split("\t")[1])
    ext = build_extractor("xlsr", model_dir=model_dir, layers=(5,), resampler="kaiser_best")
    wave = torch.from_numpy(load_clip(wav, resampler="kaiser_best"))[None]
    with torch.no_grad():
        _, logits = release_lcnn_forward(release["state"], ext(wave)["L05"].half().float())
    assert got == pytest.approx(torch.softmax(logits, dim=1)[0, 0].item(), abs=1e-6)
