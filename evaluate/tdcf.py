"""Minimum normalised t-DCF for ASVspoof 2019 LA: the countermeasure judged in tandem with the organisers' ASV system.

The ASVspoof 2019 cost model (evaluation plan; the release's ``evaluate_tDCF_asvspoof19.py`` uses the same numbers):
P_spoof = 0.05, P_tar = 0.99 (1 - P_spoof), P_non = 0.01 (1 - P_spoof), C_miss,asv = 1, C_fa,asv = 10,
C_miss,cm = 1, C_fa,cm = 10. The ASV system is fixed at its own EER threshold τ (official EER walk over its target vs
non-target scores); at τ, with acceptance meaning score ≥ τ::

    P_fa,asv = share of non-targets ≥ τ,  P_miss,asv = share of targets < τ,  P_miss,spoof,asv = share of spoofs < τ
    C1 = P_tar (C_miss,cm − C_miss,asv P_miss,asv) − P_non C_fa,asv P_fa,asv
    C2 = C_fa,cm P_spoof (1 − P_miss,spoof,asv)
    t-DCF_norm(t) = (C1 P_miss,cm(t) + C2 P_fa,cm(t)) / min(C1, C2)

where P_miss,cm / P_fa,cm follow the same DET walk as our EER (``det_curve``: the point "accept all" first, then one
more rejected trial per step). The minimum over that walk is the min t-DCF. ASV scores come from the dataset's
``ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.{dev,eval}.gi.trl.scores.txt``: ``<source> <key> <score>`` with key
``target | nontarget | spoof``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from codecfake.eer import compute_eer, det_curve
from codecfake.evaluate.errors import EvaluationError, ScoreFileError

if TYPE_CHECKING:
    from codecfake.store import FeatureSet

__all__ = [
    "CostModel",
    "COST_2019",
    "AsvScores",
    "TdcfResult",
    "read_asv_scores",
    "asv_error_rates",
    "min_tdcf",
    "find_asv_scores",
    "asv_file_for",
    "condition_tdcf",
    "run_tdcf",
    "ASV_SCORE_DIR",
]

ASV_SCORE_DIR = "ASVspoof2019_LA_asv_scores"


@dataclass(frozen=True)
class CostModel:
    p_spoof: float
    p_tar: float
    p_non: float
    c_miss_asv: float
    c_fa_asv: float
    c_miss_cm: float
    c_fa_cm: float


COST_2019 = CostModel(
    p_spoof=0.05,
    p_tar=0.95 * 0.99,
    p_non=0.95 * 0.01,
    c_miss_asv=1.0,
    c_fa_asv=10.0,
    c_miss_cm=1.0,
    c_fa_cm=10.0,
)


@dataclass(frozen=True)
class AsvScores:
    """The organisers' ASV scores: (n_t,) target, (n_n,) non-target, (n_s,) spoof trials; ``path`` where read."""

    target: np.ndarray
    nontarget: np.ndarray
    spoof: np.ndarray
    path: str = ""


@dataclass(frozen=True)
class TdcfResult:
    """min t-DCF (normalised), the CM threshold where it is reached (accept bona fide when score > it), and the
    ASV operating point it was computed at."""

    min_tdcf: float
    cm_threshold: float
    asv_threshold: float
    p_fa_asv: float
    p_miss_asv: float
    p_miss_spoof_asv: float
    c1: float
    c2: float
    asv_file: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def read_asv_scores(path: str | Path) -> AsvScores:
    """Read ``<source> <target|nontarget|spoof> <score>`` lines (the ASVspoof 2019 LA ASV score file)."""
    path = Path(path)
    if not path.is_file():
        raise ScoreFileError(
            f"{path}: ASV score file not found; it ships with ASVspoof 2019 LA in {ASV_SCORE_DIR}/"
        )
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    bad = next((i for i, r in enumerate(rows) if len(r) != 3), None)
    if bad is not None:
        raise ScoreFileError(
            f"{path}: line {bad + 1} has {len(rows[bad])} fields, expected 3 "
            f"(<source> <target|nontarget|spoof> <score>)"
        )
    keys = np.array([r[1] for r in rows])
    unknown = sorted(set(keys.tolist()) - {"target", "nontarget", "spoof"})
    if unknown:
        raise ScoreFileError(f"{path}: keys must be target, nontarget or spoof, found {unknown[:5]}")
    try:
        scores = np.array([float(r[2]) for r in rows], dtype=np.float64)
    except ValueError as err:
        raise ScoreFileError(f"{path}: a score is not a number ({err})") from None
    out = AsvScores(scores[keys == "target"], scores[keys == "nontarget"], scores[keys == "spoof"], str(path))
    if not (out.target.size and out.nontarget.size and out.spoof.size):
        raise ScoreFileError(
            f"{path}: needs target, nontarget and spoof trials, found "
            f"{out.target.size}/{out.nontarget.size}/{out.spoof.size}"
        )
    return out


def asv_error_rates(asv: AsvScores) -> tuple[float, float, float, float]:
    """(threshold τ, P_fa,asv, P_miss,asv, P_miss,spoof,asv) at the ASV system's EER threshold."""
    tau = compute_eer(asv.target, asv.nontarget).threshold
    p_fa = float(np.mean(asv.nontarget >= tau))
    p_miss = float(np.mean(asv.target < tau))
    p_miss_spoof = float(np.mean(asv.spoof < tau))
    return tau, p_fa, p_miss, p_miss_spoof


def min_tdcf(
    bonafide_cm: np.ndarray, spoof_cm: np.ndarray, asv: AsvScores, costs: CostModel = COST_2019
) -> TdcfResult:
    """min normalised t-DCF of CM scores (higher = more bona fide) in tandem with ``asv``; see the module doc."""
    tau, p_fa, p_miss, p_miss_spoof = asv_error_rates(asv)
    c1 = costs.p_tar * (costs.c_miss_cm - costs.c_miss_asv * p_miss) - costs.p_non * costs.c_fa_asv * p_fa
    c2 = costs.c_fa_cm * costs.p_spoof * (1.0 - p_miss_spoof)
    if c1 <= 0 or c2 <= 0:
        raise EvaluationError(
            f"t-DCF: cost weights C1 = {c1:.4g}, C2 = {c2:.4g} must be positive; the ASV scores ({asv.path}) give "
            f"P_fa {p_fa:.3g}, P_miss {p_miss:.3g}, P_miss,spoof {p_miss_spoof:.3g}: check the ASV score file"
        )
    curve = det_curve(bonafide_cm, spoof_cm)  # (N + 1,) P_miss,cm = frr, P_fa,cm = far
    tdcf = (c1 * curve.frr + c2 * curve.far) / min(c1, c2)
    k = int(np.argmin(tdcf))
    return TdcfResult(
        float(tdcf[k]),
        float(curve.thresholds[k]),
        float(tau),
        p_fa,
        p_miss,
        p_miss_spoof,
        float(c1),
        float(c2),
        asv.path,
    )


def find_asv_scores(dataset_root: str | Path | None, part: str = "eval") -> Path | None:
    """The ASV score file of an LA part ("eval" or "dev") under the dataset root, or None when it is not on disk."""
    if not dataset_root:
        return None
    name = f"ASVspoof2019.LA.asv.{part}.gi.trl.scores.txt"
    root = Path(dataset_root)
    for cand in (root / ASV_SCORE_DIR / name, root / name):
        if cand.is_file():
            return cand
    return None


LA_CORPORA = ("asvspoof2019la", "asvspoof2019")


def asv_file_for(fs: FeatureSet, override: str | Path | None = None) -> Path | None:
    """The ASV score file for the test rows of feature set ``fs``: ``override`` (``--asv-scores``), else the eval file
    under the dataset root recorded at extraction; None for other corpora or when it is not on disk."""
    if fs.spec.corpus.lower() not in LA_CORPORA:
        return None
    if override:
        return Path(override)
    extra = (fs.provenance or {}).get("extra", {}) if hasattr(fs, "provenance") else {}
    return find_asv_scores(extra.get("dataset_root"), "eval")


def condition_tdcf(score: np.ndarray, label: np.ndarray, asv_path: str | Path) -> dict:
    """``{"plain": TdcfResult dict, "paper": ...}`` for (N,) P(bona fide) scores with labels 0 bona fide / 1 spoof.

    "paper" follows the release: the orientation (s or -s) with the lower EER, -s on a tie."""
    asv = read_asv_scores(asv_path)
    bona, spoof = score[label == 0], score[label == 1]
    plain = min_tdcf(bona, spoof, asv)
    flip = compute_eer(bona, spoof).eer >= compute_eer(-bona, -spoof).eer
    paper = min_tdcf(-bona, -spoof, asv) if flip else plain
    return {"plain": plain.to_dict(), "paper": paper.to_dict() | {"flipped": bool(flip)}}


def run_tdcf(scored: Sequence[Any], asv_scores: str | Path | None = None) -> dict[str, dict]:
    """``{condition: condition_tdcf}`` for each pooled scored condition (``score_features.ScoredCondition``) whose
    ASV score file is known (``asv_scores``, else found under the dataset root recorded at extraction)."""
    out = {}
    for s in scored:
        asv = asv_file_for(s.condition.fs, asv_scores) if s.condition.rows.pooled else None
        if asv is not None:
            out[s.name] = condition_tdcf(s.scores.score, s.scores.label, asv)
    return out
