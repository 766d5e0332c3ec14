"""Markdown of the ASVspoof 5 era's metrics (``detection_report.detection_block``): one run's section of
report.md, and the table of several runs that `codecfake report` prints beside its EER table."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["render_detection", "detection_table", "metrics_note", "report_rows_table"]

_COLS = ("eer", "min_dcf", "act_dcf", "cllr", "min_cllr")
_DIGITS = {"eer": 3, "min_dcf": 4, "act_dcf": 4, "cllr": 4, "min_cllr": 4}


def _v(x: float | None, m: str) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{_DIGITS[m]}f}"


def _cell(d: dict, m: str) -> str:
    ci = (d.get("ci") or {}).get(m)
    return _v(d.get(m), m) + ("" if not ci else f" [{_v(ci[0], m)}, {_v(ci[1], m)}]")


def metrics_note(block: dict) -> str:
    cm = block["cost_model"]
    llr = sorted({c["llr"] for c in block["conditions"]})
    boot = block["bootstrap"]
    return (
        f"minDCF / actDCF: normalised DCF at P_spoof {cm['p_spoof']:g}, C_miss {cm['c_miss']:g}, C_fa {cm['c_fa']:g} "
        f"(ASVspoof 5 Track 1 by default); actDCF decides bona fide when LLR >= {cm['llr_threshold']:.4f} (−log β). "
        f"Cllr / minCllr in bits (minCllr: PAV). LLR used for actDCF and Cllr: {', '.join(llr)}"
        + (
            " — run `codecfake calibrate RUN` for calibrated LLRs"
            if any("uncalibrated" in v for v in llr)
            else ""
        )
        + "."
        + (
            f" [lo, hi] = {100 * boot['level']:g} % stratified bootstrap interval ({boot['resamples']} resamples, "
            f"seed {boot['seed']})."
            if boot["resamples"]
            else ""
        )
    )


def render_detection(block: dict) -> str:
    """report.md's section: per condition, then the averaged and pooled sets."""
    head = "| {} | bona fide | spoof | EER % | minDCF | actDCF | Cllr | minCllr |"
    sep = "|---|---|---|---|---|---|---|---|"
    lines = ["## ASVspoof 5 metrics", "", metrics_note(block), "", head.format("condition"), sep]
    for c in block["conditions"]:
        lines.append(
            f"| {c['name']} | {c['n_bonafide']} | {c['n_spoof']} | "
            + " | ".join(_cell(c, m) for m in _COLS)
            + " |"
        )
    if block["sets"]:
        lines += ["", head.format("set").replace("bona fide | spoof", "members | how"), sep]
        for name, s in block["sets"].items():
            members = ", ".join(s["members"])
            for how in ("averaged", "pooled"):
                lines.append(
                    f"| {name} | {members} | {how} | " + " | ".join(_cell(s[how], m) for m in _COLS) + " |"
                )
        lines += [
            "",
            "Averaged = mean of the members' values (interval: members resampled separately, averaged per resample); "
            "pooled = all members' trials under one threshold, as leaderboards pool (Codecfake's reals, repeated in "
            "every condition, count once per condition).",
        ]
    for corpus, attacks in (block.get("by_attack") or {}).items():
        lines += [
            "",
            f"### {corpus} per attack (each attack's spoofs against all its bona fide, every condition pooled)",
            "",
            "| attack | spoof | EER % | minDCF |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {a} | {d['n_spoof']} | {d['eer']:.3f} | {d['min_dcf']:.4f} |" for a, d in attacks.items()
        ]
    return "\n".join(lines) + "\n"


def _run_cells(block: dict) -> dict[str, tuple[float, float, float]]:
    cells = {c["name"]: (c["min_dcf"], c["act_dcf"], c["cllr"]) for c in block["conditions"]}
    cells |= {
        f"{n} pooled": (s["pooled"]["min_dcf"], s["pooled"]["act_dcf"], s["pooled"]["cllr"])
        for n, s in block["sets"].items()
    }
    return cells


def detection_table(rows: Sequence[tuple[str, Sequence[dict]]]) -> str:
    """Rows = (label, the detection blocks of its runs: one, or several seeds → mean); cells minDCF / actDCF / Cllr."""
    per_row = [(label, [_run_cells(b) for b in blocks]) for label, blocks in rows]
    columns = list(dict.fromkeys(k for _, cells in per_row for c in cells for k in c))
    lines = ["| run | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for label, cells in per_row:
        out = []
        for col in columns:
            vals = [c[col] for c in cells if col in c]
            if not vals:
                out.append("–")
                continue
            mean = np.mean(np.asarray(vals), axis=0)
            out.append(" / ".join(f"{v:.3f}" for v in mean) + (f" (n={len(vals)})" if len(vals) > 1 else ""))
        lines.append(f"| {label} | " + " | ".join(out) + " |")
    return (
        "minDCF / actDCF / Cllr per condition and pooled set (seed rows: mean over seeds):\n\n"
        + "\n".join(lines)
        + "\n"
    )


def report_rows_table(reports: Sequence[dict]) -> str:
    """The minDCF / actDCF / Cllr table of `codecfake report`: runs grouped as its EER table groups them (seeds of
    one configuration → one row); "" when no report has the metrics (evaluated before they existed)."""
    from codecfake.evaluate.report import _group_key, _group_label

    groups: dict[str, list[dict]] = {}
    for r in reports:
        if r.get("detection"):
            groups.setdefault(_group_key(r), []).append(r)
    if not groups:
        return ""
    rows = [(_group_label(members), [m["detection"] for m in members]) for members in groups.values()]
    return "\n" + detection_table(rows)
