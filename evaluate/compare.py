"""``codecfake compare RUN_A RUN_B``: is run B's EER really different from run A's? Paired bootstrap of ΔEER.

Both runs scored the same test trials (joined on utt_id; anything else is refused). Resample r draws the bona fide
and the spoof trials of a condition with replacement (stratified) and computes EER_B − EER_A on that one resample:
a trial that is hard for both runs moves both EERs together and cancels in the difference, so the paired interval is
narrower than two separate intervals suggest. CAVG / AVG: the mean over member conditions of ΔEER per resample.
A side may be several runs (seeds of one configuration): its EER per resample is then the mean over those runs, and
the interval is that of the difference of seed means over test-trial resampling (training-seed spread is not in it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from codecfake.eer import eer_both
from codecfake.evaluate.bootstrap import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    LEVEL,
    bootstrap_eers,
    condition_rng,
    percentile_interval,
)
from codecfake.evaluate.conditions import averages, sort_conditions
from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.intervals import align_trials, bootstrap_meta, load_run_scores

log = logging.getLogger(__name__)

__all__ = ["Delta", "Comparison", "paired_delta", "compare_runs", "render_comparison"]


@dataclass(frozen=True)
class Delta:
    """ΔEER = EER_B − EER_A (percentage points) of one condition or average, with its paired bootstrap interval."""

    name: str
    eer_a: float  # EER % of side A (mean over its runs)
    eer_b: float
    delta: float  # eer_b - eer_a
    lo: float
    hi: float
    n_bonafide: int  # trials per resample (for CAVG/AVG: summed over the members)
    n_spoof: int

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies wholly above or below 0: a difference this test set resolves."""
        return bool(self.lo > 0 or self.hi < 0)

    def to_dict(self) -> dict:
        return asdict(self) | {"excludes_zero": self.excludes_zero}


def _point(mat: np.ndarray, labels: np.ndarray, paper: bool) -> float:
    """Mean over the rows of (S, N) scores of the official EER %."""
    return float(np.mean([100 * eer_both(row, labels).value(paper) for row in mat]))


def _condition_delta(
    name: str,
    a: np.ndarray,
    b: np.ndarray,
    labels: np.ndarray,
    *,
    resamples: int,
    seed: int,
    level: float,
    paper: bool,
) -> tuple[Delta, np.ndarray, np.ndarray]:
    """Delta of one condition from (S_a, N) and (S_b, N) scores, and the (R,) resampled EERs of A and B."""
    boots = bootstrap_eers(np.vstack([a, b]), labels, resamples, condition_rng(seed, name), paper=paper)
    boot_a, boot_b = boots[: len(a)].mean(axis=0), boots[len(a) :].mean(axis=0)  # (R,) each
    eer_a, eer_b = _point(a, labels, paper), _point(b, labels, paper)
    lo, hi = percentile_interval(boot_b - boot_a, level)
    n_b = int(np.sum(labels == 0))
    return Delta(name, eer_a, eer_b, eer_b - eer_a, lo, hi, n_b, labels.size - n_b), boot_a, boot_b


def _with_averages(
    deltas: dict[str, Delta], boots: dict[str, tuple[np.ndarray, np.ndarray]], level: float
) -> dict[str, Delta]:
    """Add CAVG / AVG (members as ``conditions.averages``) to per-condition ``deltas``."""
    out = dict(deltas)
    for avg, a in averages({k: 0.0 for k in deltas}).items():
        if not a["over"]:
            continue
        members = [deltas[c] for c in a["over"]]
        diff = np.mean([boots[c][1] - boots[c][0] for c in a["over"]], axis=0)  # (R,)
        lo, hi = percentile_interval(diff, level)
        eer_a = float(np.mean([d.eer_a for d in members]))
        eer_b = float(np.mean([d.eer_b for d in members]))
        out[avg] = Delta(
            avg,
            eer_a,
            eer_b,
            eer_b - eer_a,
            lo,
            hi,
            sum(d.n_bonafide for d in members),
            sum(d.n_spoof for d in members),
        )
    return out


def paired_delta(
    scores_a: np.ndarray,
    scores_b: np.ndarray,
    labels: np.ndarray,
    conditions: np.ndarray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = LEVEL,
    paper: bool = False,
) -> dict[str, Delta]:
    """ΔEER = EER_B − EER_A per condition, then CAVG / AVG, each with its paired stratified bootstrap interval.

    ``scores_a`` / ``scores_b``: (N,) P(bona fide) of the same N trials (row i = the same trial in both), or
    (S, N) for S runs (seeds) per side, whose EERs are averaged; ``labels`` (N,) 0 = bona fide; ``conditions``
    (N,) condition names ("C1", "19LA" …). Returns ``{name: Delta}`` in the paper's column order; ``Delta.lo``,
    ``.hi`` in points, ``.excludes_zero``.
    """
    a, b = (
        np.atleast_2d(np.asarray(scores_a, dtype=np.float64)),
        np.atleast_2d(np.asarray(scores_b, dtype=np.float64)),
    )
    y, cond = np.asarray(labels).reshape(-1), np.asarray(conditions).astype(str).reshape(-1)
    if not (a.shape[1] == b.shape[1] == y.size == cond.size):
        raise EvaluationError(
            f"paired_delta needs one score per trial on both sides: {a.shape[1]} A scores, {b.shape[1]} B scores, "
            f"{y.size} labels, {cond.size} conditions"
        )
    deltas, boots = {}, {}
    for name in sort_conditions(sorted(set(cond.tolist()))):
        m = cond == name
        d, boot_a, boot_b = _condition_delta(
            name, a[:, m], b[:, m], y[m], resamples=resamples, seed=seed, level=level, paper=paper
        )
        deltas[name], boots[name] = d, (boot_a, boot_b)
    return _with_averages(deltas, boots, level)


@dataclass(frozen=True)
class Comparison:
    """What ``compare_runs`` found: the two sides (run dirs), the deltas, conditions only some runs have."""

    runs_a: list[str]
    runs_b: list[str]
    paper: bool
    bootstrap: dict
    deltas: dict[str, Delta]
    not_compared: dict[str, list[str]] = field(default_factory=dict)  # condition -> runs that lack it

    def to_dict(self) -> dict:
        return {
            "runs_a": self.runs_a,
            "runs_b": self.runs_b,
            "paper_mode": self.paper,
            "bootstrap": self.bootstrap,
            "deltas": {k: d.to_dict() for k, d in self.deltas.items()},
            "not_compared": self.not_compared,
        }


def compare_runs(
    runs_a: str | Path | Sequence[str | Path],
    runs_b: str | Path | Sequence[str | Path],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = LEVEL,
    paper: bool = False,
) -> Comparison:
    """Paired ΔEER of two evaluated runs (or two groups of seed runs) from their score files; see the module doc.

    Refuses (``TrialMismatch``) a condition whose trials differ between any two runs; conditions that some run
    lacks are left out, listed in ``not_compared`` and logged."""
    from codecfake.evaluate.report import load_report

    side_a = [str(runs_a)] if isinstance(runs_a, str | Path) else [str(r) for r in runs_a]
    side_b = [str(runs_b)] if isinstance(runs_b, str | Path) else [str(r) for r in runs_b]
    if not side_a or not side_b:
        raise EvaluationError("compare needs at least one run on each side: codecfake compare RUN_A RUN_B")
    runs = side_a + side_b
    scores = [load_run_scores(r, load_report(r)) for r in runs]
    every = sorted(set.union(*(set(s) for s in scores)))
    common = [c for c in every if all(c in s for s in scores)]
    missing = {c: [r for r, s in zip(runs, scores) if c not in s] for c in every if c not in common}
    for c, lacking in missing.items():
        log.warning("condition %s not compared: %s lack it", c, ", ".join(lacking))
    if not common:
        raise EvaluationError(
            f"runs {', '.join(runs)} have no evaluated condition in common; nothing to compare"
        )
    deltas, boots = {}, {}
    for name in sort_conditions(common):
        mat, labels = align_trials(name, [(r, s[name]) for r, s in zip(runs, scores)])
        d, boot_a, boot_b = _condition_delta(
            name,
            mat[: len(side_a)],
            mat[len(side_a) :],
            labels,
            resamples=resamples,
            seed=seed,
            level=level,
            paper=paper,
        )
        deltas[name], boots[name] = d, (boot_a, boot_b)
    return Comparison(
        side_a,
        side_b,
        paper,
        bootstrap_meta(resamples, seed, level),
        _with_averages(deltas, boots, level),
        missing,
    )


def _verdict(d: Delta) -> str:
    if d.hi < 0:
        return "**yes**: B lower"
    if d.lo > 0:
        return "**yes**: B higher"
    return "no"


def render_comparison(cmp: Comparison) -> str:
    """Markdown: one row per condition and average; the last column says whether the interval excludes 0."""
    meta = cmp.bootstrap
    lines = [
        "# Paired bootstrap ΔEER (B − A)",
        "",
        f"A = {', '.join(f'`{r}`' for r in cmp.runs_a)}; B = {', '.join(f'`{r}`' for r in cmp.runs_b)}. "
        f"EER % ({'paper mode: min(EER(s), EER(-s))' if cmp.paper else 'EER(s)'}); a side of several runs is their "
        f"mean. Δ = EER_B − EER_A in points; {100 * meta['level']:g} % paired bootstrap interval over "
        f"{meta['resamples']} resamples (seed {meta['seed']}): each resample draws the bona fide and the spoof "
        "trials of a condition with replacement and scores both runs on it; CAVG/AVG = mean Δ over their members.",
        "",
        "| condition | bona fide | spoof | EER A | EER B | Δ (B − A) | 95 % interval | excludes 0 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in cmp.deltas.values():
        lines.append(
            f"| {d.name} | {d.n_bonafide} | {d.n_spoof} | {d.eer_a:.3f} | {d.eer_b:.3f} | {d.delta:+.3f} "
            f"| [{d.lo:+.2f}, {d.hi:+.2f}] | {_verdict(d)} |"
        )
    if cmp.not_compared:
        lines += [
            "",
            "Not compared (some runs lack them): "
            + ", ".join(f"{c} ({', '.join(r)})" for c, r in cmp.not_compared.items())
            + ".",
        ]
    return "\n".join(lines) + "\n"
