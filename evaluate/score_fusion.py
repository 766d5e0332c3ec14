"""Score fusion: several runs' scores of the same trials combined into one calibrated LLR per trial.

Not to be confused with fused-*layer* training (``train/fusion.py``: several SSL layers into one model). Here whole
systems are combined after scoring, as the top ASVspoof 5 systems were built: a linear logistic regression over the
member runs' log-odds, LLR = Σ_k a_k · logit(P_k(bona fide)) + b, fitted on their **dev** scores with the
prior-weighted cross-entropy of ``calibration.fit_llr_map`` (Brümmer's linear fusion), then applied to each test
condition. The result is written as a run folder (``fusion.json`` + ``scores/`` + ``dev_scores.tsv``) that the
report, compare, export and evaluate commands read like any other run.

Runs are fused only over identical trials: the dev sets and every test condition must hold the same utt_ids with
the same labels in every member; otherwise ``TrialMismatch`` names the set and the difference (counts and examples of
the trials only one side has, or the trials labelled differently).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codecfake.atomic import write_atomic
from codecfake.evaluate.calibration import LinearLlrMap, fit_llr_map
from codecfake.evaluate.detection_cost import TRACK1
from codecfake.evaluate.errors import EvaluationError, TrialMismatch
from codecfake.evaluate.run_outputs import DEV_SCORES, FUSION_FILE
from codecfake.evaluate.score_tsv import Scores, read_scores, write_scores

log = logging.getLogger(__name__)

__all__ = [
    "DEV_SCORES",
    "FUSION_FILE",
    "JoinedTrials",
    "join_trials",
    "fit_score_fusion",
    "fuse_runs",
    "is_fused_run",
    "posterior_from_llr",
]


@dataclass(frozen=True)
class JoinedTrials:
    """K runs' scores of the same N trials: (K, N) scores in the first run's trial order, (N,) the rest."""

    scores: np.ndarray
    utt_id: np.ndarray
    label: np.ndarray
    condition: np.ndarray


def _difference(name_a: str, a: Scores, name_b: str, b: Scores) -> str:
    ids_a, ids_b = set(a.utt_id.tolist()), set(b.utt_id.tolist())
    only_a, only_b = sorted(ids_a - ids_b), sorted(ids_b - ids_a)
    parts = [f"{len(ids_a)} vs {len(ids_b)} trials, {len(ids_a & ids_b)} in common"]
    if only_a:
        parts.append(f"{len(only_a)} only in {name_a} (e.g. {only_a[:3]})")
    if only_b:
        parts.append(f"{len(only_b)} only in {name_b} (e.g. {only_b[:3]})")
    return "; ".join(parts)


def join_trials(what: str, runs: Sequence[tuple[str, Scores]]) -> JoinedTrials:
    """Join several runs' scores of one set (``what``: "dev", "condition C2") on utt_id, refusing any difference."""
    (name0, first), rest = runs[0], runs[1:]
    ids = first.utt_id
    pos = {u: i for i, u in enumerate(ids.tolist())}
    rows = [first.score]
    for name, sc in rest:
        if sc.utt_id.size != ids.size or not all(u in pos for u in sc.utt_id.tolist()):
            raise TrialMismatch(
                f"{what}: runs {name0} and {name} did not score the same trials ({_difference(name0, first, name, sc)}); "
                "fuse runs evaluated on the same feature sets (`codecfake evaluate --run RUN --store STORE`, one store)"
            )
        idx = np.array([pos[u] for u in sc.utt_id.tolist()], dtype=np.intp)
        differ = np.flatnonzero(first.label[idx] != sc.label)
        if differ.size:
            raise TrialMismatch(
                f"{what}: runs {name0} and {name} label {differ.size} shared trials differently (e.g. "
                f"{sc.utt_id[differ[:3]].tolist()}); their feature sets come from different manifests — rebuild one"
            )
        row = np.empty(ids.size)
        row[idx] = sc.score
        rows.append(row)
    return JoinedTrials(np.stack(rows), ids, first.label, first.condition)


def fit_score_fusion(
    dev: Sequence[tuple[str, Scores]], *, prior: float = TRACK1.effective_prior
) -> tuple[LinearLlrMap, JoinedTrials]:
    """The fusion map fitted on the members' joined dev scores (and the joined dev trials)."""
    joined = join_trials("dev", dev)
    names = tuple(name for name, _ in dev)
    return fit_llr_map(
        joined.scores, joined.label, prior=prior, inputs=names, what="dev scores of the fusion"
    ), joined


def posterior_from_llr(llr: np.ndarray | float) -> np.ndarray:
    """P(bona fide) at even prior, σ(LLR): the ``score`` column of a fused run (its ``llr`` column is the LLR)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(llr, dtype=np.float64)))


def is_fused_run(run_dir: str | Path) -> bool:
    return (Path(run_dir) / FUSION_FILE).is_file()


def _member_scores(run_dir: Path) -> tuple[Scores, dict[str, Scores]]:
    dev_path = run_dir / DEV_SCORES
    if not dev_path.is_file():
        raise EvaluationError(
            f"{dev_path}: no dev scores; fusion fits on dev only — run `codecfake evaluate --run {run_dir}` "
            "(it writes them when the run's training sets have dev rows)"
        )
    tests = {p.stem: read_scores(p) for p in sorted((run_dir / "scores").glob("*.tsv"))}
    if not tests:
        raise EvaluationError(
            f"{run_dir}/scores: no score files; run `codecfake evaluate --run {run_dir}` first"
        )
    return read_scores(dev_path), tests


def fuse_runs(
    run_dirs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    prior: float = TRACK1.effective_prior,
    llr_threshold: float = TRACK1.llr_threshold,
    force: bool = False,
) -> dict:
    """Fit the fusion of ``run_dirs`` on their dev scores and write the fused run to ``out_dir``; returns fusion.json.

    Every member needs ``dev_scores.tsv`` and ``scores/*.tsv`` over the same trials; a test condition missing from a
    member is refused, as are differing trials."""
    dirs = [Path(d) for d in run_dirs]
    if len(dirs) < 2:
        raise EvaluationError(
            f"score fusion needs at least two runs, got {len(dirs)}: codecfake fuse RUN_A RUN_B …"
        )
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not (force or is_fused_run(out)):
        raise EvaluationError(
            f"{out} exists and is not a score-fusion run; choose another --name or pass --force"
        )
    names = [d.name for d in dirs]
    if len(set(names)) != len(names):
        names = [str(d) for d in dirs]
    loaded = [_member_scores(d) for d in dirs]
    fmap, dev = fit_score_fusion(list(zip(names, (dv for dv, _ in loaded), strict=True)), prior=prior)
    conditions = sorted(set.union(*(set(t) for _, t in loaded)))
    lacking = {c: [n for n, (_, t) in zip(names, loaded, strict=True) if c not in t] for c in conditions}
    lacking = {c: v for c, v in lacking.items() if v}
    if lacking:
        raise TrialMismatch(
            "test conditions not scored by every run: "
            + "; ".join(f"{c} missing in {', '.join(v)}" for c, v in lacking.items())
            + ". Evaluate every run on the same store (`codecfake evaluate --run RUN --store STORE`)"
        )
    (out / "scores").mkdir(parents=True, exist_ok=True)
    for stale in (out / "scores").glob("*.tsv"):
        stale.unlink()  # a refit rewrites every condition
    _write_fused(out / DEV_SCORES, dev, fmap)
    for cond in conditions:
        joined = join_trials(
            f"condition {cond}", [(n, t[cond]) for n, (_, t) in zip(names, loaded, strict=True)]
        )
        _write_fused(out / "scores" / f"{cond}.tsv", joined, fmap)
    record = {
        "kind": "score-fusion",
        "members": [str(d.resolve()) for d in dirs],
        "member_names": names,
        "map": fmap.to_dict(),
        "input": "logit(P(bona fide)) of each member (clipped to 1e-12)",
        "llr_threshold": llr_threshold,
        "decision": f"bona fide when LLR >= {llr_threshold:.4f} (-log beta of the cost model)",
        "conditions": conditions,
    }
    write_atomic(out / FUSION_FILE, json.dumps(record, indent=1) + "\n")
    log.info("fused %s -> %s (weights %s, offset %.4g)", ", ".join(names), out, fmap.slopes, fmap.offset)
    return record


def _write_fused(path: Path, joined: JoinedTrials, fmap: LinearLlrMap) -> None:
    llr = fmap.llr(joined.scores)
    write_scores(
        path, Scores(joined.utt_id, posterior_from_llr(llr), joined.label, joined.condition, llr=llr)
    )
