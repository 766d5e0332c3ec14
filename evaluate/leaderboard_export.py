"""A run's scores in the formats the public leaderboards take, with checksums.

**Speech Anti-Spoofing Arena** (Hugging Face organisation SpeechAntiSpoofingBenchmarks; its ``submissions/README.md``):
per dataset a ``scores.txt`` of ``<utterance_id> <score>`` lines, higher = more bona fide, uploaded to the submitter's
model repository under ``.eval_results/SpeechAntiSpoofingBenchmarks/<Dataset>/scores.txt``, and a submission YAML
(``schema_version: 4``) whose ``artifact.scores_sha256`` is the sha256 of that file and ``artifact.scores_url`` the
pinned URL of the upload (known only after uploading: left empty here, to be filled in). Written:
``anti-spoofing-arena/<Dataset>/scores.txt`` and ``submission.yaml``.

**Speech-DF-Arena** (Speech-Arena-2025; its toolkit ``speech_df_arena``): the toolkit reads a protocol CSV
``file_name,label`` (bona fide / spoof) and a score file of ``<file_name> <score>`` lines per dataset, and reports EER,
its threshold, F1 and accuracy at that threshold (bona fide when score >= threshold), per dataset, **pooled** (all
datasets' trials under one threshold) and **averaged** over datasets. We found no documented format for submitting
external scores to its leaderboard, and no checksum it asks for: written are the toolkit's pair per dataset
(``df-arena/<protocol>.txt`` and ``.csv``, with our utt_ids as file names — the toolkit's own protocol CSVs hold
absolute audio paths, so they must be joined on the trial name), and ``df-arena/metrics.json`` with those metrics.

Scores exported: the calibrated LLR when the run has one, else logit(P(bona fide)) (the same ranking as P, without
the saturation of P near 0 and 1). Every file is listed in ``SHA256SUMS`` (``sha256sum -c`` format).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codecfake.atomic import write_atomic
from codecfake.eer import eer_from_labels
from codecfake.evaluate.errors import RunReportError
from codecfake.evaluate.run_calibration import llr_of
from codecfake.evaluate.score_tsv import Scores, read_scores

log = logging.getLogger(__name__)

__all__ = ["ARENA_NAMES", "Dataset", "export_run", "df_arena_metrics"]

# our corpus name -> (Speech-DF-Arena protocol, Speech Anti-Spoofing Arena dataset); None: not on that board
ARENA_NAMES: dict[str, tuple[str | None, str | None]] = {
    "asvspoof2019la": ("asvspoof_2019", "ASVspoof2019_LA"),
    "asvspoof2021la": ("asvspoof_2021_la", "ASVspoof2021_LA"),
    "asvspoof2021df": ("asvspoof_2021_df", "ASVspoof2021_DF"),
    "asvspoof5": ("asvspoof_2024", "ASVspoof5"),
    "itw": ("in_the_wild", "InTheWild"),
    "codecfake": ("codecfake", None),
}


@dataclass(frozen=True)
class Dataset:
    """One corpus' test trials of a run, pooled over its conditions."""

    corpus: str
    conditions: tuple[str, ...]
    utt_id: np.ndarray
    score: np.ndarray  # exported score: LLR or logit(P)
    label: np.ndarray
    score_kind: str


def _datasets(run_dir: Path) -> list[Dataset]:
    report_path = run_dir / "report" / "report.json"
    if not report_path.is_file():
        raise RunReportError(
            f"{report_path}: not found; evaluate the run first (`codecfake evaluate --run {run_dir}`)"
        )
    report = json.loads(report_path.read_text())
    by_corpus: dict[str, list[tuple[str, Scores]]] = {}
    for c in report["conditions"]:
        path = run_dir / "scores" / f"{c['name'].replace(':', '_')}.tsv"
        by_corpus.setdefault(c.get("corpus") or c["name"], []).append((c["name"], read_scores(path)))
    out = []
    for corpus, parts in by_corpus.items():
        llrs = [llr_of(sc) for _, sc in parts]
        out.append(
            Dataset(
                corpus,
                tuple(n for n, _ in parts),
                np.concatenate([sc.utt_id for _, sc in parts]),
                np.concatenate([v for v, _ in llrs]),
                np.concatenate([sc.label for _, sc in parts]),
                "calibrated LLR" if all(k == "calibrated" for _, k in llrs) else "logit(P(bona fide))",
            )
        )
    return out


def _f1_accuracy(score: np.ndarray, label: np.ndarray, thr: float) -> tuple[float, float]:
    bona = label == 0
    pred = score >= thr  # the toolkit: bona fide when score >= the EER threshold
    tp = int(np.sum(pred & bona))
    f1 = 2 * tp / (int(pred.sum()) + int(bona.sum()))
    return f1, float(np.mean(pred == bona))


def df_arena_metrics(datasets: Sequence[Dataset]) -> dict:
    """EER %, its threshold, F1 and accuracy % per dataset, pooled (one threshold) and averaged (the toolkit's)."""
    per = {}
    for d in datasets:
        res = eer_from_labels(d.score, d.label)
        f1, acc = _f1_accuracy(d.score, d.label, res.threshold)
        per[d.corpus] = {
            "EER (%)": res.eer_percent,
            "Threshold": res.threshold,
            "F1-score": f1,
            "Accuracy (%)": 100 * acc,
        }
    s = np.concatenate([d.score for d in datasets])
    y = np.concatenate([d.label for d in datasets])
    pooled = eer_from_labels(s, y)
    f1, acc = _f1_accuracy(s, y, pooled.threshold)
    return {
        "datasets": per,
        "pooled": {
            "EER (%)": pooled.eer_percent,
            "Threshold": pooled.threshold,
            "F1-score": f1,
            "Accuracy (%)": 100 * acc,
        },
        "average": {
            k: float(np.mean([m[k] for m in per.values()])) for k in ("EER (%)", "F1-score", "Accuracy (%)")
        },
    }


def _yaml(obj: dict, indent: int = 0) -> str:
    """A tiny YAML emitter for nested dicts of str / numbers / None (strings JSON-quoted: valid YAML)."""
    pad, lines = "  " * indent, []
    for k, v in obj.items():
        if isinstance(v, dict):
            lines.append(f"{pad}{k}:")
            lines.append(_yaml(v, indent + 1))
        else:
            lines.append(f"{pad}{k}: {'null' if v is None else json.dumps(v)}")
    return "\n".join(lines)


def _write_scores(path: Path, d: Dataset) -> Path:
    write_atomic(
        path, "".join(f"{u} {v:.9g}\n" for u, v in zip(d.utt_id.tolist(), d.score.tolist(), strict=True))
    )
    return path


def export_run(run_dir: str | Path, out_dir: str | Path, *, system: str | None = None) -> dict[str, str]:
    """Write both leaderboards' files for every corpus the run was evaluated on; returns {relative path: sha256}."""
    run_dir, out = Path(run_dir), Path(out_dir)
    datasets = _datasets(run_dir)
    name = system or run_dir.name
    written: list[Path] = []
    for d in datasets:
        df_name, asa_name = ARENA_NAMES.get(d.corpus, (None, None))
        proto = df_name or d.corpus
        written.append(_write_scores(out / "df-arena" / f"{proto}.txt", d))
        labels = ("bonafide", "spoof")
        csv = "file_name,label\n" + "".join(
            f"{u},{labels[int(y)]}\n" for u, y in zip(d.utt_id, d.label, strict=True)
        )
        write_atomic(out / "df-arena" / f"{proto}.csv", csv)
        written.append(out / "df-arena" / f"{proto}.csv")
        folder = out / "anti-spoofing-arena" / (asa_name or d.corpus)
        scores = _write_scores(folder / "scores.txt", d)
        written.append(scores)
        written.append(_submission(folder, d, asa_name, name, _sha256(scores)))
    metrics = df_arena_metrics(datasets) | {"score": sorted({d.score_kind for d in datasets})}
    write_atomic(out / "df-arena" / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    written.append(out / "df-arena" / "metrics.json")
    sums = {str(p.relative_to(out)): _sha256(p) for p in written}
    write_atomic(out / "SHA256SUMS", "".join(f"{h}  {p}\n" for p, h in sums.items()))
    log.info("exported %s: %d datasets -> %s", run_dir, len(datasets), out)
    return sums


def _submission(folder: Path, d: Dataset, asa_name: str | None, system: str, sha: str) -> Path:
    eer = eer_from_labels(d.score, d.label).eer_percent
    doc = {
        "schema_version": 4,
        "system": {
            "name": system,
            "slug": system,
            "description": f"codecfake run {system}; score = {d.score_kind}",
        },
        "dataset": {"id": f"SpeechAntiSpoofingBenchmarks/{asa_name}" if asa_name else None, "split": "test"},
        "scores": {"eer_percent": round(eer, 4), "n_trials": int(d.label.size), "n_skipped": 0},
        "artifact": {"scores_url": None, "scores_sha256": sha},
        "notes": (
            "scores_url: the pinned (commit) URL after uploading scores.txt to your model repo; "
            + ("" if asa_name else f"corpus {d.corpus} is not an arena dataset; ")
            + f"conditions {', '.join(d.conditions)}"
        ),
    }
    path = folder / "submission.yaml"
    write_atomic(path, _yaml(doc) + "\n")
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
