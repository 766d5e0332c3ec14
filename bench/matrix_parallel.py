"""bench-matrix part 1: a small matrix on the small demo corpus, serial vs ``CLUSTER=local:2`` (bench/matrix.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CELLS = [("codec", "adam"), ("cotrain", "adam"), ("cotrain", "sam"), ("cotrain", "csam")]


def small_store(work: Path) -> Path:
    """The small demo corpus (`make demo-data SIZE=small`) and its demo mel sets, made once under ``work``."""
    from bench.matrix import cli

    demo, store = work / "mini-small", work / "features-small"
    cli("corpus", "demo", "--out", str(demo), "--size", "small")
    cli(
        "features",
        "--preset",
        "demo",
        "--data",
        "demo",
        "--demo-dir",
        str(demo),
        "--size",
        "small",
        "--extractor",
        "mel",
        "--store",
        str(store),
        "--device",
        "cpu",
    )
    return store


def write_small_matrix(path: Path, epochs: int) -> Path:
    cells = ",\n  ".join(
        f'{{ task = "{t}", backend = "lcnn", opt = "{o}", extractor = "mel" }}' for t, o in CELLS
    )
    path.write_text(
        f"""[matrix]
title = "bench: a small demo matrix (Mel-LCNN, {epochs} epochs)"
data = "demo"
preset = "demo"
eer = "plain"
columns = ["19LA", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "CAVG", "AVG"]
seeds = 1
name = "bench-{{task}}-{{backend}}-{{opt}}-s{{seed}}"
train = {{ epochs = {epochs} }}
cells = [
  {cells},
]
"""
    )
    return path


def compare(a: Path, b: Path) -> dict:
    """Bit-identity of every run's best weights and score files, and the largest score difference."""
    from safetensors.torch import load_file

    same_w = same_s = True
    worst = 0.0
    for run in sorted(p.name for p in a.iterdir()):
        wa, wb = (load_file(str(r / run / "checkpoints" / "best.safetensors")) for r in (a, b))
        same_w &= wa.keys() == wb.keys() and all(bool((wa[k] == wb[k]).all()) for k in wa)
        for tsv in sorted((a / run / "scores").glob("*.tsv")):
            other = b / run / "scores" / tsv.name
            same_s &= tsv.read_bytes() == other.read_bytes()
            sa = np.loadtxt(tsv, usecols=1, skiprows=1, delimiter="\t")
            sb = np.loadtxt(other, usecols=1, skiprows=1, delimiter="\t")
            worst = max(worst, float(np.abs(sa - sb).max()))
    return {"weights_identical": same_w, "scores_identical": same_s, "max_abs_score_diff": worst}


def part_parallel(work: Path, epochs: int = 4) -> dict:
    import shutil

    from bench.matrix import cli, load

    store = small_store(work)
    matrix = write_small_matrix(work / "bench-small.toml", epochs)
    out: dict = {
        "matrix": f"{len(CELLS)} Mel-LCNN runs ({CELLS}), {epochs} epochs, small demo corpus",
        "modes": {},
    }
    for mode, extra in (
        ("serial_threads1", ["--threads", "1"]),
        ("local2", ["--cluster", "local:2"]),
        ("serial_default_threads", []),
    ):
        runs = work / f"runs-{mode}"
        shutil.rmtree(runs, ignore_errors=True)
        shutil.rmtree(work / f"exp-{mode}", ignore_errors=True)
        before = load()
        wall = cli(
            "experiments",
            str(matrix),
            "--store",
            str(store),
            "--runs",
            str(runs),
            "--out",
            str(work / f"exp-{mode}"),
            "--device",
            "cpu",
            "--resamples",
            "0",
            "--no-figures",
            *extra,
        )
        out["modes"][mode] = {"wall_s": round(wall, 1), "load_before": before, "load_after": load()}
    m = out["modes"]
    out["local2_vs_serial_threads1"] = compare(work / "runs-serial_threads1", work / "runs-local2")
    out["local2_vs_serial_default_threads"] = compare(
        work / "runs-serial_default_threads", work / "runs-local2"
    )
    out["baseline"] = {
        "serial_threads1_wall_s": m["serial_threads1"]["wall_s"],
        "serial_default_threads_wall_s": m["serial_default_threads"]["wall_s"],
    }
    out["ours"] = {"local2_wall_s": m["local2"]["wall_s"]}
    out["ratio_wall_serial_threads1_over_local2"] = m["serial_threads1"]["wall_s"] / m["local2"]["wall_s"]
    out["ratio_wall_serial_default_over_local2"] = (
        m["serial_default_threads"]["wall_s"] / m["local2"]["wall_s"]
    )
    return out
