"""One test condition's per-clip trace results, and their score file ``runs/<name>/scores/trace/<condition>.tsv``::

    utt_id  generator  known  speaker  predicted  probability  msp  energy  mahalanobis  knn  unknown
    C7/F07_x  7  false  p225  3  0.8123  0.1877  -4.12  35.2  0.61  true

``generator`` is the true generator (``bonafide`` for real clips), ``known`` whether it is one of the run's classes,
``predicted`` / ``probability`` the argmax class and its softmax probability, then one column per open-set scorer
(novelty: higher = more likely a generator never seen), and ``unknown`` the default scorer's verdict at its dev
threshold. Written whole and renamed (a rerun overwrites, never appends).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codecfake.atomic import atomic_open

__all__ = ["TraceClips", "clip_key", "write_trace_scores", "read_trace_scores"]


def clip_key(set_key: str, utt_id: str) -> tuple[str, str]:
    """One audio clip across test conditions: Codecfake-style corpora list the same real file in every test part
    (``C1/x``, ``C7/x``), so the part prefix is dropped; other ids are unique as they are."""
    return set_key, str(utt_id).split("/", 1)[-1]


@dataclass(frozen=True)
class TraceClips:
    """N clips of one condition: ids, truth, the model's softmax and every scorer's novelty score."""

    name: str
    set_key: str
    rows: np.ndarray  # (N,) row indices in the feature set
    utt_id: np.ndarray  # (N,) str
    generator: np.ndarray  # (N,) str, "bonafide" for real clips
    speaker: np.ndarray  # (N,) str ("" when the set does not record it)
    probs: np.ndarray  # (N, K) softmax
    scores: dict[str, np.ndarray]  # scorer -> (N,) novelty

    def known(self, classes: tuple[str, ...]) -> np.ndarray:
        """(N,) bool: the clip's generator is one of the run's classes."""
        return np.isin(self.generator.astype(str), list(classes))


def write_trace_scores(
    path: str | Path, clips: TraceClips, classes: tuple[str, ...], default: str, threshold: float
) -> Path:
    """The condition's score file (see the module doc)."""
    names = list(clips.scores)
    pred = clips.probs.argmax(axis=1)
    known = clips.known(classes)
    unknown = clips.scores[default] > threshold
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(
            "\t".join(
                ["utt_id", "generator", "known", "speaker", "predicted", "probability", *names, "unknown"]
            )
            + "\n"
        )
        for i in range(len(clips.utt_id)):
            cells = [
                str(clips.utt_id[i]),
                str(clips.generator[i]),
                "true" if known[i] else "false",
                str(clips.speaker[i]),
                classes[int(pred[i])],
                f"{clips.probs[i, pred[i]]:.6f}",
                *(f"{clips.scores[n][i]:.6g}" for n in names),
                "true" if unknown[i] else "false",
            ]
            fh.write("\t".join(cells) + "\n")
    return Path(path)


def read_trace_scores(path: str | Path) -> dict[str, np.ndarray]:
    """A trace score file as columns (strings; the scorer columns as float64)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    cols = list(zip(*(ln.split("\t") for ln in lines[1:]))) if len(lines) > 1 else [()] * len(head)
    out = {h: np.array(c, dtype=object) for h, c in zip(head, cols, strict=True)}
    for h in head[head.index("probability") : head.index("unknown")]:
        out[h] = out[h].astype(np.float64)
    return out
