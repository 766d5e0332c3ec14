"""Extraction on dask.distributed: one task per shard, the model loaded once per worker, GPUs as a resource.

``--cluster local:N`` starts a ``LocalCluster`` of N single-threaded worker processes (``resources={"GPU": 1}``
each when CUDA exists); ``--cluster tcp://HOST:8786`` (or ``--scheduler``) joins a running scheduler whose workers
were started e.g. as ``dask worker HOST:8786 --nworkers 1 --resources GPU=1`` per GPU. Every worker must see the
store's folder (a shared filesystem on several machines). Each task computes one whole shard and commits it itself
(one writer per shard), so a lost worker costs one shard and a rerun resumes. A worker rebuilds the set's extractor
from the set's own spec (``rebuild.extractor_from_spec``), so it computes exactly what the spec records or refuses.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from codecfake.alloc import keep_freed_memory
from codecfake.extract.claims import ShardClaims
from codecfake.extract.errors import ExtractError
from codecfake.extract.extractors import Extractor
from codecfake.extract.loading import ShardJob, resampler_of
from codecfake.extract.rebuild import extractor_from_spec, recorded_fields
from codecfake.extract.writer import ShardBuffer, write_buffer

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from codecfake.store import FeatureSet, FeatureStore

log = logging.getLogger(__name__)

_WORKER_CACHE: dict[
    str, Extractor
] = {}  # one model per worker process, rebuilt only when the extractor changes


def _worker_device(device: str) -> str:
    """On a LocalCluster with several GPUs, worker i takes GPU i (workers are named 0..N-1)."""
    if not device.startswith("cuda") or ":" in device or torch.cuda.device_count() < 2:
        return device
    try:
        from distributed import get_worker

        return f"cuda:{int(get_worker().name) % torch.cuda.device_count()}"
    except (
        ValueError,
        TypeError,
    ):  # not a LocalCluster name: dask-cuda / CUDA_VISIBLE_DEVICES picked the GPU
        return device


def worker_extractor(fs: Any, arrays: Sequence[str], model_dir: str | None, device: str) -> Extractor:
    """The extractor of feature set ``fs`` rebuilt from its spec (``rebuild.extractor_from_spec``), computing
    ``arrays``; cached for the life of the process (the parts of one corpus share it)."""
    cache_key = json.dumps(
        [recorded_fields(fs.spec), list(arrays), model_dir, device], sort_keys=True, default=str
    )
    if cache_key not in _WORKER_CACHE:
        _WORKER_CACHE.clear()
        _WORKER_CACHE[cache_key] = extractor_from_spec(
            fs.spec,
            arrays=arrays,
            model_dir=model_dir,
            device=_worker_device(device),
            source=f"{fs.location} (dask worker)",
        )
    return _WORKER_CACHE[cache_key]


def extract_shard_task(
    store_root: str,
    key: str,
    job: ShardJob,
    batch: int,
    arrays: Sequence[str],
    model_dir: str | None,
    device: str,
) -> tuple[int, int] | None:
    """Run on a worker: claim, decode, extract and commit one whole shard. Returns (clips, rejected clips), or None
    when another process holds the shard or has finished it (``extract/claims.py``)."""
    from codecfake.store.featurestore import FeatureStore

    keep_freed_memory()  # once per worker process (idempotent)
    fs = FeatureStore(store_root).open(key, nonfinite="reject")
    claims = ShardClaims(fs)
    if not claims.claim(job):
        return None
    try:
        extractor = worker_extractor(fs, arrays, model_dir, device)
        buf = ShardBuffer(job, extractor.arrays(), dtype=fs.spec.dtype)
        for lo in range(0, job.n_clips, batch):  # same batch boundaries as the single-process path
            hi = min(lo + batch, job.n_clips)
            resampler = resampler_of(extractor)
            loaded = [
                job.wave(k, fs.spec.n_samples, fs.spec.sample_rate_hz, resampler) for k in range(lo, hi)
            ]
            waves = torch.from_numpy(np.stack([w for w, _ in loaded]))  # (B, n_samples)
            buf.add(lo, extractor(waves), [r for _, r in loaded])
        n_rejected = write_buffer(fs, buf)
        fs.flush_commits()  # the task's commit records are durable before it reports done
    finally:
        claims.release_all()
    return job.n_clips, n_rejected


def parse_cluster(cluster: str) -> tuple[str, Any]:
    """ "local:N" -> ("local", N); "tcp://HOST:PORT" -> ("tcp", address)."""
    if cluster.startswith("local:") and cluster[6:].isdigit() and int(cluster[6:]) > 0:
        return "local", int(cluster[6:])
    if cluster.startswith(("tcp://", "tls://")):
        return "tcp", cluster
    raise ExtractError(
        f"--cluster {cluster!r}: expected local:N (N workers here) or tcp://HOST:8786 (a scheduler)"
    )


def _open_client(cluster: str) -> tuple[Client, LocalCluster | None]:
    from distributed import Client, LocalCluster

    kind, arg = parse_cluster(cluster)
    if kind == "tcp":
        return Client(arg), None
    gpu = torch.cuda.is_available()
    local = LocalCluster(
        n_workers=arg,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port, never 8787
        resources={"GPU": 1} if gpu else None,
        env={"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // arg))},
    )
    return Client(local), local


def run_dask(
    extractor: Extractor,
    store: FeatureStore,
    fs: FeatureSet,
    jobs: Sequence[ShardJob],
    batch: int,
    cluster: str,
    on_clips: Callable[[int], None],
) -> tuple[int, int]:
    """Submit one task per pending shard; returns (shards written, clips rejected)."""
    from distributed import as_completed

    if store.local_root is None:
        raise ExtractError(
            f"{store.root_str}: dask extraction writes through the filesystem; use a local/shared path"
        )
    client, local = _open_client(cluster)
    try:
        workers = client.scheduler_info()["workers"].values()
        has_gpu = any(w.get("resources", {}).get("GPU") for w in workers)
        resources = {"GPU": 1} if has_gpu else None
        log.info(
            "dask %s: %d workers%s, %d shard tasks",
            cluster,
            len(workers),
            " (GPU)" if has_gpu else "",
            len(jobs),
        )
        futures = [
            client.submit(
                extract_shard_task,
                str(store.local_root),
                fs.key,
                job,
                batch,
                list(extractor.arrays()),
                extractor.model_dir,
                str(extractor.device),
                resources=resources,
                pure=False,
                key=f"extract-{fs.key}-shard-{job.shard_index}",
            )
            for job in jobs
        ]
        n_written = n_rejected = 0
        for fut in as_completed(futures):
            done = fut.result()
            if done is None:  # another process's shard
                continue
            n_written += 1
            n_rejected += done[1]
            on_clips(done[0])
        return n_written, n_rejected
    finally:
        client.close()
        if local is not None:
            local.close()
