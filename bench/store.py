"""Feature-store benchmark: our shard-mmap reader vs a numpy memmap (the limit), one ``.pt`` per clip (the original
code's format) and Zarr per-item reads, all measured in this run on the same synthetic data.

Data: N clips × 201 × 1024 float16, smooth and correlated (low-rank AR(1) over frames + per-dim offsets/scales +
noise), written shard by shard. Layouts are built one after another under bench/work/ and deleted after use, so at
most one copy (~N × 412 KB) is on disk. "warm" = the files were just read sequentially (page-cached).

    python bench/store.py [--n 4096] [--seconds 2.5] [--work bench/work] [--out bench/results/store.json]

Targets (issue 2): ours >= 0.5x memmap and >= 3x .pt-per-clip on warm random batches of 64; files per layer
<= N/256 + 20. Also the cost of the shard CRC check that training and evaluation run once per process before they
read a set, against one epoch's reads of every clip (issue 22: <= 5 %, or an option to skip it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from codecfake.store import FeatureStore
from codecfake.store.testing import make_spec

T, D, SHARD, BATCH = 201, 1024, 256, 64
HERE = Path(__file__).resolve().parent


def synth_shard(s: int, n: int) -> np.ndarray:
    """(n, T, D) float16 block of shard ``s``: low-rank AR(1)-smooth activations with offsets, scales and noise."""
    rng = np.random.default_rng(1000 + s)
    z = rng.standard_normal((n, T, 16), dtype=np.float32)
    for t in range(1, T):  # AR(1) over frames, rho 0.9
        z[:, t] = 0.9 * z[:, t - 1] + 0.436 * z[:, t]
    mix = np.random.default_rng(7).standard_normal((16, D), dtype=np.float32) / 4
    offs = np.random.default_rng(8).standard_normal(D).astype(np.float32)
    offs[:8] *= 20  # a few outlier dims, as in SSL models
    x = z @ mix + offs + 0.1 * rng.standard_normal((n, T, D), dtype=np.float32)
    return x.astype(np.float16)


def shards(n: int):
    for s in range(-(-n // SHARD)):
        a = s * SHARD
        yield s, a, synth_shard(s, min(SHARD, n - a))


def timed_batches(fetch: Callable[[np.ndarray], object], n: int, seconds: float, seed: int = 0) -> float:
    """clips/s of ``fetch(sorted random 64 indices)``: one untimed warm-up, then >= ``seconds`` and >= 20 batches."""
    rng = np.random.default_rng(seed)
    fetch(np.sort(rng.choice(n, BATCH, replace=False)))
    done, t0 = 0, time.perf_counter()
    while True:
        fetch(np.sort(rng.choice(n, BATCH, replace=False)))
        done += 1
        el = time.perf_counter() - t0
        if el >= seconds and done >= 20:
            return done * BATCH / el


def files_under(path: Path) -> int:
    return sum(1 for p in path.rglob("*") if p.is_file())


def bench_ours(work: Path, n: int, seconds: float) -> dict:
    spec = make_spec(corpus="bench", model_id="synthetic", params={"n": n})
    meta = {
        "utt_id": np.array([f"u{i}" for i in range(n)], dtype=object),
        "label": np.zeros(n, np.int8),
        "domain": np.array(["codec"] * n, dtype=object),
        "condition": np.array(["C1"] * n, dtype=object),
        "split": np.array(["train"] * n, dtype=object),
    }
    fs = FeatureStore(work / "zarr").create(spec, meta, shard_size=SHARD, mode="overwrite")
    fs.ensure_array("L05", (T, D))
    t_write = 0.0
    for s, _, block in shards(n):
        t0 = time.perf_counter()
        fs.write_shard("L05", s, block)
        t_write += time.perf_counter() - t0
    fs.finalize("L05")
    nbytes = n * T * D * 2
    reader = fs.reader("L05")
    assert reader.mode == "mmap"
    t0 = time.perf_counter()
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        reader.batch(range(a, b))
    seq = nbytes / (time.perf_counter() - t0) / 1e6
    for _s, a, block in shards(min(n, 2 * SHARD)):  # bit-exact check on two shards
        assert np.array_equal(reader.batch(range(a, a + len(block))), block)
    arr = fs.array("L05")
    epoch_s, check_s = shard_check_cost(fs, n)
    out = {
        "write_mb_s": nbytes / t_write / 1e6,
        "seq_read_mb_s": seq,
        "epoch_read_s": epoch_s,
        "shard_check_s": check_s,
        "ours_clips_s": timed_batches(reader.batch, n, seconds),
        "zarr_per_item_clips_s": timed_batches(lambda idx: np.stack([arr[int(i)] for i in idx]), n, seconds),
        "files_per_layer": files_under(work / "zarr" / fs.key / "L05")
        + files_under(work / "zarr" / fs.key / "_commits")
        - 1,  # minus _commits/zarr.json (group metadata, not per layer)
    }
    shutil.rmtree(work / "zarr")
    return out


def shard_check_cost(fs, n: int) -> tuple[float, float]:
    """Seconds of one epoch's reads (every clip once, in random batches of 64 sorted clips, as a streamed epoch
    reads them) and of the CRC check that training does once per process before it (every shard read and compared
    with its commit record), warm page cache, both best of 3."""
    from codecfake.store import verify

    reader = fs.reader("L05")
    epoch, check = [], []
    for r in range(3):
        perm = np.random.default_rng(r).permutation(n)
        t0 = time.perf_counter()
        for i in range(0, n, BATCH):
            reader.batch(np.sort(perm[i : i + BATCH]))
        epoch.append(time.perf_counter() - t0)
        verify._CHECKED.clear()  # as in a fresh process
        t0 = time.perf_counter()
        assert verify.check_shards(fs, "L05") == fs.n_shards
        check.append(time.perf_counter() - t0)
    return min(epoch), min(check)


def bench_memmap(work: Path, n: int, seconds: float) -> dict:
    path = work / "feats.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, T, D))
    t_write = 0.0
    for _, a, block in shards(n):
        t0 = time.perf_counter()
        mm[a : a + len(block)] = block
        t_write += time.perf_counter() - t0
    t0 = time.perf_counter()
    mm.flush()
    del mm
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    t_write += time.perf_counter() - t0
    arr = np.asarray(
        np.load(path, mmap_mode="r")
    )  # plain ndarray view: fancy indexing on np.memmap is ~5x slower
    t0 = time.perf_counter()
    for a in range(0, n, SHARD):
        np.array(arr[a : a + SHARD])
    seq = n * T * D * 2 / (time.perf_counter() - t0) / 1e6
    out = {
        "write_mb_s": n * T * D * 2 / t_write / 1e6,
        "seq_read_mb_s": seq,
        # fancy indexing already copies into a new (B, T, D) array: one copy, as our reader's batch() does
        "clips_s": timed_batches(lambda idx: arr[idx], n, seconds),
        "files_per_layer": 1,
    }
    path.unlink()
    return out


def bench_pt(work: Path, n: int, seconds: float) -> dict:
    d = work / "pt"
    d.mkdir(parents=True, exist_ok=True)
    t_write = 0.0
    for _, a, block in shards(n):
        t0 = time.perf_counter()
        for j in range(len(block)):
            torch.save(torch.from_numpy(block[j].copy()), d / f"{a + j}.pt")
        t_write += time.perf_counter() - t0
    t0 = time.perf_counter()
    os.sync()  # the store fsyncs each shard; make the baseline durable too
    t_write += time.perf_counter() - t0

    def load(idx: np.ndarray) -> torch.Tensor:
        return torch.stack([torch.load(d / f"{int(i)}.pt", weights_only=True) for i in idx])  # (B, T, D)

    t0 = time.perf_counter()
    for a in range(0, n, SHARD):
        load(np.arange(a, min(n, a + SHARD)))
    seq = n * T * D * 2 / (time.perf_counter() - t0) / 1e6
    out = {
        "write_mb_s": n * T * D * 2 / t_write / 1e6,
        "seq_read_mb_s": seq,
        "clips_s": timed_batches(load, n, seconds),
        "files_per_layer": n,
    }
    shutil.rmtree(d)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4096, help="clips [4096]")
    ap.add_argument("--seconds", type=float, default=2.5, help="minimum timing per random-read case [2.5]")
    ap.add_argument(
        "--work", type=Path, default=HERE / "work", help="scratch dir, deleted after [bench/work]"
    )
    ap.add_argument("--out", type=Path, default=HERE / "results" / "store.json")
    args = ap.parse_args()
    torch.set_num_threads(
        1
    )  # fp16 torch.stack with 2 intra-op threads was pathological on this machine class
    work = args.work / "store"
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()  # other work on the machine (1, 5, 15 min)
    try:
        ours = bench_ours(work, args.n, args.seconds)
        memmap = bench_memmap(work, args.n, args.seconds)
        pt = bench_pt(work, args.n, args.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = args.n
    res = {
        "what": "random batches of 64 sorted clip indices, warm page cache, clips/s; N x 201 x 1024 float16",
        "n_clips": n,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "ours_shard_mmap": {
            k: ours[k] for k in ("write_mb_s", "seq_read_mb_s", "ours_clips_s", "files_per_layer")
        },
        "shard_check": {
            "what": "CRC-32 check of every shard before training/evaluation (once per process) vs one epoch's reads "
            "of every clip in random batches of 64, warm, best of 3 each",
            "baseline_epoch_read_s": ours["epoch_read_s"],
            "ours_check_s": ours["shard_check_s"],
            "target_max_share_of_epoch": 0.05,
            "skip_option": "--no-shard-check (codecfake train / evaluate), CODECFAKE_SHARD_CHECK=0",
        },
        "ratio_shard_check_vs_epoch_read": ours["shard_check_s"] / ours["epoch_read_s"],
        "zarr_per_item": {"clips_s": ours["zarr_per_item_clips_s"]},
        "numpy_memmap": memmap,
        "pt_per_clip": pt,
        "ratio_ours_vs_memmap": ours["ours_clips_s"] / memmap["clips_s"],
        "ratio_ours_vs_pt_per_clip": ours["ours_clips_s"] / pt["clips_s"],
        "ratio_ours_vs_zarr_per_item": ours["ours_clips_s"] / ours["zarr_per_item_clips_s"],
        "ratio_files_per_layer_vs_target": ours["files_per_layer"] / (n / SHARD + 20),
        "targets": {"memmap_ratio_min": 0.5, "pt_ratio_min": 3.0, "files_per_layer_max": n / SHARD + 20},
    }
    res["targets_met"] = {
        "memmap": res["ratio_ours_vs_memmap"] >= 0.5,
        "pt_per_clip": res["ratio_ours_vs_pt_per_clip"] >= 3.0,
        "files_per_layer": ours["files_per_layer"] <= n / SHARD + 20,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(
        f"N={n}: ours {ours['ours_clips_s']:,.0f} clips/s | memmap {memmap['clips_s']:,.0f} | .pt/clip "
        f"{pt['clips_s']:,.0f} | zarr per-item {ours['zarr_per_item_clips_s']:,.0f}"
    )
    print(
        f"ratios: vs memmap {res['ratio_ours_vs_memmap']:.2f} (>= 0.5), vs .pt {res['ratio_ours_vs_pt_per_clip']:.2f}"
        f" (>= 3), vs zarr per-item {res['ratio_ours_vs_zarr_per_item']:.2f}; files/layer {ours['files_per_layer']}"
        f" (<= {n / SHARD + 20:.0f}); write {ours['write_mb_s']:.0f} MB/s; seq read {ours['seq_read_mb_s']:.0f} MB/s"
    )
    print(
        f"shard check before training: {ours['shard_check_s']:.2f} s vs one epoch's reads {ours['epoch_read_s']:.2f} s "
        f"= {res['ratio_shard_check_vs_epoch_read']:.2f} (target <= 0.05, else --no-shard-check)"
    )
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
