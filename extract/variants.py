"""Augmented variants of feature sets: plan them, price them on disk, and extract only the missing ones.

A variant set holds variant k of one recipe for the chosen rows of one clean set (by default its ``train`` rows; a
degraded test copy: its ``test`` rows), in the clean set's row order. Its spec is the clean set's extraction plus
``augment`` (recipe, index, seed, the clean key, the rows), so its key is its own; writing it never opens the clean
set for writing, and adding variants later (``rawboost:3`` after ``rawboost:2``) writes only the new index.
Extraction is the ordinary resumable pipeline with the variant applied in the decode workers.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from codecfake.augment.errors import NotEnoughDisk
from codecfake.augment.recipe import AugmentRequest, Recipe, applies_to, resolved_on
from codecfake.augment.variant import Variant
from codecfake.store.featureset import FeatureSet
from codecfake.store.featurestore import FeatureStore

if TYPE_CHECKING:
    from codecfake.extract.extractors import Extractor
    from codecfake.progress import Progress

log = logging.getLogger(__name__)

DISK_MARGIN = 1.05  # room asked for beyond the variants' bytes (shard indexes, records, metadata)


@dataclass(frozen=True)
class VariantJob:
    """One variant set to extract: the clean set it copies, its rows as a manifest, the variant, the part."""

    clean_key: str
    manifest: Any  # codecfake.corpus.manifest.Manifest: the chosen rows, in the clean set's order
    variant: Variant
    part: str = ""
    clean_rows: int = 0  # rows of the chosen splits in the clean set (what "V x the clean set" counts)

    @property
    def n_clips(self) -> int:
        return len(self.manifest)


def variant_rows(manifest: Any, recipe: Recipe, splits: Sequence[str]) -> tuple[Any, dict[str, Any]]:
    """The rows of ``manifest`` a variant of ``recipe`` holds (split in ``splits``, label the recipe applies to in
    the row's domain) and the ``rows`` record of its spec: ``{"splits": [...], "on": {domain: all|spoof|bonafide}}``."""
    from codecfake.corpus.manifest import LABELS, Manifest

    chosen = [r for r in manifest if r.split in splits]
    domains = sorted({r.domain for r in chosen})
    rows = [r for r in chosen if applies_to(recipe, r.domain, LABELS[r.label])]
    record = {"splits": sorted(splits), "on": {d: resolved_on(recipe, d) for d in domains}}
    return Manifest(rows, manifest.root, manifest.name), record


def plan_variants(
    clean: Sequence[tuple[str, Any, FeatureSet]],
    requests: Sequence[AugmentRequest],
    *,
    seed: int,
    splits: Sequence[str] = ("train",),
    role: str = "augment",
) -> list[VariantJob]:
    """Every (clean set, recipe, index) with at least one row: ``clean`` is (part, manifest, clean set)."""
    jobs = []
    for part, manifest, fs in clean:
        n_chosen = sum(1 for r in manifest if r.split in splits)
        for req in requests:
            rows, record = variant_rows(manifest, req.recipe, splits)
            if not len(rows):
                continue
            for index in range(req.count):
                variant = Variant(req.recipe, index, seed, role, of=fs.key, rows=record)
                jobs.append(VariantJob(fs.key, rows, variant, part, n_chosen))
    return jobs


def bytes_per_clip(extractor: Any) -> int:
    """Stored bytes of one clip over every array the extractor writes (float16 = 2 B a value; float32 power mels 4)."""
    itemsize = np.dtype(str(getattr(extractor, "dtype", "float16"))).itemsize
    return sum(math.prod(shape) * itemsize for shape in extractor.arrays().values())


def missing_jobs(jobs: Sequence[VariantJob], extractor: Any, store: FeatureStore) -> list[VariantJob]:
    """The jobs whose variant set is not complete yet (a finished set costs nothing again)."""
    from codecfake.extract.pipeline import feature_set_spec

    out = []
    for job in jobs:
        key = feature_set_spec(job.manifest, extractor, job.part, job.variant).key
        done = store.exists(key) and all(store.open(key).is_complete(a) for a in extractor.arrays())
        if not done:
            out.append(job)
    return out


def free_bytes(store: FeatureStore) -> int | None:
    """Free bytes on the disk that holds the store (None for a store that is not a local folder)."""
    if store.local_root is None:
        return None
    path = Path(store.local_root)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def disk_plan(jobs: Sequence[VariantJob], extractor: Any, store: FeatureStore, *, force: bool) -> str:
    """A one-paragraph cost statement (logged before anything runs); refuses (``NotEnoughDisk``) when the store's
    disk lacks the room, unless ``force``."""
    per_clip = bytes_per_clip(extractor)
    need = sum(j.n_clips for j in jobs) * per_clip
    clean_bytes = sum({j.clean_key: j.clean_rows or j.n_clips for j in jobs}.values()) * per_clip
    free = free_bytes(store)
    ratio = need / clean_bytes if clean_bytes else 0.0
    text = (
        f"{len(jobs)} variant set(s) to extract, {sum(j.n_clips for j in jobs)} clips x "
        f"{per_clip / 1e6:.3f} MB = {_size(need)} ({ratio:.1f} x the {_size(clean_bytes)} of the clean rows they "
        f"copy); free on the store's disk: " + (_size(free) if free is not None else "unknown")
    )
    if free is not None and need * DISK_MARGIN > free:
        if not force:
            raise NotEnoughDisk(
                f"{store.root_str}: {text}. Not enough room: free space, pick fewer variants (AUGMENT=…) or another "
                "STORE=, or add --force (FORCE=1) to extract anyway"
            )
        log.warning("--force: extracting although the disk lacks the room: %s", text)
    return text


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.2f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.1f} MB"


def extract_variants(
    jobs: Sequence[VariantJob],
    extractor: Extractor,
    store: FeatureStore,
    *,
    progress: Callable[[], Progress] | None = None,
    **kwargs: Any,
) -> list[FeatureSet]:
    """Extract each job's variant set (resumable: committed shards are skipped; a finished set is a no-op).

    ``progress``: a factory of ``codecfake.progress.Progress`` (one per set, closed here); ``kwargs`` go to
    ``extract_manifest`` (batch, cluster, num_workers, …)."""
    from codecfake.extract.pipeline import extract_manifest

    out = []
    for job in jobs:
        bar = progress() if progress is not None else None
        try:
            fs = extract_manifest(
                job.manifest,
                extractor,
                store,
                part=job.part,
                variant=job.variant,
                progress=bar if bar is not None else False,
                **kwargs,
            )
        finally:
            if bar is not None:
                bar.close()
        for name in extractor.arrays():
            rejects = fs.rejects(name)
            if rejects:
                log.warning(
                    "%s/%s: %d of %d variants rejected (their clean clips stay), e.g. %s: %s",
                    fs.key,
                    name,
                    len(rejects),
                    fs.n_clips,
                    rejects[0]["utt_id"],
                    rejects[0]["reason"],
                )
        out.append(fs)
    return out
