"""Score files: our TSV (with a header) and the official Codecfake/ASVspoof text format (read only).

Ours, one per condition, ``runs/<name>/scores/<condition>.tsv``::

    utt_id<TAB>score<TAB>label<TAB>condition
    C1/F01_p225_001<TAB>0.0123<TAB>spoof<TAB>C1

score = P(bona fide) = softmax(logits)[:, 0], higher = more bona fide; label ``bonafide`` | ``spoof``.
Files are written whole to a temporary name and renamed: a rerun overwrites, never appends.
The official format is ``<file name> <P(real)> <real|fake|bonafide|spoof>`` separated by spaces, no header.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codecfake.atomic import atomic_open
from codecfake.evaluate.errors import ScoreFileError

__all__ = ["HEADER", "Scores", "write_scores", "read_scores", "read_official_scores"]

HEADER = ("utt_id", "score", "label", "condition")
_LABEL_INT = {"bonafide": 0, "real": 0, "genuine": 0, "spoof": 1, "fake": 1}
_LABEL_NAME = ("bonafide", "spoof")


@dataclass(frozen=True)
class Scores:
    """One condition's trials: (N,) utt_id str, (N,) score float64 = P(bona fide), (N,) label int (0 bona fide)."""

    utt_id: np.ndarray
    score: np.ndarray
    label: np.ndarray
    condition: np.ndarray

    def __len__(self) -> int:
        return int(self.score.size)


def write_scores(path: str | Path, scores: Scores) -> Path:
    """Write ``scores`` as TSV with a header line; replaces any existing file atomically."""
    path = Path(path)
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\t".join(HEADER) + "\n")
        for u, s, y, c in zip(scores.utt_id, scores.score, scores.label, scores.condition, strict=True):
            fh.write(f"{u}\t{float(s):.9g}\t{_LABEL_NAME[int(y)]}\t{c}\n")
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


def read_scores(path: str | Path) -> Scores:
    """Read one of our TSV score files (header required)."""
    path = Path(path)
    if not path.is_file():
        raise ScoreFileError(f"{path}: score file not found; create it with `codecfake evaluate --run RUN`")
    with open(path, encoding="utf-8") as fh:
        header = tuple(fh.readline().rstrip("\n").split("\t"))
        if header != HEADER:
            raise ScoreFileError(
                f"{path}: expected the header line {' TAB '.join(HEADER)!r}, found {' TAB '.join(header)!r}; "
                "rewrite it with `codecfake evaluate --run RUN`"
            )
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != 4]
    if bad:
        raise ScoreFileError(f"{path}: line {bad[0] + 2} has {len(rows[bad[0]])} fields, expected 4")
    cols = np.array(rows, dtype=object).reshape(-1, 4)
    return Scores(
        utt_id=cols[:, 0].astype(str),
        score=cols[:, 1].astype(np.float64),
        label=_label_ints(cols[:, 2], path),
        condition=cols[:, 3].astype(str),
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
    return Scores(
        utt_id=cols[:, 0],
        score=cols[:, 1].astype(np.float64),
        label=_label_ints(cols[:, 2], path),
        condition=np.full(len(cols), condition or path.stem.split(".")[-1]),
    )
