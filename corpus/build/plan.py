"""Plan the demo corpus from metadata only: join short clips into ~4 s utterances, pick them, assign splits.

Every source clip is used by at most one utterance, and every utterance (with all its fakes) lives in exactly one
split, so no recording straddles train and test. Deterministic for a seed.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from codecfake.corpus.build.sources import SourceClip

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
# Bona fide utterances per domain and split: (train, dev, test) for the codec domain, then the vocoder domain. The test
# splits are sized for resolving power (150 + 150 trials per codec condition: a 5-point EER difference is ~2 standard
# errors), the train splits kept near the former 336 (codec) and 144 (vocoder). A plain (n_codec, n_vocoder) pair
# splits ~80/10/10.
SIZES: dict[str, tuple] = {"small": ((22, 3, 5), (14, 2, 4)), "default": ((340, 40, 150), (150, 20, 150))}


@dataclass(frozen=True)
class Utterance:
    """Source clips joined (with short pauses) into one bona fide utterance."""

    name: str  # file stem, "<speaker>_<nnnn>"
    clips: tuple[SourceClip, ...]
    speaker: str
    language: str
    text: str
    source: str
    split: str = ""


def safe(name: str) -> str:
    """A file-name-safe speaker id (letters, digits, '-')."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-") or "spk"


def group_clips(
    clips: list[SourceClip], target_s: float, rng: np.random.Generator, pause_s: float = 0.3
) -> list[Utterance]:
    """Per speaker, shuffle the clips and join them greedily until each utterance is >= ``target_s`` long."""
    by_speaker: dict[str, list[SourceClip]] = defaultdict(list)
    for c in clips:
        by_speaker[c.speaker].append(c)
    out: list[Utterance] = []
    for speaker in sorted(by_speaker):
        pool = by_speaker[speaker]
        order = rng.permutation(len(pool))
        group: list[SourceClip] = []
        total = 0.0
        count = 0
        for i in order:
            c = pool[i]
            group.append(c)
            total += c.seconds + pause_s
            if total >= target_s:
                count += 1
                texts = [g.text for g in group if g.text]
                out.append(
                    Utterance(
                        f"{safe(speaker)}_{count:04d}",
                        tuple(group),
                        safe(speaker),
                        group[0].language,
                        ", ".join(texts),
                        group[0].source,
                    )
                )
                group, total = [], 0.0
    return out


def pick(utts: list[Utterance], n: int, rng: np.random.Generator) -> tuple[list[Utterance], list[Utterance]]:
    """Round-robin over sources (shuffled within each) so no single package dominates; returns (picked, rest)."""
    by_source: dict[str, list[Utterance]] = defaultdict(list)
    for u in utts:
        by_source[u.source].append(u)
    queues = {s: [by_source[s][i] for i in rng.permutation(len(by_source[s]))] for s in sorted(by_source)}
    picked: list[Utterance] = []
    while len(picked) < n and any(queues.values()):
        for s in sorted(queues):
            if queues[s] and len(picked) < n:
                picked.append(queues[s].pop(0))
    rest = [u for q in queues.values() for u in q]
    return picked, rest


def split_sequence(n: int, counts: tuple[int, int, int]) -> list[str]:
    """``n`` split names, train/dev/test in proportion to ``counts`` and spread evenly (largest deficit first)."""
    total = max(sum(counts), 1)
    given = dict.fromkeys(SPLITS, 0)
    out = []
    for i in range(n):
        deficit = {s: c * (i + 1) / total - given[s] for s, c in zip(SPLITS, counts)}
        pick_ = max(("test", "dev", "train"), key=lambda s: deficit[s])  # ties: test, then dev
        given[pick_] += 1
        out.append(pick_)
    return out


def assign_splits(
    utts: list[Utterance], rng: np.random.Generator, counts: tuple[int, int, int] = (8, 1, 1)
) -> list[Utterance]:
    """Split in proportion to ``counts`` (train, dev, test): sources interleaved (shuffled within each), so every
    split mixes the sources as the whole does."""
    by_source: dict[str, list[Utterance]] = defaultdict(list)
    for u in utts:
        by_source[u.source].append(u)
    queues = [[by_source[s][i] for i in rng.permutation(len(by_source[s]))] for s in sorted(by_source)]
    order = [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]
    out = [_with_split(u, s) for u, s in zip(order, split_sequence(len(order), counts))]
    for need in ("test", "dev"):  # tiny corpora: at least one of each
        if out and not any(u.split == need for u in out):
            j = max(i for i, u in enumerate(out) if u.split == "train")
            out[j] = _with_split(out[j], need)
    return sorted(out, key=lambda u: u.name)


def _with_split(u: Utterance, split: str) -> Utterance:
    return Utterance(u.name, u.clips, u.speaker, u.language, u.text, u.source, split)


def plan(
    clips: list[SourceClip], size: str | tuple, seed: int, target_s: float = 4.25
) -> tuple[list[Utterance], list[Utterance]]:
    """(codec-domain utterances, vocoder-domain utterances), disjoint, each with a split."""
    spec = SIZES[size] if isinstance(size, str) else size
    codec_counts, voc_counts = (c if isinstance(c, tuple) else _fractions(c) for c in spec)
    n_codec, n_voc = sum(codec_counts), sum(voc_counts)
    rng = np.random.default_rng(seed)
    utts = group_clips(clips, target_s, rng)
    codec, rest = pick(utts, n_codec, rng)
    voc, _ = pick(rest, n_voc, rng)
    if len(codec) < n_codec or len(voc) < n_voc:
        log.warning(
            "only %d+%d utterances available of the %d+%d asked for (codec+vocoder): the corpus is smaller",
            len(codec),
            len(voc),
            n_codec,
            n_voc,
        )
    return assign_splits(codec, rng, codec_counts), assign_splits(voc, rng, voc_counts)


def _fractions(n: int) -> tuple[int, int, int]:
    """~80/10/10 of ``n`` utterances."""
    test = dev = max(n // 10, 1)
    return n - test - dev, dev, test
