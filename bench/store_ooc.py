"""Out-of-core read benchmark: a feature set larger than RAM, read cold through the training loader.

One run, in this order (page cache dropped before every read case; if that is not allowed, ``posix_fadvise(DONTNEED)``
on every file of the case instead, and the JSON says which):
1. write ``--n`` clips × 201 × 1024 float16 through ``FeatureSet.write_shard`` (default 60,000 ≈ 24.7 GB);
2. the disk's own sequential read speed: the shard files read raw, 16 MB ``read`` calls (the ceiling);
3. exact-random batches of 128 (``RandomBatches``) through ``train.data.Prefetcher`` — today's reader (a page-faulting
   memory map, one clip at a time) and ours (``preadv`` into the batch buffer, ``io_threads`` reads in flight);
4. ours again with a consumer that takes ``--step-ms`` per batch (a stand-in for an H100 AASIST step): data-wait share;
5. block-shuffled batches (``BlockBatches``, window 16 shards) and a sequential pass, through the same loader;
6. one ``.pt`` file per clip (the release's format) for ``--pt-n`` clips, random batches of 128 by ``torch.load``.
Each read case runs for ``--seconds`` (at least ``--min-batches``). Data is deleted at the end.

    python bench/store_ooc.py [--n 60000] [--pt-n 60000] [--work /work/bench-ooc] [--out bench/results/store_ooc.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from codecfake.alloc import keep_freed_memory
from codecfake.store import FeatureStore
from codecfake.store.reader import ShardReader
from codecfake.store.testing import make_spec
from codecfake.train.config import TrainConfig
from codecfake.train.data import Prefetcher, load_training_data
from codecfake.train.sampler import BlockBatches, RandomBatches

T, D, SHARD, BATCH = 201, 1024, 256, 128
CLIP = T * D * 2
HERE = Path(__file__).resolve().parent


def drop_cache(files: list[Path]) -> str:
    """Empty the page cache (root: drop_caches), else fadvise(DONTNEED) on ``files``; returns the method used."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return "drop_caches"
    except OSError:
        for f in files:
            fd = os.open(f, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
        return "fadvise_dontneed"


def write_set(root: Path, n: int) -> tuple[FeatureStore, dict]:
    split = np.array(["train"] * (n - 256) + ["dev"] * 256, dtype=object)
    meta = {
        "utt_id": np.array([f"c{i:07d}" for i in range(n)], dtype=object),
        "label": np.arange(n) % 2,
        "domain": np.array(["codec"] * n, dtype=object),
        "condition": split.copy(),
        "split": split,
    }
    spec = make_spec(corpus="bench-ooc", model_id="synthetic", params={"n": n})
    store = FeatureStore(root)
    fs = store.create(spec, meta, shard_size=SHARD, mode="overwrite")
    fs.ensure_array("L05", (T, D))
    block = np.random.default_rng(0).standard_normal((SHARD, T, D), dtype=np.float32).astype(np.float16)
    t0 = time.perf_counter()
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        block[:, 0, 0] = s  # every shard differs
        fs.write_shard("L05", s, block[: b - a])
    fs.finalize("L05")
    dt = time.perf_counter() - t0
    return store, {"seconds": dt, "mb_s": n * CLIP / dt / 1e6}


def raw_read(files: list[Path], seconds: float) -> dict:
    buf = bytearray(16 << 20)
    nbytes, t0 = 0, time.perf_counter()
    for f in files:
        with open(f, "rb", buffering=0) as fh:
            while k := fh.readinto(buf):
                nbytes += k
        if time.perf_counter() - t0 >= seconds:
            break
    dt = time.perf_counter() - t0
    return {"mb_s": nbytes / dt / 1e6, "clips_s": nbytes / CLIP / dt, "bytes": nbytes}


def old_batch(self: ShardReader, indices, out=None) -> np.ndarray:
    """Today's ``ShardReader.batch``: page-faulting copies from the memory map, one clip at a time, sorted."""
    idx = [int(i) for i in np.asarray(indices).reshape(-1)]
    out = np.empty((len(idx), *self.frame_shape), np.float16) if out is None else out
    for pos in np.argsort(idx, kind="stable").tolist():
        out[pos] = self._mmap_clip(idx[pos])
    return out


def loader_case(
    data, batches: list[np.ndarray], seconds: float, min_batches: int, step_ms: float = 0.0
) -> dict:
    """clips/s through ``Prefetcher`` (background thread, depth 3) for >= ``seconds`` and >= ``min_batches``."""
    pf = Prefetcher(data, data.train, batches)
    done, t0 = 0, time.perf_counter()
    try:
        for x, _, _ in pf:
            done += len(x)
            if step_ms:
                time.sleep(
                    step_ms / 1e3
                )  # the consumer's step; sleeping releases the GIL as a GPU step would
            el = time.perf_counter() - t0
            if el >= seconds and done >= min_batches * BATCH:
                break
    finally:
        pf.close()
    el = time.perf_counter() - t0
    return {
        "clips_s": done / el,
        "mb_s": done * CLIP / el / 1e6,
        "batches": done // BATCH,
        "seconds": el,
        "data_wait_share": pf.wait_s / el,
    }


def pt_case(root: Path, n: int, seconds: float, min_batches: int, cache_files) -> dict:
    d = root / "pt"
    d.mkdir(parents=True, exist_ok=True)
    block = np.random.default_rng(1).standard_normal((SHARD, T, D), dtype=np.float32).astype(np.float16)
    t0 = time.perf_counter()
    for i in range(n):
        torch.save(torch.from_numpy(block[i % SHARD].copy()), d / f"{i}.pt")
    os.sync()
    write_s = time.perf_counter() - t0
    method = drop_cache(cache_files(d))
    rng = np.random.default_rng(2)
    done, t0 = 0, time.perf_counter()
    while True:
        idx = rng.choice(n, BATCH, replace=False)
        x = torch.stack([torch.load(d / f"{int(i)}.pt", weights_only=True) for i in idx])  # (B, T, D)
        done += len(x)
        if time.perf_counter() - t0 >= seconds and done >= min_batches * BATCH:
            break
    el = time.perf_counter() - t0
    shutil.rmtree(d)
    return {
        "n_clips": n,
        "clips_s": done / el,
        "mb_s": done * CLIP / el / 1e6,
        "write_s": write_s,
        "cache": method,
    }


def with_reader(patch: dict):
    """Context: ShardReader methods/defaults replaced for one case (today's batch, another io_threads)."""
    import contextlib

    @contextlib.contextmanager
    def ctx():
        saved = {k: getattr(ShardReader, k) for k in patch}
        for k, v in patch.items():
            setattr(ShardReader, k, v)
        try:
            yield
        finally:
            for k, v in saved.items():
                setattr(ShardReader, k, v)

    return ctx()


def threads_init(n: int):
    real = ShardReader.__init__

    def init(self, *a, **k):
        real(self, *a, **{**k, "io_threads": n})

    return init


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=60000, help="clips [60000 = 24.7 GB]")
    ap.add_argument("--pt-n", type=int, default=60000, help="clips as .pt files [60000]")
    ap.add_argument("--seconds", type=float, default=25.0, help="time per read case [25]")
    ap.add_argument("--min-batches", type=int, default=20)
    ap.add_argument("--step-ms", type=float, default=20.0, help="consumer step for the data-wait case [20]")
    ap.add_argument("--work", type=Path, default=Path("/work/bench-ooc"))
    ap.add_argument("--out", type=Path, default=HERE / "results" / "store_ooc.json")
    args = ap.parse_args()
    keep_freed_memory()  # as every entry point does (codecfake/alloc.py): batch buffers are reused, not re-faulted
    root = args.work / "store_ooc"
    shutil.rmtree(root, ignore_errors=True)
    uptime = [subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()]
    res: dict = {
        "what": f"cold-cache reads of {args.n} x {T} x {D} float16 ({args.n * CLIP / 1e9:.1f} GB) through "
        "the training loader, batches of 128",
        "n_clips": args.n,
        "ram_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
    }
    try:
        store, res["write"] = write_set(root, args.n)
        fs = store.open(store.keys()[0])
        files = [Path(root, fs.key, "L05", "c", str(s), "0", "0") for s in range(fs.n_shards)]
        data = load_training_data(
            store, TrainConfig(task="codec", backend="aasist", batch=BATCH, data_mode="stream")
        )
        n = len(data.train)
        rand = RandomBatches(n, BATCH, seed=0).epoch(0)
        shard_of = data.train.local // SHARD
        cases = {
            "raw_sequential": lambda: raw_read(files, args.seconds),
            "baseline_exact_random": lambda: _with({"batch": old_batch}, data, rand, args),
            "ours_exact_random": lambda: loader_case(data, rand, args.seconds, args.min_batches),
            "ours_exact_random_16_threads": lambda: _with({"__init__": threads_init(16)}, data, rand, args),
            "ours_exact_random_step_20ms": lambda: loader_case(
                data, rand, args.seconds, args.min_batches, args.step_ms
            ),
            "baseline_exact_random_step_20ms": lambda: _with(
                {"batch": old_batch}, data, rand, args, args.step_ms
            ),
            "baseline_block_shuffle": lambda: _with(
                {"batch": old_batch}, data, BlockBatches(shard_of, BATCH, 0, window=16).epoch(0), args
            ),
            "ours_block_shuffle": lambda: loader_case(
                data, BlockBatches(shard_of, BATCH, 0, window=16).epoch(0), args.seconds, args.min_batches
            ),
            "baseline_sequential": lambda: _with(
                {"batch": old_batch},
                data,
                [np.arange(a, min(n, a + BATCH)) for a in range(0, n, BATCH)],
                args,
            ),
            "ours_sequential": lambda: loader_case(
                data,
                [np.arange(a, min(n, a + BATCH)) for a in range(0, n, BATCH)],
                args.seconds,
                args.min_batches,
            ),
        }
        cases["raw_sequential_again"] = cases["raw_sequential"]  # the ceiling once more, after the read cases
        for name, case in cases.items():
            method = drop_cache(files)
            res[name] = {**case(), "cache": method}
            uptime.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
            print(name, json.dumps(res[name]), flush=True)
        shutil.rmtree(root / fs.key)
        res["pt_per_clip"] = pt_case(
            root, args.pt_n, args.seconds, args.min_batches, lambda d: sorted(d.iterdir())
        )
        print("pt_per_clip", json.dumps(res["pt_per_clip"]), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ceiling = max(res["raw_sequential"]["mb_s"], res["raw_sequential_again"]["mb_s"])
    for name in list(res):
        if name.startswith(("ours_", "baseline_", "pt_")) and "mb_s" in res[name]:
            res[f"ratio_{name}_vs_raw_sequential"] = res[name]["mb_s"] / ceiling
    res["ratio_ours_vs_baseline_exact_random"] = (
        res["ours_exact_random"]["clips_s"] / res["baseline_exact_random"]["clips_s"]
    )
    res["ratio_ours_exact_random_vs_pt_per_clip"] = (
        res["ours_exact_random"]["clips_s"] / res["pt_per_clip"]["clips_s"]
    )
    res["target"] = {
        "exact_random_vs_raw_min": 0.7,
        "met": res["ratio_ours_exact_random_vs_raw_sequential"] >= 0.7,
    }
    res["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "uptime_per_case": uptime}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(
        f"raw {ceiling:.0f} MB/s | exact random: today {res['baseline_exact_random']['mb_s']:.0f}, ours "
        f"{res['ours_exact_random']['mb_s']:.0f} MB/s ({res['ratio_ours_exact_random_vs_raw_sequential']:.2f}x raw, "
        f"target 0.7) | 20 ms consumer waits {res['ours_exact_random_step_20ms']['data_wait_share']:.0%}"
    )
    print(f"-> {args.out}")


def _with(patch: dict, data, batches, args, step_ms: float = 0.0) -> dict:
    with with_reader(patch):
        return loader_case(data, batches, args.seconds, args.min_batches, step_ms)


if __name__ == "__main__":
    main()
