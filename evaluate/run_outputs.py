"""Where an evaluation writes inside a run folder, and the writes themselves: the one home of that layout.

``runs/<name>/scores/<condition>.tsv`` (a corpus-qualified condition ``corpus:C1`` is written ``corpus_C1.tsv``),
``runs/<name>/dev_scores.tsv`` (the dev split's scores), ``calibration.json`` / ``fusion.json`` (calibrated /
score-fusion runs),
``runs/<name>/report/{report.json, report.md}``, the figures beside them, and for source-tracing runs
``report/{trace.json, trace.md}``, their per-clip trace scores ``scores/trace/<condition>.tsv`` and the fitted
open-set scorers ``openset/{scorers.json, scorers.safetensors}``. Every file is replaced atomically, so a reader sees the old file or the new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.atomic import write_atomic
from codecfake.json_text import write_json_text

__all__ = ["RunOutputs", "DEV_SCORES", "CALIBRATION_FILE", "FUSION_FILE"]

DEV_SCORES = (
    "dev_scores.tsv"  # the run's dev-split scores: calibration and score fusion fit on them, never on test
)
CALIBRATION_FILE = "calibration.json"  # `codecfake calibrate`: the map from raw scores to LLRs
FUSION_FILE = "fusion.json"  # marks a score-fusion run (`codecfake fuse`): members and map


@dataclass(frozen=True)
class RunOutputs:
    """The evaluation outputs of the run folder ``run_dir``."""

    run_dir: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_dir", Path(self.run_dir))

    @property
    def scores_dir(self) -> Path:
        return self.run_dir / "scores"

    @property
    def report_dir(self) -> Path:
        return self.run_dir / "report"

    @property
    def report_json(self) -> Path:
        return self.report_dir / "report.json"

    @property
    def trace_json(self) -> Path:
        return self.report_dir / "trace.json"

    @property
    def dev_scores_file(self) -> Path:
        return self.run_dir / DEV_SCORES

    def score_file(self, condition: str) -> Path:
        """The score TSV of one condition."""
        return self.scores_dir / f"{condition.replace(':', '_')}.tsv"

    def write_report(self, report: dict, markdown: str) -> None:
        """report.json (NaN as null) and report.md."""
        write_json_text(self.report_json, report)
        write_atomic(self.report_dir / "report.md", markdown)

    def write_trace(self, summary: dict, markdown: str) -> None:
        """trace.json and trace.md of a source-tracing run."""
        write_json_text(self.trace_json, summary)
        write_atomic(self.report_dir / "trace.md", markdown)

    @property
    def openset_dir(self) -> Path:
        return self.run_dir / "openset"

    def trace_score_file(self, condition: str) -> Path:
        """The per-clip trace scores (generator, prediction, every open-set score) of one condition."""
        return self.scores_dir / "trace" / f"{condition.replace(':', '_')}.tsv"

    def write_openset(self, doc: dict, arrays: dict[str, np.ndarray]) -> None:
        """The fitted open-set scorers: arrays first, then the JSON naming their digest (written last, so a reader
        that finds the JSON finds its arrays)."""
        from safetensors.numpy import save

        blob = save({k: np.ascontiguousarray(v) for k, v in arrays.items()}) if arrays else b""
        write_atomic(self.openset_dir / "scorers.safetensors", blob)
        write_json_text(
            self.openset_dir / "scorers.json", doc | {"arrays_sha256": hashlib.sha256(blob).hexdigest()}
        )

    def read_openset(self) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        """(scorers.json, arrays) of the fitted open-set scorers, or None when the run was not evaluated yet."""
        doc_path, blob_path = self.openset_dir / "scorers.json", self.openset_dir / "scorers.safetensors"
        if not doc_path.is_file():
            return None
        doc = json.loads(doc_path.read_text())
        blob = blob_path.read_bytes() if blob_path.is_file() else b""
        if hashlib.sha256(blob).hexdigest() != doc.get("arrays_sha256"):
            from codecfake.evaluate.errors import EvaluationError

            raise EvaluationError(
                f"{blob_path}: the open-set arrays do not match {doc_path} (an interrupted write?); rerun "
                f"`codecfake evaluate --run {self.run_dir}` to refit them"
            )
        if not blob:
            return doc, {}
        from safetensors.numpy import load

        return doc, dict(load(blob))
