"""The cases of bench/gpu.py: extraction, training steps and the streamed loader, each timed on one device."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

GFLOP_PER_CLIP_L5 = 48.0  # XLS-R-300m conv front-end + 5 transformer layers on 64,600 samples (issue 13)
# Dense bf16 tensor-core peak, TFLOP/s, by a substring of torch.cuda.get_device_name() (first match wins).
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989.0),
    ("H100 NVL", 835.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),
    ("GH200", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10", 125.0),
)
EXTRACT_BATCHES = (16, 32, 64)
PRECISIONS = ("fp32", "bf16")
TRAIN_BATCH = 128
FRAME = (201, 1024)


class NoCuda(SystemExit):
    """Raised (exit status 1, the message on stderr) when the benchmark is asked to run without CUDA."""


def peak_bf16_tflops(gpu_name: str) -> float | None:
    """Dense bf16 peak of ``gpu_name`` from ``PEAK_BF16_TFLOPS``; None when the GPU is not in the table."""
    for key, tflops in PEAK_BF16_TFLOPS:
        if key.lower() in gpu_name.lower():
            return tflops
    return None


def flop_share(
    clips_per_s: float, peak_tflops: float | None, gflop_per_clip: float = GFLOP_PER_CLIP_L5
) -> float | None:
    """Achieved FLOP/s over the peak: clips/s x GFLOP/clip x 1e9 / (peak TFLOP/s x 1e12)."""
    if not peak_tflops:
        return None
    return clips_per_s * gflop_per_clip * 1e9 / (peak_tflops * 1e12)


def sync(device) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device, precision: str):
    import torch

    if precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def timed(fn, seconds: float, min_iters: int = 2) -> tuple[int, float]:
    """Call ``fn`` (after one warm-up call) until ``seconds`` have passed; returns (iterations, seconds)."""
    fn()
    t0, n = time.perf_counter(), 0
    while n < min_iters or time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n, time.perf_counter() - t0


def gpu_info(device: str) -> dict:
    import torch

    if torch.device(device).type != "cuda":
        return {"name": "cpu (smoke test)", "memory_gib": None, "peak_bf16_tflops": None}
    props = torch.cuda.get_device_properties(device)
    return {
        "name": props.name,
        "memory_gib": round(props.total_memory / 2**30, 1),
        "peak_bf16_tflops": peak_bf16_tflops(props.name),
        "capability": f"{props.major}.{props.minor}",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }


# ---- 1. extraction ---------------------------------------------------------------------------------------------
def prepare_audio(work: Path, n_files: int = 64) -> list[Path]:
    """``n_files`` four-second speech-like wavs; extraction cases cycle through them."""
    import numpy as np
    import soundfile as sf

    from codecfake.corpus.build.tiny import synth_voice

    folder = work / "clips"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    files = []
    for i in range(n_files):
        files.append(folder / f"clip{i:03d}.wav")
        sf.write(files[-1], synth_voice(rng, seconds=4.0), 16000)
    return files


def random_xlsr(work: Path, tiny: bool) -> Path:
    """A random-weight XLS-R-300m-shaped checkpoint folder (``XLSR_SMOKE`` with ``tiny``), made once per work folder."""
    from codecfake.extract.testing import XLSR_300M, XLSR_SMOKE, save_random_model

    ckpt = work / "xlsr-random"
    if not ckpt.exists():
        save_random_model(ckpt, XLSR_SMOKE if tiny else XLSR_300M, seed=0)
    return ckpt


def xlsr_extractor(ckpt: Path, device: str, precision: str):
    """The store's XLS-R extractor, forward in ``precision`` (its own option when it has one, else its autocast)."""
    from codecfake.extract import build_extractor

    try:
        return build_extractor("xlsr", model_dir=ckpt, layers=(5,), device=device, precision=precision)
    except Exception:  # noqa: BLE001 - an extractor without a precision option: set its autocast here
        ext = build_extractor("xlsr", model_dir=ckpt, layers=(5,), device=device)
        ext._autocast = lambda: autocast(device, precision)
        return ext


def bench_extraction(args, work: Path, info: dict) -> list[dict]:
    """End-to-end ``extract_manifest`` clips/s (decode workers on) and forward-only clips/s per (precision, batch)."""
    import torch

    from codecfake.corpus import Manifest, ManifestRow
    from codecfake.extract.pipeline import extract_manifest
    from codecfake.extract.tuning import default_num_workers

    files = prepare_audio(work, 8 if args.tiny else 64)
    ckpt = random_xlsr(work, args.tiny)
    rows = [
        ManifestRow(f"u{i:06d}", str(files[i % len(files)]), "bonafide", "gpu", "train", "codec", "train")
        for i in range(args.clips)
    ]
    out = []
    for precision in PRECISIONS:
        ext = xlsr_extractor(ckpt, args.device, precision)
        for batch in (2, 4) if args.tiny else EXTRACT_BATCHES:
            waves = torch.randn(batch, 64600)
            n, secs = timed(lambda ext=ext, waves=waves: (ext(waves), sync(args.device)), args.seconds)
            forward = n * batch / secs
            timings: dict[str, float] = {}
            t0 = time.perf_counter()
            extract_manifest(
                Manifest(rows, work, "gpu"),
                ext,
                work / f"store-{precision}-{batch}",
                batch=batch,
                mode="overwrite",
                timings=timings,
            )
            e2e = args.clips / (time.perf_counter() - t0)
            out.append(
                {
                    "precision": precision,
                    "batch": batch,
                    "decode_workers": default_num_workers(),
                    "end_to_end_clips_per_s": e2e,
                    "forward_clips_per_s": forward,
                    "forward_share_of_bf16_peak": flop_share(forward, info.get("peak_bf16_tflops")),
                    "timings_s": timings,
                }
            )
        ext = None  # free the model before the next precision's
        if torch.device(args.device).type == "cuda":
            torch.cuda.empty_cache()
    return out


# ---- 2. training steps -----------------------------------------------------------------------------------------
def fake_training_data(n: int, frame: tuple[int, int]):
    """A ``TrainingData`` whose train split has ``n`` positions in two domains (the Trainer's sampler needs them)."""
    import numpy as np

    from codecfake.train.data import Split, TrainingData

    dom = (np.arange(n) % 7 == 0).astype(np.int64)  # ~1/7 vocoder, as 19LA against Codecfake
    split = Split(np.zeros(n, np.int64), np.arange(n), np.arange(n) % 2, dom)
    return TrainingData([], "L05", frame, ["codec", "vocoder"], split, split, {})


def bench_training(args) -> list[dict]:
    """AASIST steps/s at batch 128 (tiny: 4 clips of 16 x 32) for Adam and CSAM, fp32 and bf16 autocast."""
    import torch

    from codecfake.train.backends import build_backend
    from codecfake.train.config import TrainConfig
    from codecfake.train.trainer import Trainer

    batch, frame = (4, (16, 32)) if args.tiny else (TRAIN_BATCH, FRAME)
    device = torch.device(args.device)
    out = []
    for opt in ("adam", "csam"):
        for precision in PRECISIONS:
            config = TrainConfig(task="cotrain", opt=opt, batch=batch, device=str(device), data_mode="memory")
            model = build_backend("aasist", frame)
            trainer = Trainer(config, fake_training_data(4 * batch, frame), model, Path("."), device)
            x = torch.randn(batch, *frame).half()  # (B, T, D) float16, as the store hands it out
            y, dom = torch.arange(batch) % 2, (torch.arange(batch) % 7 == 0).long()

            def step(trainer=trainer, x=x, y=y, dom=dom, precision=precision):
                with autocast(device, precision):
                    trainer.step(x, y, dom)
                sync(device)

            n, secs = timed(step, args.seconds)
            out.append(
                {
                    "opt": opt,
                    "precision": precision,
                    "batch": batch,
                    "steps_per_s": n / secs,
                    "clips_per_s": n * batch / secs,
                }
            )
    return out


# ---- 3. the streamed loader feeding the GPU ----------------------------------------------------------------------
def bench_loader(args, work: Path) -> dict:
    """Stream-mode training input (``load_training_data`` + ``Prefetcher`` over the shard reader) feeding AASIST Adam
    steps on the device: steps/s with data, steps/s without (same batch resident), and the data-wait share."""
    import numpy as np
    import torch

    from codecfake.store import FeatureStore
    from codecfake.store.testing import make_spec
    from codecfake.train.backends import build_backend
    from codecfake.train.config import TrainConfig
    from codecfake.train.data import Prefetcher, load_training_data
    from codecfake.train.trainer import Trainer

    batch, frame = (4, (16, 32)) if args.tiny else (TRAIN_BATCH, FRAME)
    n = args.loader_clips
    store = FeatureStore(work / "loader-store")
    meta = {
        "utt_id": [f"c{i}" for i in range(n)],
        "label": np.arange(n) % 2,
        "domain": ["codec"] * n,
        "condition": ["train"] * n,
        "split": ["train" if i % 8 else "dev" for i in range(n)],
    }
    spec = make_spec(
        corpus="gpu-loader",
        extractor="random",
        model_id="random",
        params={},
    )
    fs = store.create(spec, meta)
    fs.ensure_array("L05", frame)
    rng = np.random.default_rng(0)
    for s in range(fs.n_shards):
        a, b = fs.shard_bounds(s)
        fs.write_shard("L05", s, rng.standard_normal((b - a, *frame), dtype=np.float32).astype(np.float16))
    fs.finalize("L05")
    config = TrainConfig(task="codec", opt="adam", batch=batch, device=args.device, data_mode="stream")
    data = load_training_data(store, config)
    device = torch.device(args.device)
    trainer = Trainer(config, data, build_backend("aasist", frame), work / "run", device)
    batches = trainer.sampler.epoch(0)
    feeder = Prefetcher(data, data.train, batches)
    t0, steps = time.perf_counter(), 0
    try:
        for x, y, dom in feeder:
            trainer.step(x, y, dom)
            steps += 1
            if steps >= 2 and time.perf_counter() - t0 > args.seconds:
                break
        sync(device)
    finally:
        feeder.close()
    secs = time.perf_counter() - t0
    return {
        "sampler": type(trainer.sampler).__name__,
        "clips_in_set": n,
        "batch": batch,
        "steps": steps,
        "steps_per_s": steps / secs,
        "clips_per_s": steps * batch / secs,
        "data_wait_s": feeder.wait_s,
        "data_wait_share": feeder.wait_s / secs,
    }
