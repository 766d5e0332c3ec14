"""The release's inputs on the paper path: kaiser_best resampling recorded in the spec (soxr keeps the old keys),
and SSL features stored float32 for test parts, which evaluation prefers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from codecfake.app.cli import main
from codecfake.corpus import Manifest, ManifestRow, load_clip
from codecfake.corpus.build.tiny import make_tiny_corpus
from codecfake.evaluate.score_features import find_test_sets
from codecfake.extract import build_extractor
from codecfake.extract.pipeline import extract_manifest
from codecfake.extract.rebuild import extractor_from_spec, extractor_spec
from codecfake.extract.testing import save_tiny_model
from codecfake.store.featurestore import FeatureStore
from codecfake.store.spec import extractor_fields


def _manifest_24k(root: Path) -> Manifest:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(3):
        path = root / f"F01_{i}.wav"
        sf.write(path, (0.1 * rng.standard_normal(30000 + 7 * i)).astype(np.float32), 24000)
        rows.append(ManifestRow(f"C1/F01_{i}", str(path), "spoof", "toy", "test", "codec", "C1"))
    return Manifest(rows, root, "toy")


def test_kaiser_best_is_recorded_and_loads_the_clips_while_soxr_keeps_the_old_spec(tmp_path: Path) -> None:
    old, soxr_ext = build_extractor("mel"), build_extractor("mel", resampler="soxr_hq")
    kaiser = build_extractor("mel", resampler="kaiser_best")
    assert soxr_ext.spec_fields() == old.spec_fields() and "resampler" not in old.spec_fields()["params"]
    assert kaiser.spec_fields()["params"] == {**old.spec_fields()["params"], "resampler": "kaiser_best"}
    rebuilt = extractor_from_spec(extractor_spec(kaiser), arrays=["mel"])  # as dask workers and score do
    assert rebuilt.resampler == "kaiser_best" and rebuilt.spec_fields() == kaiser.spec_fields()
    m = _manifest_24k(tmp_path)
    fs = extract_manifest(m, kaiser, tmp_path / "store", batch=2, shard_size=2, num_workers=0)
    other = extract_manifest(m, soxr_ext, tmp_path / "store", batch=2, shard_size=2, num_workers=0)
    assert fs.key != other.key
    waves = torch.from_numpy(np.stack([load_clip(r.path, resampler="kaiser_best") for r in m.rows]))
    want = kaiser(waves)["mel"].numpy()
    got = np.stack([np.asarray(fs.reader("mel")[i]) for i in range(3)])
    np.testing.assert_array_equal(got, want)  # power mel, stored float32


def test_features_cli_resamples_as_the_release_on_real_data_and_soxr_on_the_demo(tmp_path: Path) -> None:
    from codecfake.extract.cli import resampler_for

    codec, _ = make_tiny_corpus(tmp_path / "corpus", clips_per_speaker=1)
    store = tmp_path / "features"
    base = ["features", "--data", "codecfake", "--root", str(codec), "--store", str(store), "--num-workers", "0",
            "--parts", "train"]  # fmt: skip
    assert main(base) == 0
    assert main([*base, "--resampler", "soxr_hq"]) == 0
    params = sorted(
        str(FeatureStore(store).open(k).spec.params.get("resampler")) for k in FeatureStore(store).keys()
    )
    assert params == ["None", "kaiser_best"]
    parser_args = type("A", (), {"resampler": None, "data": "demo"})
    assert resampler_for(parser_args) == "soxr_hq"  # 16 kHz throughout: nothing to resample, keys kept


def test_float32_test_features_serve_a_float16_run_and_win_over_float16(tmp_path: Path) -> None:
    model_dir = save_tiny_model(tmp_path / "xlsr", "xlsr", stable=True)
    m = _manifest_24k(tmp_path)
    half = build_extractor("xlsr", model_dir=model_dir, layers=(2,), n_samples=16000)
    full = build_extractor("xlsr", model_dir=model_dir, layers=(2,), n_samples=16000, dtype="float32")
    assert extractor_from_spec(extractor_spec(full), arrays=["L02"], model_dir=model_dir).dtype == "float32"
    fs16 = extract_manifest(m, half, tmp_path / "store", batch=3, num_workers=0)
    fs32 = extract_manifest(m, full, tmp_path / "store", batch=3, num_workers=0)
    assert (fs16.spec.dtype, fs32.spec.dtype) == ("float16", "float32") and fs16.key != fs32.key
    x32 = np.asarray(fs32.reader("L02")[0])
    assert x32.dtype == np.float32 and np.array_equal(
        np.asarray(fs16.reader("L02")[0]), x32.astype(np.float16)
    )
    store = FeatureStore(tmp_path / "store")
    assert [fs.key for fs in find_test_sets(store, extractor_fields(fs16.spec), "L02")] == [fs32.key]
    # a float32-trained run never takes float16 test features
    assert [fs.key for fs in find_test_sets(store, extractor_fields(fs32.spec), "L02")] == [fs32.key]
