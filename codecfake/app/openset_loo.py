"""``codecfake openset-loo`` (``make openset-loo``): choose the open-set scorer by leave-one-generator-out, then report
the unseen generators of the test sets once.

1. The training generators: the classes a trace run on the store's sets would have (bona fide aside).
2. For each generator G: ``codecfake train --task trace --hold-out G --name <base>-loo-G`` (finished runs are reused,
   killed ones resume), then every scorer on the known dev clips vs G's dev fakes (``evaluate.openset_loo``).
3. The default scorer = the highest mean AUROC over the held-out generators (paired bootstrap differences beside).
   Nothing of C7 or any test set enters this choice.
4. Only then: the trace run on every generator (``codecfake train --task trace``) is evaluated with that scorer
   (``codecfake evaluate --openset-scorer``), and its unseen test generators (the demo's C7, test-only attacks) and
   unseen-speaker bona fide are reported with intervals.
5. The page (``--out``, default docs/openset-results.md) and its JSON beside it are written by this command.

A later experiment-matrix runner can produce the same runs; this loop is the simple one.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from codecfake.cliargs import add_command, add_device, add_runs, add_store, positive_int

log = logging.getLogger(__name__)

__all__ = ["register", "train_argv", "train_seconds", "training_generators", "run_loo"]


def register(subparsers: Any) -> None:
    p = add_command(
        subparsers,
        "openset-loo",
        help="choose the open-set scorer by leave-one-generator-out trace runs -> docs/openset-results.md",
        description="Train one trace run per training generator with that generator held out, measure every "
        "open-set scorer on it (known dev clips vs its dev fakes), choose the scorer with the best mean AUROC, "
        "then evaluate the all-generator trace run with it and report its unseen test generators once.",
    )
    add_store(p)
    add_runs(p)
    add_device(p)
    p.add_argument("--backend", default="lcnn", help="trace back-end [lcnn]")
    p.add_argument("--opt", default="adam", help="optimiser [adam]")
    p.add_argument("--extractor", default="mel", help="feature sets of this extractor [mel]")
    p.add_argument("--seed", type=int, default=688, help="training seed [688]")
    p.add_argument("--features", default="", help="feature-set keys KEY[,KEY] [the store's trace sets]")
    p.add_argument("--epochs", type=positive_int, default=None, help="epochs per run [the sets' preset's]")
    p.add_argument(
        "--generators",
        default="",
        help="held-out generators, comma separated, e.g. C1,A01 [every training one]",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads of training and scoring, 0 = torch default [0]",
    )
    p.add_argument("--resamples", type=positive_int, default=1000, help="bootstrap resamples [1000]")
    p.add_argument("--ci-seed", type=int, default=20250101, help="seed of the bootstrap draws [20250101]")
    p.add_argument("--openset-keep", type=float, default=0.95, help="share of known dev clips kept [0.95]")
    p.add_argument("--openset-k", type=positive_int, default=10, help="kNN scorer's k [10]")
    p.add_argument("--out", type=Path, default=Path("docs/openset-results.md"), help="results page (+ .json)")
    p.set_defaults(func=_run)


def train_argv(args: argparse.Namespace, held_out: str = "") -> list[str]:
    """The ``codecfake train`` command of one run (``held_out``: the one generator it never sees)."""
    argv = [
        "train",
        "--task",
        "trace",
        "--backend",
        args.backend,
        "--opt",
        args.opt,
        "--store",
        str(args.store),
    ]
    argv += ["--runs", str(args.runs), "--device", args.device, "--extractor", args.extractor]
    argv += ["--seed", str(args.seed)]
    if args.features:
        argv += ["--features", args.features]
    if args.epochs:
        argv += ["--epochs", str(args.epochs)]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    if held_out:
        argv += ["--hold-out", held_out, "--name", f"{_base(args)}-loo-{held_out}"]
    return argv


def _base(args: argparse.Namespace) -> str:
    return f"trace-{args.backend}-{args.opt}-s{args.seed}-{args.extractor}"


def train_seconds(run_dir: Path) -> float:
    """Seconds the run spent in its training steps (from metrics.jsonl: steps x batch / clips per s per epoch;
    dev scoring excluded), whether it was trained now or earlier and reused."""
    batch = json.loads((run_dir / "config.json").read_text())["batch"]
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return float(
        sum(r["steps"] * batch / r["clips_per_s"] for r in map(json.loads, lines) if r.get("clips_per_s"))
    )


def training_generators(args: argparse.Namespace) -> list[str]:
    """The spoof generators a trace run on the store would learn, as --hold-out names them (C1.., A01..)."""
    from codecfake.store import FeatureStore
    from codecfake.train.config import TrainConfig
    from codecfake.train.data import load_training_data
    from codecfake.train.trace_labels import BONAFIDE, canonical_generator

    keys = tuple(k for k in args.features.split(",") if k)
    config = TrainConfig(
        task="trace", backend=args.backend, opt=args.opt, extractor=args.extractor, features=keys
    )
    data = load_training_data(FeatureStore(args.store), config)
    return [canonical_generator(c) for c in data.classes if c != BONAFIDE]


def run_loo(args: argparse.Namespace) -> dict[str, Any]:
    """Steps 1-4 of the module doc; the page's content."""
    from codecfake.app.dispatch import run_checked
    from codecfake.device import resolve_device
    from codecfake.evaluate.openset_loo import held_out_scores, loo_table
    from codecfake.store import FeatureStore
    from codecfake.train.rundir import load_run

    if args.threads:  # scoring here and in the evaluate command (same process) too
        import torch

        torch.set_num_threads(args.threads)
    gens = [g for g in args.generators.split(",") if g] or training_generators(args)
    device, store = resolve_device(args.device), FeatureStore(args.store)
    results, seconds = [], {}
    for g in gens:
        argv = train_argv(args, g)
        run_checked(argv, f"leave-one-generator-out run without {g}")
        seconds[g] = train_seconds(Path(args.runs) / argv[-1])
        run = load_run(Path(args.runs) / argv[-1], device=device)
        results.append(held_out_scores(run, store, device=device, keep=args.openset_keep, k=args.openset_k))
    table = loo_table(results, resamples=args.resamples, seed=args.ci_seed)
    log.info("leave-one-generator-out: %s has the best mean AUROC over %s", table.chosen, ", ".join(gens))
    full = Path(args.runs) / _base(args)
    run_checked(train_argv(args), "the trace run on every training generator")
    seconds["all"] = train_seconds(full)
    ev = ["evaluate", "--run", str(full), "--store", str(args.store), "--device", args.device]
    ev += ["--openset-scorer", table.chosen, "--openset-keep", str(args.openset_keep)]
    ev += [
        "--openset-k",
        str(args.openset_k),
        "--resamples",
        str(args.resamples),
        "--ci-seed",
        str(args.ci_seed),
    ]
    run_checked(ev, "the all-generator trace run, with the chosen scorer")
    from codecfake.evaluate.openset_test import unseen_test_results

    test = unseen_test_results(full, resamples=args.resamples, seed=args.ci_seed)
    commands = [["codecfake", *train_argv(args, g)] for g in gens] + [
        ["codecfake", *train_argv(args)],
        ["codecfake", *ev],
    ]
    return {"loo": table, "test": test, "seconds": seconds, "commands": commands, "full_run": str(full)}


def _run(args: argparse.Namespace) -> int:
    from codecfake.app.openset_page import page_json, render_page
    from codecfake.atomic import write_atomic

    t0 = time.perf_counter()
    result = run_loo(args)
    result["wall_s"] = time.perf_counter() - t0
    result["argv"] = ["codecfake", "openset-loo", *_cli_args(args)]
    figure = Path(result["full_run"]) / "report" / "openset_scores.png"
    if figure.is_file():  # the all-generator run's score distributions, beside the page
        target = args.out.with_suffix("") / "openset_scores.png"
        write_atomic(target, figure.read_bytes())
        result["figure"] = target.relative_to(args.out.parent).as_posix()
    write_atomic(args.out, render_page(result))
    write_atomic(args.out.with_suffix(".json"), json.dumps(page_json(result), indent=1, sort_keys=True))
    print(f"leave-one-generator-out: default scorer {result['loo'].chosen}; page: {args.out}")
    return 0


def _cli_args(args: argparse.Namespace) -> list[str]:
    out = ["--store", str(args.store), "--runs", str(args.runs), "--device", args.device]
    for flag, value in (
        ("--generators", args.generators),
        ("--features", args.features),
        ("--epochs", args.epochs),
        ("--threads", args.threads),
    ):
        if value:
            out += [flag, str(value)]
    return out
