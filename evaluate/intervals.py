"""95 % bootstrap intervals for report tables: every condition's EER and the CAVG / AVG averages.

One run: each condition is resampled on its own (stratified, ``bootstrap.py``), R times; CAVG / AVG of resample r is
the mean over the member conditions of their r-th resampled EERs, so the averages' intervals carry every member's
sampling noise. Several runs that differ only by seed (one row of ``codecfake report``): the seeds scored the same
test trials, so resample r keeps or drops a trial for every seed at once, and the interval is that of the *seed mean*
EER over test-set resampling — it says how much the mean would move on another draw of test trials; the ``± std``
beside it says how much training seeds move it. Both are needed: neither contains the other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from codecfake.evaluate.bootstrap import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    LEVEL,
    bootstrap_eers,
    condition_rng,
    percentile_interval,
)
from codecfake.evaluate.conditions import averages
from codecfake.evaluate.errors import RunReportError, TrialMismatch
from codecfake.evaluate.run_outputs import RunOutputs
from codecfake.evaluate.score_tsv import Scores, read_scores

log = logging.getLogger(__name__)

__all__ = [
    "bootstrap_meta",
    "condition_boots",
    "boots_intervals",
    "attach_intervals",
    "load_run_scores",
    "align_trials",
    "group_intervals",
    "table_with_intervals",
]

MODES = {"plain": False, "paper": True}


def bootstrap_meta(resamples: int, seed: int, level: float = LEVEL) -> dict:
    """The ``bootstrap`` block of report.json: enough to reproduce every interval in it."""
    return {
        "resamples": int(resamples),
        "seed": int(seed),
        "level": float(level),
        "method": "percentile; bona fide and spoof trials resampled separately (stratified), per condition; "
        "CAVG/AVG = mean of the members' resampled EERs; official ASVspoof EER per resample",
    }


def condition_boots(
    name: str, scores: np.ndarray, labels: np.ndarray, *, resamples: int, seed: int, paper: bool
) -> np.ndarray:
    """(S, R) resampled EER % of one condition: (N,) or (S, N) scores (S runs of the same trials), same draws."""
    return bootstrap_eers(scores, labels, resamples, condition_rng(seed, name), paper=paper)


def boots_intervals(
    boots: Mapping[str, np.ndarray], level: float = LEVEL, names: Sequence[str] | None = None
) -> dict[str, list[float]]:
    """``{condition or CAVG/AVG: [lo, hi]}`` from ``{condition: (R,) resampled EER %}``. An average's members are
    those of ``conditions.averages`` over ``names`` (default: the conditions in ``boots``); it gets an interval only
    when every member has resampled EERs."""
    out = {k: list(percentile_interval(v, level)) for k, v in boots.items()}
    for avg, a in averages({k: 0.0 for k in (boots if names is None else names)}).items():
        if a["over"] and all(c in boots for c in a["over"]):
            out[avg] = list(percentile_interval(np.mean([boots[c] for c in a["over"]], axis=0), level))
    return out


def attach_intervals(
    report: dict,
    scores: Mapping[str, Scores],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = LEVEL,
) -> dict:
    """Add ``ci_eer`` / ``ci_eer_paper`` ([lo, hi] %) to each condition of a run's ``report``, ``ci`` to its
    ``averages.{plain,paper}.{CAVG,AVG}``, and the ``bootstrap`` block; returns ``report`` (changed in place)."""
    for mode, paper in MODES.items():
        boots = {
            c["name"]: condition_boots(
                c["name"],
                scores[c["name"]].score,
                scores[c["name"]].label,
                resamples=resamples,
                seed=seed,
                paper=paper,
            )[0]
            for c in report["conditions"]
        }
        ci = boots_intervals(boots, level)
        for c in report["conditions"]:
            c["ci_eer_paper" if paper else "ci_eer"] = ci[c["name"]]
        for avg, a in report["averages"][mode].items():
            a["ci"] = ci.get(avg)
    report["bootstrap"] = bootstrap_meta(resamples, seed, level)
    return report


def load_run_scores(run_dir: str | Path, report: dict) -> dict[str, Scores]:
    """The score files of every condition of an evaluated run (``runs/X/scores/<condition>.tsv``)."""
    outputs = RunOutputs(Path(run_dir))
    out = {}
    for c in report["conditions"]:
        path = outputs.score_file(c["name"])
        if not path.is_file():
            raise RunReportError(
                f"{path}: score file of condition {c['name']} not found; rerun `codecfake evaluate --run {run_dir}`"
            )
        out[c["name"]] = read_scores(path)
    return out


def align_trials(condition: str, runs: Sequence[tuple[str, Scores]]) -> tuple[np.ndarray, np.ndarray]:
    """Join several runs' scores of one condition on utt_id: ((S, N) scores, (N,) labels) in the first run's
    trial order. Refuses (``TrialMismatch``) unless every run scored exactly the same trials with the same labels."""
    (name0, first), rest = runs[0], runs[1:]
    ids = first.utt_id
    if len(set(ids.tolist())) != ids.size:
        raise TrialMismatch(
            f"condition {condition}: run {name0} has repeated utt_ids; a paired bootstrap needs unique trials"
        )
    pos = {u: i for i, u in enumerate(ids.tolist())}
    rows = [first.score]
    for name, sc in rest:
        common = sum(u in pos for u in sc.utt_id.tolist())
        if sc.utt_id.size != ids.size or common != ids.size:
            raise TrialMismatch(
                f"condition {condition}: runs {name0} and {name} scored different trials ({ids.size} vs "
                f"{sc.utt_id.size} trials, {common} in common); compare runs evaluated on the same test sets "
                "(`codecfake evaluate --run RUN --store STORE` with one store)"
            )
        idx = np.array([pos[u] for u in sc.utt_id.tolist()])
        if not np.array_equal(first.label[idx], sc.label):
            n_bad = int(np.sum(first.label[idx] != sc.label))
            raise TrialMismatch(
                f"condition {condition}: runs {name0} and {name} label {n_bad} shared trials differently; "
                "their feature sets come from different manifests, rebuild one of them"
            )
        row = np.empty(ids.size)
        row[idx] = sc.score
        rows.append(row)
    return np.stack(rows), first.label


def group_intervals(
    members: Sequence[dict],
    *,
    paper: bool,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = LEVEL,
) -> dict[str, list[float]]:
    """``{column: [lo, hi]}`` for one table row of run reports (``run_dir`` = where each run is now): a single
    run's stored intervals when they were made with these settings, else computed from the score files (several
    runs: the interval of the seed mean, see the module doc). A condition whose trials differ between seeds gets
    none (warned), and then neither do the averages it belongs to."""
    from codecfake.evaluate.report import stored_intervals

    if len(members) == 1:
        meta = members[0].get("bootstrap") or {}
        if (meta.get("resamples"), meta.get("seed"), meta.get("level")) == (resamples, seed, level):
            return stored_intervals(members[0], paper)
    try:
        scores = [(rep["run"], load_run_scores(rep["run_dir"], rep)) for rep in members]
    except RunReportError as err:
        log.warning("no intervals for %s: %s", ", ".join(rep["run"] for rep in members), err)
        return {}
    boots = {}
    every = sorted(set.union(*(set(s) for _, s in scores)))
    for cond in sorted(set.intersection(*(set(s) for _, s in scores))):
        try:
            mat, labels = align_trials(cond, [(name, s[cond]) for name, s in scores])
        except TrialMismatch as err:
            log.warning("no interval: %s", err)
            continue
        boots[cond] = condition_boots(cond, mat, labels, resamples=resamples, seed=seed, paper=paper).mean(
            axis=0
        )
    return boots_intervals(boots, level, every)


def table_with_intervals(
    reports: Sequence[dict],
    *,
    paper_mode: bool,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> str:
    """``report.multi_run_markdown`` with an interval in every cell (seed rows: the seed mean's); each report's
    ``run_dir`` must point at the run as it is now (its score files). ``resamples`` 0: the plain table."""
    from functools import partial

    from codecfake.evaluate.report import multi_run_markdown

    if resamples <= 0:
        return multi_run_markdown(reports, paper_mode=paper_mode)
    group_ci = partial(group_intervals, paper=paper_mode, resamples=resamples, seed=seed)
    return multi_run_markdown(
        reports, paper_mode=paper_mode, group_ci=group_ci, bootstrap=bootstrap_meta(resamples, seed)
    )
