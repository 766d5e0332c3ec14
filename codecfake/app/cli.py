"""The `codecfake` command line (the console script). Subcommands mirror the Make targets.

``main`` parses with the stages' commands (``codecfake.app.parser``) and the demo's, configures logging once, and runs
the command through ``codecfake.app.dispatch`` (which runs first any command it needs); a ``CodecfakeError`` becomes
one log line and exit status 2. ``codecfake --help`` needs neither torch nor zarr (tests/test_package.py checks it).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from codecfake.app import demo, openset_loo
from codecfake.app.dispatch import run_parsed
from codecfake.app.experiments import cli as experiments
from codecfake.app.parser import STAGE_MODULES, add_stage_commands, new_parser

# The command groups in pipeline order: the stages', then the application's own (the demo, openset-loo, the
# experiment matrix).
_STAGES = (*STAGE_MODULES, "demo", "openset-loo", "experiments")
_SELF_NAMED = ("corpus", "store")  # stages whose one command is their own name and that need no torch


def stages_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The command groups to register for ``argv``: only ``store`` for ``codecfake store …`` (so it does not import
    torch through the training stage: seconds per call), every group otherwise (and for ``--help``)."""
    words = [a for a in argv if not a.startswith("-")]
    return (words[0],) if words and words[0] in _SELF_NAMED else _STAGES


def build_parser(stages: Sequence[str] = _STAGES) -> argparse.ArgumentParser:
    """The ``codecfake`` parser with the commands of ``stages`` (default: every stage's and the demo)."""
    parser, sub = new_parser()
    add_stage_commands(sub, [s for s in stages if s in STAGE_MODULES])
    if "demo" in stages:
        demo.register(sub)
    if "openset-loo" in stages:
        openset_loo.register(sub)
    if "experiments" in stages:
        experiments.register(sub)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    # The console keeps this level even where a run's own log file raises a logger to INFO (codecfake experiments'
    # logs/<run>.log).
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)
    for noisy in ("distributed", "urllib3", "numcodecs", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault(
        "HF_HUB_OFFLINE", "1"
    )  # never reach for the hub: checkpoints come from local folders
    from codecfake.alloc import keep_freed_memory

    keep_freed_memory()  # large buffers stay in the process between steps (codecfake/alloc.py)
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(stages_for(argv))
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from codecfake.errors import CodecfakeError

    try:
        return run_parsed(args)
    except CodecfakeError as err:
        logging.getLogger("codecfake").error("%s", err)
        return 2
    except KeyboardInterrupt:
        logging.getLogger("codecfake").error("interrupted; rerun the same command to resume")
        return 130


if __name__ == "__main__":
    sys.exit(main())
