"""Bootstrap intervals of open-set metrics: AUROC and FPR at 95 % TPR of known vs unknown clips, per scorer, and
their mean over several held-out generators.

Resampling is stratified (each resample draws n_known known clips from the known ones and n_unknown unknown clips
from the unknown ones, with replacement), as the EER intervals do (``bootstrap.stratified_counts``). A resample is a
vector of clip multiplicities, so every scorer is measured on the **same** resamples: differences between scorers
are paired. With multiplicities w, AUROC_r = w_u C w_k / (n_u n_k), C[u, k] = 1(u > k) + 1/2 1(u = k); FPR95_r
counts the unknown clips at or below the resample's own 95 % order statistic of the known scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from codecfake.evaluate.bootstrap import Interval, condition_rng, percentile_interval, stratified_counts
from codecfake.evaluate.trace_metrics import DEFAULT_KEEP, auroc, fpr_at_tpr

__all__ = ["resampled_open_set", "open_set_intervals", "mean_intervals"]


def resampled_open_set(
    known: np.ndarray, unknown: np.ndarray, counts: np.ndarray, tpr: float = DEFAULT_KEEP
) -> tuple[np.ndarray, np.ndarray]:
    """(R,) AUROC and (R,) FPR at ``tpr`` of the resamples ``counts`` (R, n_known + n_unknown) (known first)."""
    k, u = np.asarray(known, np.float64), np.asarray(unknown, np.float64)
    wk, wu = (
        counts[:, : len(k)].astype(np.float64),
        counts[:, len(k) :].astype(np.float64),
    )  # (R, nk), (R, nu)
    c = (u[:, None] > k[None, :]) + 0.5 * (u[:, None] == k[None, :])  # (nu, nk)
    aur = ((wu @ c) * wk).sum(axis=1) / (len(u) * len(k))
    order = np.argsort(k, kind="stable")
    cum = np.cumsum(wk[:, order], axis=1)  # (R, nk): known clips at or below each sorted score
    m = np.ceil(tpr * len(k) - 1e-9)
    thr = k[order][np.argmax(cum >= m, axis=1)]  # (R,) the resample's order statistic
    fpr = (wu * (u[None, :] <= thr[:, None])).sum(axis=1) / len(u)
    return aur, fpr


def open_set_intervals(
    known: Mapping[str, np.ndarray],
    unknown: Mapping[str, np.ndarray],
    *,
    name: str,
    resamples: int,
    seed: int,
) -> tuple[dict[str, dict[str, Interval]], dict[str, dict[str, np.ndarray]]]:
    """Per scorer {"auroc": Interval, "fpr95": Interval} over known vs unknown clips of condition ``name``, and the
    (R,) resampled values behind them. The draws depend on (seed, name) and the clip counts only."""
    scorers = list(known)
    n_k, n_u = len(known[scorers[0]]), len(unknown[scorers[0]])
    labels = np.r_[np.zeros(n_k, np.int64), np.ones(n_u, np.int64)]
    counts = stratified_counts(labels, resamples, condition_rng(seed, name))  # (R, n_k + n_u), shared
    points, samples = {}, {}
    for s in scorers:
        a, f = resampled_open_set(known[s], unknown[s], counts)
        samples[s] = {"auroc": a, "fpr95": f}
        points[s] = {
            "auroc": Interval(auroc(known[s], unknown[s]), *percentile_interval(a)),
            "fpr95": Interval(fpr_at_tpr(known[s], unknown[s]), *percentile_interval(f)),
        }
    return points, samples


def mean_intervals(
    points: Sequence[Mapping[str, Mapping[str, Interval]]],
    samples: Sequence[Mapping[str, Mapping[str, np.ndarray]]],
) -> dict[str, dict[str, Interval]]:
    """Per scorer and metric, the mean over the groups (held-out generators) with the percentile interval of the
    per-resample means (each group resampled independently)."""
    out: dict[str, dict[str, Interval]] = {}
    for s in points[0]:
        out[s] = {}
        for m in points[0][s]:
            value = float(np.mean([p[s][m].value for p in points]))
            boot = np.mean([smp[s][m] for smp in samples], axis=0)
            out[s][m] = Interval(value, *percentile_interval(boot))
    return out
