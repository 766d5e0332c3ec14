"""``make bench-matrix`` -> bench/results/matrix.json: the experiment matrix's costs, each against a baseline measured
in the same run.

1. ``parallel``: a small matrix on the small demo corpus, one run after another (the baseline) vs ``CLUSTER=local:2``
   (two dask workers, one thread each): wall time, and whether weights and scores are bit-identical (the serial
   runs at one thread too, as each worker; the serial runs at the process's default threads are timed as well).
2. ``shared``: reads per model and clips/s per model, training the cells that draw the same batches in one process
   from one read of each batch vs one process per cell, with the data in memory and streamed from disk.
3. ``plan``: planning ``paper-all`` at 3 seeds and checking every feature set it needs on the Codecfake-shaped
   1.1 M-clip store (bench/matrix_fixture.py: 39 sets, 3.9 M clip rows), in process and as `codecfake experiments
   paper-all --plan` in a fresh interpreter.
4. ``estimate``: arithmetic for `paper-table8` at 3 seeds on one H100 and on 8, from step times (see ``estimate``).

    python -m bench.matrix [--parts parallel,shared,plan,estimate] [--work bench/work/matrix] [--out …]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cli(*argv: str, env: dict | None = None) -> float:
    """``codecfake ARGV`` in a fresh interpreter; its wall seconds (raises on a non-zero exit)."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "codecfake", "-q", *argv], capture_output=True, text=True, env=env, cwd=REPO
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"codecfake {' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return time.perf_counter() - t0


def part_plan(work: Path) -> dict:
    """Planning + the store check of paper-all (3 seeds) on the 1.1 M-clip store."""
    from bench.matrix_fixture import build_store
    from codecfake.app.experiments.matrix_spec import load_matrix
    from codecfake.app.experiments.needs import StoreIndex, check_needs, generators_of
    from codecfake.app.experiments.plan import plan_matrix

    t0 = time.perf_counter()
    root, rows = build_store(work / "scale")
    build_s = time.perf_counter() - t0
    before = load()
    t0 = time.perf_counter()
    index = StoreIndex(root)
    t1 = time.perf_counter()
    plan = plan_matrix(
        load_matrix("paper-all"), store=root, runs=work / "runs", seeds=3, generators=generators_of(index)
    )
    t2 = time.perf_counter()
    report = check_needs(plan, index)
    t3 = time.perf_counter()
    # baseline, same run (after ours: its reads find a warm page cache): the check over the sets' full metadata
    full = StoreIndex(root)
    full.sets = [s._fs for s in full.sets]  # plain FeatureSets: every metadata column, ids and speakers too
    t4 = time.perf_counter()
    check_needs(plan, full)
    baseline_s = time.perf_counter() - t4 + (t1 - t0)
    fresh = cli(
        "experiments",
        "paper-all",
        "--store",
        str(root),
        "--runs",
        str(work / "runs"),
        "--seeds",
        "3",
        "--plan",
    )
    return {
        "what": "paper-all at 3 seeds (45 runs) on the Codecfake-shaped store: 39 sets, one per part and extractor",
        "clip_rows": rows,
        "sets": len(index.sets),
        "runs": len(plan.runs),
        "check_ok": report.ok,
        "problems": report.problems + [m.command for m in report.missing],
        "store_build_or_reuse_s": round(build_s, 1),
        "ours": {
            "open_sets_s": round(t1 - t0, 2),
            "plan_s": round(t2 - t1, 2),
            "check_needs_s": round(t3 - t2, 2),
            "plan_plus_check_s": round(t3 - t0, 2),
            "how": "metadata read: split, domain, label, condition, method; sets searched: the cell's extractor's",
        },
        "baseline": {
            "plan_plus_check_s": round(baseline_s + (t2 - t1), 2),
            "how": "the same check over every metadata column of every set (FeatureSet.meta), same run, warm cache",
        },
        "ratio_plan_plus_check_baseline_over_ours": (baseline_s + (t2 - t1)) / (t3 - t0),
        "cli_plan_fresh_interpreter_s": round(fresh, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_before": before,
        "load_after": load(),
    }


def main() -> None:
    from bench.matrix_estimate import part_estimate
    from bench.matrix_parallel import part_parallel
    from bench.matrix_shared import part_shared

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="parallel,shared,plan,estimate")
    p.add_argument("--work", type=Path, default=REPO / "bench" / "work" / "matrix")
    p.add_argument("--out", type=Path, default=HERE / "results" / "matrix.json")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.work.mkdir(parents=True, exist_ok=True)
    result = json.loads(args.out.read_text()) if args.out.is_file() else {}
    result["machine"] = {"cpu_cores": os.cpu_count(), "platform": platform.platform()}
    parts = {"parallel": part_parallel, "shared": part_shared, "plan": part_plan, "estimate": part_estimate}
    for name in args.parts.split(","):
        print(f"bench-matrix: {name} …", file=sys.stderr, flush=True)
        result[name] = parts[name](args.work)
        print(json.dumps(result[name], indent=2), file=sys.stderr, flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
