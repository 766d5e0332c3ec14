"""The `codecfake` command line. Subcommands mirror the Make targets.

Each stage package contributes its own subcommands through ``<package>/cli.py::register(subparsers)``; this module
only wires them together and configures logging once. Building the parser imports only each stage's ``cli.py``
and the stdlib-only ``codecfake.cliargs``; stage packages load lazily and handlers import their stage when called,
so ``codecfake --help`` needs neither torch nor zarr (tests/test_package.py checks it).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

# Stage packages in pipeline order; each exposes ``cli.register(subparsers)``.
_STAGES = ("corpus", "store", "extract", "train", "evaluate", "demo")
_SELF_NAMED = ("corpus", "store")  # stages whose one command is their own name and that need no torch


def stages_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The stages to register for ``argv``: only ``store`` for ``codecfake store …`` (so it does not import torch
    through the training stage: seconds per call), every stage otherwise (and for ``--help``)."""
    words = [a for a in argv if not a.startswith("-")]
    return (words[0],) if words and words[0] in _SELF_NAMED else _STAGES


def build_parser(stages: Sequence[str] = _STAGES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codecfake",
        description="Codecfake toolkit: corpus -> features (store) -> train -> evaluate.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for stage in stages:
        module_name = "codecfake.demo" if stage == "demo" else f"codecfake.{stage}.cli"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:  # stage not built yet
                continue
            raise
        module.register(sub)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
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
        return int(args.func(args) or 0)
    except CodecfakeError as err:
        logging.getLogger("codecfake").error("%s", err)
        return 2
    except KeyboardInterrupt:
        logging.getLogger("codecfake").error("interrupted; rerun the same command to resume")
        return 130


if __name__ == "__main__":
    sys.exit(main())
