"""Source-tracing metrics: closed-set accuracy, macro-F1 and confusion matrix; open-set threshold, AUROC, detection.

Closed set (the clips whose generator is one of the run's classes): prediction = argmax of the softmax;
accuracy = share of correct predictions; macro-F1 = mean over the classes present among the true labels of the
per-class F1 (precision over every prediction of that class among those clips, recall over its clips).

Open set (generators never seen in training must come out "unknown"): the score is the maximum softmax probability
(MSP); a clip is called unknown when MSP < threshold. The threshold is chosen on the **dev** split only: the
``1 - keep`` quantile of the known dev clips' MSP, taken as an order statistic (the k-th smallest MSP, k =
floor((1 - keep) n)), so at least ``keep`` of the known dev clips (95 % by default) stay known. Test scores never
move it. AUROC known-vs-unknown ranks unknown clips by low MSP (ties count one half).
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
    "open_set_threshold",
    "auroc",
    "max_softmax",
]

DEFAULT_KEEP = 0.95


def max_softmax(probs: np.ndarray) -> np.ndarray:
    """(N, K) softmax probabilities -> (N,) the maximum per clip (the open-set score: low = unknown)."""
    return np.asarray(probs, dtype=np.float64).max(axis=1)


def open_set_threshold(dev_msp: np.ndarray, keep: float = DEFAULT_KEEP) -> float:
    """The MSP threshold keeping at least ``keep`` of the known dev clips: their k-th smallest MSP,
    k = floor((1 - keep) * n); clips with MSP strictly below it are unknown."""
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must lie in (0, 1], found {keep}")
    s = np.sort(np.asarray(dev_msp, dtype=np.float64))
    if not len(s):
        raise ValueError("open-set threshold: no known dev clips")
    k = int(math.floor((1.0 - keep) * len(s) + 1e-9))
    return float(s[min(k, len(s) - 1)])


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """P(MSP of a random unknown clip < MSP of a random known clip) + 0.5 P(tie); NaN without both kinds."""
    known, unknown = np.asarray(known, dtype=np.float64), np.asarray(unknown, dtype=np.float64)
    if not len(known) or not len(unknown):
        return float("nan")
    k = np.sort(known)
    below = np.searchsorted(k, unknown, side="right")  # known clips with MSP <= each unknown's
    ties = below - np.searchsorted(k, unknown, side="left")
    # unknown u is ranked correctly against known clips with MSP > u: n_known - below; ties weigh 1/2
    return float(((len(k) - below) + 0.5 * ties).sum() / (len(k) * len(unknown)))


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
    """Known-vs-unknown results at the dev threshold."""

    threshold: float
    n_known: int
    n_unknown: int
    auroc: float  # NaN unless both kinds are present
    detection_rate: (
        float  # share of unknown clips called unknown (MSP < threshold); NaN without unknown clips
    )
    false_unknown_rate: float  # share of known clips called unknown; NaN without known clips

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "n_known": self.n_known,
            "n_unknown": self.n_unknown,
            "auroc": self.auroc,
            "detection_rate": self.detection_rate,
            "false_unknown_rate": self.false_unknown_rate,
        }


def open_set(msp: np.ndarray, is_known: np.ndarray, threshold: float) -> OpenSet:
    """msp (N,) max softmax; is_known (N,) bool (generator among the classes); threshold from the dev split."""
    msp, is_known = np.asarray(msp, dtype=np.float64), np.asarray(is_known, dtype=bool)
    known, unknown = msp[is_known], msp[~is_known]
    rate = lambda x: float((x < threshold).mean()) if len(x) else float("nan")  # noqa: E731
    return OpenSet(
        float(threshold),
        int(len(known)),
        int(len(unknown)),
        auroc(known, unknown),
        rate(unknown),
        rate(known),
    )
