"""bench-matrix part 4: what `paper-table8` at 3 seeds would take on one H100 and on eight, by arithmetic.

Inputs, each labelled with where it comes from:
- steps: the paper's epochs (10) x steps per epoch at batch 128 on co-training's 766,127 clips: 5,986 for Adam / SAM /
  ASAM (uniform batches), 11,576 for CSAM (the release's epoch); SAM-family steps cost two forward/backward passes.
- FLOPs per step (forward + backward, batch 128) of each back-end, counted here (torch's FlopCounterMode on the meta
  device: matmul/conv only).
- the time of one W2V2-AASIST Adam step on an H100: no GPU step time was measured in this repository (no
  bench/results/gpu.json); the project's stand-in is 20 ms (the consumer of bench-store-ooc), used here and scaled
  to the other back-ends by their FLOPs. Replace ``H100_AASIST_STEP_S`` with `make bench-gpu`'s number when there is
  one: every figure below is proportional to it (when compute-bound).
- evaluation: dev (117,440 clips) after each epoch and the test sets (406,254 clips) once, forward only (1/3 step).
- reads: one clip of XLS-R layer 5 is 201 x 1024 x 2 B; streamed from a disk at this machine's measured exact-random
  rate (bench/results/store_ooc.json, 20 ms consumer), or from memory (a server whose RAM holds the 315 GB set).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

H100_AASIST_STEP_S = 0.020  # stand-in (see the module docstring): not a measurement
EPOCHS, SEEDS, BATCH = 10, 3, 128
UNIFORM_STEPS, CSAM_STEPS = math.ceil((740_747 + 25_380) / BATCH), 11_576
DEV_CLIPS, TEST_CLIPS = 92_596 + 24_844, 71_237 + 31_779 + 6 * 26_456 + 145_505
CLIP_BYTES = {
    "xlsr": 201 * 1024 * 2,
    "wavlm": 201 * 1024 * 2,
    "mel": 505 * 80 * 4,
}  # fp16 hidden states, fp32 mels
FRAMES = {"xlsr": (201, 1024), "wavlm": (201, 1024), "mel": (505, 80)}
ROWS = [  # table VIII: (row, back-end, optimiser, features)
    ("Mel-LCNN", "lcnn", "adam", "mel"),
    ("W2V2-LCNN", "lcnn", "adam", "xlsr"),
    ("W2V2-AASIST", "aasist", "adam", "xlsr"),
    ("W2V2-AASIST (SAM)", "aasist", "sam", "xlsr"),
    ("W2V2-AASIST (ASAM)", "aasist", "asam", "xlsr"),
    ("W2V2-AASIST (CSAM)", "aasist", "csam", "xlsr"),
    ("WavLM-AASIST", "aasist", "adam", "wavlm"),
]


def step_gflop(backend: str, frame: tuple[int, int]) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from codecfake.train.backends import build_backend

    with torch.device("meta"):
        model = build_backend(backend, frame)
        x = torch.randn(BATCH, *frame)
    model.train()
    with FlopCounterMode(display=False) as counter:
        model(x)[1].sum().backward()
    return counter.get_total_flops() / 1e9


def disk_rate_mb_s() -> float:
    doc = json.loads((Path(__file__).parent / "results" / "store_ooc.json").read_text())
    return float(doc["ours_exact_random_step_20ms"]["mb_s"])


def lpt_makespan(durations: list[float], gpus: int) -> float:
    """Longest-processing-time-first on ``gpus`` identical GPUs (one run per GPU at a time)."""
    loads = [0.0] * gpus
    for d in sorted(durations, reverse=True):
        loads[loads.index(min(loads))] += d
    return max(loads)


def part_estimate(work: Path) -> dict:
    gflop = {(b, f): step_gflop(b, FRAMES[f]) for _, b, _, f in ROWS}
    per_gflop_s = H100_AASIST_STEP_S / gflop[("aasist", "xlsr")]
    disk = disk_rate_mb_s() * 1e6
    runs, shared_groups = [], {}
    for row, backend, opt, feats in ROWS:
        passes = 1 if opt == "adam" else 2
        steps = EPOCHS * (CSAM_STEPS if opt == "csam" else UNIFORM_STEPS)
        step_s = passes * gflop[(backend, feats)] * per_gflop_s
        eval_s = (EPOCHS * DEV_CLIPS + TEST_CLIPS) / BATCH * gflop[(backend, feats)] * per_gflop_s / 3
        read_s = steps * BATCH * CLIP_BYTES[feats] / disk
        runs.append(
            {
                "row": row,
                "steps": steps,
                "step_s": step_s,
                "compute_s": steps * step_s + eval_s,
                "streamed_read_s": read_s,
            }
        )
        if opt != "csam":  # same task, features, seed, sampler: one read of each batch (shared reads)
            shared_groups.setdefault((feats, "uniform"), []).append(row)
        else:
            shared_groups.setdefault((feats, "csam"), []).append(row)
    compute = [r["compute_s"] for r in runs for _ in range(SEEDS)]
    streamed = [max(r["compute_s"], r["streamed_read_s"]) for r in runs for _ in range(SEEDS)]
    reads_separate = sum(r["streamed_read_s"] for r in runs) * SEEDS
    reads_shared = SEEDS * sum(
        next(r["streamed_read_s"] for r in runs if r["row"] == rows[0]) for rows in shared_groups.values()
    )
    by_row = {r["row"]: r for r in runs}
    one_shared = SEEDS * sum(  # one GPU, streamed, each group trained together: its models' compute, one read
        max(sum(by_row[row]["compute_s"] for row in rows), by_row[rows[0]]["streamed_read_s"])
        for rows in shared_groups.values()
    )
    h = 3600.0
    return {
        "inputs": {
            "h100_w2v2_aasist_adam_step_s": H100_AASIST_STEP_S,
            "h100_step_source": "stand-in (issue 13's 20 ms consumer); no GPU step time measured in this repository",
            "gflop_per_step_fwd_bwd_batch128": {f"{b}/{f}": round(g, 1) for (b, f), g in gflop.items()},
            "steps_per_epoch": {"adam_sam_asam": UNIFORM_STEPS, "csam_release_epoch": CSAM_STEPS},
            "epochs": EPOCHS,
            "seeds": SEEDS,
            "disk_exact_random_mb_s": round(disk / 1e6, 1),
            "disk_source": "bench/results/store_ooc.json ours_exact_random_step_20ms (this machine's disk)",
        },
        "runs": [
            {k: (round(v, 4 if k == "step_s" else 1) if isinstance(v, float) else v) for k, v in r.items()}
            for r in runs
        ],
        "one_h100_compute_bound_h": round(sum(compute) / h, 2),
        "eight_h100_compute_bound_h": round(lpt_makespan(compute, 8) / h, 2),
        "longest_run_h": round(max(compute) / h, 2),
        "one_h100_streamed_from_this_disk_h": round(sum(streamed) / h, 2),
        "one_h100_streamed_with_shared_reads_h": round(one_shared / h, 2),
        "eight_h100_streamed_from_one_such_disk_h": round(
            max(lpt_makespan(compute, 8), reads_separate) / h, 2
        ),
        "eight_h100_streamed_with_shared_reads_h": round(max(lpt_makespan(compute, 8), reads_shared) / h, 2),
        "shared_read_groups": {f"{k[0]}/{k[1]}": v for k, v in shared_groups.items()},
        "note": "compute-bound = the set in RAM (a server with > 315 GB free page cache); streamed = every batch "
        "read from one disk at this machine's rate, all runs sharing it; 8 GPUs: longest-first scheduling of the "
        "21 runs, one run per GPU at a time",
    }
