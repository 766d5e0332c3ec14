"""`corpus synth`: classical codecs, and neural codecs loaded from a local folder (random weights: noise, not fakes)."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codecfake.corpus import load_manifest
from codecfake.corpus.build.codecs import CodecError, get_codec
from codecfake.corpus.build.synth import synth
from codecfake.corpus.build.tiny import synth_voice


@pytest.fixture(scope="module")
def reals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("reals")
    for i in range(2):
        sf.write(d / f"r{i}.wav", synth_voice(np.random.default_rng(i), 2.0), 16000)
    return d


def test_synth_writes_a_codecfake_set_per_codec(reals: Path, tmp_path: Path) -> None:
    out = synth(reals, ["gsm", "codec2:mode=700"], tmp_path / "ext")
    m = load_manifest("codecfake", out, name="ext")
    assert [c for c in m.counts()] == [
        ("test", "bonafide", "C1", 2),
        ("test", "bonafide", "C2", 2),
        ("test", "spoof", "C1", 2),
        ("test", "spoof", "C2", 2),
    ]
    assert {r.method for r in m.select(label="spoof", condition="C2")} == {"2"}
    assert "codec2-700" in (out / "codecs.tsv").read_text()


def _save_random(kind: str, d: Path) -> Path:
    import torch
    import transformers

    torch.manual_seed(0)
    if kind == "encodec":
        cfg = transformers.EncodecConfig(
            num_filters=4,
            hidden_size=16,
            codebook_size=64,
            sampling_rate=16000,
            target_bandwidths=[1.5],
            upsampling_ratios=[8, 5, 4, 2],
        )
        model = transformers.EncodecModel(cfg)
    elif kind == "dac":
        cfg = transformers.DacConfig(
            encoder_hidden_size=4,
            decoder_hidden_size=16,
            hidden_size=16,
            n_codebooks=2,
            codebook_size=64,
            codebook_dim=4,
            sampling_rate=16000,
            downsampling_ratios=[2, 4, 5, 8],
            upsampling_ratios=[8, 5, 4, 2],
            hop_length=320,
        )
        model = transformers.DacModel(cfg)
    else:
        cfg = transformers.MimiConfig(
            hidden_size=32,
            num_filters=4,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            head_dim=16,
            intermediate_size=64,
            codebook_size=64,
            codebook_dim=16,
            vector_quantization_hidden_dimension=16,
            num_quantizers=2,
            num_semantic_quantizers=1,
            sampling_rate=16000,
            upsampling_ratios=[8, 5, 4, 2],
            upsample_groups=32,
        )
        model = transformers.MimiModel(cfg)
    model.save_pretrained(d)
    return d


@pytest.mark.parametrize("kind", ["encodec", "dac", "mimi"])
def test_neural_codecs_load_from_a_local_folder(kind: str, tmp_path: Path) -> None:
    codec = get_codec(f"{kind}:model_dir={_save_random(kind, tmp_path / kind)}")
    assert codec.rate_hz == 16000
    x = synth_voice(np.random.default_rng(0), 1.0)
    y = codec(x)
    assert y.shape == x.shape and np.isfinite(y).all()


def test_neural_codec_without_weights_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(CodecError, match="config.json not found"):
        get_codec(f"encodec:model_dir={tmp_path}")
    with pytest.raises(CodecError, match="needs a local weights folder"):
        get_codec("dac")
