"""Source tracing labels: which generator made a clip, as a class index of a multi-class head.

The generator of a clip comes from its feature set's per-clip metadata, which the extractor copies from the manifest
(``extract.pipeline.manifest_meta``: ``method`` beside ``label``):

- bona fide clips (``label`` 0) are the class ``"bonafide"`` whatever their ``method`` column says — Codecfake writes
  ``0`` for reals, but its A1–A3 reals carry ``L1``..``L3``, and ASVspoof writes ``bonafide``;
- spoof clips are their ``method`` string exactly: Codecfake ``"1"``..``"7"`` (C1..C7), ``"L1"``..``"L3"``,
  ASVspoof attack ids ``"A01"``.., the demo's codec conditions ``"1"``..``"7"`` (its label files follow Codecfake).

Sets written without a ``method`` array fall back to ``condition`` when every spoof row's condition names a
generator (ASVspoof style: the attack id); otherwise (Codecfake train/dev rows say ``train``/``dev``) they are refused
with the command that re-extracts them.

The class list is ``("bonafide", *sorted(spoof generators))`` over the **training** rows: bona fide stays index 0, so
softmax(logits)[:, 0] is P(bona fide) as for every binary run, and the project's EER tools read trace runs too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from codecfake.train.errors import TraceLabelError

if TYPE_CHECKING:
    from codecfake.store import FeatureSet
    from codecfake.train.data import Split

log = logging.getLogger(__name__)

BONAFIDE = "bonafide"
UNKNOWN = "unknown"  # what the open-set decision calls a clip of a generator never seen in training
_SPLIT_NAMES = ("train", "dev", "test")


def generator_labels(
    meta: Mapping[str, np.ndarray], *, source: str = "feature set", level: str = "generator"
) -> np.ndarray:
    """(N,) generator name per clip (object array of str): "bonafide" for label 0, else the ``method`` string — or,
    with ``level`` vq / aux / dec, that level of a CodecFake+ method ``<VQ>-<AUX>-<DEC>:<codec>`` ("?" where its
    list leaves the level unlabelled)."""
    label = np.asarray(meta["label"]).astype(np.int64)
    spoof = label != 0
    if "method" in meta:
        method = np.asarray(meta["method"]).astype(str)
        col = "method"
    else:
        method = np.asarray(meta["condition"]).astype(str)
        col = "condition"
        if np.isin(method[spoof], _SPLIT_NAMES).any():
            raise TraceLabelError(
                f"{source}: no per-clip `method` metadata and its spoof rows' condition names a "
                "split, not a generator; re-extract it so the generator is stored: "
                "`codecfake features ... --force` (the manifest's method column)"
            )
    bad = spoof & np.isin(method, ("", BONAFIDE))
    if bad.any():
        first = np.asarray(meta["utt_id"])[np.flatnonzero(bad)[0]]
        raise TraceLabelError(
            f"{source}: {int(bad.sum())} spoof clips have {col} {method[bad][0]!r}, not a generator "
            f"name (first: {first}); source tracing needs the manifest's method column filled for "
            "every spoof row"
        )
    if level != "generator":
        method = _taxonomy_level(method, spoof, level, source)
    return np.where(spoof, method, BONAFIDE).astype(object)


def _taxonomy_level(method: np.ndarray, spoof: np.ndarray, level: str, source: str) -> np.ndarray:
    from codecfake.corpus.codecfakeplus import taxonomy

    levels = {m: taxonomy(m)[level] for m in set(method[spoof].tolist())}
    bad = sorted(m for m, v in levels.items() if not v)
    if bad:
        raise TraceLabelError(
            f"{source}: trace level {level!r} needs CodecFake+ methods '<VQ>-<AUX>-<DEC>:<codec>', found "
            f"{bad[:3]}; trace these sets with --trace-level generator"
        )
    out = method.copy()
    out[spoof] = [levels[m] for m in method[spoof].tolist()]
    return out


def derive_classes(train_generators: Sequence[str] | np.ndarray) -> tuple[str, ...]:
    """("bonafide", *sorted spoof generators) of the training clips; refuses fewer than one spoof generator."""
    found = set(np.asarray(train_generators, dtype=object).tolist())
    if BONAFIDE not in found:
        raise TraceLabelError("source tracing: the training clips hold no bona fide clip (class 'bonafide')")
    spoofs = sorted(found - {BONAFIDE})
    if not spoofs:
        raise TraceLabelError("source tracing: the training clips hold no spoof generator")
    return (BONAFIDE, *spoofs)


def class_ids(generators: Sequence[str] | np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """(N,) int64 index into ``classes``; -1 for a generator not in them (unseen in training)."""
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index.get(g, -1) for g in generators], dtype=np.int64)


def balanced_weights(ids: np.ndarray, n_classes: int) -> tuple[float, ...]:
    """Cross-entropy class weights n / (K n_k) (scikit-learn's "balanced"): every class weighs the same in total."""
    counts = np.bincount(np.asarray(ids, dtype=np.int64), minlength=n_classes).astype(np.float64)
    if (counts == 0).any():
        raise TraceLabelError(f"source tracing: classes without training clips: counts {counts.tolist()}")
    return tuple(float(v) for v in counts.sum() / (n_classes * counts))


def split_generators(sets: Sequence[FeatureSet], split: Split, level: str = "generator") -> np.ndarray:
    """(n,) generator names (or taxonomy ``level`` labels) of a ``train.data.Split``'s positions across ``sets``."""
    out = np.empty(len(split), dtype=object)
    for s, fs in enumerate(sets):
        pos = np.flatnonzero(split.set_index == s)
        if len(pos):
            out[pos] = generator_labels(fs.meta, source=fs.key, level=level)[split.local[pos]]
    return out


def canonical_generator(name: str) -> str:
    """A generator as ``--hold-out`` names it: a codec method digit ``3`` is ``C3`` (its condition), others as
    they are (``A01``)."""
    return f"C{name}" if str(name).isdigit() else str(name)


def _positions(split: Split, keep: np.ndarray) -> Split:
    from dataclasses import replace

    return replace(
        split,
        set_index=split.set_index[keep],
        local=split.local[keep],
        labels=split.labels[keep],
        domains=split.domains[keep],
    )


def relabel_for_trace(
    sets: Sequence[FeatureSet], train: Split, dev: Split, level: str = "generator"
) -> tuple[Split, Split, tuple[str, ...], tuple[float, ...]]:
    """(train, dev, classes, weights): splits whose labels are class ids; dev clips of unseen generators dropped.
    Held-out generators (``--hold-out``) have already left both splits (``train.holdout``), so they are no class."""
    from dataclasses import replace

    classes = derive_classes(split_generators(sets, train, level))
    train_ids = class_ids(split_generators(sets, train, level), classes)
    dev_ids = class_ids(split_generators(sets, dev, level), classes)

    keep = dev_ids >= 0
    if not keep.all():
        log.warning(
            "source tracing: %d dev clips are of generators not in training (%s); they are left out of the "
            "dev loss",
            int((~keep).sum()),
            sorted(set(split_generators(sets, dev, level)[~keep].tolist())),
        )
    train = replace(train, labels=train_ids)
    dev = replace(_positions(dev, keep), labels=dev_ids[keep])
    weights = balanced_weights(train_ids, len(classes))
    log.info(
        "source tracing: %d classes %s, balanced CE weights %s",
        len(classes),
        list(classes),
        [round(w, 3) for w in weights],
    )
    return train, dev, classes, weights


__all__ = [
    "BONAFIDE",
    "UNKNOWN",
    "TraceLabelError",
    "generator_labels",
    "derive_classes",
    "class_ids",
    "canonical_generator",
    "balanced_weights",
    "split_generators",
    "relabel_for_trace",
]
