"""Score files: our TSV (with a header) and the official Codecfake/ASVspoof text format (read only).

Ours, one per condition, ``runs/<name>/scores/<condition>.tsv``::

    utt_id<TAB>score<TAB>label<TAB>condition
    C1/F01_p225_001<TAB>0.0123<TAB>spoof<TAB>C1

score = P(bona fide) = softmax(logits)[:, 0], higher = more bona fide; label ``bonafide`` | ``spoof``. A calibrated
run's files (``codecfake calibrate``) carry a fifth column ``llr``: the calibrated log-likelihood ratio, bona fide vs
spoof, beside the raw score. Files are written whole to a temporary name and renamed: a rerun overwrites, never
appends. Reading refuses duplicate utt_ids and NaN scores, naming the line.
The official format is ``<file name> <P(real)> <real|fake|bonafide|spoof>`` separated by spaces, no header.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codecfake.atomic import atomic_open
from codecfake.evaluate.errors import ScoreFileError

__all__ = [
    "HEADER",
    "HEADER_LLR",
    "Scores",
    "write_scores",
    "read_scores",
    "read_official_scores",
    "check_trials",
]

HEADER = ("utt_id", "score", "label", "condition")
HEADER_LLR = (*HEADER, "llr")  # a calibrated run's score files
_LABEL_INT = {"bonafide": 0, "real": 0, "genuine": 0, "spoof": 1, "fake": 1}
_LABEL_NAME = ("bonafide", "spoof")


@dataclass(frozen=True)
class Scores:
    """One condition's trials: (N,) utt_id str, (N,) score float64 = P(bona fide), (N,) label int (0 bona fide);
    ``llr`` (N,) float64 calibrated LLRs of a calibrated run, else None."""

    utt_id: np.ndarray
    score: np.ndarray
    label: np.ndarray
    condition: np.ndarray
    llr: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.score.size)


def write_scores(path: str | Path, scores: Scores) -> Path:
    """Write ``scores`` as TSV with a header line; replaces any existing file atomically."""
    path = Path(path)
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\t".join(HEADER if scores.llr is None else HEADER_LLR) + "\n")
        cols = (scores.utt_id, scores.score, scores.label, scores.condition)
        if scores.llr is None:
            for u, s, y, c in zip(*cols, strict=True):
                fh.write(f"{u}\t{float(s):.9g}\t{_LABEL_NAME[int(y)]}\t{c}\n")
        else:
            for u, s, y, c, v in zip(*cols, scores.llr, strict=True):
                fh.write(f"{u}\t{float(s):.9g}\t{_LABEL_NAME[int(y)]}\t{c}\t{float(v):.9g}\n")
    return path


def _label_ints(raw: np.ndarray, path: Path) -> np.ndarray:
    lower = np.char.lower(raw.astype(str))
    unknown = sorted(set(lower.tolist()) - set(_LABEL_INT))
    if unknown:
        raise ScoreFileError(
            f"{path}: labels must be one of {sorted(_LABEL_INT)}, found {unknown[:5]}; "
            "rewrite the file with `codecfake evaluate`"
        )
    return np.array([_LABEL_INT[x] for x in lower.tolist()], dtype=np.int64)


def _refuse_duplicates_and_nan(
    path: Path, utt: np.ndarray, values: np.ndarray, first_line: int, what: str
) -> None:
    """Name the first duplicate utt_id and the first NaN value by their line numbers (``first_line`` = row 0's)."""
    seen: dict[str, int] = {}
    for i, u in enumerate(utt.tolist()):
        if u in seen:
            raise ScoreFileError(
                f"{path}: line {i + first_line} repeats trial {u!r} of line {seen[u] + first_line}; a score file holds "
                "each trial once — rewrite it (`codecfake evaluate --run RUN`) or remove the duplicate"
            )
        seen[u] = i
    bad = np.flatnonzero(np.isnan(values))
    if bad.size:
        raise ScoreFileError(
            f"{path}: line {bad[0] + first_line} has a NaN {what} ({bad.size} NaN in all) for trial "
            f"{utt[bad[0]]!r}; the model produced non-finite outputs — check the checkpoint and rescore the run"
        )


def read_scores(path: str | Path) -> Scores:
    """Read one of our TSV score files (header required; ``llr`` column optional)."""
    path = Path(path)
    if not path.is_file():
        raise ScoreFileError(f"{path}: score file not found; create it with `codecfake evaluate --run RUN`")
    with open(path, encoding="utf-8") as fh:
        header = tuple(fh.readline().rstrip("\n").split("\t"))
        if header not in (HEADER, HEADER_LLR):
            raise ScoreFileError(
                f"{path}: expected the header line {' TAB '.join(HEADER)!r} (and ' TAB llr' on a calibrated run), "
                f"found {' TAB '.join(header)!r}; rewrite it with `codecfake evaluate --run RUN`"
            )
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    width = len(header)
    bad = [i for i, r in enumerate(rows) if len(r) != width]
    if bad:
        raise ScoreFileError(f"{path}: line {bad[0] + 2} has {len(rows[bad[0]])} fields, expected {width}")
    cols = np.array(rows, dtype=object).reshape(-1, width)
    utt, score = cols[:, 0].astype(str), cols[:, 1].astype(np.float64)
    llr = cols[:, 4].astype(np.float64) if width == 5 else None
    _refuse_duplicates_and_nan(path, utt, score, 2, "score")
    if llr is not None:
        _refuse_duplicates_and_nan(path, utt, llr, 2, "llr")
    return Scores(
        utt_id=utt,
        score=score,
        label=_label_ints(cols[:, 2], path),
        condition=cols[:, 3].astype(str),
        llr=llr,
    )


def read_official_scores(path: str | Path, condition: str = "") -> Scores:
    """Read an official score file (``name score label`` per line, spaces, no header)."""
    path = Path(path)
    if not path.is_file():
        raise ScoreFileError(f"{path}: official score file not found")
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != 3]
    if bad:
        raise ScoreFileError(
            f"{path}: line {bad[0] + 1} has {len(rows[bad[0]])} fields, expected 3 (name score label)"
        )
    cols = np.array(rows, dtype=str).reshape(-1, 3)
    score = cols[:, 1].astype(np.float64)
    _refuse_duplicates_and_nan(path, cols[:, 0], score, 1, "score")
    return Scores(
        utt_id=cols[:, 0],
        score=score,
        label=_label_ints(cols[:, 2], path),
        condition=np.full(len(cols), condition or path.stem.split(".")[-1]),
    )


def check_trials(
    scores: Scores, expected: dict[str, int], path: str | Path, *, protocol: str = "the protocol"
) -> None:
    """Refuse a score file whose trials are not the protocol's: trials missing from the file, trials the protocol
    lacks, or a label column that disagrees (``expected``: utt_id -> label int, 0 bona fide). Names the line."""
    path = Path(path)
    pos = {u: i for i, u in enumerate(scores.utt_id.tolist())}
    missing = [u for u in expected if u not in pos]
    if missing:
        raise ScoreFileError(
            f"{path}: {len(missing)} of the {len(expected)} trials of {protocol} have no score (e.g. "
            f"{missing[:3]}); score every trial (`codecfake evaluate --run RUN` scores them all) or pass the "
            "protocol part the file was made for"
        )
    for i, (u, y) in enumerate(zip(scores.utt_id.tolist(), scores.label.tolist(), strict=True)):
        if u not in expected:
            raise ScoreFileError(
                f"{path}: line {i + 2} scores trial {u!r}, which {protocol} does not list; remove it or pass the "
                "protocol it belongs to"
            )
        if expected[u] != y:
            raise ScoreFileError(
                f"{path}: line {i + 2} labels trial {u!r} {_LABEL_NAME[int(y)]}, {protocol} says "
                f"{_LABEL_NAME[expected[u]]}; the file was made from another protocol — rescore with this one"
            )
