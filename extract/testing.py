"""Test helpers others may use too: tiny random-weight SSL checkpoints that load through the real path."""

from __future__ import annotations

import json
from pathlib import Path

import torch

# XLS-R-300m's architecture (facebook/wav2vec2-xls-r-300m config) for random-weight, full-size benchmarks
XLSR_300M = dict(
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    feat_extract_norm="layer",
    do_stable_layer_norm=True,
    conv_bias=True,
    feat_extract_activation="gelu",
    apply_spec_augment=False,
)

TINY = dict(
    hidden_size=32,
    num_hidden_layers=3,
    num_attention_heads=2,
    intermediate_size=64,
    conv_dim=(16,) * 7,
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=4,
    feat_extract_norm="layer",
    conv_bias=True,
    apply_spec_augment=False,
    hidden_dropout=0.1,
    attention_dropout=0.1,
    activation_dropout=0.1,
    layerdrop=0.1,
)


# XLS-R-300m's layout shrunk to seconds on a CPU: the smoke-test size of the full-size benchmarks (`--tiny`)
XLSR_SMOKE = dict(
    XLSR_300M,
    hidden_size=32,
    num_attention_heads=2,
    intermediate_size=64,
    conv_dim=(16,) * 7,
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=4,
)

# XLS-R's layer-5 output shape (201, 1024) at 64,600 samples with little else: 5 layers, a 32-wide FFN, 16-channel
# convolutions (~22 M parameters, a fraction of a second per clip): for back-ends that need D = 1024 (W2V2-LCNN)
WIDE = dict(
    TINY, hidden_size=1024, num_hidden_layers=5, intermediate_size=32, num_conv_pos_embedding_groups=16
)


def save_random_model(
    folder: Path, config: dict, *, kind: str = "xlsr", seed: int = 0, preprocessor: bool = True
) -> Path:
    """A random-weight Wav2Vec2 (``kind`` "xlsr") or WavLM checkpoint of ``config`` (e.g. ``XLSR_300M``) in ``folder``
    (config.json + model.safetensors, + preprocessor_config.json): weights drawn after ``torch.manual_seed(seed)``."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model, WavLMConfig, WavLMModel

    torch.manual_seed(seed)
    model = Wav2Vec2Model(Wav2Vec2Config(**config)) if kind == "xlsr" else WavLMModel(WavLMConfig(**config))
    model.save_pretrained(folder)
    if preprocessor:
        (folder / "preprocessor_config.json").write_text(
            json.dumps(
                {"do_normalize": True, "feature_size": 1, "sampling_rate": 16000, "padding_value": 0.0}
            )
        )
    return folder


def save_tiny_model(
    folder: Path,
    kind: str,
    stable: bool,
    seed: int = 0,
    preprocessor: bool = True,
    config: dict | None = None,
) -> Path:
    """A 3-layer random-weight Wav2Vec2 / WavLM checkpoint in ``folder`` (config.json + model.safetensors);
    ``config`` (xlsr): another Wav2Vec2Config, e.g. ``WIDE``."""
    if kind == "xlsr":
        full = dict(do_stable_layer_norm=stable, **(config or TINY))
    else:
        full = dict(do_stable_layer_norm=stable, num_buckets=32, max_bucket_distance=80, **TINY)
    return save_random_model(folder, full, kind=kind, seed=seed, preprocessor=preprocessor)
