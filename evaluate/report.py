"""EER tables: the cells of one run's report.json, and one table over many runs (seeds aggregated).

Table shape = the paper's: rows = runs, columns = conditions (19LA, ITW, C1..C7, A1..A3, others), CAVG, AVG; EER %.
A cell marked ``⚠inv`` is a condition where EER(-s) < EER(s); in paper mode its value is the flipped EER.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from codecfake.evaluate.conditions import averages, sort_conditions
from codecfake.evaluate.errors import RunReportError
from codecfake.evaluate.results import INVERTED_MARK
from codecfake.evaluate.run_outputs import RunOutputs
from codecfake.train.config import RUNTIME_KEYS

__all__ = [
    "multi_run_markdown",
    "run_cells",
    "run_columns",
    "render_table",
    "fmt_eer",
    "ci_note",
    "TDCF_SUFFIX",
    "load_report",
    "aggregate_runs",
    "SEED_FREE_IGNORED",
]

# Config keys that do not change what a run learns: runs differing only in these (and seed) are one row.
SEED_FREE_IGNORED = frozenset({"seed", "name", *RUNTIME_KEYS})


def fmt_eer(v: float) -> str:
    """An EER % cell: 3 decimals, "–" when undefined."""
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def cell_values(report: dict, paper_mode: bool) -> tuple[dict[str, float], set[str]]:
    """``({condition: EER %}, {inverted conditions})`` of one report in the chosen mode."""
    vals = {c["name"]: (c["eer_paper"] if paper_mode else c["eer"]) for c in report["conditions"]}
    return vals, {c["name"] for c in report["conditions"] if c["inverted"]}


def render_table(rows: Sequence[tuple[str, dict[str, str]]], columns: Sequence[str]) -> str:
    """Markdown table: first column "run", then ``columns``; cells already formatted."""
    head = "| run | " + " | ".join(columns) + " |"
    sep = "|---|" + "---|" * len(columns)
    body = [
        "| " + name + " | " + " | ".join(cells.get(c, "–") for c in columns) + " |" for name, cells in rows
    ]
    return "\n".join([head, sep, *body])


TDCF_SUFFIX = " min t-DCF"


def _ci(ci: Sequence[float] | None) -> str:
    """`` [lo, hi]`` of a 95 % bootstrap interval, or nothing."""
    return "" if not ci else f" [{ci[0]:.2f}, {ci[1]:.2f}]"


def stored_intervals(report: dict, paper_mode: bool) -> dict[str, list[float]]:
    """``{condition or CAVG/AVG: [lo, hi]}`` stored in a run's report.json (empty for reports made without them)."""
    key = "ci_eer_paper" if paper_mode else "ci_eer"
    ci = {c["name"]: c.get(key) for c in report["conditions"]}
    ci |= {
        k: a.get("ci")
        for k, a in report.get("averages", {}).get("paper" if paper_mode else "plain", {}).items()
    }
    return {k: v for k, v in ci.items() if v}


def run_cells(report: dict, paper_mode: bool, ci: dict[str, list[float]] | None = None) -> dict[str, str]:
    """Formatted cells of one run: EER % [95 % interval] (``ci``: default the report's own intervals)."""
    ci = stored_intervals(report, paper_mode) if ci is None else ci
    vals, inv = cell_values(report, paper_mode)
    cells = {
        k: fmt_eer(v) + _ci(ci.get(k)) + (f" {INVERTED_MARK}" if k in inv else "") for k, v in vals.items()
    }
    avgs = averages(vals)
    cells |= {
        k: fmt_eer(a["value"]) + ("*" if a["missing"] and a["over"] else "") + _ci(ci.get(k))
        for k, a in avgs.items()
    }
    for name, t in (report.get("tdcf") or {}).items():
        cells[name + TDCF_SUFFIX] = f"{t['paper' if paper_mode else 'plain']['min_tdcf']:.4f}"
    return cells


def ci_note(meta: dict | None) -> str:
    """One sentence saying what the bracketed intervals are (empty without a ``bootstrap`` block)."""
    if not meta:
        return ""
    return (
        f"[lo, hi] = {100 * meta['level']:g} % bootstrap interval ({meta['resamples']} resamples, seed "
        f"{meta['seed']}; bona fide and spoof trials resampled separately per condition; CAVG/AVG resampled as the "
        "mean of their members)."
    )


def run_columns(report: dict) -> list[str]:
    """Table columns of one run: its conditions in the paper's order (a min t-DCF column after each condition that
    has one, e.g. 19LA), then CAVG and AVG."""
    cols = []
    for n in sort_conditions([c["name"] for c in report["conditions"]]):
        cols += [n, n + TDCF_SUFFIX] if n in (report.get("tdcf") or {}) else [n]
    return [*cols, "CAVG", "AVG"]


def load_report(run_dir: str | Path) -> dict:
    """``runs/<name>/report/report.json`` of an evaluated run."""
    path = RunOutputs(Path(run_dir)).report_json
    if not path.is_file():
        raise RunReportError(
            f"{path}: not found; evaluate the run first with `codecfake evaluate --run {run_dir}`"
        )
    return json.loads(path.read_text())


def _group_key(report: dict) -> str:
    """Config minus seed-free keys; a key at its default counts as absent (a run from before the key existed, e.g.
    ``layers``, groups with its seeds run after)."""
    from codecfake.train.config import TrainConfig

    cfg = report.get("config") or {}
    if not cfg:
        return report["run"]
    default = TrainConfig().to_dict()
    return json.dumps(
        {
            k: v
            for k, v in cfg.items()
            if k not in SEED_FREE_IGNORED and (k not in default or v != default[k])
        },
        sort_keys=True,
        default=str,
    )


def _group_label(reports: Sequence[dict]) -> str:
    names = [r["run"] for r in reports]
    if len(names) == 1:
        return names[0]
    base = re.sub(r"-s\d+(?=-|$)", "", names[0])
    seeds = sorted(str((r.get("config") or {}).get("seed", "?")) for r in reports)
    return f"{base} (seeds {', '.join(seeds)})"


def aggregate_runs(
    reports: Sequence[dict],
    *,
    paper_mode: bool,
    group_ci: Callable[[Sequence[dict]], dict[str, list[float]]] | None = None,
) -> tuple[list[tuple[str, dict[str, str]]], list[str]]:
    """Table rows over several runs; runs whose configs differ only by seed become one row of mean ± std.

    ``group_ci(members) -> {column: [lo, hi]}`` gives each row's intervals (``intervals.group_intervals``);
    without it a single run shows its stored intervals and a seed row none."""
    groups: dict[str, list[dict]] = {}
    for r in reports:
        groups.setdefault(_group_key(r), []).append(r)
    columns = sort_conditions(sorted({c["name"] for r in reports for c in r["conditions"]}))
    rows = []
    for members in groups.values():
        ci = group_ci(members) if group_ci else None
        if len(members) == 1:
            rows.append((members[0]["run"], run_cells(members[0], paper_mode, ci)))
            continue
        ci = ci or {}
        per_run = []
        for m in members:
            vals, inv = cell_values(m, paper_mode)
            per_run.append((vals | {k: a["value"] for k, a in averages(vals).items()}, inv))
        cells = {}
        for col in [*columns, "CAVG", "AVG"]:
            xs = [v[col] for v, _ in per_run if col in v and not math.isnan(v[col])]
            if not xs:
                continue
            n_inv = sum(col in inv for _, inv in per_run)
            mark = f" {INVERTED_MARK}{n_inv}/{len(per_run)}" if n_inv else ""
            std = float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0
            cells[col] = f"{np.mean(xs):.3f} ± {std:.3f}{_ci(ci.get(col))}{mark}" + (
                "" if len(xs) == len(per_run) else f" (n={len(xs)})"
            )
        rows.append((_group_label(members), cells))
    return rows, [*columns, "CAVG", "AVG"]


def multi_run_markdown(
    reports: Sequence[dict],
    *,
    paper_mode: bool,
    group_ci: Callable[[Sequence[dict]], dict[str, list[float]]] | None = None,
    bootstrap: dict | None = None,
) -> str:
    """One markdown table over ``reports`` (mean ± std, sample std, over seeds; intervals from ``group_ci``,
    described by the ``bootstrap`` block of ``intervals.bootstrap_meta``)."""
    rows, cols = aggregate_runs(reports, paper_mode=paper_mode, group_ci=group_ci)
    mode = "paper mode: min(EER(s), EER(-s))" if paper_mode else "EER(s)"
    note = ""
    if bootstrap:
        note = (
            f" {ci_note(bootstrap)} On a seed row (mean ± std) the interval is that of the seed mean over "
            "test-trial resampling (each resample drops or repeats a trial for every seed at once); the std is the "
            "spread over training seeds."
        )
    return (
        f"EER % ({mode}); mean ± std (sample std) over runs that differ only by seed; "
        f"{INVERTED_MARK} = EER(-s) < EER(s); `*` = average over fewer conditions than the paper.{note}\n\n"
        + render_table(rows, cols)
        + "\n"
    )
