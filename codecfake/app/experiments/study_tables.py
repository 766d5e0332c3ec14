"""The matrix results beyond the paper's layout: the leave-one-generator-out table (each held-out generator's EER on
its own test fakes against the test bona fide, with a 95 % interval, and their mean: the number for "a generator
never seen") and the robustness table (per row: the mean EER per degradation, the mean over every laundered
condition and the worst degradation, each with its interval).

Intervals: stratified bootstrap of the test trials, the same draws for every seed of a row (the interval of the seed
mean, as the paper-layout tables); the mean's interval resamples every member set (``evaluate/paired_measures.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "loo_markdown",
    "loo_rows",
    "robustness_markdown",
    "robustness_rows",
    "study_markdown",
    "study_results",
    "verdict_summary",
]


def _rows(plan: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in plan.runs:
        out.setdefault(r.cell.row, []).append(r)
    return out


def loo_rows(plan: Any, *, resamples: int, seed: int) -> list[dict[str, Any]]:
    """One entry per row with evaluated held-out runs: per generator and the mean (module doc)."""
    from codecfake.app.experiments.matrix_findings import _held_out_sets
    from codecfake.app.experiments.plan import run_finished
    from codecfake.evaluate.paired_measures import measure

    out = []
    for row, runs in _rows(plan).items():
        held: dict[str, dict[int, Path]] = {}
        planned: list[str] = []
        for r in runs:
            if r.held_out:
                g = "+".join(r.held_out)
                planned.append(g)
                if run_finished(r):
                    held.setdefault(g, {})[r.seed] = r.run_dir
        if not planned:
            continue
        gens = [g for g in dict.fromkeys(planned) if g in held]
        seeds = sorted(set.intersection(*(set(held[g]) for g in gens))) if gens else []
        per_gen: dict[str, Any] = {}
        for g in gens:
            res = measure(
                g, _held_out_sets([g], {g: list(held[g].values())}, {}), resamples=resamples, seed=seed
            )
            per_gen[g] = res.to_dict() | {"seeds": sorted(held[g])}
        mean = None
        if gens and seeds:
            sets = _held_out_sets(gens, {g: [held[g][s] for s in seeds] for g in gens}, {})
            mean = measure("loo-mean", sets, resamples=resamples, seed=seed).to_dict() | {"seeds": seeds}
        missing = [g for g in dict.fromkeys(planned) if g not in held]
        out.append({"row": row, "generators": per_gen, "mean": mean, "missing": missing})
    return out


def _ci(r: Mapping[str, Any] | None) -> str:
    if not r:
        return "–"
    return f"{r['value_a']:.2f} [{r['ci_a'][0]:.2f}, {r['ci_a'][1]:.2f}]"


def loo_markdown(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    gens = list(dict.fromkeys(g for r in rows for g in (*r["generators"], *r["missing"])))
    lines = [
        "## Unseen generators (leave one generator out)",
        "",
        "Each column: the runs trained without that generator's fakes (bona fide kept), scored on its test fakes "
        "against the test bona fide of its condition; EER % (seed mean) [95 % interval]. Mean: over the generators "
        "left out — the EER on a generator never seen.",
        "",
        "| row | " + " | ".join(gens) + " | mean | seeds |",
        "|---|" + "---|" * (len(gens) + 2),
    ]
    for r in rows:
        cells = [
            _ci(r["generators"].get(g)) if g in r["generators"] or g in r["missing"] else "" for g in gens
        ]
        seeds = ", ".join(map(str, r["mean"]["seeds"])) if r["mean"] else "–"
        lines.append(f"| {r['row']} | " + " | ".join(cells) + f" | **{_ci(r['mean'])}** | {seeds} |")
    missing = [f"{r['row']}: {', '.join(r['missing'])}" for r in rows if r["missing"]]
    if missing:
        lines += ["", "Not yet evaluated (–): " + "; ".join(missing) + "."]
    return [*lines, ""]


def robustness_rows(plan: Any, *, resamples: int, seed: int) -> list[dict[str, Any]]:
    """One entry per row whose full runs all carry a robustness sweep: per degradation the mean EER over conditions
    (seed mean), the mean over every laundered cell and the worst degradation, with intervals."""
    from codecfake.app.experiments.matrix_findings import sweep_sets
    from codecfake.app.experiments.plan import run_finished
    from codecfake.evaluate.paired_measures import measure

    out = []
    for row, runs in _rows(plan).items():
        full = [r for r in runs if not r.held_out and r.robustness_argv]
        done = [r.run_dir for r in full if run_finished(r)]
        if not full or not done:
            continue
        docs = [json.loads((Path(d) / "robustness" / "robustness.json").read_text()) for d in done]
        by_deg = {
            d: sum(doc["summary"]["by_degradation"].get(d, float("nan")) for doc in docs) / len(docs)
            for d in docs[0]["summary"]["by_degradation"]
        }
        sets = sweep_sets(done)
        out.append(
            {
                "row": row,
                "runs": [Path(d).name for d in done],
                "by_degradation": by_deg,
                "mean": measure("robust-mean", sets, resamples=resamples, seed=seed).to_dict(),
                "worst": measure("robust-worst", sets, how="worst", resamples=resamples, seed=seed).to_dict(),
                "missing": [r.name for r in full if r.run_dir not in done],
            }
        )
    return out


def robustness_markdown(rows: Sequence[Mapping[str, Any]], degrade: str) -> list[str]:
    if not rows:
        return []
    degs = list(dict.fromkeys(d for r in rows for d in r["by_degradation"]))
    lines = [
        "## Robustness (laundered test sets)",
        "",
        f"Every full run scored on its test sets laundered by `{degrade}` (bona fide and spoof alike). Per "
        "degradation: the mean EER % over conditions (seed mean); mean: over every condition x degradation; worst: "
        "the degradation with the highest mean; [95 % interval].",
        "",
        "| row | " + " | ".join(degs) + " | mean | worst |",
        "|---|" + "---|" * (len(degs) + 2),
    ]
    for r in rows:
        w = r["worst"]
        cells = " | ".join(f"{r['by_degradation'][d]:.2f}" if d in r["by_degradation"] else "–" for d in degs)
        lines.append(f"| {r['row']} | {cells} | {_ci(r['mean'])} | {_ci(w)} ({w['groups'][0]}) |")
    return [*lines, ""]


def study_results(plan: Any, *, resamples: int, seed: int) -> dict[str, Any]:
    """The sections beyond the paper layout that ``plan``'s matrix asks for: its findings, the leave-one-out table
    (when it plans held-out runs) and the robustness table (when it sweeps)."""
    from codecfake.app.experiments.matrix_findings import measure_findings

    m = plan.matrix
    return {
        "findings": measure_findings(plan, resamples=resamples, seed=seed) if m.findings else [],
        "loo": loo_rows(plan, resamples=resamples, seed=seed) if any(r.held_out for r in plan.runs) else [],
        "robustness": robustness_rows(plan, resamples=resamples, seed=seed) if m.robustness else [],
    }


def verdict_summary(findings: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per verdict: which comparisons lowered the EER, which raised it, which this corpus cannot resolve,
    each with its measure (the findings table holds the numbers)."""
    from codecfake.app.experiments.matrix_findings import HIGHER, LOWER

    def names(verdict: str) -> str:
        hits = [
            f"{e['title']} on {e['measure']}" for e in findings if e["verdict"] == verdict and "result" in e
        ]
        return "; ".join(hits) or "none"

    unresolved = [e for e in findings if e["verdict"] not in (LOWER, HIGHER)]
    return [
        "## Summary (computed from the findings below)",
        "",
        f"- **Lower EER** (the paired interval below 0 and every seed agrees): {names(LOWER)}.",
        f"- **Higher EER** (the interval above 0 and every seed agrees): {names(HIGHER)}.",
        f"- **Not resolved here** ({len(unresolved)} of {len(findings)} comparisons): the interval holds 0, the seeds "
        "disagree, or the runs are missing.",
        "",
    ]


def study_markdown(study: Mapping[str, Any], degrade: str) -> list[str]:
    from codecfake.app.experiments.matrix_findings import findings_markdown

    lines = verdict_summary(study["findings"]) if study["findings"] else []
    return [
        *lines,
        *findings_markdown(study["findings"]),
        *loo_markdown(study["loo"]),
        *robustness_markdown(study["robustness"], degrade),
    ]
