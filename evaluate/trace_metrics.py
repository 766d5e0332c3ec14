"""Source-tracing metrics: closed-set accuracy, macro-F1 and confusion matrix; open-set threshold, AUROC, detection.

Closed set (the clips whose generator is one of the run's classes): prediction = argmax of the softmax;
accuracy = share of correct predictions; macro-F1 = mean over the classes present among the true labels of the
per-class F1 (precision over every prediction of that class among those clips, recall over its clips).

Open set (generators never seen in training must come out "unknown"): a **novelty score** per clip, higher = more
likely unseen (``openset_scorers``: 1 - max softmax, energy, Mahalanobis, kNN distance); a clip is called unknown
when its score is above the threshold. The threshold is chosen on the **dev** split only: the ``keep`` quantile of
the known dev clips' scores taken as an order statistic (the m-th smallest, m = ceil(keep n)), so at least ``keep``
of the known dev clips (95 % by default) stay known. Test scores never move it. AUROC known-vs-unknown = P(an
unknown clip scores above a known one), ties one half; FPR at 95 % TPR = the share of unknown clips a threshold
keeping 95 % of the known clips (of the same condition) still accepts as known.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_KEEP",
    "ClosedSet",
    "OpenSet",
    "closed_set",
    "open_set",
    "novelty_threshold",
    "auroc",
    "fpr_at_tpr",
]

DEFAULT_KEEP = 0.95


def novelty_threshold(dev_scores: np.ndarray, keep: float = DEFAULT_KEEP) -> float:
    """The threshold keeping at least ``keep`` of the known dev clips: their m-th smallest novelty score,
    m = ceil(keep * n); clips scoring strictly above it are unknown."""
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must lie in (0, 1], found {keep}")
    s = np.sort(np.asarray(dev_scores, dtype=np.float64))
    if not len(s):
        raise ValueError("open-set threshold: no known dev clips")
    m = int(math.ceil(keep * len(s) - 1e-9))
    return float(s[min(max(m, 1), len(s)) - 1])


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """P(novelty of a random unknown clip > that of a random known clip) + 0.5 P(tie); NaN without both kinds."""
    known, unknown = np.asarray(known, dtype=np.float64), np.asarray(unknown, dtype=np.float64)
    if not len(known) or not len(unknown):
        return float("nan")
    k = np.sort(known)
    below = np.searchsorted(k, unknown, side="left")  # known clips scoring strictly below each unknown
    ties = np.searchsorted(k, unknown, side="right") - below
    return float((below + 0.5 * ties).sum() / (len(k) * len(unknown)))


def fpr_at_tpr(known: np.ndarray, unknown: np.ndarray, tpr: float = DEFAULT_KEEP) -> float:
    """Share of unknown clips accepted as known at the threshold keeping ``tpr`` of the known clips (lower is
    better; NaN without both kinds)."""
    if not len(known) or not len(unknown):
        return float("nan")
    thr = novelty_threshold(known, tpr)
    return float((np.asarray(unknown, dtype=np.float64) <= thr).mean())


@dataclass(frozen=True)
class ClosedSet:
    """Closed-set results over the clips of known generators."""

    n: int
    accuracy: float  # [0, 1]; NaN when n == 0
    macro_f1: float  # [0, 1] over the classes present among the true labels
    per_class_f1: dict[str, float]
    matrix: list[list[int]]  # rows = true (the classes present, then unseen generators), cols = every class
    rows: list[str]  # row names (unseen generators marked "<name> (unseen)")

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class_f1": self.per_class_f1,
            "matrix": self.matrix,
            "rows": self.rows,
        }


def closed_set(true: Sequence[str] | np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> ClosedSet:
    """true (N,) generator names, pred (N,) argmax class indices. Unseen generators get confusion rows only."""
    true = np.asarray(true, dtype=object)
    pred = np.asarray(pred, dtype=np.int64)
    index = {c: i for i, c in enumerate(classes)}
    t = np.array([index.get(g, -1) for g in true], dtype=np.int64)
    known = t >= 0
    tk, pk = t[known], pred[known]
    present = sorted(set(tk.tolist()))
    f1 = {}
    for c in present:
        tp = int(((tk == c) & (pk == c)).sum())
        n_pred, n_true = int((pk == c).sum()), int((tk == c).sum())
        f1[classes[c]] = 2.0 * tp / (n_pred + n_true)
    unseen = sorted(set(true[~known].tolist()))
    rows, matrix = [], []
    for c in present:
        rows.append(classes[c])
        matrix.append(np.bincount(pk[tk == c], minlength=len(classes)).tolist())
    for g in unseen:
        rows.append(f"{g} (unseen)")
        matrix.append(np.bincount(pred[true == g], minlength=len(classes)).tolist())
    acc = float((tk == pk).mean()) if len(tk) else float("nan")
    macro = float(np.mean(list(f1.values()))) if f1 else float("nan")
    return ClosedSet(int(len(tk)), acc, macro, f1, matrix, rows)


@dataclass(frozen=True)
class OpenSet:
    """Known-vs-unknown results of one scorer at its dev threshold."""

    threshold: float
    n_known: int
    n_unknown: int
    auroc: float  # NaN unless both kinds are present
    fpr95: float  # unknown accepted at 95 % of this condition's known clips kept; NaN unless both kinds
    detection_rate: (
        float  # share of unknown clips called unknown (score > threshold); NaN without unknown clips
    )
    false_unknown_rate: float  # share of known clips called unknown; NaN without known clips

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "n_known": self.n_known,
            "n_unknown": self.n_unknown,
            "auroc": self.auroc,
            "fpr95": self.fpr95,
            "detection_rate": self.detection_rate,
            "false_unknown_rate": self.false_unknown_rate,
        }


def open_set(scores: np.ndarray, is_known: np.ndarray, threshold: float) -> OpenSet:
    """scores (N,) novelty (higher = unknown); is_known (N,) bool (generator among the classes); threshold from
    the dev split."""
    scores, is_known = np.asarray(scores, dtype=np.float64), np.asarray(is_known, dtype=bool)
    known, unknown = scores[is_known], scores[~is_known]
    rate = lambda x: float((x > threshold).mean()) if len(x) else float("nan")  # noqa: E731
    return OpenSet(
        float(threshold),
        int(len(known)),
        int(len(unknown)),
        auroc(known, unknown),
        fpr_at_tpr(known, unknown),
        rate(unknown),
        rate(known),
    )
