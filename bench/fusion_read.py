"""Fused-layer batch reads: one ``StackedReader.batch`` per batch into one (B, N, T, D) buffer vs N plain per-layer
``ShardReader.batch`` reads then ``np.stack`` (what a loader without it would do), measured in this run.

A temporary store of N SSL-shaped layers (201 × 1024 float16) is written, read once to warm the page cache, then
both ways read the same random sorted batches; best of `--rounds` interleaved rounds. The fused batches are checked
equal to the stacked ones before any time is written.

    python bench/fusion_read.py [--clips 512] [--layers 3] [--batch 64] [--batches 40] [--out bench/results/fusion_read.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from codecfake.store import FeatureStore
from codecfake.store.testing import make_spec
from codecfake.train.input_arrays import StackedReader

HERE = Path(__file__).resolve().parent
FRAME = (201, 1024)


def write_store(root: Path, n: int, layers: int) -> object:
    meta = {
        "utt_id": np.array([f"u{i}" for i in range(n)]),
        "label": np.zeros(n, np.int64),
        "domain": np.array(["codec"] * n),
        "condition": np.array(["train"] * n),
        "split": np.array(["train"] * n),
    }
    spec = make_spec(corpus="bench", model_id="synthetic", params={})
    fs = FeatureStore(root).create(spec, meta)
    rng = np.random.default_rng(0)
    for k in range(layers):
        fs.ensure_array(f"L{k:02d}", FRAME)
        for s in range(fs.n_shards):
            lo, hi = fs.shard_bounds(s)
            fs.write_shard(f"L{k:02d}", s, rng.standard_normal((hi - lo, *FRAME), dtype=np.float32))
    return fs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=512)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(HERE / "results" / "fusion_read.json"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fusion-bench-"))
    try:
        fs = write_store(tmp / "features", args.clips, args.layers)
        names = [f"L{k:02d}" for k in range(args.layers)]
        stacked, plain = StackedReader(fs, names), [fs.reader(a) for a in names]
        rng = np.random.default_rng(1)
        batches = [np.sort(rng.permutation(args.clips)[: args.batch]) for _ in range(args.batches)]

        def fused() -> None:
            for b in batches:
                stacked.batch(b)

        def separate() -> None:
            for b in batches:
                np.stack([r.batch(b) for r in plain], axis=1)

        if not all(
            np.array_equal(stacked.batch(b), np.stack([r.batch(b) for r in plain], axis=1)) for b in batches
        ):
            raise SystemExit("fused batches differ from the per-layer reads: not timing a wrong answer")
        best = {"fused": 0.0, "separate": 0.0}
        for _ in range(args.rounds):
            for name, f in (("fused", fused), ("separate", separate)):
                t0 = time.perf_counter()
                f()
                best[name] = max(best[name], args.batches * args.batch / (time.perf_counter() - t0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mb = args.batch * args.layers * FRAME[0] * FRAME[1] * 2 / 1e6
    result = {
        "what": "clips/s reading batches of N fused layers, warm page cache, best of rounds; equality checked first",
        "clips": args.clips,
        "layers": args.layers,
        "frame": list(FRAME),
        "batch": args.batch,
        "rounds": args.rounds,
        "batch_megabytes": mb,
        "batch_megabytes_at_128": 128 * args.layers * FRAME[0] * FRAME[1] * 2 / 1e6,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_avg_1m_at_end": os.getloadavg()[0],
        },
        "ours_stacked_reader_clips_per_s": best["fused"],
        "baseline_per_layer_reads_and_stack_clips_per_s": best["separate"],
        "ratio_ours_vs_baseline": best["fused"] / best["separate"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
