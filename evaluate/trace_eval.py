"""Evaluate a source-tracing run (``task = "trace"``): per test condition closed-set accuracy, macro-F1 and the
confusion matrix over its generator classes, and the open-set result of every scorer at its dev threshold.

Computes only: ``run_eval.write_trace_outputs`` writes the result (trace.json, trace.md through ``trace_report``, the
per-clip score files through ``trace_clips``, the fitted scorers into the run, the figures through ``plots``).
Scorers: ``openset_scorers``; their fit and thresholds: ``openset_fit``; metrics: ``trace_metrics``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codecfake.evaluate.conditions import SetCondition, sort_conditions
from codecfake.evaluate.openset_fit import OpenSetFit, fit_openset
from codecfake.evaluate.openset_scorers import DEFAULT_K, DEFAULT_SCORER
from codecfake.evaluate.trace_clips import TraceClips
from codecfake.evaluate.trace_metrics import DEFAULT_KEEP, closed_set, open_set
from codecfake.evaluate.trace_outputs import trace_outputs, valid_rows
from codecfake.evaluate.trace_speakers import bona_fide_by_speaker
from codecfake.train.trace_labels import generator_labels

log = logging.getLogger(__name__)

__all__ = ["POOLED", "TraceEvaluation", "is_trace_run", "condition_clips", "evaluate_trace"]

POOLED = "ALL"  # the row over every test clip of every condition


def is_trace_run(run: Any) -> bool:
    """True for a run trained with ``task = "trace"`` (a multi-class head over generators)."""
    return getattr(run.config, "task", "") == "trace"


@dataclass(frozen=True)
class TraceEvaluation:
    """trace.json's content (``summary``), the fitted scorers and each condition's clips (for the score files)."""

    summary: dict
    fit: OpenSetFit
    clips: list[TraceClips]


def condition_clips(
    run: Any, fit: OpenSetFit, name: str, fs: Any, rows: np.ndarray, *, device: Any, batch: int = 256
) -> TraceClips:
    """The valid clips among ``rows`` of ``fs``: truth, softmax and every scorer's novelty score."""
    idx = valid_rows(fs, run.array, rows)
    out = trace_outputs(run.model, fs, run.array, idx, device=device, batch=batch)
    z = out.logits - out.logits.max(axis=1, keepdims=True) if len(out) else out.logits
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True) if len(out) else z
    meta = fs.meta
    speaker = np.asarray(meta["speaker"])[idx].astype(str) if "speaker" in meta else np.full(len(idx), "")
    return TraceClips(
        name=name,
        set_key=fs.key,
        rows=idx,
        utt_id=np.asarray(meta["utt_id"])[idx].astype(str),
        generator=generator_labels(
            meta, source=fs.key, level=getattr(run.config, "trace_level", "generator")
        )[idx],
        speaker=speaker.astype(object),
        probs=probs,
        scores=fit.scores(out) if len(out) else {n: np.empty(0) for n in fit.scorers},
    )


def _condition(c: TraceClips, fit: OpenSetFit) -> dict:
    classes = list(fit.classes)
    known = c.known(fit.classes)
    per = {n: open_set(v, known, fit.thresholds[n]).to_dict() for n, v in c.scores.items()}
    return {
        "name": c.name,
        "n": int(len(c.utt_id)),
        "closed_set": closed_set(c.generator, c.probs.argmax(axis=1), classes).to_dict(),
        "open_set": per[fit.default],
        "scorers": per,
    }


def _pooled(clips: Sequence[TraceClips], fit: OpenSetFit) -> TraceClips:
    cat = lambda f: np.concatenate([getattr(c, f) for c in clips])  # noqa: E731
    return TraceClips(
        name=POOLED,
        set_key="",
        rows=cat("rows"),
        utt_id=cat("utt_id"),
        generator=cat("generator"),
        speaker=cat("speaker"),
        probs=np.concatenate([c.probs for c in clips]),
        scores={n: np.concatenate([c.scores[n] for c in clips]) for n in fit.scorers},
    )


def evaluate_trace(
    run: Any,
    store: Any,
    conditions: Sequence[SetCondition],
    *,
    device: Any,
    batch: int = 256,
    keep: float = DEFAULT_KEEP,
    k: int = DEFAULT_K,
    default: str = DEFAULT_SCORER,
) -> TraceEvaluation:
    """The trace run's results on every test condition, then ``ALL`` over them. The scorers are fitted on the
    run's training clips and thresholded on its dev clips (``openset_fit``); test clips never move them."""
    fit = fit_openset(run, store, device=device, batch=batch, keep=keep, k=k, default=default)
    clips = [
        condition_clips(run, fit, c.name, c.fs, c.rows.indices, device=device, batch=batch)
        for c in conditions
    ]
    clips = [c for c in clips if len(c.utt_id)]
    order = {n: i for i, n in enumerate(sort_conditions([c.name for c in clips]))}
    clips.sort(key=lambda c: order[c.name])
    conds = [_condition(c, fit) for c in clips]
    if clips:
        conds.append(_condition(_pooled(clips, fit), fit))
    summary = {
        "classes": list(fit.classes),
        "keep": fit.keep,
        "default": fit.default,
        "score": fit.default,
        "threshold": fit.thresholds[fit.default],
        "n_dev_known": fit.n_dev_known,
        "n_train": fit.n_train,
        "hold_out": list(fit.hold_out),
        "scorers": {
            n: {"threshold": fit.thresholds[n], "params": s.params()} for n, s in fit.scorers.items()
        },
        "conditions": conds,
        "bona_fide_speakers": bona_fide_by_speaker(clips, fit.train_speakers, fit.thresholds, fit.classes),
    }
    return TraceEvaluation(summary=summary, fit=fit, clips=clips)
