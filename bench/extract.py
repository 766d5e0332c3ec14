"""Extraction benchmark: the original code's way vs ours, on a full-size random-weight XLS-R (315M parameters).

(a) baseline — as the released code: batch 1, all 24 transformer layers computed (``output_hidden_states=True``),
    fp32, keep ``hidden_states[5]``, one ``torch.save`` file per clip;
(b) ours — ``extract_manifest``: the device's default batch (CPU 8), decode workers = cores - 1, encoder cut after
    layer 5, fp16 into the Zarr store; plus clips/s of each stage alone (decode: a loader-only pass; forward and
    write: the run's own per-stage timings), so the bottleneck is named.
Each runs in its own subprocess (separate peak RSS) on the same >= 32 four-second clips, same machine, same thread
count. Writes bench/results/extract.json. No weights are downloaded: the model is built from a config.

    python bench/extract.py [--clips 32] [--batch N] [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codecfake.extract.testing import XLSR_300M, XLSR_SMOKE, save_random_model

HERE = Path(__file__).resolve().parent


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def prepare(work: Path, n_clips: int, tiny: bool = False) -> tuple[Path, Path]:
    """Random-weight XLS-R-300m-shaped checkpoint + n four-second wav clips (speech-like test signals)."""
    import numpy as np
    import soundfile as sf

    from codecfake.corpus.build.tiny import synth_voice

    ckpt = save_random_model(work / "xlsr-random", XLSR_SMOKE if tiny else XLSR_300M, seed=0)
    audio = work / "clips"
    audio.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n_clips):
        sf.write(audio / f"clip{i:03d}.wav", synth_voice(rng, seconds=4.0), 16000)
    return ckpt, audio


def run_baseline(ckpt: Path, audio: Path, out: Path, device: str) -> dict:
    import torch
    from transformers import Wav2Vec2Model

    from codecfake.corpus import load_clip
    from codecfake.extract.ssl import normalise_waves

    dev = torch.device(device)
    model = Wav2Vec2Model.from_pretrained(str(ckpt), local_files_only=True).eval().to(dev)
    files = sorted(audio.glob("*.wav"))
    out.mkdir()
    t0 = time.perf_counter()
    with torch.no_grad():  # the released code: no_grad, fp32, one clip at a time, every layer
        for i, f in enumerate(files):
            x = normalise_waves(torch.from_numpy(load_clip(f))[None].to(dev))  # (1, 64600)
            hidden = model(x, output_hidden_states=True).hidden_states  # 25 x (1, 201, 1024)
            torch.save(hidden[5].cpu(), out / f"{i:06d}_{f.name}_real.pt")
    if dev.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    return {
        "clips": len(files),
        "seconds": elapsed,
        "clips_per_s": len(files) / elapsed,
        "bytes_written": sum(p.stat().st_size for p in out.iterdir()),
        "peak_rss_mb": peak_rss_mb(),
    }


def decode_only(files: list[Path], batch: int, workers: int) -> float:
    """clips/s of the extraction DataLoader alone (decode, resample, pad in ``workers`` processes)."""
    from codecfake.extract.loading import ShardJob, make_loader

    job = ShardJob(0, 0, len(files), tuple(str(f) for f in files), ("L05",))
    t0 = time.perf_counter()
    n = sum(len(reasons) for _, _, reasons in make_loader([job], batch, workers, 64600))
    return n / (time.perf_counter() - t0)


def stage_rates(n: int, decode_rate: float, timings: dict) -> dict:
    """clips/s of each stage on its own: decode (a loader-only pass), forward (+ fp16 copy back), write (the
    writer thread's busy time); the slowest one is the bottleneck of the pipelined run."""
    rates = {
        "decode": decode_rate,
        "forward": n / max(timings["forward_s"], 1e-9),
        "write": n / max(timings["write_s"], 1e-9),
    }
    return {
        **{f"{k}_clips_per_s": v for k, v in rates.items()},
        "bottleneck": min(rates, key=rates.get),
        "timings_s": timings,
    }


def run_ours(ckpt: Path, audio: Path, out: Path, device: str, batch: int | None) -> dict:
    from codecfake.corpus import Manifest, ManifestRow
    from codecfake.extract import build_extractor
    from codecfake.extract.pipeline import extract_manifest
    from codecfake.extract.tuning import default_batch, default_num_workers

    files = sorted(audio.glob("*.wav"))
    rows = [ManifestRow(f.stem, str(f), "bonafide", "bench", "train", "codec", "train") for f in files]
    extractor = build_extractor("xlsr", model_dir=ckpt, layers=(5,), device=device)
    batch = batch or default_batch(extractor)
    workers = default_num_workers()
    decode_rate = decode_only(files, batch, workers)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    fs = extract_manifest(
        Manifest(rows, audio, "bench"), extractor, out, batch=batch, mode="overwrite", timings=timings
    )
    elapsed = time.perf_counter() - t0
    return {
        "clips": len(files),
        "seconds": elapsed,
        "clips_per_s": len(files) / elapsed,
        "batch": batch,
        "decode_workers": workers,
        "layers_run": len(extractor.model.encoder.layers),
        "complete": fs.is_complete("L05"),
        "stages": stage_rates(len(files), decode_rate, timings),
        "bytes_written": sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file()),
        "peak_rss_mb": peak_rss_mb(),
    }


def child(role: str, args: argparse.Namespace) -> dict:
    """Run one side in a fresh interpreter; its JSON result is the last stdout line."""
    cmd = [
        sys.executable,
        __file__,
        "--role",
        role,
        "--work",
        str(args.work),
        "--device",
        args.device,
        *(["--batch", str(args.batch)] if args.batch else []),
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=32)
    p.add_argument("--batch", type=int, help="clips per forward [the device default: CPU 8, CUDA probed]")
    p.add_argument("--device", default="auto")
    p.add_argument("--tiny", action="store_true", help="smoke test with a tiny config (result not written)")
    p.add_argument("--role", choices=("baseline", "ours"), help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=HERE / "results" / "extract.json")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.role:
        ckpt, audio = args.work / "xlsr-random", args.work / "clips"
        if args.role == "baseline":
            result = run_baseline(ckpt, audio, args.work / "pt-files", args.device)
        else:
            result = run_ours(ckpt, audio, args.work / "store", args.device, args.batch)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        args.work = Path(tmp)
        t0 = time.perf_counter()
        prepare(args.work, args.clips, args.tiny)
        load_before = os.getloadavg()
        baseline = child("baseline", args)
        ours = child("ours", args)
        load_after = os.getloadavg()
    result = {
        "benchmark": "extract: full-size random-weight XLS-R (315M params), 4-second clips (64,600 samples)",
        "device": args.device,
        "gpu": torch.cuda.get_device_name()
        if args.device.startswith("cuda")
        else "none available in this session: GPU numbers not measured",
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "loadavg_1_5_15_before": load_before,
        "loadavg_1_5_15_after": load_after,
        "baseline": {"how": "batch 1, all 24 layers, fp32, torch.save per clip", **baseline},
        "ours": {
            "how": f"batch {ours['batch']}, {ours['decode_workers']} decode workers, truncated after layer 5, "
            "fp16 into the Zarr store",
            **ours,
        },
        "bottleneck": ours["stages"]["bottleneck"],
        "ratio_clips_per_s": ours["clips_per_s"] / baseline["clips_per_s"],
        "ratio_bytes_written": baseline["bytes_written"] / max(ours["bytes_written"], 1),
        "targets": {"ratio_clips_per_s_cpu": ">= 2.5", "ours_peak_rss_mb": "< 4096 at batch 8"},
        "total_seconds": time.perf_counter() - t0,
    }
    if not args.tiny:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
