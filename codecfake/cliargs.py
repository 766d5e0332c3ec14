"""Options every stage CLI shares, defined once, and the help formatter that prints their defaults.

``add_command`` makes a subcommand whose ``--help`` shows each option's default (``(default: X)``, omitted where
the default is None or False: those options take their value from a preset or are plain flags). The ``add_*``
helpers add the shared options with one name, type and default each; the Makefile's variables map onto them
(STORE -> --store, RUNS -> --runs, DEVICE -> --device, DEMO_DIR -> --demo-dir, SIZE -> --size, MODEL -> --model).
A leaf module: imports only the standard library, so building the parser stays cheap.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = [
    "DefaultsFormatter",
    "add_command",
    "store_root",
    "positive_int",
    "add_store",
    "add_runs",
    "add_device",
    "add_demo_dir",
    "add_size",
    "EXTRACTORS",
    "DEMO_DIR",
]

EXTRACTORS = ("mel", "xlsr", "wavlm")
DEMO_DIR = Path("data/mini-codecfake")


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help unless the default is None/False or already in the text."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "%(default)" in text
            or action.default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def add_command(
    subparsers: Any, name: str, help: str, description: str | None = None, **kwargs: Any
) -> argparse.ArgumentParser:
    """A subcommand parser with the shared formatter (its defaults show in ``--help``)."""
    return subparsers.add_parser(
        name, help=help, description=description or help, formatter_class=DefaultsFormatter, **kwargs
    )


def store_root(text: str) -> Path | str:
    """A store location: a local folder (Path), or a URL kept as text (``http://…``, ``file://…``, read-only)."""
    return text if "://" in text else Path(text)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a bad value is a usage error, exit 2, before anything runs)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, found {value}")
    return value


def add_store(p: argparse.ArgumentParser, help: str = "feature store root (folder, or URL to read)") -> None:
    p.add_argument("--store", type=store_root, default=Path("features"), help=help)


def add_runs(p: argparse.ArgumentParser, help: str = "where run folders go") -> None:
    p.add_argument("--runs", type=Path, default=Path("runs"), help=help)


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (auto: CUDA when present)")


def add_demo_dir(p: argparse.ArgumentParser, flag: str = "--demo-dir") -> None:
    p.add_argument(
        flag, dest=flag.lstrip("-").replace("-", "_"), type=Path, default=DEMO_DIR, help="demo corpus folder"
    )


def add_size(p: argparse.ArgumentParser, help: str = "demo corpus size if it is built") -> None:
    p.add_argument("--size", choices=("small", "default"), default="default", help=help)
