"""``codecfake eer FILE...``: EER per condition straight from score files — ours or the release's ``result/*.txt``.

Formats (detected per file): our TSV (header ``utt_id score label condition``; its condition column decides the
condition) or the release's ``<name> <P(real)> <real|fake|bonafide|spoof>`` lines, whose condition comes from the file
name: ``C1_result.txt`` → C1, ``C3-1_result.txt`` (or ``C3_1_…``) → C3-1, ``L1_result.txt`` → A1 (the released result files
name A1..A3 L1..L3; ``generate_score.py`` at HEAD writes ``A1_result.txt``, read as is), ``19LA_result.txt`` / ``19LA.txt`` → 19LA, ``ITW_result.txt`` → ITW, ``codec_mellcnn.C2.txt`` → C2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codecfake.evaluate.conditions import averages, sort_conditions
from codecfake.evaluate.errors import ScoreFileError
from codecfake.evaluate.results import INVERTED_MARK, ConditionResult, evaluate_condition
from codecfake.evaluate.score_tsv import HEADER, Scores, read_official_scores, read_scores
from codecfake.evaluate.tdcf import condition_tdcf

__all__ = ["FileResult", "condition_from_name", "read_any", "eer_files", "render_eer_files"]

_ALIASES = {
    "L1": "A1",
    "L2": "A2",
    "L3": "A3",
    "19LA": "19LA",
    "LA": "19LA",
    "LA19": "19LA",
    "ITW": "ITW",
    "IWA": "ITW",
}


@dataclass(frozen=True)
class FileResult:
    path: str
    fmt: str  # "ours" | "release"
    result: ConditionResult
    tdcf: dict | None = None  # 19LA with --asv-scores: condition_tdcf(...) {"plain": …, "paper": …}


def condition_from_name(path: str | Path) -> str:
    """The condition a release score file holds, from its name (see the module doc)."""
    stem = Path(path).name.removesuffix(".txt")
    stem = re.sub(r"_result$", "", stem)
    stem = stem.rsplit(".", 1)[-1]
    stem = re.sub(r"^(C\d)_(\d)$", r"\1-\2", stem)
    return _ALIASES.get(stem.upper(), stem)


def read_any(path: str | Path) -> tuple[str, list[Scores]]:
    """(format, one Scores per condition) of one score file."""
    path = Path(path)
    if not path.is_file():
        raise ScoreFileError(f"{path}: score file not found")
    with open(path, encoding="utf-8") as fh:
        first = fh.readline().rstrip("\n")
    if tuple(first.split("\t")) == HEADER:
        sc = read_scores(path)
        out = []
        for cond in sort_conditions(sorted(set(sc.condition.tolist()))):
            keep = sc.condition == cond
            out.append(Scores(sc.utt_id[keep], sc.score[keep], sc.label[keep], sc.condition[keep]))
        return "ours", out
    if not first.strip():
        raise ScoreFileError(
            f"{path}: empty score file (no trials); the release ships some empty ones — leave it out"
        )
    return "release", [read_official_scores(path, condition_from_name(path))]


def eer_files(paths: Sequence[str | Path], asv_scores: str | Path | None = None) -> list[FileResult]:
    """EER both ways for every condition of every file; a condition given by two files is refused.
    ``asv_scores``: the ASVspoof 2019 LA eval ASV score file: min t-DCF of the 19LA condition too."""
    out: list[FileResult] = []
    seen: dict[str, str] = {}
    for p in paths:
        fmt, parts = read_any(p)
        for sc in parts:
            name = str(sc.condition[0]) if len(sc) else condition_from_name(p)
            if name in seen:
                raise ScoreFileError(
                    f"{p}: condition {name} was already read from {seen[name]}; pass one file per "
                    "condition (rename one to tell them apart)"
                )
            seen[name] = str(p)
            if not ((sc.label == 0).any() and (sc.label == 1).any()):
                raise ScoreFileError(
                    f"{p}: condition {name} needs bona fide and spoof trials, found "
                    f"{int(np.sum(sc.label == 0))} and {int(np.sum(sc.label == 1))}"
                )
            tdcf = condition_tdcf(sc.score, sc.label, asv_scores) if asv_scores and name == "19LA" else None
            out.append(FileResult(str(p), fmt, evaluate_condition(name, "", sc), tdcf))
    order = {n: i for i, n in enumerate(sort_conditions([r.result.name for r in out]))}
    return sorted(out, key=lambda r: order[r.result.name])


def render_eer_files(results: Sequence[FileResult], *, paper_mode: bool) -> str:
    """The per-condition table, then one paper-shaped row (conditions in the paper's order, CAVG, AVG)."""
    mode = "paper: min(EER(s), EER(-s))" if paper_mode else "EER(s)"
    lines = [
        f"EER % (official ASVspoof algorithm, bona fide = target; reported = {mode})",
        "",
        "| condition | bona fide | spoof | EER(s) | EER(-s) | reported | file |",
        "|---|---|---|---|---|---|---|",
    ]
    for fr in results:
        r = fr.result
        mark = f" {INVERTED_MARK}" if r.inverted else ""
        lines.append(
            f"| {r.name} | {r.n_bonafide} | {r.n_spoof} | {r.eer:.4f} | {r.eer_flipped:.4f} | "
            f"{r.value(paper_mode):.4f}{mark} | {fr.path} ({fr.fmt}) |"
        )
    vals = {fr.result.name: fr.result.value(paper_mode) for fr in results}
    avgs = averages(vals)
    cols = [*vals, "CAVG", "AVG"]
    cells = {k: f"{v:.3f}" for k, v in vals.items()}
    cells |= {
        k: ("–" if not a["over"] else f"{a['value']:.3f}" + ("*" if a["missing"] else ""))
        for k, a in avgs.items()
    }
    lines += [
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
        "| " + " | ".join(cells[c] for c in cols) + " |",
        "",
        "CAVG = mean C1..C7, AVG = mean 19LA, ITW, C1..C7 over the conditions given (`*`: some missing); "
        "A1..A3 and the variants C3-1..C4-3 are never averaged.",
    ]
    for fr in results:
        if fr.tdcf:
            t = fr.tdcf["paper" if paper_mode else "plain"]
            lines += [
                "",
                f"{fr.result.name} min t-DCF = {t['min_tdcf']:.5f} (ASVspoof 2019 LA cost model, ASV scores "
                f"{t['asv_file']}{', CM scores negated' if t.get('flipped') else ''})",
            ]
    inv = [fr.result.name for fr in results if fr.result.inverted]
    if inv:
        lines += [
            "",
            f"{INVERTED_MARK} on {', '.join(inv)}: EER(-s) < EER(s), the detector ranks them backwards"
            + (
                " (paper mode reports the flipped value)."
                if paper_mode
                else "; --paper reports the flipped value."
            ),
        ]
    return "\n".join(lines) + "\n"
