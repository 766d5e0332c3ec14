"""Evaluate a source-tracing run (``task = "trace"``): per test condition closed-set accuracy, macro-F1 and the
confusion matrix over its generator classes, and the open-set result at a threshold chosen on the dev split only.

Computes only: ``evaluate_run`` writes the result (trace.json, trace.md through ``trace_report``, the confusion
figure through ``plots``). Metrics: ``codecfake.evaluate.trace_metrics``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from codecfake.evaluate.conditions import SetCondition, sort_conditions
from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.trace_metrics import (
    DEFAULT_KEEP,
    closed_set,
    max_softmax,
    open_set,
    open_set_threshold,
)
from codecfake.train.input_arrays import open_reader, valid_mask
from codecfake.train.trace_labels import generator_labels

log = logging.getLogger(__name__)

__all__ = ["is_trace_run", "trace_probs", "dev_open_set_threshold", "evaluate_trace"]

POOLED = "ALL"  # the row over every test clip of every condition


def is_trace_run(run: Any) -> bool:
    """True for a run trained with ``task = "trace"`` (a multi-class head over generators)."""
    return getattr(run.config, "task", "") == "trace"


@torch.inference_mode()
def trace_probs(
    model: torch.nn.Module,
    fs: Any,
    array: str,
    indices: np.ndarray,
    *,
    device: Any,
    batch: int = 256,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """(n, K) softmax probabilities of the rows ``indices`` of ``fs[array]`` (float64)."""
    reader = open_reader(fs, array)  # fused layers: (B, N, T, D) batches
    model.eval()
    out: list[np.ndarray] = []
    for start in range(0, len(indices), batch):
        idx = np.asarray(indices[start : start + batch])
        x = torch.from_numpy(np.asarray(reader.batch(idx), dtype=np.float32)).to(device)  # (B, T, D)
        out.append(torch.softmax(model(x)[1].float(), dim=1).cpu().numpy().astype(np.float64))  # (B, K)
        if progress is not None:
            progress(len(idx))
    return np.concatenate(out) if out else np.empty((0, 0))


def _valid(fs: Any, array: str, idx: np.ndarray) -> np.ndarray:
    return idx[valid_mask(fs, array)[idx]]


def dev_open_set_threshold(
    run: Any, store: Any, *, device: Any, batch: int = 256, keep: float = DEFAULT_KEEP
) -> tuple[float, int]:
    """(threshold, n known dev clips): the MSP threshold from the run's own training sets' dev rows of known
    generators (test rows are never read here)."""
    classes = set(run.classes)
    msp = []
    for key in run.feature_keys:
        fs = store.open(key)
        idx = _valid(fs, run.array, np.flatnonzero(fs.meta["split"] == "dev"))
        known = np.isin(
            generator_labels(fs.meta, source=fs.key, level=run.config.trace_level)[idx].astype(str),
            list(classes),
        )
        if known.any():
            msp.append(
                max_softmax(trace_probs(run.model, fs, run.array, idx[known], device=device, batch=batch))
            )
    if not msp:
        raise EvaluationError(
            f"run {run.run_dir}: no dev clips of its generator classes in {list(run.feature_keys)}; "
            "the open-set threshold is chosen on dev only"
        )
    all_msp = np.concatenate(msp)
    return open_set_threshold(all_msp, keep), int(len(all_msp))


def _condition(name: str, true: np.ndarray, probs: np.ndarray, classes: Sequence[str], thr: float) -> dict:
    cs = closed_set(true, probs.argmax(axis=1), classes)
    os_ = open_set(max_softmax(probs), np.isin(true.astype(str), list(classes)), thr)
    return {"name": name, "n": int(len(true)), "closed_set": cs.to_dict(), "open_set": os_.to_dict()}


def evaluate_trace(
    run: Any,
    store: Any,
    conditions: Sequence[SetCondition],
    *,
    device: Any,
    batch: int = 256,
    keep: float = DEFAULT_KEEP,
) -> dict:
    """The trace run's results on every test condition, then ``ALL`` over them: trace.json's content (its
    ``figures`` key is added by whoever draws them). The open-set threshold comes from the dev split alone."""
    classes = list(run.classes)
    thr, n_dev = dev_open_set_threshold(run, store, device=device, batch=batch, keep=keep)
    conds, pooled_true, pooled_probs = [], [], []
    for c in conditions:
        idx = _valid(c.fs, run.array, c.rows.indices)
        if not len(idx):
            continue
        true = generator_labels(c.fs.meta, source=c.fs.key, level=run.config.trace_level)[idx]
        probs = trace_probs(run.model, c.fs, run.array, idx, device=device, batch=batch)
        conds.append(_condition(c.name, true, probs, classes, thr))
        pooled_true.append(true)
        pooled_probs.append(probs)
    order = {n: k for k, n in enumerate(sort_conditions([c["name"] for c in conds]))}
    conds.sort(key=lambda c: order[c["name"]])
    if conds:
        conds.append(
            _condition(POOLED, np.concatenate(pooled_true), np.concatenate(pooled_probs), classes, thr)
        )
    return {
        "classes": classes,
        "keep": keep,
        "threshold": thr,
        "n_dev_known": n_dev,
        "score": "max softmax",
        "conditions": conds,
    }
