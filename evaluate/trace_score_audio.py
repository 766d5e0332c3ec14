"""``codecfake score --run TRACE_RUN FILE…``: the most probable generators of each audio file, with probabilities, and
the open-set verdict: the novelty score of the run's default scorer (or ``--openset NAME``) against its dev threshold,
"unknown generator" above it.

Audio and features go through the same path as binary scoring (corpus loading rules, the run's extractor rebuilt
from its provenance, float16 rounding as the store keeps it); the extractor is passed in by the caller. The scorers
are those ``codecfake evaluate`` fitted and stored in the run (``openset/``); a run not evaluated yet prints "–", and
scorers fitted on other weights than the run's best checkpoint are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.openset_fit import OpenSetFit, checkpoint_digest
from codecfake.evaluate.openset_scorers import TraceOutputs
from codecfake.evaluate.run_outputs import RunOutputs
from codecfake.train.fusion import model_input

log = logging.getLogger(__name__)

__all__ = ["TraceFileScore", "top_generators", "load_openset", "trace_score_files", "render_trace_scores"]

UNKNOWN_GENERATOR = "unknown generator"


@dataclass(frozen=True)
class TraceFileScore:
    """One file: ``top`` [(generator, probability)] most probable first; the open-set ``scorer``, its ``novelty``
    score and ``threshold`` and ``unknown`` = novelty > threshold (None: the run has no fitted scorers); or
    ``error`` (the corpus layer's message)."""

    path: str
    top: tuple[tuple[str, float], ...] = ()
    scorer: str = ""
    novelty: float | None = None
    threshold: float | None = None
    unknown: bool | None = None
    error: str | None = None


def top_generators(probs: np.ndarray, classes: Sequence[str], k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` most probable classes of one clip's (K,) probabilities, most probable first."""
    order = np.argsort(-np.asarray(probs), kind="stable")[:k]
    return [(classes[i], float(probs[i])) for i in order]


def load_openset(run: Any) -> OpenSetFit | None:
    """The open-set scorers ``codecfake evaluate`` stored in the run, or None before its first evaluation."""
    found = RunOutputs(run.run_dir).read_openset()
    if found is None:
        return None
    fit = OpenSetFit.from_files(*found, source=str(RunOutputs(run.run_dir).openset_dir))
    if fit.checkpoint != checkpoint_digest(run.run_dir) or tuple(fit.classes) != tuple(run.classes):
        raise EvaluationError(
            f"{run.run_dir}/openset: the open-set scorers were fitted on other weights than the run's best "
            f"checkpoint (trained further since?); rerun `codecfake evaluate --run {run.run_dir}` to refit them"
        )
    return fit


@torch.inference_mode()
def trace_score_files(
    paths: Sequence[str | Path],
    run: Any,
    extractor: Any,
    *,
    device: Any = "cpu",
    batch: int = 8,
    top: int = 3,
    scorer: str | None = None,
) -> list[TraceFileScore]:
    """Top-``top`` generators and the open-set verdict per file; a bad file gets its error and the others are still
    scored. ``scorer``: which stored scorer decides (default: the one the evaluation chose)."""
    from codecfake.corpus import AudioError, load_clip
    from codecfake.evaluate.score_audio import run_resampler

    sr, n = int(run.extractor.get("sample_rate_hz", 16000)), int(run.extractor.get("n_samples", 64600))
    resampler = run_resampler(run)
    fit = load_openset(run)
    name = scorer or (fit.default if fit is not None else "")
    if fit is not None and name not in fit.scorers:
        raise EvaluationError(f"--openset {name}: the run's fitted scorers are {', '.join(fit.scorers)}")
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
        emb, logits = model(feats)  # (B, E), (B, K)
        probs = torch.softmax(logits.float(), dim=1).cpu().numpy()
        nov = (
            fit.scorers[name].score(
                TraceOutputs(emb.float().flatten(1).cpu().numpy(), logits.float().cpu().numpy())
            )
            if fit is not None
            else None
        )
        for j, ((p, _), pr) in enumerate(zip(chunk, probs, strict=True)):
            kw: dict[str, Any] = {}
            if fit is not None and nov is not None:
                thr = fit.thresholds[name]
                kw = dict(scorer=name, novelty=float(nov[j]), threshold=thr, unknown=bool(nov[j] > thr))
            out[p] = TraceFileScore(path=p, top=tuple(top_generators(pr, run.classes, top)), **kw)
    return [out[str(p)] for p in paths]


def render_trace_scores(results: Sequence[TraceFileScore]) -> str:
    """``file  rank  generator  probability  open-set score  threshold  verdict`` lines, one per top generator; the
    open-set columns repeat on each of a file's lines (verdict: unknown generator | known | – before an
    evaluation). The header names the scorer."""
    scorer = next((r.scorer for r in results if r.scorer), "")
    lines = [f"file\trank\tgenerator\tprobability\topen-set score ({scorer or '–'})\tthreshold\tverdict"]
    for r in results:
        if r.error is not None:
            lines.append(f"{r.path}\t–\terror\t–\t–\t–\t–")
            continue
        if r.unknown is None:
            tail = "–\t–\t–"
        else:
            verdict = UNKNOWN_GENERATOR if r.unknown else "known"
            tail = f"{r.novelty:.6g}\t{r.threshold:.6g}\t{verdict}"
        lines += [f"{r.path}\t{k}\t{g}\t{p:.6f}\t{tail}" for k, (g, p) in enumerate(r.top, 1)]
    return "\n".join(lines) + "\n"
