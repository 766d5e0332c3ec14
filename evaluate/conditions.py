"""Which test rows form which evaluation condition, and the paper's averages over conditions.

Grouping (docs/INTERFACES.md): a corpus whose bona fide test rows carry the same condition names as its spoof rows
(Codecfake style: C1..C7, A1..A3 each with its own reals) is reported per condition. Otherwise (ASVspoof / In-the-Wild
style: bona fide rows say "bonafide", spoofs the attack id) the whole test split is pooled under the corpus' display
name, which the corpus layer owns (``codecfake.corpus.kinds.display_name``: "19LA", "ITW"), and the attacks become
per-attack detail (each attack's spoofs against all bona fide).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codecfake.corpus.kinds import display_name

log = logging.getLogger(__name__)

__all__ = [
    "CODEC_CONDITIONS",
    "AVG_CONDITIONS",
    "VARIANT_CONDITIONS",
    "ConditionRows",
    "SetCondition",
    "group_test_rows",
    "conditions_of",
    "averages",
]

CODEC_CONDITIONS = tuple(f"C{i}" for i in range(1, 8))
AVG_CONDITIONS = ("19LA", "ITW", *CODEC_CONDITIONS)  # A1..A3 are reported, never averaged (as in the paper)
# The release's codec-configuration variants (result/C3-1_result.txt …): reported per condition, never averaged.
VARIANT_CONDITIONS = (*(f"C3-{k}" for k in range(1, 5)), *(f"C4-{k}" for k in range(1, 4)))


@dataclass(frozen=True)
class ConditionRows:
    """One condition of one feature set: ``indices`` (n,) int64 row indices into the set, sorted ascending.

    ``pooled`` is True for ASVspoof/ITW-style corpora, whose ``detail_column`` (the row condition: attack id) gives
    per-attack breakdowns.
    """

    name: str
    corpus: str
    indices: np.ndarray
    pooled: bool


def _is_codecfake_style(conditions: np.ndarray, labels: np.ndarray) -> bool:
    bona = set(conditions[labels == 0].tolist())
    spoof = set(conditions[labels == 1].tolist())
    return bool(bona) and bona <= spoof


def group_test_rows(
    corpus: str, meta: Mapping[str, np.ndarray], *, split: str = "test"
) -> list[ConditionRows]:
    """Conditions of one feature set's ``split`` rows; ``meta`` holds (N,) ``label`` (0/1), ``condition``, ``split``."""
    rows = np.flatnonzero(np.asarray(meta["split"]) == split)
    if rows.size == 0:
        return []
    cond = np.asarray(meta["condition"])[rows]
    label = np.asarray(meta["label"]).astype(np.int64)[rows]
    if _is_codecfake_style(cond, label):
        return [
            ConditionRows(name=str(c), corpus=corpus, indices=rows[cond == c], pooled=False)
            for c in sorted(set(cond.tolist()), key=_condition_sort_key)
        ]
    return [ConditionRows(name=display_name(corpus), corpus=corpus, indices=rows, pooled=True)]


def _condition_sort_key(name: str) -> tuple[int, str]:
    """19LA, ITW, C1..C7, C3-1..C4-3, A1..A3, then the rest alphabetically (the paper's column order)."""
    order = {n: i for i, n in enumerate((*AVG_CONDITIONS, *VARIANT_CONDITIONS, "A1", "A2", "A3"))}
    return (order.get(name, len(order)), name)


def sort_conditions(names: Sequence[str]) -> list[str]:
    """Names in the paper's column order."""
    return sorted(names, key=_condition_sort_key)


def qualify_collisions(groups: list[ConditionRows]) -> dict[int, str]:
    """Display name per group; a name produced by two corpora becomes ``<corpus>:<name>`` for both (and is then
    left out of the averages, which must not mix corpora silently)."""
    seen: dict[str, set[str]] = {}
    for g in groups:
        seen.setdefault(g.name, set()).add(g.corpus)
    out = {}
    for i, g in enumerate(groups):
        clash = len(seen[g.name]) > 1
        if clash:
            log.warning(
                "condition %s comes from several corpora %s: reported as %s:%s",
                g.name,
                sorted(seen[g.name]),
                g.corpus,
                g.name,
            )
        out[i] = f"{g.corpus}:{g.name}" if clash else g.name
    return out


@dataclass(frozen=True)
class SetCondition:
    """One evaluation condition of one feature set: its table name (corpus-qualified on a clash) and its rows."""

    name: str
    fs: Any
    rows: ConditionRows


def conditions_of(sets: Sequence[Any]) -> list[SetCondition]:
    """Every test condition of the feature sets ``sets``, in set order, named as the tables show them."""
    groups = [(fs, g) for fs in sets for g in group_test_rows(fs.spec.corpus, fs.meta)]
    names = qualify_collisions([g for _, g in groups])
    return [SetCondition(names[i], fs, g) for i, (fs, g) in enumerate(groups)]


def averages(eer_by_condition: Mapping[str, float]) -> dict[str, dict]:
    """The paper's averages over the conditions present: CAVG = mean C1..C7, AVG = mean 19LA, ITW, C1..C7.

    Returns ``{"CAVG": {"value", "over", "missing"}, "AVG": {...}}``; value is NaN when no member is present.
    """
    out = {}
    for name, members in (("CAVG", CODEC_CONDITIONS), ("AVG", AVG_CONDITIONS)):
        over = [c for c in members if c in eer_by_condition]
        missing = [c for c in members if c not in eer_by_condition]
        value = float(np.mean([eer_by_condition[c] for c in over])) if over else float("nan")
        out[name] = {"value": value, "over": over, "missing": missing}
    return out
