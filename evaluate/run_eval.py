"""Evaluate one run: score every matching test set, write score files, metrics, report and figures.

``runs/<name>/scores/<condition>.tsv`` (overwritten), ``runs/<name>/report/{report.md, report.json, *.png}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.atomic import write_atomic
from codecfake.device import resolve_device
from codecfake.eer import eer_from_labels
from codecfake.evaluate.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED
from codecfake.evaluate.conditions import (
    ConditionRows,
    averages,
    group_test_rows,
    qualify_collisions,
    sort_conditions,
)
from codecfake.evaluate.errors import EvaluationError
from codecfake.evaluate.intervals import attach_intervals
from codecfake.evaluate.report import as_json, render_run_report
from codecfake.evaluate.results import ConditionResult, evaluate_condition
from codecfake.evaluate.score_features import find_test_sets, score_rows
from codecfake.evaluate.score_tsv import Scores, write_scores
from codecfake.evaluate.tdcf import asv_file_for, condition_tdcf
from codecfake.progress import Progress
from codecfake.train.fusion import fusion_weights
from codecfake.train.layers import array_names, has_arrays, valid_mask

log = logging.getLogger(__name__)

__all__ = ["EvaluationOutput", "evaluate_run", "dev_threshold"]


@dataclass(frozen=True)
class EvaluationOutput:
    """What ``evaluate_run`` produced: the report dict (report.json) and the files written."""

    report: dict
    score_files: dict[str, Path]
    report_dir: Path


def _valid_indices(fs: Any, array: str, indices: np.ndarray) -> np.ndarray:
    ok = valid_mask(fs, array)[indices]  # fused layers: valid in every layer
    if not ok.all():
        log.warning(
            "%s: %d clips were rejected at extraction (bad audio) and are not scored",
            fs.key,
            int((~ok).sum()),
        )
    return indices[ok]


def _scores_for(
    model: Any,
    fs: Any,
    array: str,
    indices: np.ndarray,
    device: Any,
    batch: int,
    progress: Callable[[int], None] | None,
) -> Scores:
    meta = fs.meta
    s = score_rows(model, fs, array, indices, device=device, batch=batch, progress=progress)
    return Scores(
        utt_id=meta["utt_id"][indices],
        score=s,
        label=np.asarray(meta["label"]).astype(np.int64)[indices],
        condition=meta["condition"][indices],
    )


def _lacking_class(fs: Any, indices: np.ndarray) -> str:
    """ "bona fide" or "spoof" when the valid rows lack that class (e.g. A3's AudioCaps reals kept as rejects)."""
    labels = np.asarray(fs.meta["label"])[indices]
    return "bona fide" if not (labels == 0).any() else "spoof" if not (labels == 1).any() else ""


def _refuse_duplicate_conditions(groups: list[tuple[Any, ConditionRows]], names: dict[int, str]) -> None:
    """Two feature sets giving the same condition (an old whole-corpus set beside its per-part sets) are refused."""
    seen: dict[str, str] = {}
    for i, (fs, _) in enumerate(groups):
        if names[i] in seen and seen[names[i]] != fs.key:
            raise EvaluationError(
                f"condition {names[i]} is in two feature sets with the run's extractor: {seen[names[i]]} and "
                f"{fs.key} (e.g. a whole-corpus set beside its per-part sets); keep one: "
                f"`codecfake store rm KEY` for the other"
            )
        seen[names[i]] = fs.key


def dev_threshold(run: Any, store: Any, *, device: Any, batch: int = 256) -> float | None:
    """EER threshold of the run's dev split (rows with split "dev" of its training sets); None without dev rows."""
    parts = []
    for key in run.feature_keys:
        fs = store.open(key)
        idx = np.flatnonzero(fs.meta["split"] == "dev")
        if idx.size and has_arrays(fs, run.array):
            parts.append(
                _scores_for(run.model, fs, run.array, _valid_indices(fs, run.array, idx), device, batch, None)
            )
    if not parts:
        return None
    s = np.concatenate([p.score for p in parts])
    y = np.concatenate([p.label for p in parts])
    if not ((y == 0).any() and (y == 1).any()):
        return None
    return eer_from_labels(s, y).threshold


def _fusion_block(run: Any) -> dict:
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
) -> EvaluationOutput:
    """Score the run's best checkpoint on every matching test set and write scores/ and report/ (see module doc).

    ``resamples``: bootstrap resamples per condition for the 95 % intervals (0: none); ``ci_seed`` fixes their draws.
    ``asv_scores``: the ASVspoof 2019 LA eval ASV score file for the min t-DCF of 19LA (default: found under the
    dataset root recorded at extraction; no t-DCF when it is not on disk).
    """
    from codecfake.store import FeatureStore
    from codecfake.train.rundir import load_run

    dev = resolve_device(device)
    run = load_run(run_dir, device=dev)
    store = FeatureStore(store_root)
    sets = find_test_sets(store, run.extractor, run.array)
    groups: list[tuple[Any, ConditionRows]] = [
        (fs, g) for fs in sets for g in group_test_rows(fs.spec.corpus, fs.meta)
    ]
    names = qualify_collisions([g for _, g in groups])
    _refuse_duplicate_conditions(groups, names)
    thr = dev_threshold(run, store, device=dev, batch=batch)
    run_dir = Path(run_dir)
    scores_dir, report_dir = run_dir / "scores", run_dir / "report"
    all_scores: dict[str, Scores] = {}
    results: list[ConditionResult] = []
    files: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    tdcf: dict[str, dict] = {}
    for i, (fs, g) in enumerate(groups):
        name = names[i]
        idx = _valid_indices(fs, run.array, g.indices)
        lacking = _lacking_class(fs, idx)
        if lacking:
            skipped[name] = (
                f"{fs.key}: no valid {lacking} clips ({len(g.indices) - len(idx)} rejected at extraction)"
            )
            log.warning("not evaluated: condition %s — %s", name, skipped[name])
            continue
        if progress is not None:
            progress.start(f"scoring {name}", len(idx), "clip")
        cb = progress.advance if progress is not None else None
        sc = _scores_for(run.model, fs, run.array, idx, dev, batch, cb)
        files[name] = write_scores(scores_dir / f"{name.replace(':', '_')}.tsv", sc)
        all_scores[name] = sc
        results.append(evaluate_condition(name, g.corpus, sc, pooled=g.pooled, dev_threshold=thr))
        asv = asv_file_for(fs, asv_scores) if g.pooled else None
        if asv is not None:
            tdcf[name] = condition_tdcf(sc.score, sc.label, asv)
    order = {n: k for k, n in enumerate(sort_conditions([r.name for r in results]))}
    results.sort(key=lambda r: order[r.name])
    report = {
        "schema": 1,
        "run": run_dir.name,
        "run_dir": str(run_dir),
        "paper_mode": paper_mode,
        "array": run.array,
        "extractor": run.extractor,
        "config": run.config.to_dict(),
        "best": run.best,
        **_fusion_block(run),
        "feature_sets": [fs.key for fs in sets],
        "dev_threshold": thr,
        "conditions": [r.to_dict() for r in results],
        "averages": {
            "plain": averages({r.name: r.eer for r in results}),
            "paper": averages({r.name: r.eer_paper for r in results}),
        },
        "inverted": [r.name for r in results if r.inverted],
        "tdcf": tdcf,
        "skipped": skipped,
        "score_files": {k: str(v) for k, v in files.items()},
    }
    if resamples > 0 and results:
        attach_intervals(report, all_scores, resamples=resamples, seed=ci_seed)
    held_md = ""
    if (
        run.config.hold_out
    ):  # trained without these generators' fakes: their EER is the unseen-generator number
        from codecfake.evaluate.held_out import held_out_markdown, held_out_results

        report["held_out"] = held_out_results(
            run.config.hold_out, all_scores, resamples=resamples, seed=ci_seed
        )
        held_md = held_out_markdown(report["held_out"])
    report_dir.mkdir(parents=True, exist_ok=True)
    trace_md = ""
    if (
        run.config.task == "trace"
    ):  # source tracing: accuracy, macro-F1, confusion, open set (evaluate/trace_run.py)
        from codecfake.evaluate.trace_run import evaluate_trace

        report["trace"], trace_md = evaluate_trace(
            run, store, sets, report_dir, device=dev, batch=batch, figures=figures
        )
    fig_paths: list[Path] = []
    if figures and results:
        from codecfake.evaluate.plots import write_figures

        fig_paths = write_figures(all_scores, results, report_dir, paper_mode=paper_mode)
    report["figures"] = [p.name for p in fig_paths]
    write_atomic(report_dir / "report.json", as_json(report) + "\n")
    md = render_run_report(report, [str(p) for p in fig_paths]) + trace_md + held_md
    write_atomic(report_dir / "report.md", md)
    log.info("%s: %d conditions evaluated -> %s", run_dir, len(results), report_dir / "report.md")
    return EvaluationOutput(report=report, score_files=files, report_dir=report_dir)
