"""The unseen-generator numbers of a run trained with ``--hold-out``: EER on each held-out generator's test fakes
against the test bona fide, with 95 % intervals, and their mean.

Per scored condition, the trials of generator G are its spoof rows whose condition names G (Codecfake and the demo:
condition ``C3`` is codec 3's fakes, against that condition's reals; ASVspoof-style pooled sets: the attack id, against
every bona fide of the set). A held-out generator absent from every test set (ASVspoof 2019 LA's A01..A06 are not in
its eval part; the eval attacks A16 and A19 reuse A04's and A06's algorithms) is listed as not evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from codecfake.evaluate.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, eer_interval
from codecfake.evaluate.score_tsv import Scores


def _canonical(name: str) -> str:
    return f"C{name}" if name.isdigit() else name


def held_out_trials(scores: Mapping[str, Any], generator: str) -> tuple[str, Scores] | None:
    """The trials that measure held-out ``generator`` (module doc): (condition, its fakes and that condition's bona
    fide) from the first scored condition holding its fakes, or None when no condition does."""
    g = _canonical(generator)
    for name, sc in scores.items():
        cond = np.asarray(sc.condition).astype(str)
        label = np.asarray(sc.label).astype(np.int64)
        keep = ((label == 1) & (cond == g)) | (label == 0)
        if (label[keep] == 1).any() and (label[keep] == 0).any():
            return name, Scores(
                np.asarray(sc.utt_id)[keep],
                np.asarray(sc.score)[keep],
                label[keep],
                cond[keep],
                None if sc.llr is None else np.asarray(sc.llr)[keep],
            )
    return None


def held_out_results(
    hold_out: Sequence[str],
    scores: Mapping[str, Any],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """``{"generators": {G: {condition, eer, ci, n_bonafide, n_spoof} | {skipped}}, "mean": EER or None}``."""
    out: dict[str, Any] = {}
    for g in map(_canonical, hold_out):
        found = held_out_trials(scores, g)
        if found is None:
            out[g] = {"skipped": "no test fakes of this generator among the scored conditions"}
            continue
        name, sc = found
        interval, _ = eer_interval(
            sc.score, sc.label, name=f"held-out {g}", resamples=max(resamples, 1), seed=seed
        )
        out[g] = {
            "condition": name,
            "eer": interval.value,
            "ci": interval.to_list() if resamples > 0 else None,
            "n_bonafide": int((sc.label == 0).sum()),
            "n_spoof": int((sc.label == 1).sum()),
        }
    eers = [v["eer"] for v in out.values() if "eer" in v]
    return {"generators": out, "mean": float(np.mean(eers)) if eers else None}


def held_out_markdown(block: Mapping[str, Any]) -> str:
    """The report.md section: one row per held-out generator, then the mean."""
    lines = [
        "",
        "## Unseen generators (held out of training)",
        "",
        "| generator | test condition | EER % | 95 % interval | bona fide | fakes |",
        "|---|---|---|---|---|---|",
    ]
    for g, v in block["generators"].items():
        if "eer" not in v:
            lines.append(f"| {g} | — | not evaluated: {v['skipped']} | | | |")
            continue
        ci = f"[{v['ci'][0]:.2f}, {v['ci'][1]:.2f}]" if v.get("ci") else "—"
        lines.append(
            f"| {g} | {v['condition']} | {v['eer']:.2f} | {ci} | {v['n_bonafide']} | {v['n_spoof']} |"
        )
    if block["mean"] is not None:
        lines.append(f"| **mean** | | **{block['mean']:.2f}** | | | |")
    return "\n".join(lines) + "\n"
