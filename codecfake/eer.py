"""Equal error rate by the official ASVspoof algorithm (bona fide = target), in both score orientations.

The algorithm (ASVspoof 2019/2021 ``compute_eer``, which the Codecfake release uses): concatenate target (bona fide) then non-target (spoof)
scores, sort them with a *stable* sort, and walk the sorted list rejecting one more trial at each step:

    FRR_k = (#targets among the k lowest) / N_t,   FAR_k = (#non-targets above the k lowest) / N_n,   k = 0..N

with the point k = 0 (FRR 0, FAR 1) prefixed. EER = mean(FRR_k, FAR_k) at the first k minimising |FRR_k - FAR_k|;
the threshold is the k-th lowest score (for k = 0: the lowest score minus 0.001). A trial is accepted as bona fide
when its score is strictly greater than the threshold.

Ties: because the sort is stable and targets come first, a group of tied scores is walked through target-first; the
points inside a tie group are not reachable by any threshold. This is what the official code does and what the
paper's numbers come from, so we keep it exactly (see ``tests/test_eer.py`` for what equals what).

A leaf module (imports nothing of ours but ``codecfake.errors``): evaluation reports it, training monitors the dev
split with it (``eer_percent``), and both get the same number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codecfake.errors import CodecfakeError

__all__ = [
    "EerError",
    "DetCurve",
    "EerResult",
    "EerBoth",
    "det_curve",
    "compute_eer",
    "eer_from_labels",
    "eer_both",
    "eer_percent",
]


class EerError(CodecfakeError):
    """Scores or labels cannot give an EER (a class without scores, non-finite scores, labels other than 0/1)."""


@dataclass(frozen=True)
class DetCurve:
    """Error rates along the official walk: ``frr``, ``far``, ``thresholds`` are (N + 1,) float64, FRR rising."""

    frr: np.ndarray
    far: np.ndarray
    thresholds: np.ndarray


@dataclass(frozen=True)
class EerResult:
    """EER as a fraction in [0, 1] and the score threshold where it occurs (accept bona fide when score > threshold)."""

    eer: float
    threshold: float

    @property
    def eer_percent(self) -> float:
        return 100.0 * self.eer


@dataclass(frozen=True)
class EerBoth:
    """EER of the scores as given (``plain``) and negated (``flipped``); ``paper`` = min of the two (the paper's tables).

    ``inverted`` is True when the flipped orientation is strictly better: the detector ranks this condition
    backwards, and a table reporting ``paper`` hides that.
    """

    plain: EerResult
    flipped: EerResult

    @property
    def inverted(self) -> bool:
        return self.flipped.eer < self.plain.eer

    @property
    def paper(self) -> float:
        return min(self.plain.eer, self.flipped.eer)

    def value(self, paper_mode: bool) -> float:
        """The EER fraction to report: ``paper`` in paper mode, else ``plain``."""
        return self.paper if paper_mode else self.plain.eer


def _as_scores(x: np.ndarray | list[float], what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise EerError(
            f"EER needs at least one {what} score, found none; evaluate a condition that holds both bona fide and spoof "
            "trials (check the feature set's labels with `codecfake store info`)"
        )
    if not np.all(np.isfinite(arr)):
        raise EerError(
            f"EER needs finite {what} scores, found {int(np.sum(~np.isfinite(arr)))} NaN/inf; the model produced "
            "non-finite logits, check the checkpoint and the feature set's non-finite count"
        )
    return arr


def det_curve(target_scores: np.ndarray, nontarget_scores: np.ndarray) -> DetCurve:
    """The official DET walk over (N_t,) bona fide and (N_n,) spoof scores; see the module docstring."""
    tar = _as_scores(target_scores, "bona fide")
    non = _as_scores(nontarget_scores, "spoof")
    n_tar, n_non = tar.size, non.size
    all_scores = np.concatenate([tar, non])  # (N,)
    is_target = np.concatenate([np.ones(n_tar), np.zeros(n_non)])  # (N,)
    order = np.argsort(all_scores, kind="stable")
    tar_rejected = np.cumsum(is_target[order])  # (N,) targets among the k lowest (exact integers in float64)
    non_accepted = n_non - (np.arange(1, n_tar + n_non + 1) - tar_rejected)  # (N,) non-targets above them
    frr = np.concatenate([[0.0], tar_rejected / n_tar])
    far = np.concatenate([[1.0], non_accepted / n_non])
    sorted_scores = all_scores[order]
    thresholds = np.concatenate([[sorted_scores[0] - 0.001], sorted_scores])
    return DetCurve(frr=frr, far=far, thresholds=thresholds)


def compute_eer(target_scores: np.ndarray, nontarget_scores: np.ndarray) -> EerResult:
    """Official ASVspoof EER of bona fide (target) vs spoof (non-target) scores; higher score = more bona fide."""
    curve = det_curve(target_scores, nontarget_scores)
    k = int(np.argmin(np.abs(curve.frr - curve.far)))  # first minimum, as np.argmin in the official code
    return EerResult(eer=float(np.mean([curve.frr[k], curve.far[k]])), threshold=float(curve.thresholds[k]))


def _split(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if s.shape != y.shape:
        raise EerError(f"scores and labels differ in length: {s.size} scores, {y.size} labels")
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        raise EerError(
            f"labels must be 0 (bona fide) or 1 (spoof), found {sorted(set(np.unique(y[bad]).tolist()))[:5]}"
        )
    return s[y == 0], s[y == 1]


def eer_from_labels(scores: np.ndarray, labels: np.ndarray) -> EerResult:
    """EER of (N,) scores with (N,) int labels, 0 = bona fide (target), 1 = spoof; input order is the tie order."""
    tar, non = _split(scores, labels)
    return compute_eer(tar, non)


def eer_both(scores: np.ndarray, labels: np.ndarray) -> EerBoth:
    """EER(s) and EER(-s) of (N,) P(bona fide) scores with labels 0 = bona fide, 1 = spoof."""
    tar, non = _split(scores, labels)
    return EerBoth(plain=compute_eer(tar, non), flipped=compute_eer(-tar, -non))


def eer_percent(scores: np.ndarray, labels: np.ndarray) -> float:
    """Official EER in % of (N,) P(bona fide) scores, labels 0/1; NaN instead of an error when it is undefined.

    For monitoring (the dev EER logged each epoch): a dev split that lacks a class, or a diverged model's
    non-finite scores, give NaN and training carries on, as model selection uses the dev loss.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if not np.any(y == 0) or not np.any(y == 1) or not np.all(np.isfinite(s)):
        return float("nan")
    return eer_from_labels(s, y).eer_percent
