"""bench-matrix part 2: shared reads vs separate runs (bench/matrix.py).

Three runs that draw the same batches (Adam, SAM, ASAM at batch 128, one epoch, the same seed) over a set of 8,192
training clips of XLS-R layer-5 shape (201 x 1024 float16, 3.4 GB), trained (a) one after another, each reading every
batch itself, and (b) together with shared reads. The model stands in for an H100 step: a small network plus a 20 ms
sleep per forward (SAM's two passes: 40 ms), the consumer bench-store-ooc uses, so the reads are not hidden behind a
2-core CPU's own compute (real back-ends here would take seconds a step). Before every run the set's files are
evicted from the page cache (posix_fadvise DONTNEED on its shard files: only these files, nothing of anyone else's),
so each run reads from disk as it would from a set larger than RAM; cases: ``stream`` (batches read as they are
drawn) and ``memory`` (the set loaded into RAM first: a full read per run, once for the group).
Reported per case: clips read per model, wall seconds, and clips/s per model (clips a model trained / the wall time
it took to have them: its own run, or the group's).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

N_TRAIN, N_DEV, FRAME, STEP_S = 8192, 256, (201, 1024), 0.020


def _set(work: Path) -> Path:
    """A codec-domain set (train + dev) with a complete L05 array of random float16 clips (made once)."""
    from codecfake.store import FeatureSetSpec, FeatureStore

    root = work / "shared-store"
    store = FeatureStore(root)
    n = N_TRAIN + N_DEV
    spec = FeatureSetSpec(
        corpus="bench-shared",
        manifest_sha256="5" * 64,
        extractor="xlsr",
        model_id="x",
        weights_sha256="0" * 64,
    )
    if store.exists(spec.key) and store.open(spec.key).is_complete("L05"):
        return root
    split = np.array(["train"] * N_TRAIN + ["dev"] * N_DEV)
    meta = {
        "utt_id": np.array([f"u{i:06d}" for i in range(n)]),
        "label": np.tile([0, 1], n // 2).astype(np.int64),
        "domain": np.full(n, "codec"),
        "condition": split.copy(),
        "split": split,
    }
    fs = store.create(spec, meta, mode="overwrite")
    fs.ensure_array("L05", FRAME)
    rng = np.random.default_rng(0)
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        fs.write_shard("L05", s, rng.standard_normal((b - a, *FRAME), dtype=np.float32).astype(np.float16))
    fs.finalize("L05")
    return root


def evict(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def gpu_stand_in(name: str, frame_shape):
    """A small network that sleeps 20 ms per forward: an H100 AASIST step's time without its CPU cost."""
    import torch
    from torch import nn

    class StandIn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj, self.bn = nn.Linear(frame_shape[1], 16), nn.BatchNorm1d(16)
            self.drop, self.head = nn.Dropout(0.2), nn.Linear(16, 2)

        def forward(self, x):
            time.sleep(STEP_S)  # the device's work; the CPU touches one frame of the batch only
            emb = self.drop(torch.relu(self.bn(self.proj(x[:, 0, :]))))
            return emb, self.head(emb)

    return StandIn()


def _configs(mode: str, tag: str):
    from codecfake.train.config import TrainConfig

    base = dict(
        backend="standin",
        task="codec",
        epochs=1,
        batch=128,
        seed=5,
        device="cpu",
        threads=1,
        data_mode=mode,
        eval_batch=256,
    )
    return [TrainConfig(opt=o, name=f"{tag}-{o}", **base) for o in ("adam", "sam", "asam")]


def _case(work: Path, root: Path, mode: str) -> dict:
    import shutil

    from bench.matrix import load
    from codecfake.train.loop import train
    from codecfake.train.shared_reads import train_together

    runs = work / f"shared-runs-{mode}"
    shutil.rmtree(runs, ignore_errors=True)
    steps = -(-N_TRAIN // 128)
    load_before = load()
    separate = []
    for config in _configs(mode, "alone"):
        evict(root)
        t0 = time.perf_counter()
        train(config, root, runs, builder=gpu_stand_in)
        separate.append(time.perf_counter() - t0)
    evict(root)
    t0 = time.perf_counter()
    group = train_together(_configs(mode, "group"), root, runs, builder=gpu_stand_in)
    shared_s = time.perf_counter() - t0
    reads_alone = steps * 128 + (N_TRAIN + N_DEV if mode == "memory" else N_DEV)  # per model
    reads_shared = (group.batches_read * 128 + (N_TRAIN + N_DEV if mode == "memory" else N_DEV)) / 3
    per_model_alone = N_TRAIN / (sum(separate) / 3)
    per_model_shared = N_TRAIN / shared_s
    return {
        "baseline": {
            "wall_s": [round(s, 1) for s in separate],
            "wall_total_s": round(sum(separate), 1),
            "clips_read_per_model": reads_alone,
            "clips_per_s_per_model": round(per_model_alone, 1),
        },
        "ours": {
            "wall_s": round(shared_s, 1),
            "clips_read_per_model": round(reads_shared),
            "clips_per_s_per_model": round(per_model_shared, 1),
            "batches_read": group.batches_read,
            "model_steps": group.steps,
        },
        "ratio_reads_per_model_separate_over_shared": reads_alone / reads_shared,
        "ratio_clips_per_s_per_model_shared_over_separate": per_model_shared / per_model_alone,
        "ratio_wall_separate_total_over_shared": sum(separate) / shared_s,
        "load_before": load_before,
        "load_after": load(),
    }


def part_shared(work: Path) -> dict:
    root = _set(work)
    out = {
        "what": __doc__.split("\n\n")[0].replace("\n", " "),
        "clips": N_TRAIN,
        "frame": list(FRAME),
        "step_stand_in_s": STEP_S,
        "models": ["adam", "sam (2 passes)", "asam (2 passes)"],
        "page_cache": "evicted before every run (posix_fadvise DONTNEED on the set's files)",
    }
    for mode in ("stream", "memory"):
        out[mode] = _case(work, root, mode)
    return out
