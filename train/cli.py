"""``codecfake train`` (the Makefile's ``train`` target): every TrainConfig field is a ``--key value`` option.

Also registers ``codecfake import-official`` from ``codecfake.train.official`` when that module is present.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from typing import Any

from codecfake.train.config import ConfigError, field_types, parse_text

log = logging.getLogger(__name__)

HELP = {
    "backend": "back-end: aasist | lcnn [aasist]",
    "opt": "optimiser: adam | sam | asam | csam | csam-pd [adam; make's OPT default is csam]",
    "task": "vocoder | codec | cotrain: which training domains [cotrain]",
    "features": "feature-set keys KEY[,KEY] (default: per training domain, the sets of the one dataset that holds its train/dev "
                "clips; two datasets for a domain are refused with their keys)",
    "extractor": "with no --features: use the sets of this extractor (mel | xlsr | wavlm) when several exist",
    "array": "feature array, e.g. L05 or mel (default: the sets' only array)",
    "layers": "SSL layers to fuse with learned softmax weights, e.g. 0,3,5 (arrays L00+L03+L05; one layer = --array "
              "L05) [none]",
    "epochs": "epochs [10]", "batch": "clips per step [128]", "lr": "initial learning rate [5e-4]",
    "lr_decay": "lr factor every --lr-step-epochs epochs [0.5]", "lr_step_epochs": "epochs per lr step [2]",
    "weight_decay": "Adam L2 weight decay [5e-4]", "seed": "random seed [688]",
    "name": "run folder under --runs [<task>-<backend>-<opt>-s<seed>-<extractor>]",
    "class_weights": "cross-entropy weights bona fide,spoof [10,1]",
    "rho": "SAM radius [0.05]", "adaptive": "true|false: ASAM scaling (implied by --opt asam) [false]",
    "same_dropout": "true|false: SAM pass two reuses pass one's dropout masks (false: re-drawn, the release) [false]",
    "domain_ratio": "csam/csam-pd batch shares per domain in name order (codec,vocoder), e.g. 0.5,0.5 or 0.5 [by domain size]",
    "device": "auto | cpu | cuda | cuda:N [auto]", "threads": "torch CPU threads, 0 = torch default [0]",
    "data_mode": "auto | memory | stream [auto: memory below --memory-limit-mb]",
    "memory_limit_mb": "auto data mode loads sets smaller than this (MB of float16) [2048]",
    "csam_epoch": "csam/csam-pd epoch length: release (K x ceil(largest domain/batch) steps, streams carried "
                  "across epochs, as the release) | pass (each clip at least once) [release]",
    "shuffle": "adam/sam/asam batches: uniform (exact, as the release) | block (shard windows: faster streamed "
               "reads, skewed domain mix, logged) [uniform]",
    "shuffle_window_shards": "with --shuffle block: shuffle shards, then clips within windows of this many "
                             "shard files [16]",
    "eval_batch": "clips per dev forward [256]",
    "dev_loss": "model selection on exact (weighted mean over every dev clip) | batch-mean (the release's mean of "
                "per-batch means over shuffled dev batches of --batch clips) [exact]",
    "save_every_steps": "also checkpoint every N steps within an epoch, 0 = epoch ends only [0]",
}


def _typed(key: str):
    def convert(text: str) -> Any:
        try:
            return parse_text(key, text)
        except ConfigError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = key
    return convert


def register(subparsers: Any) -> None:
    """Add ``train`` (and ``import-official`` when available) to the top-level CLI."""
    p = subparsers.add_parser(
        "train", help="train a back-end from the feature store (make train)",
        description="Train LCNN/AASIST from cached features with Adam, SAM, ASAM, CSAM or csam-pd. Defaults are "
                    "the paper's; a preset configs/backend/<backend>.toml or configs/opt/<opt>.toml, when present, "
                    "changes them (none ships); every option overrides both. "
                    "Rerunning the same command resumes an interrupted run and reuses a finished one.")
    p.add_argument("--store", default="features", help="feature store directory [features]")
    p.add_argument("--runs", default="runs", help="where run folders go [runs]")
    p.add_argument("--force", action="store_true", help="overwrite an existing run of the same name")
    for key in field_types():
        p.add_argument(f"--{key.replace('_', '-')}", dest=f"cfg_{key}", type=_typed(key), default=None,
                       metavar=key.upper(), help=HELP.get(key, ""))
    p.set_defaults(func=run_train)
    try:
        official = importlib.import_module("codecfake.train.official")
    except ModuleNotFoundError as err:
        if err.name != "codecfake.train.official":
            raise
    else:
        official.register(subparsers)


class _Bar:
    """tqdm progress: one bar per epoch with loss and clips/s."""

    def __init__(self) -> None:
        self.bar = None
        self.epoch = None

    def __call__(self, info: dict[str, Any]) -> None:
        from tqdm import tqdm

        if info["epoch"] != self.epoch:
            self.close()
            self.epoch = info["epoch"]
            self.bar = tqdm(total=info["steps"], desc=f"epoch {info['epoch']}/{info['epochs']}", unit="step",
                            initial=info["step"] - 1, dynamic_ncols=True, leave=True)
        self.bar.set_postfix(loss=f"{info['loss']:.4f}", clips_s=f"{info['clips_per_s']:.0f}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run_train(args: argparse.Namespace) -> int:
    from codecfake.train.config import resolve_config
    from codecfake.train.loop import train
    from codecfake.train.rundir import read_metrics

    overrides = {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_") and v is not None}
    config = resolve_config(overrides)
    bar = _Bar()
    try:
        run_dir = train(config, args.store, args.runs, force=args.force, progress=bar)
    finally:
        bar.close()
    rows = read_metrics(run_dir)
    if rows:
        best = min(rows, key=lambda r: r["dev_loss"])
        log.info("run %s: best epoch %d (dev loss %.4f, dev EER %.2f %%); evaluate with `make evaluate RUN=%s`",
                 run_dir, best["epoch"], best["dev_loss"], best["dev_eer"], run_dir)
    return 0
