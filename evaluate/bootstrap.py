"""Stratified bootstrap of the official ASVspoof EER, vectorised over resamples.

A resample draws N_t bona fide trials from the N_t bona fide trials and N_n spoofs from the N_n spoofs, with
replacement (stratified: both counts are those of the condition, in every resample). A resample is a (N,) vector of
trial multiplicities, so R resamples are an (R, N) int array ``counts`` in trial order.

The EER of a resample equals ``eer.compute_eer`` on the materialised resample, exactly (tests check it trial by trial,
ties included), without sorting R times: the official walk over a resample is the walk over the trials sorted once
(stable, bona fide first — the official order), each trial stepped through as many times as it was drawn. Along the
walk D_k = N_n·(bona fide rejected) − N_t·(spoofs accepted) rises strictly, so |FRR − FAR| = |D| / (N_t·N_n) is
smallest at the last point with D < 0 or the first with D >= 0: cumulative counts locate the trial where D changes
sign, integer arithmetic the step inside it, and the two candidate points are compared in float64 as
``np.argmin`` does (first minimum on a tie). Cost per resample: O(N) (no sort), chunked to bound memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from codecfake.evaluate.errors import EvaluationError

__all__ = [
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "LEVEL",
    "Interval",
    "condition_rng",
    "stratified_counts",
    "resampled_eers",
    "bootstrap_eers",
    "percentile_interval",
    "eer_interval",
]

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 20250101  # fixed: a rerun on the same scores gives the same intervals
LEVEL = 0.95
_CHUNK_ELEMENTS = 4_000_000  # (rows x trials) per chunk: ~32 MB per int64 work array


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile bootstrap interval (same unit as ``value``: EER %)."""

    value: float
    lo: float
    hi: float

    @property
    def excludes_zero(self) -> bool:
        return bool(self.lo > 0 or self.hi < 0)

    def to_list(self) -> list[float]:
        return [self.lo, self.hi]


def condition_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of condition ``name``: depends on (seed, name) only, so a condition's resamples do not change
    with which other conditions were evaluated, and two runs compared on one condition draw the same resamples."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


def _chunk_rows(n_trials: int) -> int:
    return max(1, _CHUNK_ELEMENTS // max(1, n_trials))


def _class_layout(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """(N,) trial indices grouped by class (bona fide first, trial order within) and the number of bona fide."""
    y = np.asarray(labels).reshape(-1)
    bona, spoof = np.flatnonzero(y == 0), np.flatnonzero(y != 0)
    return np.concatenate([bona, spoof]), bona.size


def _count_chunks(labels: np.ndarray, resamples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """(rows, N + 1) int32 multiplicities per chunk in class layout (``_class_layout``) plus a zero column (the
    walk's padding points at it); rows depend on N only, so the draws are reproducible."""
    if resamples < 1:
        raise EvaluationError(
            f"the bootstrap needs at least 1 resample, got {resamples}; pass --resamples N >= 1"
        )
    layout, n_bona = _class_layout(labels)
    n = layout.size
    step = _chunk_rows(n)
    for a in range(0, resamples, step):
        rows = min(step, resamples - a)
        counts = np.zeros((rows, n + 1), dtype=np.int32)
        for lo, hi in (
            (0, n_bona),
            (n_bona, n),
        ):  # stratified: each class is drawn from itself, its size kept
            n_c = hi - lo
            if n_c:
                draws = rng.integers(0, n_c, size=(rows, n_c))  # (rows, n_c) indices in the class
                for k in range(rows):  # row by row: the bins of one row stay in cache
                    counts[k, lo:hi] = np.bincount(draws[k], minlength=n_c)
        yield counts


def stratified_counts(labels: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(R, N) int32 multiplicities in trial order: each row draws the bona fide and the spoof trials separately.

    Materialises all R rows (R x N x 4 bytes); ``bootstrap_eers`` streams the same draws chunk by chunk instead.
    """
    layout, _ = _class_layout(labels)
    out = np.empty((resamples, layout.size), dtype=np.int32)
    a = 0
    for chunk in _count_chunks(labels, resamples, rng):
        out[a : a + chunk.shape[0], layout] = chunk[:, :-1]
        a += chunk.shape[0]
    return out


def _walk_index(scores: np.ndarray, is_target: np.ndarray, column: np.ndarray, pad_column: int) -> tuple:
    """Columns of the counts in the official walk order (bona fide then spoof concatenated, stable sort by score),
    padded with ``pad_column`` (a zero column) to whole blocks of ~sqrt(N): ((m * b,) columns, (m * b,) bona fide
    mask, b). ``column[i]`` is trial i's column in the counts."""
    pos = np.concatenate([np.flatnonzero(is_target), np.flatnonzero(~is_target)])  # (N,)
    order = pos[np.argsort(scores[pos], kind="stable")]  # (N,) trial indices in walk order
    n = order.size
    b = max(16, int(np.sqrt(n)))
    m = -(-n // b)
    cols = np.full(m * b, pad_column, dtype=np.intp)
    cols[:n] = column[order]
    t = np.zeros(m * b, dtype=bool)
    t[:n] = is_target[order]
    return cols, t, b


def _walk_eers(w: np.ndarray, t: np.ndarray, b: int, n_t: int, n_n: int) -> np.ndarray:
    """EER fractions of (r, m * b) multiplicities ``w`` in walk order; ``t`` (m * b,) True where bona fide.

    Block sums locate the block of b trials where D turns >= 0; only that block is walked trial by trial.
    """
    r = w.shape[0]
    ct = np.cumsum(
        (w * t).reshape(r, -1, b).sum(axis=2), axis=1
    )  # (r, m) bona fide rejected after each block
    ck = np.cumsum(w.reshape(r, -1, b).sum(axis=2), axis=1)  # (r, m) trials rejected after each block
    blk = np.argmax(n_n * ct + n_t * (ck - ct) - n_t * n_n >= 0, axis=1)  # (r,) block holding the crossing
    rows = np.arange(r)
    prev = np.maximum(blk - 1, 0)
    tr0 = np.where(blk > 0, ct[rows, prev], 0)  # (r,) before the block
    k0 = np.where(blk > 0, ck[rows, prev], 0)
    cols = blk[:, None] * b + np.arange(b)  # (r, b)
    tb, wb = t[cols], w[rows[:, None], cols].astype(np.int64)
    tr = tr0[:, None] + np.cumsum(wb * tb, axis=1)  # (r, b) bona fide rejected after each trial of the block
    nr = (k0 - tr0)[:, None] + np.cumsum(wb * ~tb, axis=1)  # (r, b) spoofs rejected
    i = np.argmax(n_n * tr + n_t * nr - n_t * n_n >= 0, axis=1)  # (r,) the trial where D turns >= 0
    ti, wi, tr, nr = tb[rows, i], wb[rows, i], tr[rows, i], nr[rows, i]
    step = np.where(ti, n_n, n_t)  # D rises by N_n per bona fide step, N_t per spoof step
    d_before = n_n * tr + n_t * nr - n_t * n_n - wi * step
    j = (-d_before + step - 1) // step  # first step inside trial i with D >= 0, in 1..w_i
    tr0, nr0 = tr - (wi - j) * ti, nr - (wi - j) * ~ti
    tr1, nr1 = tr0 - ti, nr0 - ~ti  # the point one step earlier (D < 0)
    frr0, far0 = tr0 / n_t, (n_n - nr0) / n_n
    frr1, far1 = tr1 / n_t, (n_n - nr1) / n_n
    first = np.abs(frr1 - far1) <= np.abs(frr0 - far0)  # np.argmin keeps the first of equal minima
    return np.where(first, (frr1 + far1) / 2, (frr0 + far0) / 2)


def _check(scores: np.ndarray, t: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.shape[-1] != t.size:
        raise EvaluationError(f"bootstrap: {s.shape[-1]} scores but {t.size} labels")
    if not (t.any() and (~t).any()):
        raise EvaluationError(
            f"a bootstrap EER needs bona fide and spoof trials, found {int(t.sum())} bona fide and "
            f"{int((~t).sum())} spoof; evaluate a condition that holds both"
        )
    if not np.all(np.isfinite(s)):
        raise EvaluationError(
            f"bootstrap: {int(np.sum(~np.isfinite(s)))} non-finite scores; check the score file"
        )
    return s


def _eers_of_chunk(chunk: np.ndarray, walks: list[tuple], n_t: int, n_n: int) -> np.ndarray:
    """(r,) EER % of one chunk: min over the given walks (one, or two in paper mode: s and -s)."""
    return 100.0 * np.minimum.reduce([_walk_eers(chunk[:, c], t, b, n_t, n_n) for c, t, b in walks])


def resampled_eers(
    scores: np.ndarray, labels: np.ndarray, counts: np.ndarray, *, paper: bool = False
) -> np.ndarray:
    """(R,) EER % of (N,) ``scores`` / ``labels`` (0 bona fide) resampled by (R, N) ``counts`` in trial order
    (``stratified_counts``). ``paper``: min(EER(s), EER(-s)) per resample, the paper-mode value."""
    t = np.asarray(labels).reshape(-1) == 0
    s = _check(np.asarray(scores).reshape(-1), t)
    n_t, n_n = int(counts[0, t].sum()), int(counts[0, ~t].sum())
    ident = np.arange(s.size)
    walks = [_walk_index(v, t, ident, s.size) for v in ([s, -s] if paper else [s])]
    out = np.empty(counts.shape[0], dtype=np.float64)
    step = _chunk_rows(s.size)
    for a in range(0, counts.shape[0], step):
        chunk = np.concatenate(
            [counts[a : a + step], np.zeros((len(counts[a : a + step]), 1), np.int32)], axis=1
        )
        out[a : a + step] = _eers_of_chunk(chunk, walks, n_t, n_n)
    return out


def bootstrap_eers(
    scores: np.ndarray, labels: np.ndarray, resamples: int, rng: np.random.Generator, *, paper: bool = False
) -> np.ndarray:
    """(S, R) EER % of S score vectors (S, N) of the same N trials, all resampled by the same R stratified draws
    (paired: a resample keeps or drops a trial for every score vector at once). (N,) scores give (1, R)."""
    t = np.asarray(labels).reshape(-1) == 0
    s = _check(np.atleast_2d(scores), t)  # (S, N)
    n_t, n_n = int(t.sum()), int((~t).sum())
    layout, _ = _class_layout(np.where(t, 0, 1))
    column = np.empty(t.size, dtype=np.intp)
    column[layout] = np.arange(t.size)  # trial -> its column in the class layout of the counts
    walks = [[_walk_index(u, t, column, t.size) for u in ([v, -v] if paper else [v])] for v in s]
    out = np.empty((s.shape[0], resamples), dtype=np.float64)
    a = 0
    for chunk in _count_chunks(np.where(t, 0, 1), resamples, rng):
        for k, run_walks in enumerate(walks):
            out[k, a : a + chunk.shape[0]] = _eers_of_chunk(chunk, run_walks, n_t, n_n)
        a += chunk.shape[0]
    return out


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The (lo, hi) percentile interval of (R,) bootstrap ``samples`` at ``level`` (0.95: 2.5 % and 97.5 %)."""
    lo, hi = np.quantile(np.asarray(samples, dtype=np.float64), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def eer_interval(
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    name: str = "",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = LEVEL,
    paper: bool = False,
) -> tuple[Interval, np.ndarray]:
    """EER % of one condition with its stratified bootstrap interval, and the (R,) resampled EERs behind it."""
    from codecfake.eer import eer_both

    both = eer_both(scores, labels)
    value = 100.0 * (both.paper if paper else both.plain.eer)
    boot = bootstrap_eers(scores, labels, resamples, condition_rng(seed, name), paper=paper)[0]
    return Interval(value, *percentile_interval(boot, level)), boot
