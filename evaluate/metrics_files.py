"""``codecfake metrics FILE...`` (and ``codecfake eer``): every metric straight from score files.

The EER table of ``eer_files`` (ours, or the release's ``<name> <P(real)> <label>`` files), then the ASVspoof 5
metrics of each condition and of the averaged / pooled sets (``detection_report``), with bootstrap intervals.
With ``--protocol KIND ROOT`` each file is checked against the dataset's protocol first — a trial the protocol lists
but the file lacks, a trial it does not list, or a label that disagrees are refused naming the line — and a file of
bare ``<utt_id> <score>`` lines (the leaderboards' format, no label column) takes its labels and conditions from the
protocol's test rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from codecfake.corpus.manifest import LABELS, Manifest
from codecfake.evaluate.detection_markdown import render_detection
from codecfake.evaluate.detection_report import DEFAULT_METRICS, MetricConfig, detection_block
from codecfake.evaluate.eer_files import FileResult, eer_files, read_any, render_eer_files
from codecfake.evaluate.errors import ScoreFileError
from codecfake.evaluate.score_tsv import Scores, check_trials

__all__ = ["protocol_trials", "read_bare_scores", "metrics_for_files"]


def protocol_trials(manifest: Manifest) -> dict[str, dict[str, int]]:
    """``{condition: {utt_id: label int}}`` of the manifest's test rows."""
    out: dict[str, dict[str, int]] = {}
    for u, lab, cond, split in zip(
        *(manifest.column(f) for f in ("utt_id", "label", "condition", "split")), strict=True
    ):
        if split == "test":
            out.setdefault(cond, {})[u] = LABELS[lab]
    return out


def read_bare_scores(path: Path, trials: dict[str, dict[str, int]]) -> list[Scores]:
    """A ``<utt_id> <score>`` file split into the protocol's conditions (labels from the protocol)."""
    rows = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != 2]
    if bad:
        raise ScoreFileError(
            f"{path}: line {bad[0] + 1} has {len(rows[bad[0]])} fields, expected '<utt_id> <score>'"
        )
    where = {u: (c, y) for c, t in trials.items() for u, y in t.items()}
    out: dict[str, list[tuple[str, float, int]]] = {}
    for i, (u, v) in enumerate(rows):
        if u not in where:
            raise ScoreFileError(
                f"{path}: line {i + 1} scores trial {u!r}, which the protocol's test rows do not list"
            )
        cond, y = where[u]
        out.setdefault(cond, []).append((u, float(v), y))
    parts = []
    for cond, items in out.items():
        ids, values, labels = zip(*items, strict=True)
        parts.append(Scores(np.array(ids), np.array(values), np.array(labels), np.full(len(ids), cond)))
    return parts


def _is_bare(path: Path) -> bool:
    """A leaderboard-style ``<utt_id> <score>`` file (two fields on its first line)."""
    with open(path, encoding="utf-8") as fh:
        return len(fh.readline().split()) == 2


def _read(path: Path, trials: dict[str, dict[str, int]] | None) -> list[Scores]:
    if trials is not None and _is_bare(path):
        return read_bare_scores(path, trials)
    return read_any(path)[1]


def _check(path: Path, parts: list[Scores], trials: dict[str, dict[str, int]], protocol: str) -> None:
    for sc in parts:
        cond = str(sc.condition[0])
        if cond not in trials:
            raise ScoreFileError(
                f"{path}: condition {cond!r} has no test rows in {protocol} (its conditions: {sorted(trials)[:12]})"
            )
        check_trials(sc, trials[cond], path, protocol=f"{protocol}, condition {cond}")


def metrics_for_files(
    paths: Sequence[str | Path],
    *,
    paper_mode: bool = False,
    asv_scores: str | Path | None = None,
    protocol: tuple[str, str | Path] | None = None,
    config: MetricConfig = DEFAULT_METRICS,
) -> str:
    """The printed report of ``codecfake metrics``: the EER table, then the ASVspoof 5 metrics block."""
    files = [Path(p) for p in paths]
    trials, corpus_of = None, {}
    if protocol is not None:
        from codecfake.corpus import load_manifest

        kind, root = protocol
        manifest = load_manifest(kind, root, check_paths=False)
        trials = protocol_trials(manifest)
        corpus_of = dict.fromkeys(trials, manifest.name)
    scores: dict[str, Scores] = {}
    for p in files:
        parts = _read(p, trials)
        if trials is not None and protocol is not None:  # both or neither: trials come from the protocol
            _check(p, parts, trials, f"the {protocol[0]} protocol at {protocol[1]}")
        scores |= {str(sc.condition[0]): sc for sc in parts}
    labelled = [p for p in files if trials is None or not _is_bare(p)]
    results: list[FileResult] = eer_files(labelled, asv_scores) if labelled else []
    text = render_eer_files(results, paper_mode=paper_mode) + "\n" if results else ""
    return text + render_detection(detection_block(scores, corpus_of, config))
