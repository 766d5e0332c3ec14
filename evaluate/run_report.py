"""One run's report: ``report.json`` assembled from what ``evaluate_run`` measured, and ``report.md`` rendered from it.

report.json keys, in order: schema, run, run_dir, paper_mode, array, extractor, config, best, fusion (fused-layer
runs), feature_sets, dev_threshold, conditions, averages, inverted, tdcf, skipped, score_files; then bootstrap
(``intervals.attach_intervals``), trace (source-tracing runs) and figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codecfake.evaluate.conditions import VARIANT_CONDITIONS, averages, sort_conditions
from codecfake.evaluate.report import cell_values, ci_note, fmt_eer, render_table, run_cells, run_columns
from codecfake.evaluate.results import INVERTED_MARK, ConditionResult
from codecfake.train.fusion import fusion_weights
from codecfake.train.input_arrays import array_names

__all__ = ["assemble_run_report", "results_block", "render_run_report", "fusion_note"]


def fusion_block(run: Any) -> dict:
    """``{"fusion": {"arrays", "weights"}}`` for a fused-layer run (the best checkpoint's softmax weights), else {}."""
    weights = fusion_weights(run.model, run.array)
    if weights is None:
        return {}
    return {
        "fusion": {
            "arrays": list(array_names(run.array)),
            "weights": [weights[a] for a in array_names(run.array)],
        }
    }


def results_block(results: Sequence[ConditionResult]) -> dict:
    """report.json's measured part, in its order: conditions, averages (plain and paper EERs), inverted cells."""
    return {
        "conditions": [r.to_dict() for r in results],
        "averages": {
            "plain": averages({r.name: r.eer for r in results}),
            "paper": averages({r.name: r.eer_paper for r in results}),
        },
        "inverted": [r.name for r in results if r.inverted],
    }


def assemble_run_report(
    run: Any,
    run_dir: Path,
    sets: Sequence[Any],
    results: Sequence[ConditionResult],
    *,
    paper_mode: bool,
    dev_threshold: float | None,
    tdcf: Mapping[str, dict],
    skipped: Mapping[str, str],
    score_files: Mapping[str, Path],
) -> dict:
    """The report.json dict of one evaluated run (``results`` in the paper's order)."""
    return {
        "schema": 1,
        "run": run_dir.name,
        "run_dir": str(run_dir),
        "paper_mode": paper_mode,
        "array": run.array,
        "extractor": run.extractor,
        "config": run.config.to_dict(),
        "best": run.best,
        **fusion_block(run),
        "feature_sets": [fs.key for fs in sets],
        "dev_threshold": dev_threshold,
        **results_block(results),
        "tdcf": dict(tdcf),
        "skipped": dict(skipped),
        "score_files": {k: str(v) for k, v in score_files.items()},
    }


def _mat(m: Sequence[Sequence[int]] | None) -> str:
    return "–" if m is None else f"[[{m[0][0]}, {m[0][1]}], [{m[1][0]}, {m[1][1]}]]"


def _avg_note(avgs: dict) -> str:
    parts = []
    for name, a in avgs.items():
        over = ", ".join(a["over"]) or "nothing"
        miss = f"; missing {', '.join(a['missing'])}" if a["missing"] else ""
        parts.append(f"{name} = mean over {over}{miss}")
    return "; ".join(parts)


def _extra_notes(report: dict) -> list[str]:
    names = {c["name"] for c in report["conditions"]}
    out = []
    variants = [n for n in VARIANT_CONDITIONS if n in names]
    if variants:
        out.append(
            f"Codec-configuration variants {', '.join(variants)} are reported per condition and kept out of "
            "CAVG/AVG (the paper's CAVG is C1..C7)."
        )
    for name, t in (report.get("tdcf") or {}).items():
        p = t["plain"]
        out.append(
            f"{name} min t-DCF: ASVspoof 2019 LA cost model, ASV scores `{p['asv_file']}` (ASV EER threshold "
            f"{p['asv_threshold']:.4g}: P_fa {p['p_fa_asv']:.4f}, P_miss {p['p_miss_asv']:.4f}, "
            f"P_miss,spoof {p['p_miss_spoof_asv']:.4f}); plain {p['min_tdcf']:.4f}, "
            f"paper orientation {t['paper']['min_tdcf']:.4f}."
        )
    for name, why in (report.get("skipped") or {}).items():
        out.append(f"Not evaluated: {name} — {why}.")
    return out


def fusion_note(fusion: dict) -> str:
    """The learned layer weights of a fused-layer run, one line (report.json ``fusion``)."""
    cells = ", ".join(f"`{a}` {w:.3f}" for a, w in zip(fusion["arrays"], fusion["weights"], strict=True))
    return (
        f"Layer fusion: softmax weights of the best checkpoint {cells} (y = Σ w_l · x_l before the back-end)."
    )


def render_run_report(report: dict, figures: Sequence[str] = ()) -> str:
    """``report.md`` of one run: the table, the averages' membership, inverted warnings, confusion matrices."""
    paper = bool(report["paper_mode"])
    names = sort_conditions([c["name"] for c in report["conditions"]])
    vals, inv = cell_values(report, paper)
    lines = [
        f"# Evaluation of run `{report['run']}`",
        "",
        f"Checkpoint: best; array `{report['array']}`; extractor `{report['extractor'].get('extractor')}` "
        f"(`{report['extractor'].get('model_id')}`). EER % by the ASVspoof algorithm, bona fide = target, "
        f"score = P(bona fide). Mode: {'paper (min(EER(s), EER(-s)))' if paper else 'plain EER(s)'}.",
        "",
        render_table([(report["run"], run_cells(report, paper))], run_columns(report)),
        "",
        f"Averages: {_avg_note(averages(vals))}. `*` = averaged over fewer conditions than the paper.",
    ]
    if report.get("bootstrap"):
        lines += ["", ci_note(report["bootstrap"])]
    if report.get("fusion"):
        lines += ["", fusion_note(report["fusion"])]
    lines += [x for note in _extra_notes(report) for x in ("", note)]
    if inv:
        lines += [
            "",
            f"**⚠ INVERTED ({INVERTED_MARK}) on {', '.join(sort_conditions(list(inv)))}**: EER(-s) < EER(s), "
            "the detector ranks these conditions backwards."
            + (
                " Paper mode reports the flipped value."
                if paper
                else " `--paper` would report the flipped value."
            ),
        ]
    lines += [
        "",
        "## Per condition",
        "",
        "| condition | corpus | bona fide | spoof | EER(s) | EER(-s) | EER thr | acc@0.5 | [[rr, rf], [fr, ff]]@0.5 "
        "| acc@dev-EER thr | [[rr, rf], [fr, ff]]@dev |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_name = {c["name"]: c for c in report["conditions"]}
    for n in names:
        c = by_name[n]
        dev = c["confusion_dev"]
        dev_acc = "–" if dev is None else f"{100 * dev['accuracy']:.2f} %"
        lines.append(
            f"| {n} | {c['corpus']} | {c['n_bonafide']} | {c['n_spoof']} | {fmt_eer(c['eer'])} | {fmt_eer(c['eer_flipped'])} "
            f"| {c['eer_threshold']:.4g} | {100 * c['confusion_05']['accuracy']:.2f} % | {_mat(c['confusion_05']['matrix'])} "
            f"| {dev_acc} | {_mat(None if dev is None else dev['matrix'])} |"
        )
    thr = report.get("dev_threshold")
    lines += [
        "",
        f"Dev-EER threshold: {'not available (no dev rows)' if thr is None else f'{thr:.6g}'}; "
        "prediction = bona fide when P(bona fide) > threshold.",
    ]
    details = [(c["name"], c["detail"]) for c in report["conditions"] if c["detail"]]
    for name, detail in details:
        lines += [
            "",
            f"### {name} per attack (each attack's spoofs vs all bona fide)",
            "",
            "| attack | spoof | EER(s) | EER(-s) |",
            "|---|---|---|---|",
        ]
        for a, d in detail.items():
            mark = f" {INVERTED_MARK}" if d["inverted"] else ""
            lines.append(
                f"| {a} | {d['n_spoof']} | {fmt_eer(d['eer'])}{mark} | {fmt_eer(d['eer_flipped'])} |"
            )
    if figures:
        lines += ["", "## Figures", ""] + [f"![{Path(f).stem}]({Path(f).name})" for f in figures]
    return "\n".join(lines) + "\n"
