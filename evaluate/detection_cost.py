"""Normalised detection cost (DCF) at the ASVspoof 5 Track 1 operating point: minDCF and actDCF.

Definitions (ASVspoof 5 evaluation plan, Delgado et al. 2024; the organisers' evaluation package computes the same),
bona fide = target, spoof = non-target, a trial accepted as bona fide when its score passes the threshold:

    DCF(t)     = C_miss · (1 − P_spoof) · P_miss(t) + C_fa · P_spoof · P_fa(t)
    DCF_norm   = DCF / min(C_miss · (1 − P_spoof), C_fa · P_spoof)
    minDCF     = min over the official DET walk (``codecfake.eer.det_curve``) of DCF_norm — the cost of the best
                 threshold chosen with the test labels (a property of the ranking alone)
    actDCF     = DCF_norm at the Bayes threshold t* = −log β, β = C_miss (1 − P_spoof) / (C_fa P_spoof), applied to
                 log-likelihood-ratio scores (bona fide vs spoof): miss = bona fide LLR < t*, false alarm = spoof
                 LLR >= t* — the cost of the decisions the scores actually make

Track 1: P_spoof = 0.05, C_miss = 1, C_fa = 10, so DCF_norm = 1.9 · P_miss + P_fa, t* = −log 1.9 ≈ −0.642, and
accepting everything costs exactly 1 (the walk's first point): minDCF <= 1 always, 1 for a detector no better than a
constant decision. actDCF >= minDCF for any scores (its decision is one of the walk's points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codecfake.eer import det_curve
from codecfake.evaluate.errors import EvaluationError

__all__ = ["DcfParams", "TRACK1", "DcfResult", "min_dcf", "act_dcf", "dcf_at", "split_classes"]


@dataclass(frozen=True)
class DcfParams:
    """Cost model of a detection cost function; the default is ASVspoof 5 Track 1's."""

    p_spoof: float = 0.05  # prior of a spoof among the trials
    c_miss: float = 1.0  # cost of rejecting a bona fide trial
    c_fa: float = 10.0  # cost of accepting a spoof

    def __post_init__(self) -> None:
        if not (0.0 < self.p_spoof < 1.0) or self.c_miss <= 0 or self.c_fa <= 0:
            raise EvaluationError(
                f"DCF parameters P_spoof={self.p_spoof}, C_miss={self.c_miss}, C_fa={self.c_fa}: expected "
                "0 < P_spoof < 1 and positive costs (ASVspoof 5 Track 1: --p-spoof 0.05 --c-miss 1 --c-fa 10)"
            )

    @property
    def normaliser(self) -> float:
        """Cost of the better constant decision: min(C_miss (1 − P_spoof), C_fa P_spoof)."""
        return min(self.c_miss * (1.0 - self.p_spoof), self.c_fa * self.p_spoof)

    @property
    def weights(self) -> tuple[float, float]:
        """(w_miss, w_fa) with DCF_norm = w_miss · P_miss + w_fa · P_fa."""
        n = self.normaliser
        return self.c_miss * (1.0 - self.p_spoof) / n, self.c_fa * self.p_spoof / n

    @property
    def llr_threshold(self) -> float:
        """The Bayes decision threshold on bona-fide-vs-spoof LLRs: −log β (Track 1: −0.6419)."""
        return -math.log(self.c_miss * (1.0 - self.p_spoof) / (self.c_fa * self.p_spoof))

    @property
    def effective_prior(self) -> float:
        """The bona fide prior that, with unit costs, makes the same decisions: 1 / (1 + β⁻¹) (Track 1: 0.655)."""
        return 1.0 / (1.0 + math.exp(self.llr_threshold))

    def to_dict(self) -> dict:
        return {"p_spoof": self.p_spoof, "c_miss": self.c_miss, "c_fa": self.c_fa}


TRACK1 = DcfParams()


@dataclass(frozen=True)
class DcfResult:
    """A normalised DCF, the threshold it was taken at and the two error rates there (fractions)."""

    value: float
    threshold: float
    p_miss: float
    p_fa: float

    def to_dict(self) -> dict:
        return {"value": self.value, "threshold": self.threshold, "p_miss": self.p_miss, "p_fa": self.p_fa}


def split_classes(
    scores: np.ndarray, labels: np.ndarray, what: str = "scores"
) -> tuple[np.ndarray, np.ndarray]:
    """(bona fide, spoof) scores of (N,) ``scores`` with labels 0 = bona fide, 1 = spoof; refuses NaN, a missing
    class or other labels, naming what was found."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if s.shape != y.shape:
        raise EvaluationError(f"{what}: {s.size} values but {y.size} labels")
    if not np.isin(y, (0, 1)).all():
        raise EvaluationError(
            f"{what}: labels must be 0 (bona fide) or 1 (spoof), found {sorted(set(y.tolist()))[:5]}"
        )
    if np.isnan(s).any():
        raise EvaluationError(f"{what}: {int(np.isnan(s).sum())} NaN values; rescore the run")
    tar, non = s[y == 0], s[y == 1]
    if not tar.size or not non.size:
        raise EvaluationError(
            f"{what}: need bona fide and spoof trials, found {tar.size} bona fide and {non.size} spoof"
        )
    return tar, non


def min_dcf(scores: np.ndarray, labels: np.ndarray, params: DcfParams = TRACK1) -> DcfResult:
    """minDCF of (N,) scores (higher = more bona fide; any scale) over the official DET walk."""
    tar, non = split_classes(scores, labels, "minDCF")
    if not (np.isfinite(tar).all() and np.isfinite(non).all()):
        raise EvaluationError("minDCF: scores must be finite (inf found); rescore the run")
    curve = det_curve(tar, non)
    w_miss, w_fa = params.weights
    cost = w_miss * curve.frr + w_fa * curve.far  # (N + 1,)
    k = int(np.argmin(cost))  # first minimum, as the organisers' loop (strict <)
    return DcfResult(float(cost[k]), float(curve.thresholds[k]), float(curve.frr[k]), float(curve.far[k]))


def dcf_at(llr: np.ndarray, labels: np.ndarray, threshold: float, params: DcfParams = TRACK1) -> DcfResult:
    """Normalised DCF of the decisions "bona fide when llr >= threshold"."""
    tar, non = split_classes(llr, labels, "actDCF")
    p_miss = float(np.mean(tar < threshold))
    p_fa = float(np.mean(non >= threshold))
    w_miss, w_fa = params.weights
    return DcfResult(w_miss * p_miss + w_fa * p_fa, float(threshold), p_miss, p_fa)


def act_dcf(llr: np.ndarray, labels: np.ndarray, params: DcfParams = TRACK1) -> DcfResult:
    """actDCF of (N,) bona-fide-vs-spoof LLRs at the Bayes threshold ``params.llr_threshold``."""
    return dcf_at(llr, labels, params.llr_threshold, params)
