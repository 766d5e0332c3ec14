"""XLS-R forward precision: layer-5 feature error of bf16 / fp16 autocast against fp32, and what it does to the
release's W2V2-AASIST (``cotrain_w2v2aasist_CSAM``) P(bona fide).

The model has the XLS-R-300m shape (hidden 1024, 16 heads, FFN 4096, layer-norm conv front end) with seeded random
weights (no real weights offline), cut after transformer layer 5 as the extractor runs it; clips are real speech,
prepared as the paper does (16 kHz, 64,600 samples, repeat pad). CPU autocast emulates what CUDA autocast computes
(the same bf16/fp16 rounding of matmul/conv inputs, fp32 accumulation). Reference: fp32 forward, features kept in
fp32 (the release: ``preprocess.py`` saves ``hidden_states[5].float()``). Also measured: the float16 rounding the
store applies to every SSL feature set. Writes bench/results/precision.json.

    python bench/precision.py CLIP_DIR [CLIP_DIR ...] [--clips 16] [--checkpoint RELEASE_CHECKPOINT.pt]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from codecfake.extract.testing import XLSR_300M as FULL_XLSR_300M
from codecfake.extract.testing import save_random_model

HERE = Path(__file__).resolve().parent
CKPT = HERE.parent.parent / "shared" / "reference" / "checkpoints" / "cotrain_w2v2aasist_CSAM.pt"
XLSR_300M = dict(
    FULL_XLSR_300M, num_hidden_layers=5
)  # XLS-R-300m's shape; 5 of its 24 layers, all the extractor runs for layer 5
SUFFIXES = (".wav", ".flac", ".ogg")
SPOOF_NAME = re.compile(r"^F\d\d_")


def clips(folders: list[Path], n: int) -> list[Path]:
    files = sorted(
        p
        for f in folders
        for p in f.rglob("*")
        if p.suffix.lower() in SUFFIXES and not SPOOF_NAME.match(p.name) and p.stat().st_size > 20000
    )  # > ~0.6 s of 16-bit audio
    return [files[i] for i in np.linspace(0, len(files) - 1, min(n, len(files))).round().astype(int)]


def random_xlsr(folder: Path) -> Path:
    return save_random_model(folder, XLSR_300M, seed=0)


def features(model_dir: Path, waves: torch.Tensor, precision: str, batch: int) -> tuple[torch.Tensor, float]:
    """(N, 201, 1024) float32 layer-5 features at ``precision`` and seconds per clip."""
    from codecfake.extract import build_extractor

    ext = build_extractor("xlsr", model_dir=model_dir, layers=(5,), precision=precision)
    t0 = time.perf_counter()
    out = torch.cat([ext(waves[i : i + batch])["L05"] for i in range(0, len(waves), batch)])
    return out, (time.perf_counter() - t0) / len(waves)


def rel_error(y: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    """(N,) Frobenius relative error per clip."""
    return ((y - ref).flatten(1).norm(dim=1) / ref.flatten(1).norm(dim=1)).numpy()


def aasist_scores(model, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(N,) P(bona fide) and (N,) bona fide logit margin (logit 0 - logit 1)."""
    with torch.no_grad():
        _, logits = model(x.float())
    return torch.softmax(logits, dim=1)[:, 0].numpy(), (logits[:, 0] - logits[:, 1]).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--checkpoint", type=Path, default=CKPT)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "precision.json")
    args = ap.parse_args()
    from codecfake.corpus import load_clip
    from codecfake.train.official import load_official

    torch.set_num_threads(2)
    files = clips(args.folders, args.clips)
    waves = torch.from_numpy(np.stack([load_clip(f) for f in files]))  # (N, 64600)
    aasist = load_official(args.checkpoint, "aasist")
    result: dict = {
        "what": "layer-5 XLS-R features (XLS-R-300m shape, seeded random weights, CPU autocast) vs fp32, and the "
        "release's cotrain_w2v2aasist_CSAM P(bona fide) on them",
        "command": "python bench/precision.py "
        + " ".join(str(f) for f in args.folders)
        + f" --clips {args.clips}",
        "clips": [str(f) for f in files],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = random_xlsr(Path(tmp) / "xlsr")
        ref, t32 = features(model_dir, waves, "fp32", args.batch)
        p_ref, m_ref = aasist_scores(aasist, ref)  # the release: fp32 forward, fp32 features
        result["baseline"] = {
            "precision": "fp32",
            "storage": "float32",
            "seconds_per_clip": t32,
            "p_bonafide": p_ref.tolist(),
            "margin": m_ref.tolist(),
        }
        ours = {}
        for precision in ("fp32", "bf16", "fp16"):
            y, secs = (ref, t32) if precision == "fp32" else features(model_dir, waves, precision, args.batch)
            row = {"seconds_per_clip": secs, "ratio_time_vs_fp32": secs / t32}
            for storage, z in (("float32", y), ("float16", y.half().float())):
                if precision == "fp32" and storage == "float32":
                    continue
                err = rel_error(z, ref)
                p, m = aasist_scores(aasist, z)
                row[f"storage_{storage}"] = {
                    "rel_error_mean": float(err.mean()),
                    "rel_error_max": float(err.max()),
                    "max_abs_elem_error": float((z - ref).abs().max()),
                    "p_bonafide_max_abs_change": float(np.abs(p - p_ref).max()),
                    "margin_max_abs_change": float(np.abs(m - m_ref).max()),
                }
            ours[precision] = row
        result["ours"] = ours
    result["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("clips", "baseline")}, indent=2))


if __name__ == "__main__":
    main()
