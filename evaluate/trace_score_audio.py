"""``codecfake score --run TRACE_RUN FILE…``: the most probable generators of each audio file, with probabilities.

Audio and features go through the same path as binary scoring (corpus loading rules, the run's extractor rebuilt
from its provenance, float16 rounding as the store keeps it); the extractor is passed in by the caller. When the run
was evaluated, the open-set threshold that evaluation chose on dev (report/trace.json) also marks files whose max
softmax falls below it as "unknown" (a generator not among the classes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codecfake.evaluate.run_outputs import RunOutputs
from codecfake.train.fusion import model_input

log = logging.getLogger(__name__)

__all__ = ["TraceFileScore", "top_generators", "trace_score_files", "render_trace_scores"]


@dataclass(frozen=True)
class TraceFileScore:
    """One file: ``top`` [(generator, probability)] most probable first, ``unknown`` at the dev threshold (None:
    the run has no evaluated threshold), or ``error`` (the corpus layer's message)."""

    path: str
    top: tuple[tuple[str, float], ...] = ()
    unknown: bool | None = None
    error: str | None = None


def top_generators(probs: np.ndarray, classes: Sequence[str], k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` most probable classes of one clip's (K,) probabilities, most probable first."""
    order = np.argsort(-np.asarray(probs), kind="stable")[:k]
    return [(classes[i], float(probs[i])) for i in order]


@torch.inference_mode()
def trace_score_files(
    paths: Sequence[str | Path],
    run: Any,
    extractor: Any,
    *,
    device: Any = "cpu",
    batch: int = 8,
    top: int = 3,
) -> list[TraceFileScore]:
    """Top-``top`` generators per file; a bad file gets its error and the others are still scored."""
    from codecfake.corpus import AudioError, load_clip
    from codecfake.evaluate.score_audio import run_resampler

    sr, n = int(run.extractor.get("sample_rate_hz", 16000)), int(run.extractor.get("n_samples", 64600))
    resampler = run_resampler(run)
    thr = RunOutputs(run.run_dir).trace_threshold()
    out: dict[str, TraceFileScore] = {}
    good: list[tuple[str, np.ndarray]] = []
    for p in paths:
        try:
            good.append((str(p), load_clip(p, sr, n, resampler)))  # (S,) float32
        except AudioError as err:
            log.error("%s", err)
            out[str(p)] = TraceFileScore(path=str(p), error=str(err))
    model = run.model.to(device).eval()
    for start in range(0, len(good), batch):
        chunk = good[start : start + batch]
        feats = model_input(
            extractor(torch.from_numpy(np.stack([x for _, x in chunk]))), run.array
        )  # (B, [N,] T, D)
        feats = feats.to(torch.float16).to(torch.float32).to(device)  # the store keeps float16
        probs = torch.softmax(model(feats)[1].float(), dim=1).cpu().numpy()  # (B, K)
        for (p, _), pr in zip(chunk, probs, strict=True):
            unknown = None if thr is None else bool(pr.max() < thr)
            out[p] = TraceFileScore(path=p, top=tuple(top_generators(pr, run.classes, top)), unknown=unknown)
    return [out[str(p)] for p in paths]


def render_trace_scores(results: Sequence[TraceFileScore]) -> str:
    """``file\\trank\\tgenerator\\tprobability\\topen-set`` lines (open-set: unknown | known | – when not evaluated)."""
    lines = ["file\trank\tgenerator\tprobability\topen-set"]
    for r in results:
        if r.error is not None:
            lines.append(f"{r.path}\t–\terror\t–\t–")
            continue
        verdict = "–" if r.unknown is None else "unknown" if r.unknown else "known"
        lines += [f"{r.path}\t{k}\t{g}\t{p:.6f}\t{verdict}" for k, (g, p) in enumerate(r.top, 1)]
    return "\n".join(lines) + "\n"
