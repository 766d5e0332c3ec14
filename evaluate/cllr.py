"""Log-likelihood-ratio cost: Cllr of LLR scores and minCllr by the pool-adjacent-violators (PAV) algorithm.

Definitions (Brümmer & du Preez, "Application-independent evaluation of speaker detection", Computer Speech and
Language 20, 2006; used as a secondary metric of ASVspoof 5), bona fide = target, LLR = log p(x|bona fide) /
p(x|spoof), in bits:

    Cllr    = ½ [ mean over bona fide of log2(1 + e^(−LLR)) + mean over spoof of log2(1 + e^(LLR)) ]
    minCllr = Cllr of the best monotone re-mapping of the scores: PAV fits P(bona fide | score) non-decreasing in
              the score (tied scores pooled first, so they share one value), and the LLR of a block holding T bona
              fide and S spoof trials is log(T / S) − log(N_bonafide / N_spoof) (±inf for a one-class block, whose
              trials then cost nothing)

Cllr = 0 for perfect, calibrated, infinitely confident scores; 1 bit for a system that always says LLR = 0;
unbounded for confident wrong scores. Cllr − minCllr is the calibration loss; minCllr depends only on the ranking.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import isotonic_regression

from codecfake.evaluate.detection_cost import split_classes

__all__ = ["cllr", "min_cllr", "pav_llr", "pav_block_cllr", "tie_groups"]

LN2 = math.log(2.0)


def cllr(llr: np.ndarray, labels: np.ndarray) -> float:
    """Cllr in bits of (N,) bona-fide-vs-spoof LLRs with labels 0 = bona fide, 1 = spoof."""
    tar, non = split_classes(llr, labels, "Cllr")
    return float(0.5 * (np.mean(np.logaddexp(0.0, -tar)) + np.mean(np.logaddexp(0.0, non))) / LN2)


def tie_groups(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(G,) unique scores ascending, (G,) bona fide count and (G,) spoof count of each tie group."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    uniq, inv = np.unique(s, return_inverse=True)
    n_bona = np.bincount(inv, weights=(y == 0), minlength=uniq.size)
    return uniq, n_bona, np.bincount(inv, minlength=uniq.size) - n_bona


def _pav_blocks(n_bona: np.ndarray, n_spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PAV over groups in score order with (G,) bona fide / spoof weights (groups of weight 0 are skipped):
    (B,) bona fide and spoof totals per block and the (G,) block index of each group (−1 for an empty group)."""
    w = n_bona + n_spoof
    keep = np.flatnonzero(w > 0)
    fit = isotonic_regression(n_bona[keep] / w[keep], weights=w[keep], increasing=True)
    starts = np.asarray(fit.blocks[:-1])
    t_b = np.add.reduceat(n_bona[keep], starts)
    s_b = np.add.reduceat(n_spoof[keep], starts)
    block = np.full(w.size, -1, dtype=np.int64)
    block[keep] = np.repeat(np.arange(starts.size), np.diff(np.asarray(fit.blocks)))
    return t_b, s_b, block


def pav_block_cllr(t_b: np.ndarray, s_b: np.ndarray) -> float:
    """minCllr in bits from PAV blocks holding (B,) bona fide and (B,) spoof counts (one class may be 0 per block)."""
    n_t, n_s = float(t_b.sum()), float(s_b.sum())
    mix = t_b * n_s + s_b * n_t  # block's denominator of the posterior at prior ½, times n_t · n_s
    with np.errstate(divide="ignore", invalid="ignore"):
        cost_t = np.where(t_b > 0, t_b * np.log(mix / np.where(t_b > 0, t_b * n_s, 1.0)), 0.0)
        cost_s = np.where(s_b > 0, s_b * np.log(mix / np.where(s_b > 0, s_b * n_t, 1.0)), 0.0)
    return float(0.5 * (cost_t.sum() / n_t + cost_s.sum() / n_s) / LN2)


def min_cllr(scores: np.ndarray, labels: np.ndarray) -> float:
    """minCllr in bits of (N,) scores (higher = more bona fide; any scale), labels 0 = bona fide, 1 = spoof."""
    split_classes(scores, labels, "minCllr")
    _, n_bona, n_spoof = tie_groups(scores, labels)
    t_b, s_b, _ = _pav_blocks(n_bona, n_spoof)
    return pav_block_cllr(t_b, s_b)


def pav_llr(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) the PAV-optimal LLR of each trial (±inf in one-class blocks): the oracle calibration behind minCllr."""
    tar, non = split_classes(scores, labels, "PAV")
    uniq, n_bona, n_spoof = tie_groups(scores, labels)
    t_b, s_b, block = _pav_blocks(n_bona, n_spoof)
    with np.errstate(divide="ignore"):
        block_llr = np.log(t_b) - np.log(s_b) - math.log(tar.size / non.size)
    return block_llr[block[np.searchsorted(uniq, np.asarray(scores, dtype=np.float64).reshape(-1))]]
