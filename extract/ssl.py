"""Frozen XLS-R / WavLM hidden states, computed only up to the deepest requested layer.

``hidden_states[k]`` follows Hugging Face: index 0 is the input of the first transformer layer (the embedding after
the positional convolution), index k the raw output of transformer layer k. We cut the encoder's ``ModuleList``
after the deepest requested layer and read layer outputs with forward hooks, never ``last_hidden_state``: in
stable-layer-norm models (XLS-R, WavLM-large) the encoder applies its final LayerNorm to whatever layer comes last,
so a truncated model's ``last_hidden_state`` is LayerNorm(layer k), not ``hidden_states[k]``.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from codecfake.common import N_SAMPLES, SAMPLE_RATE_HZ
from codecfake.corpus.resample import DEFAULT_RESAMPLER, RESAMPLERS
from codecfake.extract.errors import UnknownExtractor
from codecfake.extract.hf_folder import CheckpointInfo, resolve_checkpoint

if TYPE_CHECKING:
    from transformers import Wav2Vec2Model, WavLMModel

PRECISIONS = ("fp32", "bf16", "fp16")
_LAYER_NAME = re.compile(r"L(\d+)")

log = logging.getLogger(__name__)

NORM_EPS = 1e-7  # Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm


def normalise_waves(wave: torch.Tensor, eps: float = NORM_EPS) -> torch.Tensor:
    """Per-utterance zero mean / unit variance (population variance), as ``Wav2Vec2FeatureExtractor`` does.

    ``wave`` (B, S) float32 -> (B, S) float32.
    """
    mean = wave.mean(dim=1, keepdim=True)  # (B, 1)
    var = wave.var(dim=1, unbiased=False, keepdim=True)  # (B, 1)
    return (wave - mean) / torch.sqrt(var + eps)


def layer_name(k: int) -> str:
    """Store array name of ``hidden_states[k]``: 5 -> "L05"."""
    return f"L{k:02d}"


def layer_index(name: str) -> int | None:
    """The inverse of :func:`layer_name`: "L05" -> 5; None for a name that is not ``L<k>``."""
    m = _LAYER_NAME.fullmatch(name)
    return int(m.group(1)) if m else None


def _load_model(kind: str, info: CheckpointInfo) -> Wav2Vec2Model | WavLMModel:
    from transformers import Wav2Vec2Model, WavLMModel

    cls = Wav2Vec2Model if kind == "xlsr" else WavLMModel
    # local_files_only: a folder path never reaches the hub, and this makes sure of it
    model = cls.from_pretrained(str(info.folder), local_files_only=True)
    return model.eval()


class SSLExtractor:
    """``(B, n_samples)`` float32 waves at 16 kHz -> ``{"L05": (B, T, D), …}`` float32, one entry per layer."""

    def __init__(
        self,
        kind: str,
        model_dir: str | None,
        layers: Sequence[int] = (5,),
        device: str | torch.device = "cpu",
        n_samples: int = N_SAMPLES,
        precision: str = "fp32",
        resampler: str = DEFAULT_RESAMPLER,
        dtype: str = "float16",
    ):
        if resampler not in RESAMPLERS:
            raise UnknownExtractor(
                f"resampler {resampler!r} is not known; expected one of {', '.join(RESAMPLERS)}"
            )
        if dtype not in ("float16", "float32"):
            raise UnknownExtractor(f"store dtype {dtype!r} is not known; expected float16 or float32")
        self.resampler = resampler
        self.dtype = dtype  # float16 (half the disk) or float32 (the release's .pt files; e.g. for test sets)
        if precision not in PRECISIONS:
            raise UnknownExtractor(
                f"precision {precision!r} is not known; expected one of {', '.join(PRECISIONS)}"
            )
        self.precision = precision
        if kind not in ("xlsr", "wavlm"):
            raise UnknownExtractor(f"SSL extractor {kind!r} is not known; expected 'xlsr' or 'wavlm'")
        self.name = kind
        self.device = torch.device(device)
        self.n_samples = n_samples
        self.info = resolve_checkpoint(model_dir, kind)
        model = _load_model(kind, self.info)
        n_layers = int(model.config.num_hidden_layers)
        self.layers = tuple(sorted(set(int(k) for k in layers)))
        if not self.layers or self.layers[0] < 0 or self.layers[-1] > n_layers:
            raise UnknownExtractor(
                f"layers {list(layers)} outside hidden_states 0..{n_layers} of {self.info.folder} "
                f"({n_layers} transformer layers); pass --layers with indices in 0..{n_layers}"
            )
        deepest = self.layers[-1]
        model.encoder.layers = model.encoder.layers[
            : max(deepest, 1)
        ]  # layers after the deepest are never run
        # the ignores: transformers types `.to` through a decorator that mypy reads as taking the model first, and
        # annotates the legacy LongTensor class where torch.tensor(int), an int64 tensor, is what it takes
        self.model = model.to(self.device)  # type: ignore[arg-type]
        self.hidden_size = int(model.config.hidden_size)
        n_samples_t = torch.tensor(n_samples)
        self.n_frames = int(model._get_feat_extract_output_lengths(n_samples_t).item())  # type: ignore[arg-type]
        self.normalise, self.normalise_source = self._normalisation()
        self._captured: dict[int, torch.Tensor] = {}
        self._install_hooks()
        log.info(
            "%s: %s (%s) layers %s, %d of %d transformer layers kept, normalise=%s (%s), device %s, precision %s",
            kind,
            self.info.model_id,
            self.info.folder,
            list(self.layers),
            len(model.encoder.layers),
            n_layers,
            self.normalise,
            self.normalise_source,
            self.device,
            precision,
        )

    sample_rate_hz = SAMPLE_RATE_HZ  # XLS-R and WavLM take 16 kHz input

    @property
    def model_dir(self) -> str:
        """The local checkpoint folder (what a rebuild from the spec needs besides the spec)."""
        return str(self.info.folder)

    def _normalisation(self) -> tuple[bool, str]:
        pre = self.info.preprocessor
        if pre is None:
            # XLS-R-300m and WavLM-large both ship do_normalize=true; without the file we assume the same.
            log.warning("no preprocessor_config.json in %s: assuming do_normalize=True", self.info.folder)
            return True, "assumed (no preprocessor_config.json)"
        return bool(pre.get("do_normalize", True)), "preprocessor_config.json"

    def _install_hooks(self) -> None:
        layers = self.model.encoder.layers

        def keep_input(
            module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> None:  # hidden_states[0] = input of the first layer
            if 0 in self.layers:
                self._captured[0] = args[0] if args else kwargs["hidden_states"]

        layers[0].register_forward_pre_hook(keep_input, with_kwargs=True)
        for i, layer in enumerate(layers, start=1):
            if i in self.layers:
                layer.register_forward_hook(self._make_output_hook(i))

    def _make_output_hook(self, k: int) -> Callable[[torch.nn.Module, tuple[Any, ...], Any], None]:
        def keep_output(module: torch.nn.Module, args: tuple[Any, ...], output: Any) -> None:
            self._captured[k] = output[0] if isinstance(output, tuple) else output

        return keep_output

    def spec_fields(self) -> dict[str, Any]:
        """``model_id``, ``weights_sha256`` and ``params`` (values-changing settings) for ``FeatureSetSpec``."""
        params = {
            "normalise": self.normalise,
            "normalise_eps": NORM_EPS if self.normalise else None,
            "normalise_source": self.normalise_source,
            "revision": self.info.revision,
        }
        if (
            self.precision != "fp32"
        ):  # fp32 (the release's) adds nothing, so fp32 keys made before the field stay
            params["precision"] = self.precision
        if (
            self.resampler != DEFAULT_RESAMPLER
        ):  # likewise soxr, the resampler of every set made before the field
            params["resampler"] = self.resampler
        return {"model_id": self.info.model_id, "weights_sha256": self.info.weights_sha256, "params": params}

    def arrays(self) -> dict[str, tuple[int, int]]:
        """Array name -> frame shape ``(T, D)``, e.g. ``{"L05": (201, 1024)}`` for XLS-R at 64,600 samples."""
        return {layer_name(k): (self.n_frames, self.hidden_size) for k in self.layers}

    def provenance(self) -> dict[str, Any]:
        import transformers

        return {
            "extractor": self.name,
            "model_dir": str(self.info.folder),
            "layers": list(self.layers),
            "config": self.info.config,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            **self.spec_fields(),
        }

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        """fp32: no autocast (the release's); bf16 / fp16: autocast on this device (CPU autocast emulates CUDA's)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    @torch.inference_mode()
    def __call__(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        wave = wave.to(self.device, torch.float32, non_blocking=True)  # (B, S); pinned -> async copy
        if self.normalise:
            wave = normalise_waves(wave)
        self._captured.clear()
        with self._autocast():
            self.model(wave)
        out = {layer_name(k): self._captured[k].float() for k in self.layers}  # each (B, T, D)
        self._captured.clear()
        return out
