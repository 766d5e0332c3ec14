"""Run the robustness sweep of one run: extract what is missing, score every degraded test set, write the report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.atomic import write_atomic
from codecfake.evaluate.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, eer_interval
from codecfake.evaluate.conditions import group_test_rows, qualify_collisions, sort_conditions
from codecfake.evaluate.robustness import (
    CLEAN,
    check_aligned,
    degraded_sets,
    parse_degrade,
    plan_degraded,
    test_extractor,
)
from codecfake.evaluate.score_features import find_test_sets, score_rows
from codecfake.evaluate.score_tsv import Scores, write_scores

log = logging.getLogger(__name__)


def _cell(
    fs: Any, rows: np.ndarray, run: Any, dev: Any, batch: int, name: str, resamples: int, seed: int
) -> tuple:
    """Score ``rows`` of ``fs``: (Scores, {eer, ci, n_bonafide, n_spoof}); rejected rows are left out."""
    from codecfake.train.input_arrays import valid_mask

    ok = rows[valid_mask(fs, run.array)[rows]]
    meta = fs.meta
    label = np.asarray(meta["label"]).astype(np.int64)[ok]
    sc = Scores(
        meta["utt_id"][ok],
        score_rows(run.model, fs, run.array, ok, device=dev, batch=batch),
        label,
        meta["condition"][ok],
    )
    cell: dict[str, Any] = {"n_bonafide": int((label == 0).sum()), "n_spoof": int((label == 1).sum())}
    cell["rejected"] = int(len(rows) - len(ok))
    if cell["n_bonafide"] and cell["n_spoof"]:
        interval, _ = eer_interval(sc.score, label, name=name, resamples=max(resamples, 1), seed=seed)
        cell["eer"] = interval.value
        cell["ci"] = interval.to_list() if resamples > 0 else None
    return sc, cell


def summarise(cells: dict[str, dict[str, dict]], degradations: list[str]) -> dict[str, Any]:
    """Per condition the mean over degradations and the worst one; per degradation the mean over conditions."""
    per_cond = {}
    for cond, row in cells.items():
        eers = {d: row[d]["eer"] for d in degradations if "eer" in row.get(d, {})}
        if eers:
            worst = max(eers, key=eers.__getitem__)
            per_cond[cond] = {
                "mean": float(np.mean(list(eers.values()))),
                "worst": worst,
                "worst_eer": eers[worst],
            }
    by_deg = {}
    for d in [CLEAN, *degradations]:
        vals = [row[d]["eer"] for row in cells.values() if "eer" in row.get(d, {})]
        if vals:
            by_deg[d] = float(np.mean(vals))
    worst_deg = max((d for d in by_deg if d != CLEAN), key=by_deg.__getitem__, default=None)
    return {"conditions": per_cond, "by_degradation": by_deg, "worst_degradation": worst_deg}


def extract_degraded(
    store: Any,
    extractor_spec: Any,
    array: str,
    degrade: str,
    *,
    device: str = "cpu",
    seed: int = 1234,
    force: bool = False,
    model_dir: str | Path | None = None,
    progress: Callable[[], Any] | None = None,
    num_workers: int | None = None,
) -> list[Any]:
    """Extract what is missing of the degraded copies of every clean test set of ``extractor_spec`` (a run's recorded
    extractor, or a training set's spec) and ``array``; returns the clean test sets. Done once, any run of that
    extraction finds them: an experiment matrix extracts them before its runs' sweeps start."""
    from codecfake.extract.variants import disk_plan, extract_variants, missing_jobs

    recipes = parse_degrade(degrade)
    sets = find_test_sets(store, extractor_spec, array)
    jobs = plan_degraded(sets, recipes, seed)
    extractor = test_extractor(sets[0], array, model_dir=model_dir, device=device)
    todo = missing_jobs(jobs, extractor, store)
    if todo:
        log.info("robustness: %s", disk_plan(todo, extractor, store, force=force))
        extract_variants(todo, extractor, store, progress=progress, num_workers=num_workers)
    return sets


def run_sweep(
    run_dir: str | Path,
    store_root: str | Path,
    degrade: str,
    *,
    device: str = "auto",
    batch: int = 256,
    resamples: int = DEFAULT_RESAMPLES,
    ci_seed: int = DEFAULT_SEED,
    seed: int = 1234,
    force: bool = False,
    model_dir: str | Path | None = None,
    progress: Callable[[], Any] | None = None,
    num_workers: int | None = None,
    figures: bool = True,
) -> dict[str, Any]:
    """The sweep (module doc of ``codecfake.evaluate.robustness``); returns robustness.json's content."""
    from codecfake.device import resolve_device
    from codecfake.store import FeatureStore
    from codecfake.train.rundir import load_run

    recipes = parse_degrade(degrade)  # bad input fails before the run or the store is opened
    dev = resolve_device(device)
    run = load_run(run_dir, device=dev)
    store = FeatureStore(store_root)
    sets = extract_degraded(
        store,
        run.extractor,
        run.array,
        degrade,
        device=str(dev),
        seed=seed,
        force=force,
        model_dir=model_dir,
        progress=progress,
        num_workers=num_workers,
    )
    names = [r.name for r in recipes]
    groups = [(fs, g) for fs in sets for g in group_test_rows(fs.spec.corpus, fs.meta)]
    shown = qualify_collisions([g for _, g in groups])
    out_dir = Path(run_dir) / "robustness"
    cells: dict[str, dict[str, dict]] = {}
    for i, (fs, g) in enumerate(groups):
        cond = shown[i]
        test_rows = np.flatnonzero(fs.meta["split"] == "test")
        deg = degraded_sets(store, fs, recipes, seed)
        row: dict[str, dict] = {}
        _, row[CLEAN] = _cell(fs, g.indices, run, dev, batch, f"{cond}/{CLEAN}", resamples, ci_seed)
        for name in names:
            if name not in deg:
                row[name] = {"skipped": "degraded set missing"}
                continue
            check_aligned(fs, deg[name])
            rows = np.searchsorted(test_rows, g.indices)  # the degraded set holds the test rows in order
            sc, row[name] = _cell(deg[name], rows, run, dev, batch, f"{cond}/{name}", resamples, ci_seed)
            write_scores(out_dir / "scores" / name.replace(":", "_") / f"{cond.replace(':', '_')}.tsv", sc)
        cells[cond] = row
    order = sort_conditions(list(cells))
    report = {
        "schema": 1,
        "run": Path(run_dir).name,
        "degrade": degrade,
        "degradations": names,
        "seed": seed,
        "conditions": order,
        "cells": {c: cells[c] for c in order},
        "summary": summarise(cells, names),
        "bootstrap": {"resamples": resamples, "seed": ci_seed, "level": 0.95},
    }
    from codecfake.evaluate.robustness_report import render_markdown, write_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    fig = write_figure(report, out_dir / "robustness.png") if figures else None
    import json

    write_atomic(out_dir / "robustness.json", json.dumps(report, indent=1, sort_keys=True) + "\n")
    write_atomic(out_dir / "robustness.md", render_markdown(report, fig.name if fig else None))
    log.info("%s: robustness over %s -> %s", run_dir, ", ".join(names), out_dir / "robustness.md")
    return report
