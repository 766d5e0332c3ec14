"""Where do CPU models make results differ? Mel features and Mel-LCNN training under forced instruction sets.

Two machines with the same commit and corpus (Intel Xeon and AMD EPYC) gave demo cells up to ~4 points apart. One
machine can still run each CPU-dependent code path: PyTorch's own kernels (``ATEN_CPU_CAPABILITY``), oneDNN's
convolutions (``ONEDNN_MAX_CPU_ISA``) and MKL's BLAS/FFT (``MKL_ENABLE_INSTRUCTIONS``, and ``MKL_CBWR``, MKL's
"conditional numerical reproducibility" branch, which fixes its code path whatever the CPU). Each setting runs in a
fresh process with 2 threads on the demo's features and model: log-mels (FFT/hop 1024) of real demo clips, then
``--steps`` Adam steps of Mel-LCNN (batch 32) on them. Outputs are compared bit for bit with the default setting;
a setting whose results equal the default's under every forced path is one that makes training CPU-independent.

    python bench/cpu_repro.py DEMO_TRAIN_DIR [--clips 64] [--steps 20]  -> bench/results/cpu_repro.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the portable setting (Makefile PORTABLE=1): AVX2 kernels in ATen and oneDNN, MKL's vendor-independent branch
PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "COMPATIBLE"}
SETTINGS = {  # name: environment added to the default one
    "default": {},
    "aten_avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "aten_default": {"ATEN_CPU_CAPABILITY": "default"},
    "onednn_avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "onednn_sse41": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    "mkl_avx2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "mkl_sse42": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "mkl_cbwr_compatible": {"MKL_CBWR": "COMPATIBLE"},
    "one_thread": {"CODECFAKE_BENCH_THREADS": "1"},
    # the portable path (every x86 server CPU since 2013 has AVX2), then the same with MKL capped as on a CPU without
    # AVX-512, and with another thread count (which the pin cannot fix: threads split the reductions)
    "pinned_avx2": PINNED,
    "pinned_avx2_mkl_capped": {**PINNED, "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "pinned_avx2_one_thread": {**PINNED, "CODECFAKE_BENCH_THREADS": "1"},
}


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def child(folder: Path, n_clips: int, steps: int) -> dict:
    """Run in the subprocess: features, then training; returns hashes, raw outputs for diffs, and timings."""
    import numpy as np
    import torch

    from codecfake.corpus import load_clip
    from codecfake.extract import build_extractor
    from codecfake.train.backends import build_backend

    torch.set_num_threads(int(os.environ.get("CODECFAKE_BENCH_THREADS", "2")))
    files = sorted(folder.glob("*.wav"))[:n_clips]
    waves = torch.from_numpy(np.stack([load_clip(f) for f in files]))  # (N, 64600)
    mel = build_extractor("mel", log=True, hop_samples=1024, n_fft=1024, win_length=1024)
    t0 = time.perf_counter()
    feats = mel(waves)["mel"].half().float()  # (N, 64, 80), as stored
    t_mel = time.perf_counter() - t0
    labels = torch.tensor([0 if not f.name.startswith("F0") else 1 for f in files])
    torch.manual_seed(688)
    model = build_backend("lcnn", tuple(feats.shape[1:]))
    opt = torch.optim.Adam(model.parameters(), lr=5e-4, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor([10.0, 1.0]))
    g = torch.Generator().manual_seed(0)
    losses = []
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        idx = torch.randperm(len(feats), generator=g)[:32]
        opt.zero_grad()
        loss = loss_fn(model(feats[idx])[1], labels[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    t_train, c_train = time.perf_counter() - t0, time.process_time() - c0
    weights = torch.cat([p.detach().flatten() for p in model.parameters()]).numpy()
    return {
        "capability": torch.backends.cpu.get_cpu_capability(),
        "mel_sha": digest(feats.numpy()),
        "weights_sha": digest(weights),
        "final_loss": losses[-1],
        "seconds_mel": t_mel,
        "seconds_per_step": t_train / steps,
        "cpu_seconds_per_step": c_train / steps,  # all threads; less sensitive than wall time to other jobs
        "_mel": feats.numpy().ravel()[:: max(1, feats.numel() // 200_000)].tolist(),
        "_weights": weights.tolist(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--clips", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "cpu_repro.json")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.folder, args.clips, args.steps)))
        return
    import numpy as np

    load_before = os.getloadavg()
    runs = {}
    for name, env in SETTINGS.items():
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                str(args.folder),
                "--clips",
                str(args.clips),
                "--steps",
                str(args.steps),
                "--child",
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        runs[name] = {"env": env, **json.loads(proc.stdout.strip().splitlines()[-1])}
        print(name, {k: v for k, v in runs[name].items() if not k.startswith("_")}, flush=True)
    base = runs["default"]
    rows = {}
    for name, r in runs.items():
        ref = runs["pinned_avx2"] if name.startswith("pinned") else base
        rows[name] = {
            "env": r["env"],
            "cpu_capability": r["capability"],
            "mel_identical": r["mel_sha"] == base["mel_sha"],
            "mel_max_abs_diff": float(np.abs(np.array(r["_mel"]) - np.array(base["_mel"])).max()),
            "weights_identical_to": "pinned_avx2" if ref is not base else "default",
            "weights_identical": r["weights_sha"] == ref["weights_sha"],
            "weights_max_abs_diff": float(np.abs(np.array(r["_weights"]) - np.array(ref["_weights"])).max()),
            "final_loss": r["final_loss"],
            "seconds_per_step": r["seconds_per_step"],
            "cpu_seconds_per_step": r["cpu_seconds_per_step"],
        }
    result = {
        "what": "bit-identity of demo log-mels and of Mel-LCNN weights after Adam steps, per forced CPU code path "
        "(fresh process each), against the default setting; pinned_* against pinned_avx2",
        "command": f"python bench/cpu_repro.py {args.folder} --clips {args.clips} --steps {args.steps}",
        "cpu": _cpu_model(),
        "baseline": {"setting": "default", **_timing(base)},
        "ours": {"setting": "pinned_avx2", "env": PINNED, **_timing(runs["pinned_avx2"])},
        "ratio_cpu_seconds_per_step_pinned_vs_default": runs["pinned_avx2"]["cpu_seconds_per_step"]
        / base["cpu_seconds_per_step"],
        "ratio_seconds_per_step_pinned_vs_default": runs["pinned_avx2"]["seconds_per_step"]
        / base["seconds_per_step"],
        "settings": rows,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "settings"}, indent=2))


def _timing(run: dict) -> dict:
    return {"seconds_per_step": run["seconds_per_step"], "cpu_seconds_per_step": run["cpu_seconds_per_step"]}


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
