"""The 1.1 M-clip dry run (issue 13 item 3): every step of a Codecfake-sized run except the audio and the model.

Label files with the paper's split sizes (train, dev, C1..C7; bench/scale_fixture.py) and a 19LA-sized vocoder set
(train + dev protocols) in a temp dir, then, each step timed (wall and CPU seconds) with the process's peak RSS:
parse -> validate -> manifest hash -> feature set create (metadata) -> every shard of a tiny (1, 4) array
committed through ``FeatureSet.write_shard`` (the real write path: fsyncs and commit records) and folded ->
open / ``store ls`` / ``store info`` / ``store verify`` (the CLI handlers, in process) -> training data selection and
one epoch of batch indices for ``TASK=cotrain OPT=csam`` and ``OPT=adam`` (``load_training_data`` and the
``Trainer``'s own sampler choice). The previous row-by-row parser and hash (bench/scale_legacy.py) run in a child
process on the same files as the same-run baseline; ``baseline_issue`` holds the numbers the issue measured.

    python bench/scale.py [--dir DIR] [--writers 8] [--out bench/results/scale.json]

Targets: parse + hash <= 5 s, each store command <= 5 s, peak RSS <= 4 GB. The store commands are timed twice: in
process (``store_*``) and as a user runs them, ``codecfake store …`` in a fresh interpreter (``cli_store_*``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale_fixture import LA_SIZES, PAPER_PARTS, write_codecfake_labels, write_la_protocols  # noqa: E402

FRAME = (1, 4)  # tiny feature array: the metadata, shard and record machinery at full N, no feature bytes
BASELINE_ISSUE = {  # issue 13, measured by the filer on this machine under load (1,137,590 lines, 4,444 shards)
    "parse_s": 21.6,
    "hash_s": 5.1,
    "write_all_shards_s": 514.0,
    "per_shard_ms": 116.0,
    "store_ls_s": 3.0,
    "store_info_s": 6.0,
    "store_verify_s": 11.0,
}
TARGETS = {"parse_plus_hash_s": 5.0, "store_command_s": 5.0, "peak_rss_mb": 4096.0}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class Steps:
    """Times named steps: wall and CPU seconds, and the process's peak RSS after each."""

    def __init__(self) -> None:
        self.out: dict[str, dict] = {}

    def __call__(self, name: str, fn, **extra):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        self.out[name] = {
            "wall_s": round(time.perf_counter() - w, 3),
            "cpu_s": round(time.process_time() - c, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            **extra,
        }
        print(f"{name:<28} {self.out[name]}", file=sys.stderr, flush=True)
        return result


def cli(*argv: str) -> str:
    """Run ``codecfake store …`` in this process (parser + handler, stdout captured); raises on a non-zero exit."""
    from codecfake.app.cli import build_parser, stages_for

    args = build_parser(stages_for(["store"])).parse_args(["store", *argv])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = args.func(args)
    if rc:
        raise RuntimeError(f"codecfake store {' '.join(argv)} exited {rc}: {buf.getvalue()[-500:]}")
    return buf.getvalue()


def build_set(store, manifest, writers: int, steps: Steps, tag: str, reuse: bool = False):
    """Create the set of ``manifest`` with a tiny array; commit every shard with ``writers`` threads; fold.
    ``reuse``: open a complete set of the same spec left in ``--dir`` by an earlier run instead (no write steps)."""
    from codecfake.extract.pipeline import manifest_meta
    from codecfake.store.testing import make_spec

    spec = make_spec(  # the manifest's real hash: a later run reuses the set it finds under this key
        corpus=manifest.name,
        manifest_sha256=manifest.content_hash(),
        extractor="dry",
        model_id="tiny-1x4",
        weights_sha256="",
        params={},
    )
    if reuse and store.exists(spec.key) and store.open(spec.key).is_complete("L05"):
        return steps(f"{tag}.reused_from_earlier_run", lambda: store.open(spec.key))
    meta = steps(f"{tag}.metadata", lambda: manifest_meta(manifest))
    fs = steps(f"{tag}.create", lambda: store.create(spec, meta, mode="overwrite", nonfinite="reject"))
    fs.ensure_array("L05", FRAME)
    block = np.ones((fs.shard_size, *FRAME), np.float16)  # non-zero: an all-fill shard would not be written

    def write(s: int) -> float:
        a, b = fs.shard_bounds(s)
        return fs.write_shard("L05", s, block[: b - a]).seconds

    def write_all() -> list[float]:
        with ThreadPoolExecutor(writers) as pool:  # one writer per shard, several shards at once
            return list(pool.map(write, range(fs.n_shards)))

    secs = steps(f"{tag}.commit_all_shards", write_all, n_shards=fs.n_shards, writers=writers)
    steps.out[f"{tag}.commit_all_shards"]["per_shard_ms_median"] = round(1000 * float(np.median(secs)), 2)
    steps(f"{tag}.finalize", lambda: fs.finalize("L05"))
    return fs


def training_epoch(store, task: str, opt: str, data_mode: str) -> dict:
    """The run's own data selection and sampler: ``load_training_data`` + ``Trainer`` (tiny model), one epoch."""
    import torch

    from codecfake.train.config import TrainConfig
    from codecfake.train.data import load_training_data
    from codecfake.train.trainer import Trainer

    config = TrainConfig(task=task, opt=opt, data_mode=data_mode, device="cpu")
    data = load_training_data(store, config)
    trainer = Trainer(config, data, torch.nn.Linear(4, 2), Path(tempfile.gettempdir()), torch.device("cpu"))
    batches = trainer.sampler.epoch(0)
    sizes = {int(len(b)) for b in batches}
    return {
        "sampler": type(trainer.sampler).__name__,
        "train_clips": len(data.train),
        "dev_clips": len(data.dev),
        "domains": data.domains,
        "batches": len(batches),
        "batch_sizes": sorted(sizes),
    }


def scaled(fraction: float) -> tuple[dict, dict]:
    """The paper's part sizes (and 19LA's) times ``fraction`` (1.0: the real run; less: a quick check of the script)."""

    def k(n: int) -> int:
        return max(4, round(n * fraction))

    parts = {p: (k(r), k(f), codecs) for p, (r, f, codecs) in PAPER_PARTS.items()}
    return parts, {s: (k(b), k(sp)) for s, (b, sp) in LA_SIZES.items()}


def dry_run(work: Path, writers: int, fraction: float = 1.0, reuse: bool = False) -> dict:
    from codecfake.corpus import load_manifest, parse_asvspoof2019
    from codecfake.store import FeatureStore

    steps = Steps()
    cf, la, root = work / "Codecfake", work / "LA", work / "features"
    parts, la_sizes = scaled(fraction)
    n_lines = steps("write_label_files", lambda: write_codecfake_labels(cf, parts))
    write_la_protocols(la, la_sizes)
    m = steps("parse", lambda: load_manifest("codecfake", cf, check_paths=False))
    h = steps("hash", m.content_hash)
    store = FeatureStore(root)
    fs = build_set(store, m, writers, steps, "codec", reuse)
    voc = parse_asvspoof2019(la, splits=("train", "dev")).validate(
        check_paths=False
    )  # co-training reads these
    build_set(store, voc, writers, steps, "vocoder", reuse)
    steps("open", lambda: store.open(fs.key).n_clips)
    steps("store_ls", lambda: cli("ls", str(root)))
    steps("store_info", lambda: cli("info", fs.key, "--store", str(root)))
    steps("store_verify", lambda: cli("verify", fs.key, "--store", str(root)))
    steps("store_verify_quick", lambda: cli("verify", fs.key, "--store", str(root), "--quick"))
    exe = str(Path(sys.executable).with_name("codecfake"))  # as a user runs them: a fresh interpreter each
    for name, argv in (
        ("ls", [str(root)]),
        ("info", [fs.key, "--store", str(root)]),
        ("verify", [fs.key, "--store", str(root)]),
    ):
        steps(
            f"cli_store_{name}",
            lambda a=[exe, "store", name, *argv]: subprocess.run(a, check=True, capture_output=True),
        )
    epochs = {}
    for opt, mode in (("csam", "auto"), ("adam", "stream"), ("adam", "memory")):
        epochs[f"cotrain-{opt}-{mode}"] = steps(
            f"train_epoch.cotrain-{opt}-{mode}",
            lambda o=opt, md=mode: training_epoch(store, "cotrain", o, md),
        )
    for name, info in epochs.items():
        steps.out[f"train_epoch.{name}"].update(info)
    return {
        "n_label_lines": n_lines,
        "n_clips": len(m),
        "n_shards": fs.n_shards,
        "manifest_sha256": h,
        "steps": steps.out,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def legacy(work: Path) -> dict:
    """The previous parser and hash (bench/scale_legacy.py) on the same label files."""
    from scale_legacy import legacy_content_hash, legacy_parse_codecfake

    steps = Steps()
    rows = steps("parse", lambda: legacy_parse_codecfake(work / "Codecfake"))
    h = steps("hash", lambda: legacy_content_hash(rows))
    return {"n_clips": len(rows), "manifest_sha256": h, "steps": steps.out}


def child(role: str, work: Path, writers: int, fraction: float) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--role",
        role,
        "--dir",
        str(work),
        "--writers",
        str(writers),
        "--fraction",
        str(fraction),
    ]
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(ours: dict, old: dict, load_before, load_after, work: Path, writers: int) -> dict:
    s, o = ours["steps"], old["steps"]
    parse_hash = s["parse"]["wall_s"] + s["hash"]["wall_s"]
    old_parse_hash = o["parse"]["wall_s"] + o["hash"]["wall_s"]
    cmds = {k: s[f"cli_{k}"]["wall_s"] for k in ("store_ls", "store_info", "store_verify")}
    issue = BASELINE_ISSUE
    return {
        "benchmark": "1.1 M-clip dry run: Codecfake label files at the paper's split sizes, no audio, tiny array",
        "machine": {
            "cpu_cores": os.cpu_count(),
            "platform": platform.platform(),
            "dir": str(work),
            "loadavg_1_5_15_before": load_before,
            "loadavg_1_5_15_after": load_after,
        },
        "ours": ours,
        "baseline_same_run": {
            "how": "the previous row-by-row parser and per-row json.dumps hash "
            "(bench/scale_legacy.py), child process, same files",
            **old,
        },
        "baseline_issue": {
            "how": "numbers from issue 13's own measurement (machine under load, 1,137,590 lines)",
            **issue,
        },
        "hash_unchanged": ours["manifest_sha256"] == old["manifest_sha256"],
        "parse_plus_hash_s": parse_hash,
        "parse_plus_hash_cpu_s": s["parse"]["cpu_s"] + s["hash"]["cpu_s"],
        "ratio_parse_plus_hash_vs_same_run": old_parse_hash / parse_hash,
        "ratio_parse_plus_hash_vs_issue": (issue["parse_s"] + issue["hash_s"]) / parse_hash,
        **{f"ratio_{k}_vs_issue": issue[f"{k}_s"] / max(v, 1e-9) for k, v in cmds.items()},
        "ratio_write_all_shards_vs_issue": issue["write_all_shards_s"]
        / s["codec.commit_all_shards"]["wall_s"],
        "writers": writers,
        "targets": TARGETS,
        "met": {
            "parse_plus_hash": parse_hash <= TARGETS["parse_plus_hash_s"],
            **{k: v <= TARGETS["store_command_s"] for k, v in cmds.items()},
            "peak_rss": ours["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--dir", type=Path, help="work folder on the disk to measure (default: a temp dir, removed)"
    )
    p.add_argument(
        "--writers", type=int, default=8, help="threads committing shards (one writer per shard) [8]"
    )
    p.add_argument("--out", type=Path, default=HERE / "results" / "scale.json")
    p.add_argument(
        "--fraction", type=float, default=1.0, help="scale every part (a quick check; result not written)"
    )
    p.add_argument("--reuse", action="store_true", help="with --role ours: reuse complete sets left in --dir")
    p.add_argument("--role", choices=("ours", "legacy"), help=argparse.SUPPRESS)
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.role:
        result = (
            dry_run(args.dir, args.writers, args.fraction, args.reuse)
            if args.role == "ours"
            else legacy(args.dir)
        )
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.dir) as tmp:
        work = Path(tmp)
        load_before = os.getloadavg()
        ours = child("ours", work, args.writers, args.fraction)
        old = child("legacy", work, args.writers, args.fraction)
        result = summarise(ours, old, load_before, os.getloadavg(), work, args.writers)
    if args.fraction == 1.0:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("ours", "baseline_same_run")}, indent=2))


if __name__ == "__main__":
    main()
