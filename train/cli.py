"""``codecfake train`` (the Makefile's ``train`` target): every TrainConfig field is a ``--key value`` option, and
``--preset NAME`` (resolved in ``codecfake.train.cli_config``)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from codecfake.cliargs import add_command, add_runs, add_store
from codecfake.train.config import ConfigError, field_types, parse_text

log = logging.getLogger(__name__)
NOT_OPTIONS = ("sources", "augment_labels")  # TrainConfig fields that `codecfake train` sets itself

PRESET = "or --preset's"
HELP = {
    "backend": "back-end: aasist | lcnn [aasist]",
    "opt": "optimiser: adam | sam | asam | csam | csam-pd [adam, also make's OPT: the one optimiser that fits every "
    "--task; csam and csam-pd need the two domains of --task cotrain, as in `make train OPT=csam`]",
    "task": "vocoder | codec | cotrain: which training domains; trace: source tracing over the generator classes "
    "of codec + vocoder sets [cotrain]",
    "trace_level": "--task trace: the class of a spoof, its generator (the manifest's method) or a CodecFake+ "
    "taxonomy level: vq (MVQ/SVQ/SQ), aux (Trad/SEM/Disent), dec (TIME/FREQ) [generator]",
    "features": "feature-set keys KEY[,KEY] (default: per training domain, the sets of the one dataset that holds its train/dev "
    "clips; two datasets for a domain are refused with their keys)",
    "extractor": "with no --features: use the sets of this extractor (mel | xlsr | wavlm) when several exist",
    "array": "feature array, e.g. L05 or mel (default: the sets' only array)",
    "layers": "SSL layers to fuse with learned softmax weights, e.g. 0,3,5 (arrays L00+L03+L05; one layer = --array "
    "L05) [none]",
    "epochs": f"epochs [paper: 10; {PRESET}]",
    "batch": f"clips per step [paper: 128; {PRESET}]",
    "lr": f"initial learning rate [paper: 5e-4; {PRESET}]",
    "lr_decay": "lr factor every --lr-step-epochs epochs [0.5]",
    "lr_step_epochs": f"epochs per lr step [paper: 2; {PRESET}]",
    "weight_decay": "Adam L2 weight decay [5e-4]",
    "seed": "random seed [688]",
    "name": "run folder under --runs [<task>-<backend>-<opt>-s<seed>-<extractor>]",
    "class_weights": "cross-entropy weights bona fide,spoof [10,1]",
    "rho": "SAM radius [paper: 0.05; or --preset's [train.sam_rho] value of the back-end, where listed]",
    "adaptive": "true|false: ASAM scaling (implied by --opt asam) [false]",
    "same_dropout": "true|false: SAM pass two reuses pass one's dropout masks (false: re-drawn, the release) [false]",
    "domain_ratio": "csam/csam-pd batch shares per domain in name order (codec,vocoder), e.g. 0.5,0.5 or 0.5 [by domain size]",
    "device": "auto | cpu | cuda | cuda:N [auto]",
    "threads": "torch CPU threads, 0 = torch default [0]",
    "data_mode": "auto | memory | stream [auto: memory below --memory-limit-mb]",
    "memory_limit_mb": "auto data mode loads sets smaller than this (MB as stored: float16, float32 power mels) [2048]",
    "csam_epoch": "csam/csam-pd epoch length: release (K x ceil(largest domain/batch) steps, streams carried "
    "across epochs, as the release) | pass (each clip at least once) [release]",
    "csam_draw": "csam batches: exact (the same per-domain counts in every batch, each domain's stream carried "
    "across epochs) | release (the release's CSAMSampler: groups of int(share x batch) clips per domain cut into "
    "batches of --batch, new random samplers every pass, so each pass skips a random part of each domain) [exact]",
    "lcnn_layout": "lcnn input image: time-first (T, D) | freq-first (D, T) | auto: freq-first on SSL features "
    "(the release's W2V2-LCNN), time-first on mel (its Mel-LCNN); the run records the resolved layout [auto]",
    "shuffle": "adam/sam/asam batches: uniform (exact, as the release) | block (shard windows: faster streamed "
    "reads, skewed domain mix, logged) [uniform]",
    "shuffle_window_shards": "with --shuffle block: shuffle shards, then clips within windows of this many "
    "shard files [16]",
    "eval_batch": "clips per dev forward [256]",
    "dev_loss": "model selection on exact (weighted mean over every dev clip) | batch-mean (the release's mean of "
    "per-batch means over shuffled dev batches of --batch clips) [exact]",
    "save_every_steps": "also checkpoint every N steps within an epoch, 0 = epoch ends only [0]",
    "augment": "stored augmented variants to train on (AUGMENT=, the text `make features AUGMENT=` extracted, e.g. "
    "rawboost:3,codec:2): each epoch every training clip is read as one of its copies [none: the paper's]",
    "augment_seed": "the variants' extraction seed [1234]",
    "clean_prob": "with --augment: probability of reading the clean copy (CLEAN_PROB=) [-1: uniform over a "
    "clip's copies, clean included]",
    "feataug": "zero-disk feature augmentation (FEATAUG=): tmask:W[:N], fmask:W[:N], mixup:ALPHA, e.g. "
    "tmask:8,fmask:10,mixup:0.2 [none]",
    "hold_out": "generators whose fakes leave train and dev, bona fide kept (HOLD_OUT=): C1..C7 (Codecfake, the "
    "demo), A01..A06 (ASVspoof 2019 LA) [none]",
}


def _typed(key: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse_text(key, text)
        except ConfigError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = key
    return convert


def register(subparsers: Any) -> None:
    """Add ``train`` to the top-level CLI."""
    p = add_command(
        subparsers,
        "train",
        help="train a back-end from the feature store (make train)",
        description="Train LCNN/AASIST from cached features with Adam, SAM, ASAM, CSAM or csam-pd. Defaults are "
        "the paper's. A preset (--preset NAME, or the one every training set records: `make features` makes the "
        "demo's sets with --preset demo) gives --epochs, --batch, --lr, --lr-step-epochs and --rho not given its "
        "values (logged). A file configs/backend/<backend>.toml or configs/opt/<opt>.toml, when present, changes "
        "them again (none ships); every option overrides all of these. The run's config.json records each value "
        "and its source. Rerunning the same command resumes an interrupted run and reuses a finished one (keeping "
        "its own values).",
    )
    add_store(p)
    add_runs(p)
    p.add_argument("--force", action="store_true", help="overwrite an existing run of the same name")
    p.add_argument(
        "--no-shard-check",
        action="store_true",
        help="skip comparing the shards read with their commit records' CRC-32 (done once per process before "
        "reading; costs about one sequential read of them) [check]",
    )
    p.add_argument(
        "--preset",
        metavar="NAME",
        help="take configs/NAME.toml's [train] values for the options above not given; none (or paper): the "
        "paper's [the preset every training set records (codecfake features --preset), else none]",
    )
    for key in field_types():
        if key in NOT_OPTIONS:
            continue
        p.add_argument(
            f"--{key.replace('_', '-')}",
            dest=f"cfg_{key}",
            type=_typed(key),
            default=None,
            metavar=key.upper(),
            help=HELP.get(key, ""),
        )
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from codecfake.progress import TqdmProgress
    from codecfake.train.cli_config import config_from_args
    from codecfake.train.loop import train
    from codecfake.train.rundir import read_metrics

    if args.no_shard_check:
        from codecfake.store.verify import skip_shard_checks

        skip_shard_checks()
    config = config_from_args(args)
    with TqdmProgress() as bar:
        run_dir = train(config, args.store, args.runs, force=args.force, progress=bar)
    rows = read_metrics(run_dir)
    if rows:
        best = min(rows, key=lambda r: r["dev_loss"])
        log.info(
            "run %s: best epoch %d (dev loss %.4f, dev EER %.2f %%); evaluate with `make evaluate RUN=%s`",
            run_dir,
            best["epoch"],
            best["dev_loss"],
            best["dev_eer"],
            run_dir,
        )
    return 0
