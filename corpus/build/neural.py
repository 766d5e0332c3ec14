"""Neural codecs through transformers (EncodecModel, DacModel, MimiModel), loaded from a LOCAL weights folder.

Nothing is downloaded: ``from_pretrained(model_dir, local_files_only=True)``. With random weights (the tests save a
random-weight config to a temp folder) the output is unrelated noise, NOT a codec fake: measured spectral correlation
with the input is about 0.05–0.1. Use real checkpoints for real fakes.
``NEURAL_CODECS`` (part of ``codecs.REGISTRY``): ``encodec``, ``dac``, ``mimi``, each with the option ``model_dir``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.corpus.build.codec_spec import CodecError, CodecSpec

log = logging.getLogger(__name__)
_CLASSES = {"encodec": "EncodecModel", "dac": "DacModel", "mimi": "MimiModel"}


@dataclass
class NeuralCodec:
    """Encode→decode through a transformers audio codec; (n,) float32 at ``rate_hz`` → (n,) float32."""

    name: str
    model_dir: str
    model_class: str
    rate_hz: int = 0
    _model: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import transformers

        path = Path(self.model_dir)
        if not (path / "config.json").is_file():
            raise CodecError(
                f"codec {self.name}: {path}/config.json not found. Pass a local checkpoint folder "
                f"(`{self.name}:model_dir=DIR`, e.g. one saved with save_pretrained); nothing is downloaded."
            )
        cls = getattr(transformers, self.model_class)
        self._model = cls.from_pretrained(str(path), local_files_only=True).eval()
        self.rate_hz = int(self._model.config.sampling_rate)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            wav = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None, None, :]  # (1, 1, n)
            y = self._model(input_values=wav).audio_values  # (1, 1, m) or (1, m)
        y = y.reshape(-1).numpy().astype(np.float32)
        return y[: len(x)] if len(y) >= len(x) else np.pad(y, (0, len(x) - len(y)))


def _factory(kind: str) -> Callable[[str], NeuralCodec]:
    def make(model_dir: str) -> NeuralCodec:
        if not model_dir:
            raise CodecError(f"codec {kind} needs a local weights folder: `{kind}:model_dir=DIR`")
        return NeuralCodec(f"{kind}", model_dir, _CLASSES[kind])

    return make


NEURAL_CODECS: dict[str, CodecSpec] = {
    kind: CodecSpec(
        _factory(kind),
        {"model_dir": ""},
        f"{cls} (transformers, local weights; random weights give noise, not fakes)",
    )
    for kind, cls in _CLASSES.items()
}
