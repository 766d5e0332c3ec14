"""A run's calibration on disk: fit on its dev scores, store the map, put LLRs beside the raw scores.

``runs/<name>/calibration.json`` holds the map (``calibration.LinearLlrMap``), the cost model, the decision
threshold on the LLR, and the dev metrics before and after; from then on every ``scores/*.tsv`` of the run carries an
``llr`` column (``codecfake evaluate`` applies the stored map to fresh scores), actDCF and Cllr are computed on it,
and ``codecfake score`` prints the LLR and the decision at the operating point. A run without calibration is
reported with the logit of its P(bona fide) as its LLR, and says so.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.atomic import write_atomic
from codecfake.evaluate.calibration import CalibrationError, LinearLlrMap, fit_llr_map, score_logit
from codecfake.evaluate.cllr import cllr, min_cllr
from codecfake.evaluate.detection_cost import TRACK1, DcfParams, act_dcf, min_dcf
from codecfake.evaluate.run_outputs import CALIBRATION_FILE, DEV_SCORES
from codecfake.evaluate.score_fusion import is_fused_run
from codecfake.evaluate.score_tsv import Scores, read_scores, write_scores

log = logging.getLogger(__name__)

__all__ = [
    "CALIBRATION_FILE",
    "LLR_CALIBRATED",
    "LLR_UNCALIBRATED",
    "load_calibration",
    "apply_calibration",
    "llr_of",
    "calibrate_run",
]

LLR_CALIBRATED = "calibrated"
LLR_UNCALIBRATED = "logit(P(bona fide)), uncalibrated"


def load_calibration(run_dir: str | Path) -> LinearLlrMap | None:
    """The run's stored calibration map, or None when it was never calibrated."""
    path = Path(run_dir) / CALIBRATION_FILE
    if not path.is_file():
        return None
    return LinearLlrMap.from_dict(json.loads(path.read_text())["map"])


def apply_calibration(sc: Scores, cmap: LinearLlrMap | None) -> Scores:
    """``sc`` with its ``llr`` column from ``cmap`` (unchanged when None)."""
    return sc if cmap is None else replace(sc, llr=cmap.llr(sc.score))


def llr_of(sc: Scores) -> tuple[np.ndarray, str]:
    """(N,) LLRs for actDCF / Cllr and what they are: the calibrated column, else the raw score's logit."""
    if sc.llr is not None:
        return sc.llr, LLR_CALIBRATED
    return score_logit(sc.score), LLR_UNCALIBRATED


def _dev_metrics(score: np.ndarray, llr: np.ndarray, labels: np.ndarray, params: DcfParams) -> dict:
    return {
        "min_dcf": min_dcf(score, labels, params).value,
        "act_dcf": act_dcf(llr, labels, params).value,
        "cllr": cllr(llr, labels),
        "min_cllr": min_cllr(score, labels),
    }


def calibrate_run(
    run_dir: str | Path, *, prior: float | None = None, params: DcfParams = TRACK1, figures: bool = True
) -> dict:
    """Fit the run's calibration on ``dev_scores.tsv``, write ``calibration.json``, add ``llr`` to every
    ``scores/*.tsv``; returns the record written. ``prior`` (bona fide) defaults to the operating point's effective
    prior. Refuses a fused run (its scores are LLRs already), a run without dev scores, and a one-class dev set."""
    run_dir = Path(run_dir)
    if is_fused_run(run_dir):
        raise CalibrationError(
            f"{run_dir} is a score-fusion run: its fusion is a calibration fitted on dev already (its llr column)"
        )
    dev_path = run_dir / DEV_SCORES
    if not dev_path.is_file():
        raise CalibrationError(
            f"{dev_path}: no dev scores to calibrate on; `codecfake evaluate --run {run_dir} --store STORE` writes "
            "them (calibration never uses test scores)"
        )
    dev = read_scores(dev_path)
    prior = params.effective_prior if prior is None else prior
    cmap = fit_llr_map(dev.score, dev.label, prior=prior, what=f"{dev_path}")
    dev_llr = cmap.llr(dev.score)
    record: dict[str, Any] = {
        "map": cmap.to_dict(),
        "input": "logit(P(bona fide)), P clipped to [1e-12, 1 - 1e-12]",
        "fitted_on": DEV_SCORES,
        "dcf": params.to_dict(),
        "llr_threshold": params.llr_threshold,
        "decision": f"bona fide when LLR >= {params.llr_threshold:.4f} (-log beta of the cost model)",
        "dev_before": _dev_metrics(dev.score, score_logit(dev.score), dev.label, params),
        "dev_after": _dev_metrics(dev.score, dev_llr, dev.label, params),
    }
    write_atomic(run_dir / CALIBRATION_FILE, json.dumps(record, indent=1) + "\n")
    test = {}
    for path in sorted((run_dir / "scores").glob("*.tsv")):
        test[path.stem] = apply_calibration(read_scores(path), cmap)
        write_scores(path, test[path.stem])
    if figures:
        from codecfake.evaluate.calibration_plot import plot_reliability

        record["figure"] = str(
            plot_reliability(apply_calibration(dev, cmap), test, run_dir / "report" / "reliability.png")
        )
    log.info(
        "%s: calibrated on %d + %d dev trials: LLR = %.4g * logit(P) + %.4g; dev actDCF %.4f -> %.4f",
        run_dir,
        cmap.n_bonafide,
        cmap.n_spoof,
        cmap.slopes[0],
        cmap.offset,
        record["dev_before"]["act_dcf"],
        record["dev_after"]["act_dcf"],
    )
    return record
