"""Bootstrap benchmark: the vectorised stratified bootstrap of the official EER vs the obvious loop (materialise each
resample, call ``eer.compute_eer``: one sort per resample), measured in this run on the same synthetic condition.

Condition: N trials, half bona fide ~ N(1.5, 1), half spoof ~ N(0, 1). The loop's resamples are also evaluated by
the vectorised code (``resampled_eers`` on the same ``stratified_counts``); the EERs must agree exactly, which is
checked before any time is written.

    python bench/bootstrap.py [--n 100000] [--resamples 1000] [--baseline-resamples 100] [--out bench/results/bootstrap.json]

The loop is timed on fewer resamples (it is linear in R); both are reported per resample and as the time for R.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from codecfake.eer import compute_eer
from codecfake.evaluate.bootstrap import bootstrap_eers, condition_rng, resampled_eers, stratified_counts

HERE = Path(__file__).resolve().parent


def loop_eers(s: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(R,) EER % the obvious way: build each resample, sort it inside ``compute_eer``."""
    out = np.empty(len(counts))
    for r, c in enumerate(counts):
        idx = np.repeat(np.arange(s.size), c)
        out[r] = 100 * compute_eer(s[idx][y[idx] == 0], s[idx][y[idx] == 1]).eer
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="trials in the condition [100000]")
    ap.add_argument("--resamples", type=int, default=1000, help="resamples for ours [1000]")
    ap.add_argument("--baseline-resamples", type=int, default=100, help="resamples for the loop [100]")
    ap.add_argument("--out", default=str(HERE / "results" / "bootstrap.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    half = args.n // 2
    s = np.r_[rng.normal(1.5, 1, half), rng.normal(0, 1, args.n - half)]
    y = np.r_[np.zeros(half, int), np.ones(args.n - half, int)]
    t0 = time.perf_counter()
    ours = bootstrap_eers(s, y, args.resamples, condition_rng(1, "bench"))[0]
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours_paper = bootstrap_eers(s, y, args.resamples, condition_rng(1, "bench"), paper=True)[0]
    paper_s = time.perf_counter() - t0
    counts = stratified_counts(y, args.baseline_resamples, condition_rng(1, "bench"))
    t0 = time.perf_counter()
    base = loop_eers(s, y, counts)
    base_s = time.perf_counter() - t0
    if not np.array_equal(base, resampled_eers(s, y, counts)) or not np.all(ours_paper <= ours):
        raise SystemExit("the vectorised bootstrap disagrees with the loop: not timing a wrong answer")
    per_ours, per_base = ours_s / args.resamples, base_s / args.baseline_resamples
    result = {
        "what": "stratified bootstrap of the official EER on one condition, seconds; exact agreement checked on the loop's draws",
        "n_trials": args.n,
        "resamples": args.resamples,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_avg_1m_at_end": os.getloadavg()[0],
        },
        "ours": {"total_s": ours_s, "per_resample_ms": 1e3 * per_ours, "paper_mode_total_s": paper_s},
        "baseline_loop_compute_eer": {
            "resamples_timed": args.baseline_resamples,
            "per_resample_ms": 1e3 * per_base,
            "extrapolated_total_s": per_base * args.resamples,
        },
        "ratio_speedup_vs_loop": per_base / per_ours,
        "interval_95": [float(np.quantile(ours, 0.025)), float(np.quantile(ours, 0.975))],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
