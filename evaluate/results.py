"""Per-condition metrics from one condition's scores: EER both ways, confusion at 0.5 and at the dev-EER threshold."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from codecfake.eer import EerBoth, eer_both
from codecfake.evaluate.conditions import sort_conditions
from codecfake.evaluate.confusion import Confusion, confusion_at
from codecfake.evaluate.score_tsv import Scores

log = logging.getLogger(__name__)

__all__ = ["ConditionResult", "evaluate_condition", "condition_results", "INVERTED_MARK"]

INVERTED_MARK = "⚠inv"  # appended to a table cell whose condition the detector ranks backwards


@dataclass(frozen=True)
class ConditionResult:
    """Metrics of one condition; EERs in percent. ``inverted``: EER(-s) < EER(s) (the detector is backwards)."""

    name: str
    corpus: str
    n_bonafide: int
    n_spoof: int
    eer: float  # EER(s) %
    eer_flipped: float  # EER(-s) %
    eer_paper: float  # min of the two %
    inverted: bool
    eer_threshold: (
        float  # score threshold at this condition's own EER point (accept bona fide when score > it)
    )
    confusion_05: dict
    confusion_dev: dict | None  # at the dev-EER threshold of the run's dev split; None when no dev scores
    detail: dict[str, dict] = field(
        default_factory=dict
    )  # pooled sets: attack -> {eer, eer_flipped, inverted, n}

    def value(self, paper_mode: bool) -> float:
        """The EER % to put in a table."""
        return self.eer_paper if paper_mode else self.eer

    def to_dict(self) -> dict:
        return asdict(self)


def _both_summary(b: EerBoth) -> dict:
    return {"eer": 100 * b.plain.eer, "eer_flipped": 100 * b.flipped.eer, "inverted": b.inverted}


def _attack_detail(sc: Scores) -> dict[str, dict]:
    """Each attack's spoofs against every bona fide trial of the pooled set."""
    bona = sc.label == 0
    out = {}
    for attack in sorted(set(sc.condition[sc.label == 1].tolist())):
        keep = bona | ((sc.label == 1) & (sc.condition == attack))
        if not bona.any():
            break
        b = eer_both(sc.score[keep], sc.label[keep])
        out[attack] = _both_summary(b) | {"n_spoof": int(np.sum(keep & ~bona))}
    return out


def evaluate_condition(
    name: str, corpus: str, sc: Scores, *, pooled: bool = False, dev_threshold: float | None = None
) -> ConditionResult:
    """Metrics of one condition's (N,) scores; warns loudly when the scores are inverted on it."""
    both = eer_both(sc.score, sc.label)
    if both.inverted:
        log.warning(
            "INVERTED on %s: EER(-s) %.3f %% < EER(s) %.3f %% — the detector ranks this condition backwards; "
            "a paper-mode table (--paper) would report %.3f %%",
            name,
            100 * both.flipped.eer,
            100 * both.plain.eer,
            100 * both.paper,
        )
    dev: Confusion | None = None if dev_threshold is None else confusion_at(sc.score, sc.label, dev_threshold)
    return ConditionResult(
        name=name,
        corpus=corpus,
        n_bonafide=int(np.sum(sc.label == 0)),
        n_spoof=int(np.sum(sc.label == 1)),
        eer=100 * both.plain.eer,
        eer_flipped=100 * both.flipped.eer,
        eer_paper=100 * both.paper,
        inverted=both.inverted,
        eer_threshold=both.plain.threshold,
        confusion_05=confusion_at(sc.score, sc.label, 0.5).to_dict(),
        confusion_dev=None if dev is None else dev.to_dict(),
        detail=_attack_detail(sc) if pooled else {},
    )


def condition_results(scored: Sequence[Any], *, dev_threshold: float | None) -> list[ConditionResult]:
    """Metrics of every scored condition (``score_features.ScoredCondition``), in the paper's column order."""
    results = [
        evaluate_condition(
            s.name,
            s.condition.rows.corpus,
            s.scores,
            pooled=s.condition.rows.pooled,
            dev_threshold=dev_threshold,
        )
        for s in scored
    ]
    order = {n: k for k, n in enumerate(sort_conditions([r.name for r in results]))}
    return sorted(results, key=lambda r: order[r.name])
