"""``codecfake features``: the `make features` target. One feature set per (dataset part, extractor).

Codecfake and ASVspoof 2019 LA are extracted part by part (``--parts``; default every part found): one set per label
file / protocol, so a part added later extends the store and leaves the sets already written untouched. The demo,
In-the-Wild and CSV corpora are one set each. Also registers ``codecfake augment`` (``extract/augment_cli.py``); the
options and steps both share live in ``extract/cli_common.py``.
"""

from __future__ import annotations

import argparse
import logging

from codecfake.cliargs import add_command

# the option helpers' old import path (codecfake.extract.cli) keeps working
from codecfake.extract.cli_common import (  # noqa: F401
    DATA_KINDS,
    add_extraction_options,
    demo_corpus_first,
    extract_all,
    mel_params,
    parse_layers,
    prepare,
    resampler_for,
)

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "features",
        help="extract features (mel / XLS-R / WavLM hidden states) into the feature store",
        description="Run the frozen front-end once per corpus and store its outputs as feature sets (float16; "
        "float32 for power mels). "
        "Resumes by default (committed shards are skipped); --force rebuilds.",
    )
    add_extraction_options(p)
    p.add_argument("--force", action="store_true", help="overwrite existing feature sets instead of resuming")
    p.set_defaults(func=run_features, prerequisites=demo_corpus_first)
    from codecfake.extract.augment_cli import register_augment

    register_augment(subparsers)


def run_features(args: argparse.Namespace) -> int:
    built, store, todo, notes = prepare(args)
    extract_all(args, built, store, todo, "overwrite" if args.force else "resume", notes)
    return 0
