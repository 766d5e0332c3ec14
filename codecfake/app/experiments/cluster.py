"""Where a matrix's runs execute: ``CLUSTER=local:N`` (a dask LocalCluster here: one worker per GPU, each pinned to
its GPU, or N CPU workers) or ``CLUSTER=tcp://HOST:8786`` (an existing scheduler whose workers see the same store
and runs folders). dask.distributed, the engine extraction already uses.

With GPUs, ``local:N`` prefers dask-cuda's ``LocalCUDACluster`` (each worker's CUDA_VISIBLE_DEVICES set to its own
GPU) when the optional package is installed (``pip install -e .[gpu]``); otherwise a plain LocalCluster whose worker
``i`` trains on ``cuda:i`` (:func:`worker_device`). dask-cuda is never needed on CPU.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from codecfake.app.experiments.matrix_spec import MatrixError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterSpec:
    kind: str  # "local" | "tcp"
    workers: int  # local: workers to start (0: one per GPU); tcp: 0
    address: str = ""


def parse_cluster(text: str) -> ClusterSpec:
    """``local:N`` | ``local`` (one worker per GPU) | ``tcp://HOST:PORT`` (or ``tls://``)."""
    if text == "local":
        return ClusterSpec("local", 0)
    if text.startswith("local:") and text[6:].isdigit() and int(text[6:]) > 0:
        return ClusterSpec("local", int(text[6:]))
    if text.startswith(("tcp://", "tls://")):
        return ClusterSpec("tcp", 0, text)
    raise MatrixError(
        f"CLUSTER={text!r}: expected local:N (N workers on this machine: one per GPU, or N CPU workers), local "
        "(one per GPU) or tcp://HOST:8786 (a running dask scheduler)"
    )


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def open_cluster(spec: ClusterSpec) -> tuple[Any, Any, int]:
    """(client, the local cluster to close or None, workers); a LocalCluster with ``threads_per_worker=1``, one
    process per worker, each with a share of the cores for torch (OMP_NUM_THREADS)."""
    from distributed import Client, LocalCluster

    # distributed sets its loggers to INFO when imported (after the CLI configured logging): its start/stop chatter
    # would bury the matrix's progress lines; its warnings stay.
    logging.getLogger("distributed").setLevel(
        max(logging.WARNING, logging.getLogger("codecfake").getEffectiveLevel())
    )
    if spec.kind == "tcp":
        client = Client(spec.address)
        return client, None, len(client.scheduler_info()["workers"])
    gpus = gpu_count()
    n = spec.workers or gpus
    if n == 0:
        raise MatrixError("CLUSTER=local: no GPU here; give the number of CPU workers, e.g. CLUSTER=local:2")
    if gpus and n > gpus:
        log.warning("CLUSTER=local:%d on %d GPUs: %d runs share each GPU", n, gpus, -(-n // gpus))
    env = {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // n))}
    common = {"threads_per_worker": 1, "dashboard_address": ":0"}
    if gpus and n <= gpus:
        try:
            from dask_cuda import LocalCUDACluster  # type: ignore[import-not-found]  # optional: .[gpu]

            cluster = LocalCUDACluster(n_workers=n, resources={"GPU": 1}, env=env, **common)
            log.info("dask-cuda LocalCUDACluster: %d workers, one GPU each", n)
            return Client(cluster), cluster, n
        except ImportError:
            log.info("dask-cuda not installed: a LocalCluster whose worker i takes cuda:i")
    cluster = LocalCluster(
        n_workers=n, processes=True, resources={"GPU": 1} if gpus else None, env=env, **common
    )
    return Client(cluster), cluster, n


def worker_device(device: str) -> str:
    """The device a run takes in this process: on a plain LocalCluster with several visible GPUs, worker ``i``
    (named 0..N-1) takes ``cuda:i``; anything else (CPU, one visible GPU, dask-cuda, an explicit ``cuda:K``) as
    given."""
    if device not in ("auto", "cuda") or gpu_count() < 2:
        return device
    try:
        from distributed import get_worker

        return f"cuda:{int(get_worker().name) % gpu_count()}"
    except (ValueError, TypeError):  # not in a worker, or not a LocalCluster's numbered worker
        return device


def worker_name() -> str:
    """This process's dask worker name ("" outside a worker)."""
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except ValueError:
        return ""


__all__ = ["ClusterSpec", "gpu_count", "open_cluster", "parse_cluster", "worker_device", "worker_name"]
