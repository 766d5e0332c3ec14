"""``extract_manifest``: manifest + extractor -> one feature set in the store, batched, resumable, optionally on dask.

Work is cut into the store's shards. A shard is done when every requested array has its commit record; a rerun
(after a crash or ``kill -9``) recomputes only shards that lack one, with the same per-shard batch composition, so
the result is bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from codecfake.corpus.manifest import LABELS
from codecfake.extract.claims import ShardClaims, wait_for_others
from codecfake.extract.extractors import Extractor
from codecfake.extract.loading import ShardJob, job_offsets, make_loader, resampler_of
from codecfake.extract.rebuild import extractor_spec
from codecfake.extract.tuning import default_batch, default_num_workers
from codecfake.extract.writer import ShardBuffer, ShardWriter
from codecfake.progress import LogProgress, NoProgress, Progress
from codecfake.store.featureset import FeatureSet
from codecfake.store.featurestore import FeatureStore
from codecfake.store.spec import FeatureSetSpec

if TYPE_CHECKING:
    from codecfake.augment.variant import Variant
    from codecfake.corpus import Manifest

log = logging.getLogger(__name__)


def feature_set_spec(
    manifest: Manifest, extractor: Extractor, part: str = "", variant: Variant | None = None
) -> FeatureSetSpec:
    """The store spec of (manifest, extractor): corpus, manifest hash, model id, weights hash, params, part, and
    for an augmented variant (``codecfake.augment.variant.Variant``) its ``spec_entry()``."""
    corpora = sorted(set(manifest.column("corpus")))
    corpus = corpora[0] if len(corpora) == 1 else (manifest.name or "+".join(corpora))
    return FeatureSetSpec(
        corpus=corpus,
        manifest_sha256=manifest.content_hash(),
        part=part,
        augment=variant.spec_entry() if variant is not None else {},
        **extractor_spec(extractor),
    )


def manifest_meta(manifest: Manifest) -> dict[str, np.ndarray]:
    """Per-clip 1-D metadata arrays (N,): utt_id, label (0 bona fide / 1 spoof), domain, condition, split, …"""
    meta: dict[str, Any] = {
        f: np.array(manifest.column(f), dtype=object)
        for f in ("utt_id", "domain", "condition", "split", "corpus", "speaker", "method")
    }
    meta["label"] = np.array(list(map(LABELS.__getitem__, manifest.column("label"))), dtype=np.int8)
    return meta


def plan_jobs(
    manifest: Manifest, fs: FeatureSet, array_names: list[str], variant: Variant | None = None
) -> list[ShardJob]:
    """Shards that still lack a commit for at least one of ``array_names`` (only those arrays are rewritten);
    with a ``variant`` each job carries it and its clips' ids, so decode workers augment what they decode."""
    committed = {name: fs.committed(name) for name in array_names}
    jobs = []
    for s in range(fs.n_shards):
        missing = tuple(name for name in array_names if s not in committed[name])
        if missing:
            start, stop = fs.shard_bounds(s)
            paths = tuple(str(manifest.resolve(manifest[i])) for i in range(start, stop))
            ids = tuple(manifest[i].utt_id for i in range(start, stop)) if variant is not None else ()
            jobs.append(ShardJob(s, start, stop, paths, missing, variant, ids))
    return jobs


def _provenance(extractor: Extractor) -> dict[str, Any]:
    if hasattr(extractor, "provenance"):
        return extractor.provenance()
    return {"extractor": extractor.name, **extractor.spec_fields()}


def open_feature_set(
    manifest: Manifest,
    extractor: Extractor,
    store: FeatureStore,
    mode: str,
    shard_size: int,
    part: str = "",
    notes: Mapping[str, Any] | None = None,
    variant: Variant | None = None,
) -> FeatureSet:
    """Create / resume / overwrite the set and make sure its arrays exist."""
    extra = {
        "extractor": _provenance(extractor),
        "dataset_root": str(Path(manifest.root).resolve()),
        "part": part,
        **(notes or {}),
    }
    fs = store.create(
        feature_set_spec(manifest, extractor, part, variant),
        manifest_meta(manifest),
        mode=mode,
        shard_size=shard_size,
        extra=extra,
        nonfinite="reject",
    )
    for name, frame_shape in extractor.arrays().items():
        fs.ensure_array(name, frame_shape, attributes={"extractor": extractor.name})
    return fs


def _as_progress(progress: Progress | bool) -> Progress:
    """A ``Progress`` as given; True: a log line every ~10 s (bars live in the CLI); False: none."""
    if isinstance(progress, bool):
        return LogProgress() if progress else NoProgress()
    return progress


def run_local(
    extractor: Extractor,
    fs: FeatureSet,
    jobs: list[ShardJob],
    batch: int,
    num_workers: int,
    on_clips: Callable[[int], None],
    timings: dict[str, float] | None = None,
) -> tuple[int, int]:
    """Single process: DataLoader workers decode, this thread runs the model, a writer thread commits shards.

    Each shard is claimed (``extract/claims.py``) as the loader reaches it; shards other processes hold are skipped.
    Returns (shards written, clips rejected). ``timings`` (if given) receives seconds this thread waited for decoded
    batches (``decode_wait_s``), spent in the forward pass plus the fp16 copy back (``forward_s``), waited on a full
    writer queue (``write_wait_s``), and the writer thread's own busy time (``write_s``)."""
    frame_shapes = extractor.arrays()
    on_cuda = torch.device(extractor.device).type == "cuda"
    claims = ShardClaims(fs)
    loader = make_loader(
        jobs,
        batch,
        num_workers,
        fs.spec.n_samples,
        pin_memory=on_cuda,
        sample_rate_hz=fs.spec.sample_rate_hz,
        resampler=resampler_of(extractor),
        claim=claims.claim,
    )
    starts = sorted((offset, i) for i, offset in enumerate(job_offsets(jobs).values()))
    batches = iter(loader)  # start the workers before the writer thread exists
    writer = ShardWriter(fs, on_written=claims.release)
    t = {"decode_wait_s": 0.0, "forward_s": 0.0, "write_wait_s": 0.0}
    buf: ShardBuffer | None = None
    try:
        while True:
            t0 = time.perf_counter()
            item = next(batches, None)  # (positions, waves (B, n_samples), reasons); never straddles a shard
            if item is None:
                break
            positions, waves, reasons = item
            t1 = time.perf_counter()
            if buf is None:
                job = jobs[starts[bisect.bisect_right(starts, (positions[0], len(jobs))) - 1][1]]
                buf = ShardBuffer(job, frame_shapes, dtype=fs.spec.dtype)
            buf.add(buf.n_filled, extractor(waves), reasons)  # the copy to the host waits for the device
            t["decode_wait_s"] += t1 - t0
            t["forward_s"] += time.perf_counter() - t1
            on_clips(len(reasons))
            if buf.full:
                t0 = time.perf_counter()
                writer.put(buf)
                t["write_wait_s"] += time.perf_counter() - t0
                buf = None
    finally:
        try:
            writer.close()
        finally:
            claims.release_all()  # shards not written (an error): free for the next process
    if timings is not None:
        timings.update(t, write_s=writer.busy_s)
    return writer.n_written, writer.n_rejected


def extract_manifest(
    manifest: Manifest,
    extractor: Extractor,
    store: FeatureStore | str | Path,
    *,
    batch: int | None = None,
    mode: str = "resume",
    cluster: str | None = None,
    progress: Progress | bool = False,
    shard_size: int = 256,
    num_workers: int | None = None,
    part: str = "",
    timings: dict[str, float] | None = None,
    notes: Mapping[str, Any] | None = None,
    variant: Variant | None = None,
) -> FeatureSet:
    """Extract every clip of ``manifest`` into one feature set (one array per extractor output) and return it.

    ``mode``: "resume" (default: skip committed shards; a finished set is a no-op), "overwrite", "create".
    ``cluster``: None (this process), "local:N" (a dask LocalCluster of N workers) or "tcp://HOST:8786".
    ``progress``: a ``codecfake.progress.Progress`` (the CLI passes its tqdm bar; it is started here, closed by
    the caller), True for a log line every ~10 s, False for none. ``batch``: clips per forward (default
    ``tuning.default_batch``: 8 on CPU, on CUDA the largest power of two that fits). ``num_workers``: DataLoader
    decode workers (default: available cores - 1). ``timings``: a dict to receive the per-stage seconds of a local
    run (see ``run_local``). ``part``: the dataset part the manifest holds ("" = the whole corpus), recorded in the
    spec and the key. ``notes``: more entries for the set's provenance attributes (never its key or values), e.g. the
    preset the command line applied (``{"preset": "demo"}``); written when the set is created. ``variant``: a
    ``codecfake.augment.variant.Variant`` whose copy of every clip the set holds (applied in the decode workers after
    the fixed-length cut; a failing clip is a reject with its reason).
    """
    store = store if isinstance(store, FeatureStore) else FeatureStore(store)
    fs = open_feature_set(manifest, extractor, store, mode, shard_size, part, notes, variant)
    names = list(extractor.arrays())
    jobs = plan_jobs(manifest, fs, names, variant)
    if not jobs:
        log.info("%s: all %d shards of %s already committed; nothing to do", fs.location, fs.n_shards, names)
        return fs
    n_todo = sum(j.n_clips for j in jobs)
    batch = default_batch(extractor, shard_size) if batch is None else batch
    log.info(
        "%s: %d of %d shards to extract (%d clips) with %s, batch %d",
        fs.location,
        len(jobs),
        fs.n_shards,
        n_todo,
        extractor.name,
        batch,
    )
    t0 = time.perf_counter()
    bar = _as_progress(progress)
    bar.start(
        f"{manifest.name or fs.spec.corpus}{'/' + part if part else ''}/{extractor.name}", n_todo, "clip"
    )
    n_planned, n_written, n_rejected = len(jobs), 0, 0
    while jobs:  # rounds: claim what is free; then wait for shards other processes hold, take over dead ones
        if cluster:
            from codecfake.extract.distributed import run_dask

            written, rejected = run_dask(extractor, store, fs, jobs, batch, cluster, bar.advance)
        else:
            workers = default_num_workers() if num_workers is None else num_workers
            written, rejected = run_local(extractor, fs, jobs, batch, workers, bar.advance, timings)
        n_written, n_rejected = n_written + written, n_rejected + rejected
        jobs = plan_jobs(manifest, fs, names)
        if jobs and not written:
            wait_for_others(fs, jobs)
    elapsed = time.perf_counter() - t0
    for name in names:
        fs.finalize(name)
    log.info(
        "%s: wrote %d of %d shards (%d rejected clips; %d by other processes) in %.1f s, %.1f clips/s",
        fs.location,
        n_written,
        n_planned,
        n_rejected,
        n_planned - n_written,
        elapsed,
        n_todo / max(elapsed, 1e-9),  # the clips planned: this process's and others'
    )
    return fs
