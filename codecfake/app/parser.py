"""The stages' commands wired into one ``codecfake`` argument parser.

Each stage package contributes its commands through ``<package>/cli.py::register(subparsers)``. Building the parser
imports only those modules and the stdlib-only ``codecfake.cliargs``; handlers import their stage when called, so
``codecfake --help`` needs neither torch nor zarr. The application's own commands (``demo``) are added by
``codecfake.app.cli``: they run stage commands through ``codecfake.app.dispatch``, which parses with this module
alone (so nothing here imports the demo back).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Iterable

# The stages in pipeline order -> the module whose ``register(subparsers)`` adds their commands.
STAGE_MODULES = {
    "corpus": "codecfake.corpus.cli",
    "store": "codecfake.store.cli",
    "extract": "codecfake.extract.cli",
    "train": "codecfake.train.cli",
    "evaluate": "codecfake.evaluate.cli",
}


def new_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The top-level parser (global options) and its subcommand group, with no commands yet."""
    parser = argparse.ArgumentParser(
        prog="codecfake",
        description="Codecfake toolkit: corpus -> features (store) -> train -> evaluate.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    return parser, parser.add_subparsers(dest="command", metavar="COMMAND")


def add_stage_commands(sub: argparse._SubParsersAction, stages: Iterable[str] = tuple(STAGE_MODULES)) -> None:
    for stage in stages:
        importlib.import_module(STAGE_MODULES[stage]).register(sub)


def stage_parser() -> argparse.ArgumentParser:
    """Every stage's commands (not the application's): what the dispatcher runs in this process."""
    parser, sub = new_parser()
    add_stage_commands(sub)
    return parser
