"""A matrix's findings: paired comparisons of two of its rows, each with a verdict computed from the paired bootstrap
interval and every training seed, never written by hand.

The keys are read by ``study_spec.py``. Measures: a condition or average of the tables (``C7``, ``CAVG``), a group,
``loo-mean`` (the mean EER over the generators both rows left out, each on its held-out fakes against the test bona
fide: the runs of protocol loo), ``robust-mean`` and ``robust-worst`` (the robustness sweep: the mean EER over
conditions x degradations, and the highest degradation mean; the matrix's ``robustness``). Δ = EER(other) −
EER(base), seed means, with its 95 % paired interval over test-trial resampling (``evaluate/paired_measures.py``)
and one Δ per seed the two rows share. Verdict (the demo's rule, ``codecfake.app.demo.findings.verdict``): "lower"
when the interval lies below 0 and every seed's Δ < 0, "higher" when above 0 and every seed's Δ > 0, else "not
resolved here".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codecfake.app.experiments.errors import MatrixError

__all__ = [
    "findings_markdown",
    "measure_findings",
]

LOWER, HIGHER, UNRESOLVED = "lower", "higher", "not resolved here"


def _runs_of(plan: Any, row: str) -> tuple[dict[int, Path], dict[str, dict[int, Path]]]:
    """A row's evaluated full runs by seed, and its held-out runs by generator and seed."""
    from codecfake.app.experiments.plan import run_finished

    full: dict[int, Path] = {}
    held: dict[str, dict[int, Path]] = {}
    for r in plan.runs:
        if r.cell.row != row or not run_finished(r):
            continue
        if r.held_out:
            held.setdefault("+".join(r.held_out), {})[r.seed] = r.run_dir
        else:
            full[r.seed] = r.run_dir
    return full, held


def _condition_sets(names: Sequence[str], a: Sequence[Path], b: Sequence[Path]) -> list[Any]:
    from codecfake.evaluate.paired_measures import TrialSet
    from codecfake.evaluate.run_outputs import RunOutputs
    from codecfake.evaluate.score_tsv import read_scores

    def load(name: str) -> Any:
        return lambda run: read_scores(RunOutputs(Path(run)).score_file(name))

    return [TrialSet(n, tuple(a), load(n), tuple(b)) for n in names]


def _held_out_sets(
    gens: Sequence[str], a: Mapping[str, Sequence[Path]], b: Mapping[str, Sequence[Path]]
) -> list:
    from codecfake.evaluate.held_out import held_out_trials
    from codecfake.evaluate.intervals import load_run_scores
    from codecfake.evaluate.paired_measures import TrialSet
    from codecfake.evaluate.report import load_report

    def load(g: str) -> Any:
        def scores(run: Any) -> Any:
            found = held_out_trials(load_run_scores(run, load_report(run)), g)
            if found is None:
                raise MatrixError(
                    f"{run}: no test fakes of held-out generator {g} among its scored conditions"
                )
            return found[1]

        return scores

    return [TrialSet(f"held-out {g}", tuple(a[g]), load(g), tuple(b.get(g, ()))) for g in gens]


def _reader(rel: Path) -> Any:
    from codecfake.evaluate.score_tsv import read_scores

    return lambda run: read_scores(Path(run) / rel)


def sweep_sets(a: Sequence[Path], b: Sequence[Path] = ()) -> list[Any]:
    """One trial set per (degradation, condition) of the runs' robustness sweeps, grouped by degradation."""
    import json

    from codecfake.evaluate.paired_measures import TrialSet

    doc = json.loads((Path(a[0]) / "robustness" / "robustness.json").read_text())
    out = []
    for deg in doc["degradations"]:
        for cond in doc["conditions"]:
            if "eer" not in doc["cells"][cond].get(deg, {}):
                continue
            rel = Path("robustness") / "scores" / deg.replace(":", "_") / f"{cond.replace(':', '_')}.tsv"
            out.append(
                TrialSet(
                    f"{deg}/{cond}",
                    tuple(a),
                    _reader(rel),
                    tuple(b),
                    deg,
                )
            )
    return out


def _measure(
    m: str, groups: Mapping[str, Sequence[str]], a: Any, b: Any, *, resamples: int, seed: int
) -> tuple[Any, str]:
    """One measure of two rows ((full, held) each); (MeasureResult or None, why not measured)."""
    from codecfake.evaluate.conditions import averages
    from codecfake.evaluate.paired_measures import measure

    if m == "loo-mean":
        gens = sorted(set(a[1]) & set(b[1]))
        seeds = sorted(set.intersection(*(set(a[1][g]) & set(b[1][g]) for g in gens))) if gens else []
        if not seeds:
            return None, "no held-out runs both rows share (protocol loo)"
        pick = {g: [a[1][g][s] for s in seeds] for g in gens}, {g: [b[1][g][s] for s in seeds] for g in gens}
        return measure(m, _held_out_sets(gens, *pick), resamples=resamples, seed=seed), ""
    seeds = sorted(set(a[0]) & set(b[0]))
    if not seeds:
        return None, "no evaluated full runs both rows share"
    ra, rb = [a[0][s] for s in seeds], [b[0][s] for s in seeds]
    if m in ("robust-mean", "robust-worst"):
        if not all((Path(r) / "robustness" / "robustness.json").is_file() for r in (*ra, *rb)):
            return None, "robustness sweep missing"
        how = "mean" if m == "robust-mean" else "worst"
        return measure(m, sweep_sets(ra, rb), how=how, resamples=resamples, seed=seed), ""
    from codecfake.evaluate.report import load_report

    have = {c["name"] for c in load_report(ra[0])["conditions"]}
    names = list(groups.get(m, ()))
    if not names:
        avg = averages({c: 0.0 for c in have}).get(m)
        names = list(avg["over"]) if avg else [m]
    if not set(names) <= have:
        return None, f"conditions {sorted(set(names) - have)} not evaluated"
    return measure(m, _condition_sets(names, ra, rb), resamples=resamples, seed=seed), ""


def verdict_of(result: Any) -> str:
    from codecfake.app.demo.findings import CONTRADICTED, REPRODUCED, verdict

    v = verdict(result.delta_ci[0], result.delta_ci[1], result.seed_deltas)
    return {REPRODUCED: LOWER, CONTRADICTED: HIGHER}.get(v, UNRESOLVED)


def measure_findings(plan: Any, *, resamples: int = 1000, seed: int | None = None) -> list[dict[str, Any]]:
    """Every finding of ``plan.matrix`` × measure: the numbers, the interval, the seeds and the verdict."""
    from codecfake.evaluate.bootstrap import DEFAULT_SEED

    out = []
    rows: dict[str, Any] = {}
    for f in plan.matrix.findings:
        a = rows.setdefault(f.base, _runs_of(plan, f.base))
        b = rows.setdefault(f.other, _runs_of(plan, f.other))
        for m in f.measures:
            res, why = _measure(m, plan.matrix.groups, a, b, resamples=resamples, seed=seed or DEFAULT_SEED)
            entry: dict[str, Any] = {"title": f.title, "base": f.base, "other": f.other, "measure": m}
            if res is None:
                out.append(entry | {"verdict": UNRESOLVED, "not_measured": why})
                continue
            out.append(entry | {"result": res.to_dict(), "verdict": verdict_of(res), "note": f.note})
    return out


def _ci(v: float, ci: Sequence[float] | None) -> str:
    return f"{v:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "")


def finding_row(e: Mapping[str, Any]) -> str:
    if "result" not in e:
        return f"| {e['title']} | {e['measure']} | – | – | – | – | not measured: {e['not_measured']} |"
    r = e["result"]
    seeds = ", ".join(f"{d:+.1f}" for d in r["seed_deltas"]) or "–"
    worst = f" ({' / '.join(r['groups'])})" if r["groups"] else ""
    lo, hi = r["delta_ci"]
    why = (
        ""
        if e["verdict"] != UNRESOLVED
        else (" (interval holds 0)" if lo <= 0 <= hi else " (seeds disagree)")
    )
    return (
        f"| {e['title']} | {e['measure']}{worst} | {_ci(r['value_a'], r['ci_a'])} | "
        f"{_ci(r['value_b'], r['ci_b'])} | {r['delta']:+.1f} [{lo:+.1f}, {hi:+.1f}] | {seeds} | "
        f"**{e['verdict']}**{why} |"
    )


def findings_markdown(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    if not entries:
        return []
    lines = [
        "## Findings",
        "",
        "Δ = EER(other) − EER(base) in points, seed means; 95 % paired bootstrap interval over test-trial "
        "resampling; one Δ per training seed the rows share. **lower** / **higher**: the interval excludes 0 and "
        "every seed agrees; otherwise not resolved here. Worst: the degradation with the highest mean EER "
        "(base / other).",
        "",
        "| finding (other vs base) | measure | base EER % | other EER % | Δ [95 % interval] | per-seed Δ | verdict |",
        "|---|---|---|---|---|---|---|",
        *(finding_row(e) for e in entries),
        "",
    ]
    return lines


def is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not math.isnan(x)
