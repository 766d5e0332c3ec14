"""A run's report rebuilt from its score files: after ``codecfake calibrate`` (LLRs now beside the scores) and for a
score-fusion run (which has scores but no model). The EER part of an evaluated run's report.json is kept as the
evaluation wrote it; the ASVspoof 5 metrics (``detection``) and the calibration record are (re)computed, and
report.md is rendered again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from codecfake.eer import eer_from_labels
from codecfake.evaluate.conditions import sort_conditions
from codecfake.evaluate.detection_markdown import render_detection
from codecfake.evaluate.detection_report import (
    DEFAULT_METRICS,
    MetricConfig,
    attack_breakdown,
    detection_block,
)
from codecfake.evaluate.errors import RunReportError
from codecfake.evaluate.intervals import attach_intervals, load_run_scores
from codecfake.evaluate.report import load_report
from codecfake.evaluate.results import evaluate_condition
from codecfake.evaluate.run_outputs import CALIBRATION_FILE, DEV_SCORES, FUSION_FILE, RunOutputs
from codecfake.evaluate.run_report import render_run_report, results_block
from codecfake.evaluate.score_fusion import is_fused_run
from codecfake.evaluate.score_tsv import Scores, read_scores

__all__ = [
    "refresh_report",
    "reevaluate_fused_run",
    "attach_detection",
    "scores_report",
    "fused_run_report",
    "calibration_note",
    "report_markdown",
]


def calibration_note(cal: dict) -> str:
    m = cal["map"]
    slopes = " + ".join(f"{a:.4g}·logit(P_{n})" for a, n in zip(m["slopes"], m["inputs"], strict=True))
    return (
        f"Calibration (fitted on {m['n_bonafide']} + {m['n_spoof']} **dev** trials, prior-weighted logistic regression, "
        f"prior {m['prior']:.3f}): LLR = {slopes} + {m['offset']:.4g}; decision: {cal['decision']}. Dev actDCF "
        f"{cal['dev_before']['act_dcf']:.4f} → {cal['dev_after']['act_dcf']:.4f}, Cllr {cal['dev_before']['cllr']:.4f} → "
        f"{cal['dev_after']['cllr']:.4f}."
    )


def report_markdown(report: dict, figures: list[str]) -> str:
    """report.md: the evaluation's tables, the calibration / fusion note, the ASVspoof 5 metrics section."""
    md = render_run_report(report, figures)
    notes = []
    if report.get("score_fusion"):
        f = report["score_fusion"]
        w = ", ".join(f"`{n}` {a:.4g}" for n, a in zip(f["member_names"], f["map"]["slopes"], strict=True))
        notes.append(f"Score fusion of {w} (+ {f['map']['offset']:.4g}), fitted on the members' dev scores.")
    if report.get("calibration"):
        notes.append(calibration_note(report["calibration"]))
    extra = "".join(f"\n{n}\n" for n in notes)
    if report.get("detection"):
        extra += "\n" + render_detection(report["detection"])
    if report.get("trace"):  # a source-tracing run: its section as evaluate appended it
        from codecfake.evaluate.trace_report import render_trace

        extra += render_trace(report["trace"])
    return md + extra


def scores_report(
    run_dir: Path,
    scores: dict[str, Scores],
    corpus_of: dict[str, str],
    *,
    dev_threshold: float | None,
    system: dict,
    cfg: MetricConfig,
) -> dict:
    """The report.json dict of a run known only by its score files (``system``: run facts — array, extractor,
    config — and any extra top-level keys), with the EER part computed as `codecfake evaluate` computes it."""
    names = sort_conditions(list(scores))
    results = [
        evaluate_condition(c, corpus_of.get(c, ""), scores[c], dev_threshold=dev_threshold) for c in names
    ]
    report = {
        "schema": 1,
        "run": run_dir.name,
        "run_dir": str(run_dir),
        "paper_mode": False,
        "best": None,
        **system,
        "feature_sets": [],
        "dev_threshold": dev_threshold,
        **results_block(results),
        "tdcf": {},
        "skipped": {},
        "score_files": {c: str(run_dir / "scores" / f"{c.replace(':', '_')}.tsv") for c in names},
    }
    if cfg.resamples > 0:
        attach_intervals(report, scores, resamples=cfg.resamples, seed=cfg.seed)
    return report


def fused_run_report(run_dir: Path, cfg: MetricConfig) -> dict:
    """report.json of a score-fusion run, from its fused score files (EER per condition as for any run)."""
    rec = json.loads((run_dir / FUSION_FILE).read_text())
    corpus_of: dict[str, str] = {}
    first = Path(rec["members"][0]) / "report" / "report.json"
    if first.is_file():
        corpus_of = {c["name"]: c.get("corpus", "") for c in json.loads(first.read_text())["conditions"]}
    dev = read_scores(run_dir / DEV_SCORES)
    scores = {c: read_scores(run_dir / "scores" / f"{c.replace(':', '_')}.tsv") for c in rec["conditions"]}
    system = {
        "array": "score fusion",
        "extractor": {"extractor": "score fusion", "model_id": " + ".join(rec["member_names"])},
        "config": {"score_fusion": rec["member_names"]},
        "score_fusion": rec,
    }
    thr = eer_from_labels(dev.score, dev.label).threshold
    return scores_report(run_dir, scores, corpus_of, dev_threshold=thr, system=system, cfg=cfg)


def attach_detection(
    report: dict,
    scores: Mapping[str, Scores],
    run_dir: Path,
    cfg: MetricConfig,
    methods: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """Add ``detection`` (the ASVspoof 5 metrics; ``by_attack`` when per-trial ``methods`` are given) and the run's
    ``calibration`` record to ``report`` in place; returns it."""
    corpus_of = {c["name"]: c.get("corpus", "") for c in report["conditions"]}
    report["detection"] = detection_block(scores, corpus_of, cfg)
    if methods:
        by_attack = attack_breakdown(scores, methods, corpus_of, cfg.params)
        if by_attack:
            report["detection"]["by_attack"] = by_attack
    cal = run_dir / CALIBRATION_FILE
    if cal.is_file():
        report["calibration"] = json.loads(cal.read_text())
    return report


def refresh_report(run_dir: str | Path, cfg: MetricConfig = DEFAULT_METRICS) -> dict:
    """Recompute the ``detection`` block (and ``calibration``) from the run's score files, rewrite report.json/md."""
    run_dir = Path(run_dir)
    if is_fused_run(run_dir):
        report = fused_run_report(run_dir, cfg)
    else:
        try:
            report = load_report(run_dir)
        except RunReportError as err:
            raise RunReportError(f"{err} (calibrate and fuse need an evaluated run)") from None
    previous = (report.get("detection") or {}).get("by_attack")  # needs per-trial methods: kept from evaluate
    attach_detection(report, load_run_scores(run_dir, report), run_dir, cfg)
    if previous and "by_attack" not in report["detection"]:
        report["detection"]["by_attack"] = previous
    figures = list(report.get("figures") or [])
    if (run_dir / "report" / "reliability.png").is_file() and "reliability.png" not in figures:
        figures.append("reliability.png")
    report["figures"] = figures
    outputs = RunOutputs(run_dir)
    outputs.report_dir.mkdir(parents=True, exist_ok=True)
    outputs.write_report(report, report_markdown(report, figures))
    return report


def reevaluate_fused_run(run_dir: str | Path, cfg: MetricConfig = DEFAULT_METRICS) -> dict:
    """`codecfake evaluate` on a score-fusion run: refit the fusion on its members' current dev and test score files
    (same members, prior and operating point), then rebuild its report."""
    from codecfake.evaluate.score_fusion import fuse_runs

    run_dir = Path(run_dir)
    rec = json.loads((run_dir / FUSION_FILE).read_text())
    prior = float(rec["map"]["prior"])
    thr = float(rec.get("llr_threshold", cfg.params.llr_threshold))
    fuse_runs(rec["members"], run_dir, prior=prior, llr_threshold=thr)
    return refresh_report(run_dir, cfg)
