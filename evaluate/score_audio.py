"""Score audio files with a trained run: corpus loading rules, the run's own extractor on the fly, P(bona fide).

The extractor is rebuilt from the spec the run's provenance records (every parameter; the layers from the array name;
SSL weights from ``--model-dir``, checked against the recorded hash), so a file is scored through exactly the
features the model was trained on — including the float16 rounding of the store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codecfake.common import N_SAMPLES, SAMPLE_RATE_HZ
from codecfake.train.fusion import model_input
from codecfake.train.input_arrays import array_names

log = logging.getLogger(__name__)

__all__ = ["FileScore", "build_run_extractor", "run_resampler", "score_files"]


@dataclass(frozen=True)
class FileScore:
    """One file's result: ``score`` = P(bona fide) and verdict at 0.5, or ``error`` (the corpus layer's message)."""

    path: str
    score: float | None
    error: str | None = None

    @property
    def verdict(self) -> str:
        if self.score is None:
            return "error"
        return "bonafide" if self.score > 0.5 else "spoof"


def build_run_extractor(
    run: Any, *, model_dir: str | Path | None = None, device: str | torch.device = "cpu"
) -> Any:
    """The extractor that made the run's training features, rebuilt from the spec its provenance records
    (``extract.rebuild.extractor_from_spec``: refuses one whose spec differs); a fused-layer run gets one extractor
    computing all its layers in one forward. ``model_dir``: the local SSL checkpoint folder."""
    from codecfake.extract.rebuild import extractor_from_spec

    return extractor_from_spec(
        run.extractor,
        arrays=array_names(run.array),
        model_dir=model_dir,
        device=device,
        source=f"run {run.run_dir}",
    )


def run_resampler(run: Any) -> str:
    """The resampler of the run's features (soxr_hq for sets made before the spec recorded one)."""
    return str((run.extractor.get("params") or {}).get("resampler", "soxr_hq"))


def _load_all(
    paths: Sequence[str | Path], sample_rate_hz: int, n_samples: int, resampler: str
) -> Iterator[tuple[str, Any]]:
    from codecfake.corpus import AudioError, load_clip

    for p in paths:
        try:
            yield str(p), load_clip(p, sample_rate_hz, n_samples, resampler)  # (S,) float32
        except AudioError as err:
            yield str(p), err


@torch.inference_mode()
def score_files(
    paths: Sequence[str | Path],
    run: Any,
    extractor: Any,
    *,
    device: str | torch.device = "cpu",
    batch: int = 8,
) -> list[FileScore]:
    """P(bona fide) per file; a bad file gets the corpus layer's error and the others are still scored."""
    sr = int(run.extractor.get("sample_rate_hz", SAMPLE_RATE_HZ))
    n = int(run.extractor.get("n_samples", N_SAMPLES))
    loaded = list(_load_all(paths, sr, n, run_resampler(run)))
    out: dict[str, FileScore] = {}
    good = [(p, x) for p, x in loaded if isinstance(x, np.ndarray)]
    for p, x in loaded:
        if not isinstance(x, np.ndarray):
            log.error("%s", x)
            out[p] = FileScore(path=p, score=None, error=str(x))
    model = run.model.to(device).eval()
    for start in range(0, len(good), batch):
        chunk = good[start : start + batch]
        wave = torch.from_numpy(np.stack([x for _, x in chunk]))  # (B, S)
        feats = model_input(extractor(wave), run.array)  # (B, T, D); fused layers (B, N, T, D)
        store_dtype = getattr(torch, str(run.extractor.get("dtype", "float16")))  # as the store keeps them
        feats = feats.to(store_dtype).to(torch.float32).to(device)
        _, logits = model(feats)  # (B, 2)
        probs = torch.softmax(logits.float(), dim=1)[:, 0].cpu().numpy()
        for (p, _), s in zip(chunk, probs, strict=True):
            out[p] = FileScore(path=p, score=float(s))
    return [out[str(p)] for p in paths]
