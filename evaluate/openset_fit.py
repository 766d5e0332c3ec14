"""Fit a trace run's open-set scorers on its training clips, set their thresholds on its dev clips, store them.

Fitting reads the run's own training split exactly as training drew it (``train.data.load_training_data`` with the
run's config: the same sets, valid clips and held-out generators), so a leave-one-generator-out run's scorers never
see the held-out generator either. Thresholds come from the dev clips of the run's classes only (test rows are never
read here): each scorer's ``keep`` quantile of their novelty scores (``trace_metrics.novelty_threshold``).

Stored in the run folder (``runs/<name>/openset/scorers.json`` + ``scorers.safetensors``, no pickle) with the digest of
the best checkpoint they were fitted on, so ``codecfake score`` uses them and refuses stale ones.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.openset_scorers import (
    DEFAULT_K,
    DEFAULT_SCORER,
    SCORERS,
    TraceOutputs,
    fit_scorers,
    scorer_from_arrays,
)
from codecfake.evaluate.trace_metrics import DEFAULT_KEEP, novelty_threshold
from codecfake.evaluate.trace_outputs import split_outputs

log = logging.getLogger(__name__)

__all__ = ["OpenSetFit", "checkpoint_digest", "fit_openset", "FORMAT"]

FORMAT = 1


def checkpoint_digest(run_dir: str | Path) -> str:
    """sha256 of the run's best weights: the scorers are valid for these weights only."""
    h = hashlib.sha256()
    with open(Path(run_dir) / "checkpoints" / "best.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class OpenSetFit:
    """Fitted scorers, their dev thresholds, and what they were fitted on."""

    scorers: Mapping[str, Any]
    thresholds: Mapping[str, float]
    classes: tuple[str, ...]
    keep: float
    default: str
    checkpoint: str  # sha256 of the best weights
    n_train: int
    n_dev_known: int
    hold_out: tuple[str, ...] = ()
    train_speakers: frozenset[str] = field(default_factory=frozenset)

    def scores(self, out: TraceOutputs) -> dict[str, np.ndarray]:
        """Every scorer's novelty scores (N,) of ``out``."""
        return {n: s.score(out) for n, s in self.scorers.items()}

    def to_files(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(scorers.json content, arrays named ``<scorer>.<array>``)."""
        doc = {
            "format": FORMAT,
            "classes": list(self.classes),
            "keep": self.keep,
            "default": self.default,
            "checkpoint_sha256": self.checkpoint,
            "n_train": self.n_train,
            "n_dev_known": self.n_dev_known,
            "hold_out": list(self.hold_out),
            "train_speakers": sorted(self.train_speakers),
            "scorers": {
                n: {"params": s.params(), "threshold": self.thresholds[n]} for n, s in self.scorers.items()
            },
        }
        arrays = {f"{n}.{a}": v for n, s in self.scorers.items() for a, v in s.arrays().items()}
        return doc, arrays

    @classmethod
    def from_files(cls, doc: Mapping[str, Any], arrays: Mapping[str, np.ndarray], source: str) -> OpenSetFit:
        if doc.get("format") != FORMAT:
            raise EvaluationError(
                f"{source}: open-set scorers of format {doc.get('format')}, expected {FORMAT}; rerun "
                "`codecfake evaluate` on the run to refit them"
            )
        scorers = {
            n: scorer_from_arrays(
                n, v["params"], {a.split(".", 1)[1]: x for a, x in arrays.items() if a.split(".", 1)[0] == n}
            )
            for n, v in doc["scorers"].items()
        }
        return cls(
            scorers=scorers,
            thresholds={n: float(v["threshold"]) for n, v in doc["scorers"].items()},
            classes=tuple(doc["classes"]),
            keep=float(doc["keep"]),
            default=str(doc["default"]),
            checkpoint=str(doc["checkpoint_sha256"]),
            n_train=int(doc["n_train"]),
            n_dev_known=int(doc["n_dev_known"]),
            hold_out=tuple(doc.get("hold_out", ())),
            train_speakers=frozenset(doc.get("train_speakers", ())),
        )


def _speakers(sets: list, split: Any) -> frozenset[str]:
    out: set[str] = set()
    for s, fs in enumerate(sets):
        if "speaker" in fs.meta:
            out |= set(np.asarray(fs.meta["speaker"])[split.local[split.set_index == s]].astype(str).tolist())
    return frozenset(out - {""})


def fit_openset(
    run: Any,
    store: Any,
    *,
    device: Any,
    batch: int = 256,
    keep: float = DEFAULT_KEEP,
    k: int = DEFAULT_K,
    default: str = DEFAULT_SCORER,
) -> OpenSetFit:
    """Fit every scorer on the run's training clips and set each threshold on its known dev clips."""
    from codecfake.train.data import load_training_data

    if default not in SCORERS:
        raise EvaluationError(f"open-set scorer {default!r} is not one of {', '.join(SCORERS)}")
    if not 0.0 < keep <= 1.0:
        raise EvaluationError(f"--openset-keep must lie in (0, 1], found {keep}")
    data = load_training_data(store, run.config)
    if tuple(data.classes) != tuple(run.classes):
        raise EvaluationError(
            f"run {run.run_dir}: its classes {list(run.classes)} differ from those of its training sets now "
            f"{list(data.classes)}; the store changed since training: retrain (`codecfake train ... --force`)"
        )
    train = split_outputs(run.model, data.sets, data.train, run.array, device=device, batch=batch)
    dev = split_outputs(run.model, data.sets, data.dev, run.array, device=device, batch=batch)
    scorers = fit_scorers(train, data.train.labels, k=k)
    thresholds = {n: novelty_threshold(s.score(dev), keep) for n, s in scorers.items()}
    log.info(
        "%s: open-set scorers fitted on %d training clips, thresholds keep %g of %d known dev clips: %s",
        run.run_dir,
        len(train),
        keep,
        len(dev),
        ", ".join(f"{n} {t:.4g}" for n, t in thresholds.items()),
    )
    return OpenSetFit(
        scorers=scorers,
        thresholds=thresholds,
        classes=tuple(run.classes),
        keep=float(keep),
        default=default,
        checkpoint=checkpoint_digest(run.run_dir),
        n_train=len(train),
        n_dev_known=len(dev),
        hold_out=tuple(getattr(run.config, "hold_out", ())),
        train_speakers=_speakers(data.sets, data.train),
    )
