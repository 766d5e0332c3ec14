"""The unseen generators of an evaluated trace run's test sets, every scorer with bootstrap intervals: read from the
run's trace.json and per-clip trace score files (``scores/trace/*.tsv``), nothing recomputed by the model.

Rows: each test condition holding clips of generators the run never saw (the demo's and Codecfake's C7, test-only
attacks), known = that condition's clips of known generators (its bona fide, and the seen attacks of a pooled
ASVspoof-style set); then ``ALL``: every unseen clip against every known test clip, each clip once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.evaluate.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED
from codecfake.evaluate.openset_intervals import open_set_intervals
from codecfake.evaluate.run_outputs import RunOutputs
from codecfake.evaluate.trace_clips import clip_key, read_trace_scores

__all__ = ["unseen_test_results"]


def _split(table: dict[str, np.ndarray], scorers: list[str]) -> tuple[dict, dict]:
    known = table["known"] == "true"
    return ({s: table[s][known] for s in scorers}, {s: table[s][~known] for s in scorers})


def unseen_test_results(
    run_dir: str | Path, *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """{"default", "scorers", "thresholds", "rows": [{name, n_known, n_unknown, scorers: {s: {auroc, fpr95,
    detection_rate, false_unknown_rate}}}], "bona_fide_speakers"}; intervals as [value, lo, hi]."""
    out = RunOutputs(Path(run_dir))
    trace = json.loads(out.trace_json.read_text())
    scorers = list(trace["scorers"])
    at_threshold = {c["name"]: c["scorers"] for c in trace["conditions"]}
    tables = {name: read_trace_scores(out.run_dir / rel) for name, rel in trace["score_files"].items()}
    rows = []
    for name, table in tables.items():
        if (table["known"] == "true").all():
            continue
        rows.append(_row(name, *_split(table, scorers), at_threshold.get(name, {}), resamples, seed))
    if rows:
        seen: set[tuple[str, str]] = set()
        keep_rows = []
        for table in tables.values():
            keys = [clip_key("", u) for u in table["utt_id"]]
            keep = np.array([k not in seen for k in keys], dtype=bool)
            seen |= set(keys)
            keep_rows.append({k: v[keep] for k, v in table.items()})
        pooled = {k: np.concatenate([t[k] for t in keep_rows]) for k in keep_rows[0]}
        thr = trace["scorers"]
        k_, u_ = _split(pooled, scorers)
        rates = {
            s: {
                "detection_rate": float((u_[s] > thr[s]["threshold"]).mean()),
                "false_unknown_rate": float((k_[s] > thr[s]["threshold"]).mean()),
            }
            for s in scorers
        }
        rows.append(_row("ALL (each clip once)", k_, u_, rates, resamples, seed))
    return {
        "default": trace["default"],
        "scorers": scorers,
        "thresholds": {s: trace["scorers"][s]["threshold"] for s in scorers},
        "keep": trace["keep"],
        "classes": trace["classes"],
        "rows": rows,
        "bona_fide_speakers": trace.get("bona_fide_speakers"),
    }


def _row(name: str, known: dict, unknown: dict, rates: dict, resamples: int, seed: int) -> dict[str, Any]:
    points, _ = open_set_intervals(known, unknown, name=f"test:{name}", resamples=resamples, seed=seed)
    return {
        "name": name,
        "n_known": int(len(next(iter(known.values())))),
        "n_unknown": int(len(next(iter(unknown.values())))),
        "scorers": {
            s: {
                "auroc": [p["auroc"].value, p["auroc"].lo, p["auroc"].hi],
                "fpr95": [p["fpr95"].value, p["fpr95"].lo, p["fpr95"].hi],
                "detection_rate": rates.get(s, {}).get("detection_rate"),
                "false_unknown_rate": rates.get(s, {}).get("false_unknown_rate"),
            }
            for s, p in points.items()
        },
    }
