"""``codecfake compare``'s second half: paired bootstrap deltas of minDCF, actDCF and Cllr (B − A), beside ΔEER.

The same pairing as ``compare.py``: both runs' score files joined on utt_id, every resample drawn once per condition
(``condition_rng(seed, name)``: the draws of the EER comparison) and every metric of both sides computed on it
(``metric_bootstrap``); a side of several seed runs is their mean. CAVG / AVG: the mean delta over their members
per resample. actDCF and Cllr use each run's LLR column when calibrated, else logit(P(bona fide)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from codecfake.evaluate.bootstrap import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    LEVEL,
    condition_rng,
    percentile_interval,
)
from codecfake.evaluate.cllr import cllr, min_cllr
from codecfake.evaluate.conditions import averages, sort_conditions
from codecfake.evaluate.detection_cost import TRACK1, DcfParams, act_dcf, min_dcf
from codecfake.evaluate.intervals import align_trials, load_run_scores
from codecfake.evaluate.metric_bootstrap import bootstrap_metrics
from codecfake.evaluate.run_calibration import llr_of

__all__ = ["COMPARED", "MetricDelta", "compare_metrics", "render_metric_deltas"]

COMPARED = ("min_dcf", "act_dcf", "cllr", "min_cllr")
_LABEL = {"min_dcf": "minDCF", "act_dcf": "actDCF", "cllr": "Cllr", "min_cllr": "minCllr"}


@dataclass(frozen=True)
class MetricDelta:
    name: str
    metric: str
    a: float
    b: float
    delta: float
    lo: float
    hi: float

    @property
    def excludes_zero(self) -> bool:
        return bool(self.lo > 0 or self.hi < 0)

    def to_dict(self) -> dict:
        return asdict(self) | {"excludes_zero": self.excludes_zero}


def _points(scores: np.ndarray, llr: np.ndarray, labels: np.ndarray, params: DcfParams) -> dict[str, float]:
    """Side means over the rows of (S, N) scores / LLRs."""
    per = [
        {
            "min_dcf": min_dcf(s, labels, params).value,
            "act_dcf": act_dcf(v, labels, params).value,
            "cllr": cllr(v, labels),
            "min_cllr": min_cllr(s, labels),
        }
        for s, v in zip(scores, llr, strict=True)
    ]
    return {m: float(np.mean([p[m] for p in per])) for m in COMPARED}


def compare_metrics(
    runs_a: Sequence[str | Path],
    runs_b: Sequence[str | Path],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = LEVEL,
    params: DcfParams = TRACK1,
) -> dict[str, dict[str, MetricDelta]]:
    """``{metric: {condition or CAVG/AVG: MetricDelta}}`` over the conditions every run evaluated."""
    from codecfake.evaluate.report import load_report

    runs = [str(r) for r in [*runs_a, *runs_b]]
    n_a = len(runs_a)
    loaded = [load_run_scores(r, load_report(r)) for r in runs]
    common = sort_conditions([c for c in loaded[0] if all(c in s for s in loaded)])
    out: dict[str, dict[str, MetricDelta]] = {m: {} for m in COMPARED}
    diffs: dict[str, dict[str, np.ndarray]] = {m: {} for m in COMPARED}
    for name in common:
        mat, labels = align_trials(name, [(r, s[name]) for r, s in zip(runs, loaded, strict=True)])
        as_llr = [replace(s[name], score=llr_of(s[name])[0]) for s in loaded]
        llr, _ = align_trials(name, list(zip(runs, as_llr, strict=True)))
        boots = bootstrap_metrics(
            mat, labels, resamples, condition_rng(seed, name), llr=llr, params=params, metrics=COMPARED
        )
        pa, pb = _points(mat[:n_a], llr[:n_a], labels, params), _points(mat[n_a:], llr[n_a:], labels, params)
        for m in COMPARED:
            d = boots[m][n_a:].mean(axis=0) - boots[m][:n_a].mean(axis=0)  # (R,)
            diffs[m][name] = d
            out[m][name] = MetricDelta(name, m, pa[m], pb[m], pb[m] - pa[m], *percentile_interval(d, level))
    for m in COMPARED:
        for avg, a in averages(dict.fromkeys(out[m], 0.0)).items():
            if a["over"]:
                members = [out[m][c] for c in a["over"]]
                lo, hi = percentile_interval(np.mean([diffs[m][c] for c in a["over"]], axis=0), level)
                va, vb = float(np.mean([x.a for x in members])), float(np.mean([x.b for x in members]))
                out[m][avg] = MetricDelta(avg, m, va, vb, vb - va, lo, hi)
    return out


def render_metric_deltas(deltas: dict[str, dict[str, MetricDelta]]) -> str:
    """One markdown table: condition × (minDCF, actDCF, Cllr, minCllr) Δ (B − A) [interval], `*` = excludes 0."""
    names = list(next(iter(deltas.values())).keys()) if deltas else []
    head = "| condition | " + " | ".join(f"{_LABEL[m]} A → B | Δ [95 %]" for m in deltas) + " |"
    lines = [
        "",
        "## Paired deltas of the ASVspoof 5 metrics (B − A)",
        "",
        "Same resamples as ΔEER; `*` = the interval excludes 0 (a difference this test set resolves).",
        "",
        head,
        "|---|" + "---|---|" * len(deltas),
    ]
    for n in names:
        cells = []
        for m in deltas:
            d = deltas[m][n]
            cells.append(
                f"{d.a:.4f} → {d.b:.4f} | {d.delta:+.4f} [{d.lo:+.4f}, {d.hi:+.4f}]{'*' if d.excludes_zero else ''}"
            )
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
