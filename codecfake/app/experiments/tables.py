"""A matrix's results in the paper's table layout: conditions as columns, one row per cell with the seed mean ± std
and the 95 % interval of the seed mean, and beside it the paper's value and the difference (ours − paper).

The interval is that of ``codecfake report`` (evaluate/intervals.py): the test trials resampled (stratified, the same
draws for every seed), so it says how much the seed mean would move on another draw of test trials; the ± std says
how much training seeds move it. The EER convention is the table's: ``paper`` = min(EER(s), EER(−s)) as the paper
prints, ``plain`` = EER(s). Written as markdown and JSON with every command that made the numbers.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codecfake.app.experiments.plan import Plan, PlannedRun, run_state
from codecfake.atomic import write_atomic


@dataclass(frozen=True)
class RowKey:
    table: str
    row: str
    held_out: tuple[str, ...]


def _values(report: dict, paper: bool) -> dict[str, float]:
    from codecfake.evaluate.conditions import averages
    from codecfake.evaluate.report import cell_values

    vals, _ = cell_values(report, paper)
    return vals | {k: a["value"] for k, a in averages(vals).items() if a["over"]}


def _row_label(run: PlannedRun) -> str:
    return run.cell.row + (f" without {'+'.join(run.held_out)}" if run.held_out else "")


def _cell_stats(per_seed: list[float], ci: list[float] | None, paper: float | None) -> dict[str, Any]:
    n = len(per_seed)
    mean = statistics.fmean(per_seed) if n else math.nan
    std = statistics.stdev(per_seed) if n >= 2 else None
    return {
        "mean": mean,
        "std": std,
        "n": n,
        "per_seed": per_seed,
        "ci95": ci,
        "paper": paper,
        "diff": (mean - paper) if (paper is not None and n) else None,
    }


def aggregate(plan: Plan, *, resamples: int = 1000, ci_seed: int | None = None) -> dict[str, Any]:
    """The JSON document of the matrix's tables (runs not yet evaluated are listed as missing)."""
    from codecfake.evaluate.bootstrap import DEFAULT_SEED
    from codecfake.evaluate.intervals import group_intervals
    from codecfake.evaluate.report import load_report

    tables = []
    by_table: dict[str, list[PlannedRun]] = {}
    for run in plan.runs:
        by_table.setdefault(run.table, []).append(run)
    for table in plan.matrix.tables:
        paper_mode = table.eer == "paper"
        rows: dict[RowKey, list[PlannedRun]] = {}
        for run in by_table.get(table.source, []):
            if run.cell in table.cells:
                rows.setdefault(RowKey(table.source, _row_label(run), run.held_out), []).append(run)
        out_rows = []
        for key, runs in rows.items():
            done = [r for r in runs if run_state(r.run_dir) == "evaluated"]
            reports = [load_report(r.run_dir) | {"run_dir": str(r.run_dir)} for r in done]
            values = [_values(rep, paper_mode) for rep in reports]
            ci = (
                group_intervals(reports, paper=paper_mode, resamples=resamples, seed=ci_seed or DEFAULT_SEED)
                if reports and resamples > 0
                else {}
            )
            cells = {
                col: _cell_stats(
                    [v[col] for v in values if col in v], ci.get(col), runs[0].cell.paper.get(col)
                )
                for col in table.columns
            }
            out_rows.append(
                {
                    "row": key.row,
                    "held_out": list(key.held_out),
                    "cell": {
                        "task": runs[0].cell.task,
                        "backend": runs[0].cell.backend,
                        "opt": runs[0].cell.opt,
                        "extractor": runs[0].cell.extractor,
                        "array": runs[0].cell.array,
                    },
                    "note": runs[0].cell.note,
                    "runs": [r.name for r in runs],
                    "seeds": [r.seed for r in done],
                    "missing_runs": [r.name for r in runs if r not in done],
                    "columns": cells,
                }
            )
        tables.append(
            {
                "source": table.source,
                "title": table.title,
                "table": table.table,
                "eer": table.eer,
                "columns": list(table.columns),
                "note": table.note,
                "rows": out_rows,
            }
        )
    return {
        "matrix": plan.matrix.name,
        "title": plan.matrix.title,
        "seeds": plan.seeds,
        "protocol": plan.protocol,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "bootstrap": {"resamples": resamples, "seed": ci_seed},
        "tables": tables,
        "runs": {
            r.name: {"train": r.command, "evaluate": r.evaluate_command, "robustness": r.robustness_command}
            for r in plan.runs
        },
        "note": plan.matrix.note,
        "robustness": plan.matrix.robustness,
    }


def _f(v: float | None, sign: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:+.3f}" if sign else f"{v:.3f}"


def _ours(c: dict[str, Any]) -> str:
    if not c["n"]:
        return "–"
    text = _f(c["mean"]) + (f" ± {c['std']:.3f}" if c["std"] is not None else "")
    return text + (f" [{c['ci95'][0]:.3f}, {c['ci95'][1]:.3f}]" if c.get("ci95") else "")


def table_markdown(t: dict[str, Any]) -> list[str]:
    cols = t["columns"]
    eer = "min(EER(s), EER(−s)), as the paper prints" if t["eer"] == "paper" else "EER(s)"
    lines = [
        f"## {t['title']}",
        "",
        f"EER % ({eer}). Ours: seed mean ± std [95 % interval of the seed mean over "
        "test-trial resampling]; paper: the published value; Δ: ours − paper.",
        "",
    ]
    lines += ["| Model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for r in t["rows"]:
        n = max((c["n"] for c in r["columns"].values()), default=0)
        lines.append(
            f"| {r['row']} (ours, {n} seed{'s' if n != 1 else ''}) | "
            + " | ".join(_ours(r["columns"][c]) for c in cols)
            + " |"
        )
        if any(r["columns"][c]["paper"] is not None for c in cols):
            lines.append(
                f"| {r['row']} (paper) | " + " | ".join(_f(r["columns"][c]["paper"]) for c in cols) + " |"
            )
            lines.append(
                f"| {r['row']} (Δ) | "
                + " | ".join(_f(r["columns"][c]["diff"], sign=True) for c in cols)
                + " |"
            )
    notes = [f"- {r['row']}: {r['note']}" for r in t["rows"] if r["note"]]
    missing = [m for r in t["rows"] for m in r["missing_runs"]]
    if missing:
        notes.append(f"- not yet evaluated (shown as –): {', '.join(missing)}")
    return [*lines, "", *notes, ""] if notes else [*lines, ""]


def render_markdown(doc: dict[str, Any], command: str) -> str:
    from codecfake.app.experiments.study_tables import study_markdown

    lines = [
        f"# {doc['title']}",
        "",
        f"Made by `{command}` ({doc['generated']}); "
        f"{doc['seeds']} seed(s) per cell"
        + (f", protocol {doc['protocol']}" if doc["protocol"] else "")
        + ".",
        "",
    ]
    if doc.get("note"):
        lines += [doc["note"], ""]
    if doc.get("study"):
        lines += study_markdown(doc["study"], doc.get("robustness", ""))
    for t in doc["tables"]:
        lines += table_markdown(t)
    lines += [
        "## Commands",
        "",
        "Each run, as it was made (rerunning a command resumes or reuses the run):",
        "",
    ]
    for name, cmds in doc["runs"].items():
        lines += [f"- `{name}`", *(f"  - `{c}`" for c in cmds.values() if c)]
    return "\n".join(lines) + "\n"


def write_tables(plan: Plan, out_dir: Path, command: str, *, resamples: int = 1000) -> tuple[Path, Path]:
    """``<out>/results.md`` and ``<out>/results.json`` (overwritten), and the matrix's ``page`` (its markdown and
    the JSON beside it) when it names one; returns the first two paths."""
    from codecfake.app.experiments.study_tables import study_results
    from codecfake.evaluate.bootstrap import DEFAULT_SEED

    doc = aggregate(plan, resamples=resamples)
    doc["command"] = command
    m = plan.matrix
    if m.findings or m.robustness or any(r.held_out for r in plan.runs):
        doc["study"] = study_results(plan, resamples=resamples, seed=DEFAULT_SEED)
    md, js = out_dir / "results.md", out_dir / "results.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    text, blob = render_markdown(doc, command), json.dumps(doc, indent=2, sort_keys=False) + "\n"
    write_atomic(js, blob)
    write_atomic(md, text)
    if m.page:
        page = Path(m.page)
        page.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(page, text)
        write_atomic(page.with_suffix(".json"), blob)
    return md, js


__all__ = ["aggregate", "render_markdown", "table_markdown", "write_tables"]
