"""One command for a GPU server (issue 13 item 5): ``make bench-gpu`` -> bench/results/gpu.json, < 8 minutes.

1. extraction: full-size random-weight XLS-R (315M, cut after layer 5) through ``extract_manifest`` with the decode
   workers on, batch 16/32/64, fp32 and bf16: end-to-end clips/s, and the forward pass alone with its share of the
   GPU's bf16 peak FLOP/s (XLS-R through layer 5 ~ 48 GFLOP per 4-second clip, the issue's estimate);
2. training: W2V2-AASIST steps/s at batch 128 through ``Trainer.step`` for Adam and CSAM, fp32 and bf16 autocast;
3. the streamed loader feeding the GPU: ``Prefetcher`` over a real feature set, AASIST Adam steps, data-wait share.

No weights are downloaded: models are built from configs. Without CUDA it stops at once with a message, unless
``--tiny`` (tiny models, a few clips, any device: the CPU smoke test of this script; its result is not written).

    python -m bench.gpu [--out bench/results/gpu.json] [--seconds 8] [--tiny --device cpu]   (from the repository)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from bench.gpu_lib import (
    GFLOP_PER_CLIP_L5,
    NoCuda,
    bench_extraction,
    bench_loader,
    bench_training,
    flop_share,
    gpu_info,
)

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=HERE / "results" / "gpu.json")
    p.add_argument("--device", default="cuda", help="cuda | cuda:N (cpu only with --tiny) [cuda]")
    p.add_argument("--seconds", type=float, default=8.0, help="timed seconds per case [8]")
    p.add_argument("--clips", type=int, default=1024, help="clips per extraction case [1024]")
    p.add_argument(
        "--loader-clips", type=int, default=4096, help="clips in the streamed-loader feature set [4096]"
    )
    p.add_argument(
        "--tiny", action="store_true", help="tiny models and sizes: a smoke test (result not written)"
    )
    args = p.parse_args(argv)
    if args.tiny:
        args.clips, args.loader_clips, args.seconds = 8, 64, min(args.seconds, 0.5)
    return args


def require_device(device: str, tiny: bool) -> None:
    """Fail fast, before building anything, when CUDA is asked for and absent."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise NoCuda(
            "bench/gpu.py: no CUDA device on this machine (torch.cuda.is_available() is False, torch "
            f"{torch.__version__}); run it on a GPU server with a CUDA build of torch, or add "
            "`--tiny --device cpu` for the CPU smoke test"
        )
    if device == "cpu" and not tiny:
        raise NoCuda("bench/gpu.py measures a GPU: --device cpu is only for the --tiny smoke test")


def build_result(
    args: argparse.Namespace, info: dict, extraction: list, training: list, loader: dict, t0: float
) -> dict:
    best_bf16 = max((c["forward_clips_per_s"] for c in extraction if c["precision"] == "bf16"), default=0.0)
    return {
        "benchmark": "bench-gpu: XLS-R extraction, AASIST training steps, streamed loader on one GPU",
        "gpu": info,
        "cpu_cores": os.cpu_count(),
        "platform": platform.platform(),
        "tiny": args.tiny,
        "gflop_per_clip_l5": GFLOP_PER_CLIP_L5,
        "extraction": extraction,
        "training": training,
        "loader": loader,
        "best_bf16_forward_share_of_peak": flop_share(best_bf16, info.get("peak_bf16_tflops")),
        "total_seconds": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    require_device(args.device, args.tiny)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    info = gpu_info(args.device)
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        work = Path(tmp)
        extraction = bench_extraction(args, work, info)
        training = bench_training(args)
        loader = bench_loader(args, work)
    result = build_result(args, info, extraction, training, loader, t0)
    if not args.tiny:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
