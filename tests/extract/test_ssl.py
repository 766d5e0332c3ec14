"""SSL extractors: truncated forward == the full model's hidden_states[k]; local-only loading; provenance."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from codecfake.extract import build_extractor
from codecfake.extract.errors import MissingCheckpoint, UnknownExtractor
from codecfake.extract.ssl import normalise_waves
from codecfake.extract.testing import save_tiny_model


@pytest.mark.parametrize("kind", ["xlsr", "wavlm"])
@pytest.mark.parametrize("stable", [True, False])
def test_truncated_equals_full_hidden_states(tmp_path, kind, stable):
    from transformers import Wav2Vec2Model, WavLMModel

    folder = save_tiny_model(tmp_path / "ckpt", kind, stable)
    torch.manual_seed(1)
    wave = torch.randn(2, 16000) * 0.1  # (B, S)
    full = (Wav2Vec2Model if kind == "xlsr" else WavLMModel).from_pretrained(folder).eval()
    with torch.inference_mode():
        hidden = full(normalise_waves(wave), output_hidden_states=True).hidden_states  # 4 x (B, T, D)
    assert len(hidden) == 4
    for layers in [(1,), (2,), (0, 2), (1, 3)]:
        ext = build_extractor(kind, model_dir=folder, layers=layers, n_samples=16000)
        assert len(ext.model.encoder.layers) == max(layers)  # deeper layers are gone, not just skipped
        out = ext(wave)
        assert sorted(out) == [f"L{k:02d}" for k in layers]
        for k in layers:
            assert out[f"L{k:02d}"].shape == (2, 49, 32)
            torch.testing.assert_close(out[f"L{k:02d}"], hidden[k], rtol=1e-5, atol=1e-5)
    if (
        stable
    ):  # the trap: the truncated encoder's last_hidden_state is LayerNorm(layer 2), not hidden_states[2]
        ext = build_extractor(kind, model_dir=folder, layers=(2,), n_samples=16000)
        with torch.inference_mode():
            last = ext.model(normalise_waves(wave)).last_hidden_state
        assert not torch.allclose(last, hidden[2], atol=1e-3)


def test_frames_eval_and_deterministic(tiny_xlsr):
    ext = build_extractor("xlsr", model_dir=tiny_xlsr, layers=(2,))
    assert ext.arrays() == {"L02": (201, 32)}  # 64,600 samples -> 201 frames
    assert not ext.model.training
    wave = torch.randn(3, 64600) * 0.1
    a, b = ext(wave)["L02"], ext(wave)["L02"]
    assert a.shape == (3, 201, 32) and a.dtype == torch.float32
    assert torch.equal(a, b)  # no dropout / layerdrop / masking at inference


def test_batch_rows_independent_of_each_other(tiny_xlsr):
    ext = build_extractor("xlsr", model_dir=tiny_xlsr, layers=(1,))
    wave = torch.randn(3, 64600) * 0.1
    together = ext(wave)["L01"]
    alone = ext(wave[1:2])["L01"]
    torch.testing.assert_close(together[1:2], alone, rtol=1e-4, atol=1e-5)


def test_normalise_matches_feature_extractor():
    from transformers import Wav2Vec2FeatureExtractor

    wave = np.random.default_rng(0).normal(0.3, 0.2, size=(2, 8000)).astype(np.float32)
    fe = Wav2Vec2FeatureExtractor(do_normalize=True, sampling_rate=16000, return_attention_mask=False)
    ref = fe(list(wave), sampling_rate=16000, return_tensors="np")["input_values"]
    np.testing.assert_allclose(normalise_waves(torch.from_numpy(wave)).numpy(), ref, rtol=1e-4, atol=1e-4)


def test_provenance_names_model_and_weights_hash(tiny_xlsr):
    ext = build_extractor("xlsr", model_dir=tiny_xlsr, layers=(1,))
    fields = ext.spec_fields()
    assert (
        fields["weights_sha256"] == hashlib.sha256((tiny_xlsr / "model.safetensors").read_bytes()).hexdigest()
    )
    assert fields["model_id"] == tiny_xlsr.name
    assert fields["params"]["normalise"] is True
    assert ext.provenance()["config"]["num_hidden_layers"] == 3


def test_hf_cache_snapshot_path_gives_hub_id(tmp_path):
    snap = tmp_path / "hub" / "models--facebook--wav2vec2-xls-r-300m" / "snapshots" / "abc123"
    save_tiny_model(snap, "xlsr", stable=True, preprocessor=False)
    ext = build_extractor("xlsr", model_dir=snap, layers=(1,))
    assert ext.spec_fields()["model_id"] == "facebook/wav2vec2-xls-r-300m"
    assert ext.spec_fields()["params"]["revision"] == "abc123"
    assert ext.spec_fields()["params"]["normalise_source"].startswith("assumed")


def test_missing_weights_fail_at_once_naming_folder(tmp_path):
    folder = tmp_path / "empty-ckpt"
    with pytest.raises(
        MissingCheckpoint, match="does not exist.*huggingface-cli download facebook/wav2vec2-xls-r-300m"
    ):
        build_extractor("xlsr", model_dir=folder)
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(MissingCheckpoint, match=f"no weights .* in checkpoint folder {folder}"):
        build_extractor("wavlm", model_dir=folder)
    with pytest.raises(MissingCheckpoint, match="microsoft/wavlm-large"):
        build_extractor("wavlm", model_dir=folder)
    with pytest.raises(MissingCheckpoint, match="none was given"):
        build_extractor("xlsr")


def test_layer_outside_checkpoint_is_refused(tiny_xlsr):
    from codecfake.extract.errors import UnknownExtractor

    with pytest.raises(UnknownExtractor, match=r"outside hidden_states 0..3 .*indices in 0..3"):
        build_extractor("xlsr", model_dir=tiny_xlsr, layers=(5,))


def test_precision_is_recorded_and_fp32_keeps_the_old_spec(tiny_xlsr):
    fp32 = build_extractor("xlsr", model_dir=tiny_xlsr, layers=(1,))
    bf16 = build_extractor("xlsr", model_dir=tiny_xlsr, layers=(1,), precision="bf16")
    assert (
        "precision" not in fp32.spec_fields()["params"]
    )  # the release's fp32: keys made before the option stay
    assert bf16.spec_fields()["params"]["precision"] == "bf16"
    wave = torch.randn(2, 64600) * 0.1
    a, b = fp32(wave)["L01"], bf16(wave)["L01"]
    assert b.dtype == torch.float32 and not torch.equal(a, b)  # bf16 autocast really ran (on CPU here)
    torch.testing.assert_close(b, a, rtol=0.1, atol=0.1)
    with pytest.raises(UnknownExtractor, match="fp8"):
        build_extractor("xlsr", model_dir=tiny_xlsr, precision="fp8")


def test_sets_of_different_precision_never_mix(tiny_xlsr, tmp_path):
    from codecfake.corpus import Manifest, load_manifest
    from codecfake.corpus.build.tiny import make_tiny_corpus
    from codecfake.extract.pipeline import extract_manifest, feature_set_spec, manifest_meta
    from codecfake.store import FeatureSetMismatch, FeatureStore
    from codecfake.train.data import common_array

    codec, _ = make_tiny_corpus(tmp_path / "corpus", n_speakers=2, clips_per_speaker=1)
    m = load_manifest("codecfake", codec)
    m = Manifest(m.rows[:4], m.root, m.name)
    store = FeatureStore(tmp_path / "store")
    fp32 = extract_manifest(
        m, build_extractor("xlsr", model_dir=tiny_xlsr, layers=(1,)), store, num_workers=0
    )
    bf16_ext = build_extractor("xlsr", model_dir=tiny_xlsr, layers=(1,), precision="bf16")
    bf16 = extract_manifest(m, bf16_ext, store, num_workers=0)
    assert bf16.key != fp32.key
    with pytest.raises(
        FeatureSetMismatch, match="params.precision"
    ) as err:  # writing bf16 values into the fp32 set
        store.create(feature_set_spec(m, bf16_ext), manifest_meta(m), mode="resume", key=fp32.key)
    assert err.value.differences == {"params.precision": (None, "bf16")}
    with pytest.raises(FeatureSetMismatch, match="params.precision"):  # training on both together
        common_array([fp32, bf16], "L01")
