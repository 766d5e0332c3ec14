"""Bona fide speech of speakers training never heard: traced as bona fide, as a generator, or called unknown?

A new generator and a new speaker are two different reasons for a clip to lie far from the training clips. The
tracer's open-set verdict is one number per clip, so it cannot say which: an unseen speaker's real clip called
"unknown generator" is a false alarm that looks exactly like a detection. These counts put the two side by side.

Each test bona fide clip counts once (Codecfake-style corpora repeat their reals in every condition: ``clip_key``). A speaker is
"unseen" when no training clip of the run (its train split, held-out generators' fakes excluded) carries it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from codecfake.evaluate.trace_clips import TraceClips, clip_key
from codecfake.train.trace_labels import BONAFIDE

__all__ = ["bona_fide_by_speaker"]


def _group(
    pred: np.ndarray,
    scores: Mapping[str, np.ndarray],
    thresholds: Mapping[str, float],
    classes: Sequence[str],
) -> dict:
    n = int(len(pred))
    if not n:
        return {"n": 0}
    names = np.asarray(classes, dtype=object)[pred]
    attributed = Counter(str(g) for g in names if g != BONAFIDE)
    return {
        "n": n,
        "traced_bonafide": float((names == BONAFIDE).mean()),
        "traced_generator": float((names != BONAFIDE).mean()),
        "generators": dict(attributed.most_common()),
        "called_unknown": {s: float((v > thresholds[s]).mean()) for s, v in scores.items()},
    }


def bona_fide_by_speaker(
    clips: Sequence[TraceClips],
    train_speakers: frozenset[str],
    thresholds: Mapping[str, float],
    classes: Sequence[str],
) -> dict:
    """{"unseen": group, "seen": group, "unseen_speakers": [...], "recorded": bool} over the test bona fide clips;
    a group holds n, the shares traced as bona fide / as a generator, the generators they were attributed to, and
    the share each scorer calls unknown. ``recorded`` is False when the sets keep no speaker per clip."""
    seen_ids: set[tuple[str, str]] = set()
    pred: list[int] = []
    spk: list[str] = []
    sc: dict[str, list[float]] = {s: [] for s in thresholds}
    for c in clips:
        for i in np.flatnonzero(c.generator.astype(str) == BONAFIDE):
            key = clip_key(c.set_key, c.utt_id[i])
            if key in seen_ids:
                continue
            seen_ids.add(key)
            pred.append(int(c.probs[i].argmax()))
            spk.append(str(c.speaker[i]))
            for s in sc:
                sc[s].append(float(c.scores[s][i]))
    p, sp = np.asarray(pred, dtype=np.int64), np.asarray(spk, dtype=object)
    scores = {s: np.asarray(v, dtype=np.float64) for s, v in sc.items()}
    recorded = bool(train_speakers) and bool(len(sp)) and bool((sp != "").all())
    unseen = (
        np.array([s not in train_speakers for s in sp], dtype=bool) if recorded else np.zeros(len(sp), bool)
    )
    pick = lambda m: (p[m], {s: v[m] for s, v in scores.items()})  # noqa: E731
    return {
        "recorded": recorded,
        "unseen_speakers": sorted(set(sp[unseen].tolist())),
        "unseen": _group(*pick(unseen), thresholds, classes),
        "seen": _group(*pick(~unseen), thresholds, classes),
    }
