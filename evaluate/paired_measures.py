"""EER measures over several trial sets, each scored by its own runs, with paired bootstrap intervals.

A *trial set* is one group of test trials (a condition, a held-out generator's fakes against the test bona fide, a
laundered condition of the robustness sweep) and the runs that scored it: side A's seeds and, for a comparison, side
B's seeds, in seed order. Which runs score a set may differ from set to set (each leave-one-out generator has its own
runs). A *measure* reduces the sets' EERs to one number:

- ``mean``: the mean EER over the sets (CAVG-like; the leave-one-generator-out mean; the sweep's mean);
- ``worst``: the sets grouped (e.g. by degradation), the mean over each group, then the highest group mean (the
  sweep's worst degradation, chosen on each resample and each seed, so its interval carries that choice).

Each set is resampled on its own (stratified, ``bootstrap.py``, the stream named by the set's key, as a condition's
is), the same draws for every run that scored it, so B − A per resample is paired. The point value of a side is its
seed mean; the per-seed values pair A's and B's runs of the same position (seed) and carry the training-seed spread
that the interval (test-trial resampling only) does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from codecfake.eer import eer_both
from codecfake.evaluate.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, LEVEL, percentile_interval
from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.intervals import align_trials, condition_boots
from codecfake.evaluate.score_tsv import Scores

__all__ = ["MeasureResult", "TrialSet", "measure", "reduce_eers"]

REDUCTIONS = ("mean", "worst")


@dataclass(frozen=True)
class TrialSet:
    """One set of trials and the runs that scored it (``load(run)`` gives the run's scores of these trials)."""

    key: str  # names the set's bootstrap stream, e.g. "C7", "held-out C3", "mp3:32k/C1"
    runs_a: tuple[str | Path, ...]
    load: Callable[[str | Path], Scores]
    runs_b: tuple[str | Path, ...] = ()
    group: str = ""  # ``worst``: the group this set belongs to (a degradation)


@dataclass(frozen=True)
class MeasureResult:
    """A measure of side A (and B): seed means, per-seed values, intervals; ``delta`` = B − A with its paired
    interval and per-seed differences (B's seed i − A's seed i) when a side B was given."""

    name: str
    value_a: float
    ci_a: tuple[float, float]
    per_seed_a: tuple[float, ...]
    value_b: float | None = None
    ci_b: tuple[float, float] | None = None
    per_seed_b: tuple[float, ...] = ()
    delta: float | None = None
    delta_ci: tuple[float, float] | None = None
    seed_deltas: tuple[float, ...] = ()
    groups: tuple[str, ...] = ()  # ``worst``: the group with the highest seed-mean EER on each side (A, B)
    n_sets: int = 0

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def reduce_eers(values: np.ndarray, groups: Sequence[str], how: str) -> np.ndarray:
    """(K, ...) EERs of K sets -> (...) measure: the mean over sets, or the highest group mean."""
    if how == "mean":
        return np.asarray(values.mean(axis=0))
    names = list(dict.fromkeys(groups))
    means = np.stack([values[[g == n for n in groups]].mean(axis=0) for g in names])
    return np.asarray(means.max(axis=0))


def _worst_group(values: np.ndarray, groups: Sequence[str]) -> str:
    names = list(dict.fromkeys(groups))
    return max(names, key=lambda g: float(values[[x == g for x in groups]].mean()))


def measure(
    name: str,
    sets: Sequence[TrialSet],
    *,
    how: str = "mean",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = LEVEL,
) -> MeasureResult:
    """The measure ``how`` over ``sets`` (module doc); raises ``EvaluationError`` when a set's runs scored
    different trials or the sides' seed counts differ between sets."""
    if how not in REDUCTIONS or not sets:
        raise EvaluationError(
            f"measure {name}: needs sets and one of {REDUCTIONS}, got {len(sets)} sets, {how!r}"
        )
    n_a, n_b = len(sets[0].runs_a), len(sets[0].runs_b)
    if any((len(s.runs_a), len(s.runs_b)) != (n_a, n_b) for s in sets) or not n_a:
        raise EvaluationError(f"measure {name}: every trial set needs the same number of runs on each side")
    points, boots = [], []  # per set: (n_a + n_b,) EER % of each run; (n_a + n_b, R) resampled
    for s in sets:
        runs = [*s.runs_a, *s.runs_b]
        mat, labels = align_trials(s.key, [(str(r), s.load(r)) for r in runs])
        points.append([100 * eer_both(row, labels).plain.eer for row in mat])
        boots.append(condition_boots(s.key, mat, labels, resamples=max(resamples, 1), seed=seed, paper=False))
    pt, bt = np.asarray(points), np.asarray(boots)  # (K, S), (K, S, R)
    groups = [s.group for s in sets]
    per_run = reduce_eers(pt, groups, how)  # (S,)
    side_a = reduce_eers(bt[:, :n_a].mean(axis=1), groups, how)  # (R,) of the seed-mean EERs
    value_a = float(reduce_eers(pt[:, :n_a].mean(axis=1), groups, how))
    worst_a = (_worst_group(pt[:, :n_a].mean(axis=1), groups),) if how == "worst" else ()
    result = MeasureResult(
        name=name,
        value_a=value_a,
        ci_a=percentile_interval(side_a, level),
        per_seed_a=tuple(float(v) for v in per_run[:n_a]),
        groups=worst_a,
        n_sets=len(sets),
    )
    if not n_b:
        return result
    side_b = reduce_eers(bt[:, n_a:].mean(axis=1), groups, how)
    value_b = float(reduce_eers(pt[:, n_a:].mean(axis=1), groups, how))
    worst_b = (_worst_group(pt[:, n_a:].mean(axis=1), groups),) if how == "worst" else ()
    return replace(
        result,
        value_b=value_b,
        ci_b=percentile_interval(side_b, level),
        per_seed_b=tuple(float(v) for v in per_run[n_a:]),
        delta=value_b - value_a,
        delta_ci=percentile_interval(side_b - side_a, level),
        seed_deltas=tuple(float(per_run[n_a + i] - per_run[i]) for i in range(min(n_a, n_b))),
        groups=worst_a + worst_b,
    )
