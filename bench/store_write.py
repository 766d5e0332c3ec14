"""Write-path benchmark: per-shard fixed cost and sustained MB/s of ``FeatureSet.write_shard`` against the disk's own
sequential write speed, today's path (Zarr codec pipeline, four fsyncs, a durable record per shard) vs ours (shard
bytes written directly and fdatasynced, commit records fsynced in groups), 1/2/4 writer threads, all in one run.

- disk: the same bytes written to one file in 64 MB writes, one fdatasync at the end (what the disk sustains);
- real shards: ``--shards`` shards of 256 × 201 × 1024 float16 (105 MB), each case into a fresh feature set;
- fixed cost: ``--tiny`` shards of a (256, 1, 1) array, ms per shard (bytes are negligible: it is all fsyncs and
  bookkeeping).

    python bench/store_write.py [--shards 12] [--tiny 64] [--work bench/work] [--out bench/results/store_write.json]

Target (issue 13): the writer sustains >= 0.8x the disk's sequential write speed, durability kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from codecfake.store import FeatureStore
from codecfake.store.cast import check_and_cast
from codecfake.store.records import fsync_path
from codecfake.store.testing import make_spec

T, D, SHARD = 201, 1024, 256
HERE = Path(__file__).resolve().parent


def make_set(root: Path, n_shards: int, frame: tuple[int, int]):
    n = n_shards * SHARD
    spec = make_spec(
        corpus="bench-write",
        model_id="synthetic",
        params={"n": n, "frame": list(frame)},
    )
    meta = {
        "utt_id": np.array([f"u{i}" for i in range(n)], dtype=object),
        "label": np.zeros(n, np.int8),
        "domain": np.array(["codec"] * n, dtype=object),
        "condition": np.array(["C1"] * n, dtype=object),
        "split": np.array(["train"] * n, dtype=object),
    }
    fs = FeatureStore(root).create(spec, meta, shard_size=SHARD, mode="overwrite")
    fs.ensure_array("L05", frame)
    return fs


def write_today(fs, s: int, data: np.ndarray) -> None:
    """The write path before this change: Zarr's codec pipeline, fsync file + folder, a durable record per shard."""
    a, b = fs.shard_bounds(s)
    cast = check_and_cast("bench", data, (b - a, *fs.frame_shape("L05")), (), "error")
    fs.records.uncommit("L05", s)
    fs.array("L05")[a:b] = cast.data
    path = Path(fs.store.local_root, fs.key, "L05", "c", str(s), "0", "0")
    fsync_path(path)
    fsync_path(path.parent)
    fs.records.commit(
        "L05",
        s,
        {
            "n_clips": b - a,
            "crc32": cast.crc32,
            "n_nan": 0,
            "n_inf": 0,
            "nonfinite_clips": [],
            "rejects": [],
            "written_utc": "",
        },
        durable=True,
    )


def run_case(
    root: Path, n_shards: int, frame: tuple[int, int], block: np.ndarray, threads: int, today: bool
) -> dict:
    fs = make_set(root, n_shards, frame)

    def one(s: int) -> None:
        if today:
            write_today(fs, s, block)
        else:
            fs.write_shard("L05", s, block)

    t0 = time.perf_counter()
    if threads == 1:
        for s in range(n_shards):
            one(s)
    else:  # one thread per shard at a time: never two writers on one shard
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(n_shards)))
    fs.flush_commits()
    dt = time.perf_counter() - t0
    assert fs.is_complete("L05")
    shutil.rmtree(root)
    return {"seconds": dt, "ms_per_shard": dt / n_shards * 1e3, "mb_s": n_shards * block.nbytes / dt / 1e6}


def disk_write(path: Path, nbytes: int, block: np.ndarray) -> float:
    """MB/s of writing ``nbytes`` sequentially into one file (64 MB writes) and one fdatasync."""
    view = memoryview(block.reshape(-1).view(np.uint8))
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    done = 0
    while done < nbytes:
        for a in range(0, len(view), 64 << 20):
            done += os.write(fd, view[a : a + (64 << 20)])
    os.fdatasync(fd)
    os.close(fd)
    dt = time.perf_counter() - t0
    path.unlink()
    return done / dt / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shards", type=int, default=12, help="real-size shards per case [12 = 1.26 GB]")
    ap.add_argument("--tiny", type=int, default=64, help="tiny-array shards per fixed-cost case [64]")
    ap.add_argument("--work", type=Path, default=HERE / "work")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "store_write.json")
    args = ap.parse_args()
    work = args.work / "store_write"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    block = np.random.default_rng(0).standard_normal((SHARD, T, D), dtype=np.float32).astype(np.float16)
    tiny = np.ones((SHARD, 1, 1), np.float16)
    load_before = os.getloadavg()
    try:
        res_tiny = {
            name: run_case(work / name, args.tiny, (1, 1), tiny, 1, name == "today")
            for name in ("today", "ours")
        }
        disk = disk_write(work / "disk.bin", args.shards * block.nbytes, block)
        real = {"today_1_thread": run_case(work / "t1", args.shards, (T, D), block, 1, True)}
        for k in (1, 2, 4):
            real[f"ours_{k}_thread"] = run_case(work / f"o{k}", args.shards, (T, D), block, k, False)
        disk_after = disk_write(work / "disk.bin", args.shards * block.nbytes, block)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ceiling = max(disk, disk_after)
    best = max((k for k in real if k.startswith("ours")), key=lambda k: real[k]["mb_s"])
    res = {
        "what": "write_shard MB/s at 256 x 201 x 1024 float16 shards vs the disk's sequential write; fixed cost on "
        "(256, 1, 1) shards",
        "disk_seq_write_mb_s": {"before_cases": disk, "after_cases": disk_after, "ceiling": ceiling},
        "fixed_cost_ms_per_shard": {
            "baseline_today": res_tiny["today"]["ms_per_shard"],
            "ours": res_tiny["ours"]["ms_per_shard"],
        },
        "real_shards": real,
        "baseline": {"mb_s": real["today_1_thread"]["mb_s"]},
        "ours": {"mb_s": real["ours_1_thread"]["mb_s"], "best": best, "best_mb_s": real[best]["mb_s"]},
        "ratio_fixed_cost_today_vs_ours": res_tiny["today"]["ms_per_shard"]
        / res_tiny["ours"]["ms_per_shard"],
        "ratio_baseline_vs_disk": real["today_1_thread"]["mb_s"] / ceiling,
        "ratio_ours_1_thread_vs_disk": real["ours_1_thread"]["mb_s"] / ceiling,
        "ratio_ours_best_vs_disk": real[best]["mb_s"] / ceiling,
        "target": {"ours_vs_disk_min": 0.8, "met": real[best]["mb_s"] / ceiling >= 0.8},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        },
        "setup": {"shards_per_case": args.shards, "tiny_shards": args.tiny, "shard_bytes": block.nbytes},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(
        f"disk {ceiling:.0f} MB/s | today {real['today_1_thread']['mb_s']:.0f} MB/s | ours "
        + " ".join(f"{k}: {v['mb_s']:.0f}" for k, v in real.items() if k.startswith("ours"))
        + f" | fixed cost {res_tiny['today']['ms_per_shard']:.1f} -> {res_tiny['ours']['ms_per_shard']:.1f} ms/shard"
        f" | best/disk {res['ratio_ours_best_vs_disk']:.2f} (>= 0.8) | load {load_before[0]:.1f}"
    )
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
