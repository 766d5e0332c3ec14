"""Augmentation benchmark (``make bench-augment``): what augmented variants cost, beside the decode they ride on.

1. **Per core**: clips/s of one process (one core) on 4.04-s clips (64,600 samples at 16 kHz) for the decode a clip
   needs anyway (16 kHz PCM WAV, 16 kHz FLAC, 24 kHz WAV resampled: Codecfake's two rates, ASVspoof's FLAC) and for
   each augmentation: every RawBoost algorithm, every codec of the codec family at its default draw, resampling,
   low-pass, noise. Each figure is the best of ``--rounds`` interleaved passes (the machine is shared).
2. **GPU feed**: decode workers on a GPU server (``--server-cores``, default 16 as the lent H100 box; one core runs
   the model, the rest decode, as ``codecfake.extract.tuning`` does) feed ``cores x clips/s per core`` of decode +
   augmentation; an H100 extracts XLS-R to layer 5 at about 2,000 clips/s (48 GFLOP per clip; by arithmetic). The
   share of that rate each family can feed, and which side is the bottleneck.
3. **Streamed training with variants**: one AASIST epoch (Adam, batch 32, ``data_mode=stream``) through the real
   ``codecfake.train.loop.train`` on synthetic 201 x 1024 float16 features, without and with ``--augment
   rawboost:2`` (two variant sets beside the clean one, so reads spread over three sets' shard files): the data-wait
   share of each, measured in the same run.

    python bench/augment.py [--clips 40] [--rounds 3] [--server-cores 16] [--train-clips 512] [--skip-train]

Results: ``bench/results/augment.json`` with the baseline (decode, clean training), ours and ``ratio…`` keys.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per process: the per-core figure

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402

from codecfake.augment.recipe import CODECS, parse_augment  # noqa: E402
from codecfake.augment.variant import Variant  # noqa: E402
from codecfake.common import N_SAMPLES, SAMPLE_RATE_HZ  # noqa: E402
from codecfake.corpus import load_clip  # noqa: E402
from codecfake.corpus.build.tiny import synth_voice  # noqa: E402

HERE = Path(__file__).resolve().parent
GPU_CLIPS_PER_S = 2000.0  # H100, XLS-R cut after layer 5, by arithmetic (48 GFLOP per clip)


def families() -> dict[str, str]:
    out = {f"rawboost:{a}": f"rawboost:1:algo={a}" for a in range(1, 9)}
    out |= {f"codec:{c}": f"codec:1:codecs={c}" for c in CODECS}
    out |= {"resample": "resample", "lowpass": "lowpass", "noise": "noise"}
    return out


def _rate(fn, n: int) -> float:
    fn(0)  # warm: imports, codec drivers
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def per_core(work: Path, n: int, rounds: int) -> dict:
    clip = synth_voice(np.random.default_rng(0), seconds=N_SAMPLES / SAMPLE_RATE_HZ)[:N_SAMPLES]
    files = {
        "wav16k": (work / "a16.wav", clip, SAMPLE_RATE_HZ, "PCM_16"),
        "flac16k": (work / "a16.flac", clip, SAMPLE_RATE_HZ, "PCM_16"),
        "wav24k": (work / "a24.wav", soxr.resample(clip, SAMPLE_RATE_HZ, 24000), 24000, "PCM_16"),
    }
    for path, x, sr, sub in files.values():
        sf.write(path, x, sr, subtype=sub)
    variants = {name: Variant(parse_augment(text)[0].recipe) for name, text in families().items()}
    best: dict[str, float] = {}
    for _ in range(rounds):  # interleaved: decode and every family see the same load changes
        for name, (path, *_rest) in files.items():
            best[f"decode:{name}"] = max(
                best.get(f"decode:{name}", 0.0), _rate(lambda i, p=path: load_clip(p), n)
            )
        for name, v in variants.items():
            rate = _rate(lambda i, v=v: v(clip, f"utt{i}"), n)
            best[name] = max(best.get(name, 0.0), rate)
    return best


def gpu_feed(rates: dict, cores: int, decode: str = "decode:flac16k") -> dict:
    """Clips/s that (cores - 1) decode workers feed, decode + each augmentation, and the share of the GPU's rate."""
    workers = max(1, cores - 1)
    t_decode = 1.0 / rates[decode]
    out = {}
    for name, r in rates.items():
        if name.startswith("decode:"):
            continue
        feed = workers / (t_decode + 1.0 / r)
        out[name] = {
            "feed_clips_per_s": feed,
            "share_of_gpu": min(1.0, feed / GPU_CLIPS_PER_S),
            "cores_to_feed_gpu": int(np.ceil(GPU_CLIPS_PER_S * (t_decode + 1.0 / r))) + 1,
            "bottleneck": "decode workers (CPU)" if feed < GPU_CLIPS_PER_S else "GPU forward",
        }
    clean = workers / t_decode
    out["none (decode only)"] = {
        "feed_clips_per_s": clean,
        "share_of_gpu": min(1.0, clean / GPU_CLIPS_PER_S),
        "cores_to_feed_gpu": int(np.ceil(GPU_CLIPS_PER_S * t_decode)) + 1,
        "bottleneck": "decode workers (CPU)" if clean < GPU_CLIPS_PER_S else "GPU forward",
    }
    return out


def streamed_training(work: Path, n_train: int) -> dict:
    """AASIST stream-mode epoch without and with two stored rawboost variants per clip: data-wait shares."""
    from codecfake.store import FeatureSetSpec, FeatureStore
    from codecfake.train.config import TrainConfig
    from codecfake.train.loop import train
    from codecfake.train.rundir import read_metrics

    t, d, shard = 201, 1024, 256
    n = n_train + 64
    rng = np.random.default_rng(0)
    split = np.array(["train"] * n_train + ["dev"] * 64)
    meta = {
        "utt_id": np.array([f"c{i:06d}" for i in range(n)]),
        "label": np.tile([0, 1], n)[:n],
        "domain": np.array(["codec"] * n),
        "condition": split.copy(),
        "split": split,
    }
    spec = FeatureSetSpec("bench-augment", "0" * 64, "xlsr", "synthetic", "", {"layer": 5})
    store = FeatureStore(work / "store")

    def write(spec, meta) -> str:
        fs = store.create(spec, meta, mode="overwrite", shard_size=shard)
        fs.ensure_array("L05", (t, d))
        for s in range(fs.n_shards):
            lo, hi = fs.shard_bounds(s)
            fs.write_shard(
                "L05", s, rng.standard_normal((hi - lo, t, d), dtype=np.float32).astype(np.float16)
            )
        return fs.key

    clean = write(spec, meta)
    train_meta = {k: v[:n_train] for k, v in meta.items()}
    for index in range(2):
        v = Variant(parse_augment("rawboost")[0].recipe, index, of=clean, rows={"splits": ["train"]})
        write(dataclasses.replace(spec, augment=v.spec_entry()), train_meta)
    out = {}
    for label, augment in (("clean", ""), ("variants", "rawboost:2")):
        config = TrainConfig(
            task="codec",
            backend="aasist",
            epochs=1,
            batch=32,
            data_mode="stream",
            name=f"b-{label}",
            eval_batch=64,
            augment=augment,
        )
        t0 = time.perf_counter()
        row = read_metrics(train(config, store, work / "runs", force=True))[0]
        out[label] = {
            "data_wait_share": row["data_wait_share"],
            "clips_per_s": row["clips_per_s"],
            "train_call_s": time.perf_counter() - t0,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=40, help="clips per timing pass")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--server-cores", type=int, default=16)
    ap.add_argument("--train-clips", type=int, default=512)
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "augment.json")
    args = ap.parse_args()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench-augment-"))
    try:
        rates = per_core(work, args.clips, args.rounds)
        feed = gpu_feed(rates, args.server_cores)
        training = None if args.skip_train else streamed_training(work, args.train_clips)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    decode = {k: v for k, v in rates.items() if k.startswith("decode:")}
    aug = {k: v for k, v in rates.items() if not k.startswith("decode:")}
    ratios = {f"ratio_{k}_cost_vs_decode_flac16k": rates["decode:flac16k"] / v for k, v in aug.items()}
    ratios |= {
        f"ratio_{k}_cost_vs_decode_wav24k": rates["decode:wav24k"] / v
        for k, v in aug.items()
        if k.startswith("rawboost")
    }
    result = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "clip": {"samples": N_SAMPLES, "rate_hz": SAMPLE_RATE_HZ},
        "baseline_decode_clips_per_s_per_core": decode,
        "ours_augment_clips_per_s_per_core": aug,
        **ratios,
        "gpu_feed": {
            "server_cores": args.server_cores,
            "gpu_clips_per_s": GPU_CLIPS_PER_S,
            "by_family": feed,
        },
        "targets": {
            "rawboost_no_costlier_than_decode": {
                k: rates["decode:flac16k"] / v <= 1.0 for k, v in aug.items() if k.startswith("rawboost")
            },
        },
    }
    if training is not None:
        result["streamed_training"] = training
        result["ratio_data_wait_variants_vs_clean"] = training["variants"]["data_wait_share"] / max(
            training["clean"]["data_wait_share"], 1e-9
        )
        result["targets"]["variants_keep_data_wait_below_0.05"] = (
            training["variants"]["data_wait_share"] < 0.05
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(
        json.dumps(
            {"per_core": rates, "training": training, "load": [load_before, os.getloadavg()]}, indent=1
        )
    )


if __name__ == "__main__":
    main()
