"""Score calibration: a prior-weighted logistic regression from raw scores to log-likelihood ratios, fitted on dev.

A detector's P(bona fide) is a posterior under whatever prior and class weights training used (here a weighted
cross-entropy, 10 on bona fide); actDCF and Cllr need **LLRs**, log p(x | bona fide) / p(x | spoof), which this maps
to. The map is linear in the score's log-odds x = logit(P(bona fide)) (or, for score fusion, in K runs' log-odds):

    LLR = a · x + b        (fusion: LLR = Σ_k a_k · x_k + b)

fitted by minimising the prior-weighted cross-entropy (Brümmer & du Preez 2006; Brümmer's FoCal; the calibration
WeDefense and the top ASVspoof 5 systems fitted on dev):

    C(a, b) = π / N_bf · Σ_bona fide log(1 + e^−(LLR + logit π)) + (1 − π) / N_sp · Σ_spoof log(1 + e^(LLR + logit π))

with π the bona fide prior it is tuned for (default: the effective prior of the ASVspoof 5 Track 1 operating point,
0.655, so the decisions that matter are the ones it gets right). scikit-learn's logistic regression minimises exactly
this with those sample weights; a very weak L2 penalty (``L2_C``) keeps a separable dev set from sending a to infinity.
Only **dev** scores are ever passed here: test scores never move the map.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from codecfake.evaluate.detection_cost import TRACK1
from codecfake.evaluate.errors import EvaluationError

__all__ = [
    "CalibrationError",
    "LinearLlrMap",
    "score_logit",
    "fit_llr_map",
    "LOGIT_CLIP",
    "L2_C",
]

LOGIT_CLIP = 1e-12  # P(bona fide) is clipped to [1e-12, 1 - 1e-12] before the logit: |x| <= 27.6
L2_C = 1e4  # inverse L2 strength on weights summing to 1 per class prior: negligible unless dev is separable


class CalibrationError(EvaluationError):
    """Dev scores cannot be calibrated (one class, NaN, a map that would invert the ranking)."""


def score_logit(p: np.ndarray) -> np.ndarray:
    """logit(P(bona fide)) of (…) scores in [0, 1], clipped so that saturated softmax outputs stay finite."""
    q = np.clip(np.asarray(p, dtype=np.float64), LOGIT_CLIP, 1.0 - LOGIT_CLIP)
    return np.log(q) - np.log1p(-q)


@dataclass(frozen=True)
class LinearLlrMap:
    """LLR = Σ_k slopes[k] · logit(P_k(bona fide)) + offset, fitted on ``n_bonafide`` + ``n_spoof`` dev trials."""

    slopes: tuple[float, ...]
    offset: float
    prior: float  # the bona fide prior the regression was weighted to
    n_bonafide: int
    n_spoof: int
    inputs: tuple[str, ...] = ("score",)  # what each slope multiplies: run names for a fusion

    def llr(self, scores: np.ndarray) -> np.ndarray:
        """(N,) LLRs of (N,) P(bona fide) scores (one input) or (K, N) scores of the K inputs, in ``inputs`` order."""
        x = np.atleast_2d(score_logit(scores))
        if x.shape[0] != len(self.slopes):
            raise CalibrationError(
                f"the map takes {len(self.slopes)} score vectors ({self.inputs}), got {x.shape[0]}"
            )
        return np.asarray(self.slopes) @ x + self.offset

    def to_dict(self) -> dict:
        d = asdict(self)
        d["slopes"], d["inputs"] = list(self.slopes), list(self.inputs)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> LinearLlrMap:
        return cls(
            slopes=tuple(float(v) for v in d["slopes"]),
            offset=float(d["offset"]),
            prior=float(d["prior"]),
            n_bonafide=int(d["n_bonafide"]),
            n_spoof=int(d["n_spoof"]),
            inputs=tuple(d.get("inputs") or ("score",)),
        )


def fit_llr_map(
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    prior: float = TRACK1.effective_prior,
    inputs: tuple[str, ...] = ("score",),
    what: str = "dev scores",
) -> LinearLlrMap:
    """Fit LLR = a · logit(P) + b (or Σ a_k · logit(P_k) + b for (K, N) scores) on dev trials, labels 0 = bona fide.

    Refuses (``CalibrationError``) a set without both classes, NaN scores, and a fit whose slope is not positive
    (the dev scores rank the classes backwards: a map that flips the scores is not a calibration)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    y = np.asarray(labels).reshape(-1)
    n_bf, n_sp = int(np.sum(y == 0)), int(np.sum(y == 1))
    if x.shape[1] != y.size:
        raise CalibrationError(f"{what}: {x.shape[1]} scores but {y.size} labels")
    if not n_bf or not n_sp:
        raise CalibrationError(
            f"{what}: {n_bf} bona fide and {n_sp} spoof trials; calibration needs both classes on dev — check the "
            "run's training sets have dev rows of both labels (`codecfake store info KEY`)"
        )
    if np.isnan(x).any():
        raise CalibrationError(f"{what}: {int(np.isnan(x).sum())} NaN scores; rescore the run")
    if not 0.0 < prior < 1.0:
        raise CalibrationError(f"calibration prior {prior}: expected 0 < prior < 1 (bona fide prior)")
    feats = score_logit(x).T  # (N, K)
    weight = np.where(y == 0, prior / n_bf, (1.0 - prior) / n_sp)
    model = LogisticRegression(C=L2_C, max_iter=10_000, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(feats, (y == 0).astype(int), sample_weight=weight)
    slopes = tuple(float(v) for v in model.coef_[0])
    if sum(slopes) <= 0 or (len(slopes) == 1 and slopes[0] <= 0):
        raise CalibrationError(
            f"{what}: the fitted slope{'s' if len(slopes) > 1 else ''} {slopes} would flip the scores: the run ranks its "
            "dev trials backwards (dev EER above 50 %); a calibration must keep the ranking — retrain or check labels"
        )
    offset = float(model.intercept_[0]) - math.log(prior / (1.0 - prior))
    return LinearLlrMap(slopes, offset, prior, n_bf, n_sp, inputs)
