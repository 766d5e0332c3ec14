"""The ASVspoof 5 era's metrics of one run, for report.json / report.md: per condition, and for the sets a
leaderboard reports — **averaged** (the mean of the members' values, as CAVG) and **pooled** (all members' trials
under one threshold) — each with its 95 % stratified bootstrap interval.

Per condition: EER (%, plain orientation), minDCF and actDCF at the cost model (default ASVspoof 5 Track 1), Cllr and
minCllr (bits). minDCF, minCllr and EER use the raw scores' ranking; actDCF and Cllr the LLR column of a calibrated
run, else logit(P(bona fide)) — which the block states (``llr``), since an uncalibrated run's actDCF and Cllr are
those of its raw posterior. Sets: the paper's CAVG (C1..C7) and AVG (19LA, ITW, C1..C7) over the members present,
and every corpus with several conditions (ASVspoof 5's codec conditions, ASVspoof 2021's, CodecFake+'s) under its
display name (``ASV5``: its pooled set is Track 1's primary number). An averaged set's interval resamples every member
on its own and averages per resample; a pooled set is resampled as one condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codecfake.corpus.kinds import display_name
from codecfake.eer import eer_from_labels
from codecfake.evaluate.bootstrap import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    LEVEL,
    condition_rng,
    percentile_interval,
)
from codecfake.evaluate.cllr import cllr, min_cllr
from codecfake.evaluate.conditions import AVG_CONDITIONS, CODEC_CONDITIONS, sort_conditions
from codecfake.evaluate.detection_cost import TRACK1, DcfParams, act_dcf, min_dcf
from codecfake.evaluate.metric_bootstrap import METRICS, bootstrap_metrics
from codecfake.evaluate.run_calibration import llr_of
from codecfake.evaluate.score_tsv import Scores

__all__ = [
    "MetricConfig",
    "DEFAULT_METRICS",
    "METRIC_LABELS",
    "condition_metrics",
    "detection_block",
    "metric_sets",
]

METRIC_LABELS = {
    "eer": "EER %",
    "min_dcf": "minDCF",
    "act_dcf": "actDCF",
    "cllr": "Cllr",
    "min_cllr": "minCllr",
}


@dataclass(frozen=True)
class MetricConfig:
    params: DcfParams = field(default_factory=lambda: TRACK1)
    resamples: int = DEFAULT_RESAMPLES  # 0: no intervals
    seed: int = DEFAULT_SEED
    level: float = LEVEL


DEFAULT_METRICS = MetricConfig()


def condition_metrics(
    name: str, sc: Scores, cfg: MetricConfig = DEFAULT_METRICS
) -> tuple[dict, dict[str, np.ndarray]]:
    """(the condition's metrics, ``{metric: (R,) resampled values}``; empty without resamples)."""
    llr, source = llr_of(sc)
    md, ad = min_dcf(sc.score, sc.label, cfg.params), act_dcf(llr, sc.label, cfg.params)
    out = {
        "name": name,
        "n_bonafide": int(np.sum(sc.label == 0)),
        "n_spoof": int(np.sum(sc.label == 1)),
        "llr": source,
        "eer": eer_from_labels(sc.score, sc.label).eer_percent,
        "min_dcf": md.value,
        "min_dcf_threshold": md.threshold,
        "act_dcf": ad.value,
        "act_dcf_threshold": ad.threshold,
        "act_dcf_p_miss": ad.p_miss,
        "act_dcf_p_fa": ad.p_fa,
        "cllr": cllr(llr, sc.label),
        "min_cllr": min_cllr(sc.score, sc.label),
    }
    boots: dict[str, np.ndarray] = {}
    if cfg.resamples > 0:
        raw = bootstrap_metrics(
            sc.score, sc.label, cfg.resamples, condition_rng(cfg.seed, name), llr=llr, params=cfg.params
        )
        boots = {m: v[0] for m, v in raw.items()}
        out["ci"] = {m: list(percentile_interval(v, cfg.level)) for m, v in boots.items()}
    return out, boots


def metric_sets(conditions: Mapping[str, str]) -> dict[str, list[str]]:
    """``{set name: member conditions}`` from ``{condition: corpus}``: CAVG / AVG over the members present, and each
    corpus of two or more conditions under its display name (never clashing with a condition's own name)."""
    sets = {}
    for name, members in (("CAVG", CODEC_CONDITIONS), ("AVG", AVG_CONDITIONS)):
        present = [c for c in members if c in conditions]
        if len(present) > 1:
            sets[name] = present
    by_corpus: dict[str, list[str]] = {}
    for cond, corpus in conditions.items():
        by_corpus.setdefault(corpus, []).append(cond)
    for corpus, conds in by_corpus.items():
        label = display_name(corpus)
        if corpus and len(conds) > 1 and label not in conditions and label not in sets:
            sets[label] = conds
    return sets


def _concat(parts: list[Scores]) -> Scores:
    llr = None if any(p.llr is None for p in parts) else np.concatenate([p.llr for p in parts])
    return Scores(
        np.concatenate([p.utt_id for p in parts]),
        np.concatenate([p.score for p in parts]),
        np.concatenate([p.label for p in parts]),
        np.concatenate([p.condition for p in parts]),
        llr,
    )


def detection_block(
    scores: Mapping[str, Scores], corpus_of: Mapping[str, str], cfg: MetricConfig = DEFAULT_METRICS
) -> dict:
    """report.json's ``detection``: ``conditions`` (one dict per condition, in the paper's order), ``sets``
    (``{name: {"members", "averaged", "pooled"}}``) and the cost model / bootstrap settings used."""
    per, boots = {}, {}
    for name in sort_conditions(list(scores)):
        sc = scores[name]
        per[name], boots[name] = condition_metrics(name, sc, cfg)
    sets = {}
    for set_name, members in metric_sets({c: corpus_of.get(c, "") for c in scores}).items():
        averaged: dict[str, Any] = {m: float(np.mean([per[c][m] for c in members])) for m in METRICS}
        if cfg.resamples > 0:
            averaged["ci"] = {
                m: list(percentile_interval(np.mean([boots[c][m] for c in members], axis=0), cfg.level))
                for m in METRICS
            }
        pooled, _ = condition_metrics(f"pooled:{set_name}", _concat([scores[c] for c in members]), cfg)
        sets[set_name] = {"members": members, "averaged": averaged, "pooled": pooled}
    return {
        "cost_model": cfg.params.to_dict() | {"llr_threshold": cfg.params.llr_threshold},
        "bootstrap": {"resamples": cfg.resamples, "seed": cfg.seed, "level": cfg.level},
        "conditions": list(per.values()),
        "sets": sets,
    }


def attack_breakdown(
    scores: Mapping[str, Scores],
    methods: Mapping[str, np.ndarray],
    corpus_of: Mapping[str, str],
    params: DcfParams = TRACK1,
) -> dict[str, dict[str, dict]]:
    """Per corpus whose conditions are codecs (ASVspoof 5, 2021, CodecFake+): each attack's spoofs (``methods``:
    condition -> (N,) per-trial method, as the feature set's metadata holds it) against all the corpus' bona fide
    trials, pooled over its conditions: ``{corpus display name: {attack: {n_spoof, eer, min_dcf}}}``. The attacks
    table beside the codec table; corpora whose spoofs carry one method each condition add nothing and are left out."""
    by_corpus: dict[str, list[str]] = {}
    for cond in scores:
        if cond in methods:
            by_corpus.setdefault(corpus_of.get(cond, ""), []).append(cond)
    out: dict[str, dict[str, dict]] = {}
    for corpus, conds in by_corpus.items():
        s = np.concatenate([scores[c].score for c in conds])
        y = np.concatenate([scores[c].label for c in conds])
        m = np.concatenate([np.asarray(methods[c]).astype(str) for c in conds])
        trial_cond = np.concatenate([np.full(scores[c].label.size, c) for c in conds])
        spoof = y == 1
        if all(len(set(m[spoof & (trial_cond == c)].tolist())) <= 1 for c in conds):
            continue  # one method per condition (Codecfake's codecs): the condition table says it all
        attacks = sorted(set(m[spoof].tolist()))
        rows = {}
        for a in attacks:
            keep = (y == 0) | ((y == 1) & (m == a))
            rows[a] = {
                "n_spoof": int(np.sum((y == 1) & (m == a))),
                "eer": eer_from_labels(s[keep], y[keep]).eer_percent,
                "min_dcf": min_dcf(s[keep], y[keep], params).value,
            }
        out[display_name(corpus)] = rows
    return out
