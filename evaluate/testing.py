"""Test helpers of the evaluate stage: a scored run folder made of score files alone (no model, no store).

``write_scored_run`` writes what `codecfake evaluate` leaves behind that the score-file commands read
(calibrate, fuse, export, report, compare): ``scores/<condition>.tsv``, ``dev_scores.tsv`` and
``report/report.json`` with the EER part as the evaluation computes it (``score_file_report.scores_report``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from codecfake.evaluate.score_fusion import DEV_SCORES, posterior_from_llr
from codecfake.evaluate.score_tsv import Scores, write_scores

__all__ = ["write_scored_run"]


def _trials(name: str, n_bona: int, n_spoof: int, rng: np.random.Generator, noise: float) -> Scores:
    y = np.r_[np.zeros(n_bona, int), np.ones(n_spoof, int)]
    x = np.where(y == 0, 1.0, -1.0) + rng.normal(0, noise, y.size)
    ids = np.array([f"{name}/u{i:05d}" for i in range(y.size)])
    return Scores(ids, posterior_from_llr(x), y, np.full(y.size, name))


def write_scored_run(
    run_dir: str | Path,
    conditions: Mapping[str, tuple[str, int, int]],
    *,
    seed: int = 0,
    noise: float = 1.0,
    dev: tuple[int, int] | None = (200, 300),
) -> Path:
    """``conditions``: name -> (corpus, n bona fide, n spoof); scores = P(bona fide) of ±1 + N(0, noise) log-odds,
    the same trial ids for the same names whatever the seed (so runs written with other seeds share trials)."""
    from codecfake.evaluate.detection_report import MetricConfig
    from codecfake.evaluate.score_file_report import scores_report

    run = Path(run_dir)
    rng = np.random.default_rng(seed)
    scores = {}
    for name, (_, n_b, n_s) in conditions.items():
        scores[name] = _trials(name, n_b, n_s, rng, noise)
        write_scores(run / "scores" / f"{name}.tsv", scores[name])
    if dev is not None:
        write_scores(run / DEV_SCORES, _trials("dev", *dev, rng, noise))
    system = {"array": "mel", "extractor": {"extractor": "mel", "model_id": "test"}, "config": {"seed": seed}}
    corpus_of = {c: v[0] for c, v in conditions.items()}
    report = scores_report(
        run, scores, corpus_of, dev_threshold=None, system=system, cfg=MetricConfig(resamples=0)
    )
    (run / "report").mkdir(parents=True, exist_ok=True)
    (run / "report" / "report.json").write_text(json.dumps(report) + "\n")
    return run
