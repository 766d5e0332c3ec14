"""`codecfake demo` / `make demo`: the whole pipeline on the mini-Codecfake corpus, the paper's experiments in miniature.

corpus (built offline, reused) -> mel features into the store (reused) -> corpus-sanity baselines -> a matrix of
trainings (finished runs reused) -> evaluation of every run -> one table and ``docs/demo-results.md``.
Every stage is invoked through the same CLI handler a user would type, and the equivalent commands are written into
the results file so each number can be reproduced by hand.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from codecfake.app.demo.preset import load_demo_preset
from codecfake.cliargs import (
    add_command,
    add_demo_dir,
    add_device,
    add_runs,
    add_size,
    add_store,
    positive_int,
)
from codecfake.presets import PresetError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "demo",
        help="the whole pipeline on the mini-Codecfake demo corpus -> docs/demo-results.md",
        description="Build (or reuse) the demo corpus, extract mel features, run the corpus-sanity baselines, train "
        "the demo matrix (vocoder-, codec- and co-trained back-ends), evaluate every run and write a report. "
        "Rerunning reuses everything that is finished.",
    )
    add_store(p)
    add_runs(p)
    add_demo_dir(p)
    add_size(p, help="demo corpus size")
    p.add_argument(
        "--full",
        action="store_true",
        help="the full matrix (configs/demo-full.toml): both back-ends x (vocoder, codec, co-trained x 5 "
        "optimisers), and source tracing [configs/demo-default.toml]",
    )
    p.add_argument(
        "--seeds",
        type=positive_int,
        help="seeds per configuration (mean ± std in the table) [the matrix's: 2 in configs/demo-default.toml, "
        "3 in configs/demo-full.toml]",
    )
    p.add_argument(
        "--resamples",
        type=positive_int,
        default=1000,
        help="paired bootstrap resamples behind every interval and finding [1000]",
    )
    p.add_argument("--epochs", type=positive_int, help=f"epochs per run [{_preset_value('epochs')}]")
    p.add_argument("--batch", type=positive_int, help=f"clips per step [{_preset_value('batch')}]")
    add_device(p)
    p.add_argument(
        "--cluster",
        help="train the matrix over dask: local:N (N workers here) or tcp://HOST:8786 [none: one run after another]",
    )
    p.add_argument("--out", type=Path, default=Path("docs/demo-results.md"), help="results file")
    p.add_argument(
        "--clean",
        action="store_true",
        help="instead of running: remove the demo corpus, the demo corpora's feature sets in --store, "
        "the demo-* runs in --runs and experiments/demo-default|demo-full (make clean-demo); nothing else",
    )
    p.set_defaults(func=_run)


def _preset_value(key: str) -> str:
    """For --help: the preset's value; a broken preset must not break every other command (`demo` reports it)."""
    try:
        return f"{getattr(load_demo_preset(), key)}, configs/demo.toml"
    except PresetError:
        return "configs/demo.toml"


def _run(args: argparse.Namespace) -> int:
    if args.clean:
        from codecfake.app.demo.clean import clean_demo

        removed = clean_demo(args.demo_dir, args.store, args.runs, Path("experiments"))
        print(f"removed {len(removed)} demo item(s)" + "".join(f"\n  {r}" for r in removed))
        return 0
    from codecfake.app.demo.pipeline import DemoOptions, run_demo

    opts = DemoOptions(
        store=args.store,
        runs=args.runs,
        demo_dir=args.demo_dir,
        size=args.size,
        full=args.full,
        seeds=args.seeds,
        epochs=args.epochs,
        batch=args.batch,
        device=args.device,
        out=args.out,
        resamples=args.resamples,
        cluster=args.cluster,
    )
    return run_demo(opts)
