"""A dev-set EER for model monitoring (the official, reported EER lives in codecfake.evaluate; evaluate imports
train, so train keeps this small local copy of the ASVspoof algorithm instead of importing it)."""

from __future__ import annotations

import numpy as np


def eer_percent(scores: np.ndarray, labels: np.ndarray) -> float:
    """EER in % with bona fide (label 0) as target and score = P(bona fide); NaN when a class is missing.

    ASVspoof ``compute_eer``: sort all scores (stable), FRR/FAR per threshold prefixed with (0, 1), EER =
    mean(FRR, FAR) where |FRR - FAR| is smallest.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    target, nontarget = scores[labels == 0], scores[labels == 1]
    if not len(target) or not len(nontarget):
        return float("nan")
    all_scores = np.concatenate([target, nontarget])
    is_target = np.concatenate([np.ones(len(target)), np.zeros(len(nontarget))])
    order = np.argsort(all_scores, kind="mergesort")
    is_target = is_target[order]
    tar_cum = np.cumsum(is_target)
    non_cum = len(nontarget) - (np.arange(1, len(is_target) + 1) - tar_cum)
    frr = np.concatenate([[0.0], tar_cum / len(target)])
    far = np.concatenate([[1.0], non_cum / len(nontarget)])
    i = int(np.argmin(np.abs(frr - far)))
    return float(100.0 * (frr[i] + far[i]) / 2.0)
