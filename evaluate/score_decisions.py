"""`codecfake score` on a calibrated or score-fusion run: each file's LLR and the decision at the operating point.

A calibrated run's map (``calibration.json``) turns P(bona fide) into an LLR; the decision is bona fide when the LLR
reaches the Bayes threshold −log β of the cost model it was calibrated for (ASVspoof 5 Track 1: −0.642), not
P > 0.5. A fused run scores every file with each member run (its own extractor) and applies the fusion map.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codecfake.evaluate.calibration import LinearLlrMap
from codecfake.evaluate.run_outputs import CALIBRATION_FILE, FUSION_FILE
from codecfake.evaluate.score_fusion import posterior_from_llr

__all__ = ["Decision", "decide", "fused_decisions", "render_decisions", "operating_threshold"]


@dataclass(frozen=True)
class Decision:
    path: str
    score: float | None  # P(bona fide) (a fused run: σ(LLR))
    llr: float | None
    decision: str  # "bonafide" | "spoof" | "error"
    error: str | None = None


def operating_threshold(run_dir: str | Path) -> float:
    """The LLR threshold the run's calibration (or fusion) was made for: −log β of its cost model (Track 1's when
    the record predates it)."""
    from codecfake.evaluate.detection_cost import TRACK1

    for name in (CALIBRATION_FILE, FUSION_FILE):
        path = Path(run_dir) / name
        if path.is_file():
            return float(json.loads(path.read_text()).get("llr_threshold", TRACK1.llr_threshold))
    return TRACK1.llr_threshold


def decide(results: Sequence[Any], cmap: LinearLlrMap, threshold: float) -> list[Decision]:
    """Decisions of ``score_audio.FileScore`` results through a one-input calibration map."""
    out = []
    for r in results:
        if r.score is None:
            out.append(Decision(r.path, None, None, "error", r.error))
            continue
        llr = float(cmap.llr(np.array([r.score]))[0])
        out.append(Decision(r.path, r.score, llr, "bonafide" if llr >= threshold else "spoof"))
    return out


def fused_decisions(
    files: Sequence[str | Path], run_dir: str | Path, *, model_dir: Any, device: Any, batch: int
) -> list[Decision]:
    """Score ``files`` with every member of the fused run, combine with its map, decide at the operating point."""
    from codecfake.evaluate.score_audio import build_run_extractor, score_files
    from codecfake.train.rundir import load_run

    rec = json.loads((Path(run_dir) / FUSION_FILE).read_text())
    fmap = LinearLlrMap.from_dict(rec["map"])
    per_member = []
    for member in rec["members"]:
        run = load_run(member, device=device)
        per_member.append(
            score_files(
                files,
                run,
                build_run_extractor(run, model_dir=model_dir, device=device),
                device=device,
                batch=batch,
            )
        )
    thr = operating_threshold(run_dir)
    out = []
    for i, path in enumerate(files):
        rows = [m[i] for m in per_member]
        bad = [r.error for r in rows if r.score is None]
        if bad:
            out.append(Decision(str(path), None, None, "error", bad[0]))
            continue
        llr = float(fmap.llr(np.array([[r.score] for r in rows]))[0])
        out.append(
            Decision(str(path), float(posterior_from_llr(llr)), llr, "bonafide" if llr >= thr else "spoof")
        )
    return out


def render_decisions(rows: Sequence[Decision], threshold: float) -> str:
    lines = [f"file\tP(bonafide)\tLLR\tdecision (LLR >= {threshold:.4f})"]
    for r in rows:
        if r.score is None:
            lines.append(f"{r.path}\t–\t–\terror")
        else:
            lines.append(f"{r.path}\t{r.score:.6f}\t{r.llr:+.4f}\t{r.decision}")
    return "\n".join(lines) + "\n"
