"""Evaluate one run: score every matching test set, write score files, metrics, report and figures.

``runs/<name>/scores/<condition>.tsv`` (overwritten), ``runs/<name>/report/{report.md, report.json, *.png}``.
This module only orders the steps; each has one home: scoring (``score_features``), metrics (``results``,
``tdcf``, ``intervals``, ``trace_eval``), the report (``run_report``, ``trace_report``), figures (``plots``) and
where it all goes in the run folder (``run_outputs``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecfake.device import resolve_device
from codecfake.evaluate.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED
from codecfake.evaluate.conditions import SetCondition, conditions_of
from codecfake.evaluate.detection_report import MetricConfig
from codecfake.evaluate.intervals import attach_intervals
from codecfake.evaluate.openset_scorers import DEFAULT_K, DEFAULT_SCORER
from codecfake.evaluate.results import condition_results
from codecfake.evaluate.run_calibration import apply_calibration, load_calibration
from codecfake.evaluate.run_outputs import RunOutputs
from codecfake.evaluate.run_report import assemble_run_report
from codecfake.evaluate.score_features import (
    dev_scores,
    find_test_sets,
    refuse_duplicate_conditions,
    score_conditions,
    threshold_of,
)
from codecfake.evaluate.score_file_report import attach_detection, reevaluate_fused_run, report_markdown
from codecfake.evaluate.score_fusion import is_fused_run
from codecfake.evaluate.score_tsv import write_scores
from codecfake.evaluate.tdcf import run_tdcf
from codecfake.evaluate.trace_clips import write_trace_scores
from codecfake.evaluate.trace_eval import evaluate_trace, is_trace_run
from codecfake.evaluate.trace_metrics import DEFAULT_KEEP
from codecfake.evaluate.trace_report import render_trace
from codecfake.progress import Progress

log = logging.getLogger(__name__)

__all__ = ["EvaluationOutput", "OpenSetOptions", "evaluate_run", "write_trace_outputs"]


@dataclass(frozen=True)
class OpenSetOptions:
    """A trace run's open-set choices: the share of known dev clips each threshold keeps, the kNN scorer's k and
    the scorer whose verdict the report, the score files and ``codecfake score`` show."""

    keep: float = DEFAULT_KEEP
    k: int = DEFAULT_K
    default: str = DEFAULT_SCORER


@dataclass(frozen=True)
class EvaluationOutput:
    """What ``evaluate_run`` produced: the report dict (report.json) and the files written."""

    report: dict
    score_files: dict[str, Path]
    report_dir: Path


def write_trace_outputs(
    run: Any,
    store: Any,
    conditions: Sequence[SetCondition],
    outputs: RunOutputs,
    *,
    device: Any,
    batch: int = 256,
    figures: bool = True,
    openset: OpenSetOptions = OpenSetOptions(),
) -> tuple[dict, str]:
    """Source tracing of a trace run: evaluate, store the fitted open-set scorers in the run, write the per-clip
    trace scores, draw the figures, write trace.json/md; (summary, markdown)."""
    ev = evaluate_trace(
        run,
        store,
        conditions,
        device=device,
        batch=batch,
        keep=openset.keep,
        k=openset.k,
        default=openset.default,
    )
    summary, fit = ev.summary, ev.fit
    outputs.write_openset(*fit.to_files())
    summary["score_files"] = {
        c.name: str(
            write_trace_scores(
                outputs.trace_score_file(c.name), c, fit.classes, fit.default, fit.thresholds[fit.default]
            ).relative_to(outputs.run_dir)
        )
        for c in ev.clips
    }
    summary["figures"] = []
    if figures and summary["conditions"]:
        from codecfake.evaluate.openset_plots import plot_openset_scores
        from codecfake.evaluate.plots import plot_trace_confusions

        summary["figures"] = [
            plot_trace_confusions(summary, outputs.report_dir / "trace_confusion.png").name,
            plot_openset_scores(ev.clips, fit, outputs.report_dir / "openset_scores.png").name,
        ]
    markdown = render_trace(summary)
    outputs.write_trace(summary, markdown)
    log.info(
        "%s: source tracing over %d classes, %d conditions, open set by %s -> %s",
        run.run_dir,
        len(summary["classes"]),
        len(summary["conditions"]),
        fit.default,
        outputs.report_dir / "trace.md",
    )
    return summary, markdown


def evaluate_run(
    run_dir: str | Path,
    store_root: str | Path,
    *,
    device: str = "auto",
    paper_mode: bool = False,
    batch: int = 256,
    figures: bool = True,
    progress: Progress | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    ci_seed: int = DEFAULT_SEED,
    asv_scores: str | Path | None = None,
    openset: OpenSetOptions = OpenSetOptions(),
) -> EvaluationOutput:
    """Score the run's best checkpoint on every matching test set and write scores/ and report/ (see module doc).

    ``resamples``: bootstrap resamples per condition for the 95 % intervals (0: none); ``ci_seed`` fixes their draws.
    ``asv_scores``: the ASVspoof 2019 LA eval ASV score file for the min t-DCF of 19LA (default: found under the
    dataset root recorded at extraction; no t-DCF when it is not on disk). ``openset``: a trace run's open-set
    options (``OpenSetOptions``).
    """
    from codecfake.store import FeatureStore
    from codecfake.train.rundir import load_run

    metrics = MetricConfig(resamples=resamples, seed=ci_seed)
    if is_fused_run(run_dir):  # a score-fusion run: refit from its members' current score files
        report = reevaluate_fused_run(run_dir, metrics)
        outputs = RunOutputs(Path(run_dir))
        files = {c["name"]: outputs.score_file(c["name"]) for c in report["conditions"]}
        return EvaluationOutput(report=report, score_files=files, report_dir=outputs.report_dir)
    dev = resolve_device(device)
    run = load_run(run_dir, device=dev)
    store = FeatureStore(store_root)
    outputs = RunOutputs(Path(run_dir))
    sets = find_test_sets(store, run.extractor, run.array)
    conditions = conditions_of(sets)
    refuse_duplicate_conditions(conditions)
    dev_sc = dev_scores(run, store, device=dev, batch=batch)
    thr = threshold_of(dev_sc)
    scores = score_conditions(run, conditions, device=dev, batch=batch, progress=progress)
    cmap = load_calibration(outputs.run_dir)  # a calibrated run: LLRs beside the fresh scores
    by_name = {s.name: apply_calibration(s.scores, cmap) for s in scores.scored}
    files = {name: write_scores(outputs.score_file(name), sc) for name, sc in by_name.items()}
    if dev_sc is not None:  # what `codecfake calibrate` and `codecfake fuse` fit on
        write_scores(outputs.dev_scores_file, apply_calibration(dev_sc, cmap))
    results = condition_results(scores.scored, dev_threshold=thr)
    report = assemble_run_report(
        run,
        outputs.run_dir,
        sets,
        results,
        paper_mode=paper_mode,
        dev_threshold=thr,
        tdcf=run_tdcf(scores.scored, asv_scores),
        skipped=scores.skipped,
        score_files=files,
    )
    if resamples > 0 and results:
        attach_intervals(report, by_name, resamples=resamples, seed=ci_seed)
    if results:  # minDCF, actDCF, Cllr, minCllr per condition and set; the per-attack table; the calibration
        methods = {s.name: s.methods for s in scores.scored if s.methods is not None}
        attach_detection(report, by_name, outputs.run_dir, metrics, methods)
    held_md = ""
    if (
        run.config.hold_out
    ):  # trained without these generators' fakes: their EER is the unseen-generator number
        from codecfake.evaluate.held_out import held_out_markdown, held_out_results

        report["held_out"] = held_out_results(run.config.hold_out, by_name, resamples=resamples, seed=ci_seed)
        held_md = held_out_markdown(report["held_out"])
    outputs.report_dir.mkdir(parents=True, exist_ok=True)
    if is_trace_run(run):  # source tracing: accuracy, macro-F1, confusion, open set
        report["trace"], _ = write_trace_outputs(
            run, store, conditions, outputs, device=dev, batch=batch, figures=figures, openset=openset
        )
    fig_paths: list[Path] = []
    if figures and results:
        from codecfake.evaluate.plots import write_figures

        fig_paths = write_figures(by_name, results, outputs.report_dir, paper_mode=paper_mode)
    report["figures"] = [p.name for p in fig_paths]
    if (outputs.report_dir / "reliability.png").is_file():  # drawn by `codecfake calibrate`
        report["figures"].append("reliability.png")
    outputs.write_report(report, report_markdown(report, report["figures"]) + held_md)
    log.info("%s: %d conditions evaluated -> %s", run_dir, len(results), outputs.report_dir / "report.md")
    return EvaluationOutput(report=report, score_files=files, report_dir=outputs.report_dir)
