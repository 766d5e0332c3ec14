"""Confusion matrices of P(bona fide) scores at a threshold (scikit-learn), with accuracy.

Prediction rule: bona fide when score > threshold (strictly), else spoof. At 0.5 on a softmax this is argmax with
ties going to spoof; at the EER threshold from ``eer.compute_eer`` it reproduces the EER operating point.
Rows = true class, columns = predicted class, order [bona fide, spoof] (label ints 0, 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import confusion_matrix

from codecfake.evaluate.errors import EvaluationError

__all__ = ["Confusion", "confusion_at"]


@dataclass(frozen=True)
class Confusion:
    """Counts at one threshold: ``matrix`` [[real→real, real→fake], [fake→real, fake→fake]] and accuracy in [0, 1]."""

    threshold: float
    matrix: tuple[tuple[int, int], tuple[int, int]]
    accuracy: float

    @property
    def bonafide_recall(self) -> float:
        (tp, fn), _ = self.matrix
        return tp / (tp + fn) if tp + fn else float("nan")

    @property
    def spoof_recall(self) -> float:
        _, (fp, tn) = self.matrix
        return tn / (fp + tn) if fp + tn else float("nan")

    def to_dict(self) -> dict:
        return asdict(self) | {"labels": ["bonafide", "spoof"]}


def confusion_at(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> Confusion:
    """Confusion of (N,) P(bona fide) scores vs (N,) labels (0 bona fide, 1 spoof) when predicting score > threshold."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1).astype(np.int64)
    if s.shape != y.shape or s.size == 0:
        raise EvaluationError(
            f"confusion matrix needs equal, non-empty scores and labels; got {s.size} and {y.size}"
        )
    pred = np.where(s > threshold, 0, 1)  # 0 = bona fide
    m = confusion_matrix(y, pred, labels=[0, 1])
    matrix = ((int(m[0, 0]), int(m[0, 1])), (int(m[1, 0]), int(m[1, 1])))
    return Confusion(threshold=float(threshold), matrix=matrix, accuracy=float(np.trace(m) / m.sum()))
