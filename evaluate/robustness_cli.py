"""``codecfake robustness`` (``make robustness RUN=runs/X DEGRADE=…``): the laundering sweep of one run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from codecfake.cliargs import add_command, add_device, add_store, positive_int


def register_robustness(sub: Any) -> None:
    p = add_command(
        sub,
        "robustness",
        help="EER of a run on its test sets re-coded / resampled / noisy (make robustness RUN= DEGRADE=)",
        description="Extract degraded copies of every test set the run is evaluated on (bona fide and spoof alike; "
        "only what is missing; recorded as variants of the test set), score them and report EER per condition x "
        "degradation with 95 % intervals, the mean and the worst degradation, and a figure, in "
        "RUN/robustness/. Degradations: opus, mp3, aac, g722, amr(nb), gsm, g726, mulaw, alaw [:BITRATE], "
        "resample:RATE, lowpass:EDGE, noise:SNRdb, rawboost:ALGO.",
    )
    p.add_argument("--run", type=Path, required=True, help="run directory, e.g. runs/NAME")
    p.add_argument(
        "--degrade",
        default="mp3:32k,opus:12k,amr,resample:8k,noise:20db",
        help="degradations, comma separated (DEGRADE=)",
    )
    add_store(p)
    add_device(p)
    p.add_argument("--batch", type=positive_int, default=256, help="clips per forward when scoring")
    p.add_argument(
        "--resamples", type=int, default=1000, help="bootstrap resamples per cell (0: no intervals)"
    )
    p.add_argument(
        "--seed", type=int, default=1234, help="seed of the degradations (noise draws; in the keys)"
    )
    p.add_argument(
        "--model-dir", type=Path, help="SSL checkpoint folder (xlsr/wavlm runs) [the recorded one]"
    )
    p.add_argument("--num-workers", type=int, help="decode processes for the degraded extraction [cores - 1]")
    p.add_argument("--no-figures", action="store_true", help="skip robustness.png")
    p.add_argument(
        "--force", action="store_true", help="extract even when the store's disk lacks the room (FORCE=1)"
    )
    p.set_defaults(func=cmd_robustness)


def cmd_robustness(args: argparse.Namespace) -> int:
    from codecfake.evaluate.robustness_run import run_sweep
    from codecfake.progress import TqdmProgress

    report = run_sweep(
        args.run,
        args.store,
        args.degrade,
        device=args.device,
        batch=args.batch,
        resamples=args.resamples,
        seed=args.seed,
        force=args.force,
        model_dir=args.model_dir,
        progress=TqdmProgress,
        num_workers=args.num_workers,
        figures=not args.no_figures,
    )
    print((args.run / "robustness" / "robustness.md").read_text(encoding="utf-8"))  # the CLI shows the table
    return 0 if report["conditions"] else 2
