"""Stratified bootstrap of every detection metric at once: EER, minDCF, actDCF, Cllr and minCllr.

The draws are those of ``bootstrap.bootstrap_eers`` — the same generator calls in the same order (per chunk of
resamples: every bona fide draw, then every spoof draw, as class-local trial indices) — so the EER samples here equal
the EER intervals' exactly, and all metrics of one resample are computed on the same trials. What differs is that no
per-trial multiplicity vector is built. The trials are sorted once in the official walk order (stable, bona fide
first) and cut into **segments**: maximal runs of one label that never cross the edge of a tie group holding both
labels. A resample's draws are counted per segment (one ``bincount`` into a few bins), and then:
- EER and minDCF walk the segments: a segment of one label drawn W times is W steps of the official walk, along
  which the cost is linear, so minDCF's minimum is at a segment end (or the walk's start, where it is w_fa);
  the EER comes from ``bootstrap._walk_eers`` with segments in place of trials (the same walk, point by point);
- minCllr runs PAV over the segments with each mixed tie group pooled into one unit (tied scores share one value;
  a run of one label needs no finer split: PAV gives equal targets one value) — the only per-resample loop;
- actDCF and Cllr sum a per-trial term (a miss / false-alarm indicator at the Bayes threshold, the Cllr cost) over the
  drawn trials.
Every value equals the plain function (``detection_cost``, ``cllr``, ``codecfake.eer``) on the materialised
resample (tests check it, ties included). Cost per resample: O(N) for the draws and counts, O(segments) after.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from codecfake.evaluate.bootstrap import _chunk_rows, _walk_eers
from codecfake.evaluate.cllr import LN2, _pav_blocks, pav_block_cllr
from codecfake.evaluate.detection_cost import TRACK1, DcfParams
from codecfake.evaluate.errors import EvaluationError

__all__ = ["METRICS", "LLR_METRICS", "bootstrap_metrics"]

METRICS: tuple[str, ...] = ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr")
LLR_METRICS = frozenset({"act_dcf", "cllr"})  # need LLR scores; the others use the ranking of the raw scores
_WALK_METRICS = frozenset({"eer", "min_dcf", "min_cllr"})


def _prepare(
    scores: np.ndarray, llr: np.ndarray | None, t: np.ndarray, metrics: Sequence[str]
) -> tuple[np.ndarray, np.ndarray | None]:
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    if s.shape[-1] != t.size:
        raise EvaluationError(f"bootstrap: {s.shape[-1]} scores but {t.size} labels")
    if not (t.any() and (~t).any()):
        raise EvaluationError(
            f"bootstrap: need bona fide and spoof trials, found {int(t.sum())} and {int((~t).sum())}"
        )
    if not np.isfinite(s).all():
        raise EvaluationError(
            f"bootstrap: {int((~np.isfinite(s)).sum())} non-finite scores; check the score file"
        )
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        raise EvaluationError(f"bootstrap: unknown metrics {unknown}; known: {list(METRICS)}")
    lr = None
    if LLR_METRICS & set(metrics):
        if llr is None:
            raise EvaluationError(
                f"bootstrap: {sorted(LLR_METRICS & set(metrics))} need LLR scores (llr=...)"
            )
        lr = np.atleast_2d(np.asarray(llr, dtype=np.float64))
        if lr.shape != s.shape or np.isnan(lr).any():
            raise EvaluationError(f"bootstrap: LLRs of shape {lr.shape} for scores {s.shape}, or NaN LLRs")
    return s, lr


class _Segments:
    """One score vector cut into walk segments (see the module doc).

    ``seg_b`` / ``seg_s``: (n_b,) / (n_s,) segment of each bona fide / spoof trial (class-local order, as drawn);
    ``is_bona`` (P,) per segment, padded with empty spoof segments to a multiple of the block size ``b`` of
    ``_walk_eers``; ``unit_ends``: (U,) index of the last segment of each PAV unit."""

    def __init__(self, s: np.ndarray, t: np.ndarray) -> None:
        pos = np.concatenate([np.flatnonzero(t), np.flatnonzero(~t)])
        order = pos[np.argsort(s[pos], kind="stable")]  # (N,) the official walk order
        ss, tt = s[order], t[order]
        n = ss.size
        new_group = np.r_[True, ss[1:] != ss[:-1]]
        group = np.cumsum(new_group) - 1
        n_bona = np.bincount(group, weights=tt)
        mixed = ((n_bona > 0) & (n_bona < np.bincount(group)))[group]  # (N,) trial in a two-class tie group
        label_change = np.r_[True, tt[1:] != tt[:-1]]
        seg_start = label_change | (new_group & (mixed | np.r_[False, mixed[:-1]]))
        seg = np.cumsum(seg_start) - 1  # (N,) segment of each walk position
        n_seg = int(seg[-1]) + 1
        seg_of_trial = np.empty(n, dtype=np.intp)
        seg_of_trial[order] = seg
        self.seg_b, self.seg_s = seg_of_trial[t], seg_of_trial[~t]
        self.b = max(16, int(np.sqrt(n_seg)))
        self.n_padded = -(-n_seg // self.b) * self.b
        self.is_bona = np.zeros(self.n_padded, dtype=bool)
        self.is_bona[:n_seg] = tt[seg_start]
        unit_start = seg_start & ~(mixed & ~new_group)  # a mixed group's spoof part joins its bona fide part
        self.unit_ends = np.r_[np.flatnonzero(unit_start[seg_start])[1:] - 1, n_seg - 1]

    def counts(self, db: np.ndarray, ds: np.ndarray) -> np.ndarray:
        """(r, P) draws per segment from (r, n_b) bona fide and (r, n_s) spoof class-local draws: per-trial counts
        first (``bincount``), then summed per segment (measured 3x faster than counting segment ids directly)."""
        n_b, n_s = self.seg_b.size, self.seg_s.size
        out = np.empty((db.shape[0], self.n_padded), dtype=np.int64)
        for k in range(db.shape[0]):
            per_b, per_s = np.bincount(db[k], minlength=n_b), np.bincount(ds[k], minlength=n_s)
            out[k] = np.bincount(self.seg_b, weights=per_b, minlength=self.n_padded) + np.bincount(
                self.seg_s, weights=per_s, minlength=self.n_padded
            )
        return out


def _min_dcf_rows(w: np.ndarray, is_bona: np.ndarray, n_t: int, n_n: int, params: DcfParams) -> np.ndarray:
    w_miss, w_fa = params.weights
    cost = w * np.where(is_bona, w_miss / n_t, -w_fa / n_n)  # (r, P) cost change over each segment
    np.cumsum(cost, axis=1, out=cost)
    return w_fa + np.minimum(cost.min(axis=1), 0.0)  # the walk's start: nothing rejected (P_miss 0, P_fa 1)


def _min_cllr_rows(w: np.ndarray, seg: _Segments) -> np.ndarray:
    bona = np.cumsum(w * seg.is_bona, axis=1)[:, seg.unit_ends]  # (r, U) cumulative at each unit's end
    every = np.cumsum(w, axis=1)[:, seg.unit_ends]
    t_u = np.diff(bona, axis=1, prepend=0).astype(np.float64)
    s_u = np.diff(every, axis=1, prepend=0).astype(np.float64) - t_u
    out = np.empty(w.shape[0])
    for k in range(w.shape[0]):
        t_b, s_b, _ = _pav_blocks(t_u[k], s_u[k])
        out[k] = pav_block_cllr(t_b, s_b)
    return out


def _llr_terms(lr: np.ndarray, t: np.ndarray, params: DcfParams) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-trial terms, (bona fide, spoof) in class-local order: ``act_dcf`` the miss / false-alarm indicator at the
    Bayes threshold, ``cllr`` the Cllr cost in nats."""
    thr = params.llr_threshold
    tar, non = lr[t], lr[~t]
    return {
        "act_dcf": ((tar < thr).astype(np.float64), (non >= thr).astype(np.float64)),
        "cllr": (np.logaddexp(0.0, -tar), np.logaddexp(0.0, non)),
    }


def _draw_chunks(
    n_t: int, n_n: int, resamples: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(r, n_t) bona fide and (r, n_n) spoof class-local draws per chunk: ``bootstrap._count_chunks``'s calls."""
    if resamples < 1:
        raise EvaluationError(
            f"the bootstrap needs at least 1 resample, got {resamples}; pass --resamples N >= 1"
        )
    step = _chunk_rows(n_t + n_n)
    for a in range(0, resamples, step):
        rows = min(step, resamples - a)
        yield rng.integers(0, n_t, size=(rows, n_t)), rng.integers(0, n_n, size=(rows, n_n))


def bootstrap_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    resamples: int,
    rng: np.random.Generator,
    *,
    llr: np.ndarray | None = None,
    params: DcfParams = TRACK1,
    metrics: Sequence[str] = METRICS,
) -> dict[str, np.ndarray]:
    """``{metric: (S, R)}`` over R stratified resamples of (N,) or (S, N) ``scores`` (S runs of the same trials,
    paired: the same draws for all). EER in %, minDCF/actDCF normalised, Cllr/minCllr in bits. ``llr`` (same
    shape as ``scores``) is needed for actDCF and Cllr; minDCF, EER and minCllr use the ranking of ``scores``."""
    t = np.asarray(labels).reshape(-1) == 0
    s, lr = _prepare(scores, llr, t, metrics)
    n_t, n_n = int(t.sum()), int((~t).sum())
    segs = [_Segments(v, t) for v in s] if _WALK_METRICS & set(metrics) else []
    terms = [_llr_terms(v, t, params) for v in lr] if lr is not None else []
    out = {m: np.empty((s.shape[0], resamples)) for m in metrics}
    w_miss, w_fa = params.weights
    a = 0
    for db, ds in _draw_chunks(n_t, n_n, resamples, rng):
        rows = slice(a, a + db.shape[0])
        for k, seg in enumerate(segs):
            w = seg.counts(db, ds)  # (r, P) draws per segment, in walk order
            if "eer" in metrics:
                out["eer"][k, rows] = 100.0 * _walk_eers(w, seg.is_bona, seg.b, n_t, n_n)
            if "min_dcf" in metrics:
                out["min_dcf"][k, rows] = _min_dcf_rows(w, seg.is_bona, n_t, n_n, params)
            if "min_cllr" in metrics:
                out["min_cllr"][k, rows] = _min_cllr_rows(w, seg)
        for k, term in enumerate(terms):
            if "act_dcf" in metrics:  # (r,) misses and false alarms among the drawn trials
                miss, fa = term["act_dcf"][0][db].sum(axis=1), term["act_dcf"][1][ds].sum(axis=1)
                out["act_dcf"][k, rows] = w_miss * miss / n_t + w_fa * fa / n_n
            if "cllr" in metrics:
                cost_t, cost_s = term["cllr"][0][db].sum(axis=1), term["cllr"][1][ds].sum(axis=1)
                out["cllr"][k, rows] = 0.5 * (cost_t / n_t + cost_s / n_n) / LN2
        a += db.shape[0]
    return out
