"""Run a ``codecfake`` command in this process: the one dispatcher behind ``codecfake`` itself (``main``), the demo's
stages, and the commands another command needs first. It runs the stages' commands (the demo runs them; it is not
one).

A command may name the commands that must run before it: its parser's ``prerequisites`` default, a function of its
parsed arguments returning argv lists (``codecfake features --data demo`` needs ``codecfake corpus demo``, which
builds the demo corpus or returns at once when it is finished). A stage names the other stage's command as text, the
way the Makefile does, so it imports neither that stage nor this layer.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from collections.abc import Sequence

from codecfake.app.parser import stage_parser
from codecfake.errors import CodecfakeError

log = logging.getLogger(__name__)


class CommandFailed(CodecfakeError):
    """A command run in this process (a demo stage, or one another command needs first) exited non-zero."""


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """``codecfake ARGV`` (a stage's command) parsed as the command line parses it (argparse exits 2 on a bad
    argument)."""
    return stage_parser().parse_args(list(argv))


def run_parsed(args: argparse.Namespace) -> int:
    """Run a parsed command: first every command it needs (each must exit 0), then its handler; its exit status."""
    needs = getattr(args, "prerequisites", None)
    for argv in needs(args) if needs else ():
        log.info("first: codecfake %s", shlex.join(argv))
        run_checked(argv, f"needed before `codecfake {args.command}`")
    return int(args.func(args) or 0)


def run(argv: Sequence[str]) -> int:
    """Run ``codecfake ARGV`` in this process (the same handlers and progress bars); its exit status. Typed errors
    (``CodecfakeError``) propagate to the caller."""
    return run_parsed(parse(argv))


def run_checked(argv: Sequence[str], why: str) -> None:
    """:func:`run`, raising :class:`CommandFailed` (naming the command and ``why`` it ran) on a non-zero exit."""
    rc = run(argv)
    if rc != 0:
        raise CommandFailed(
            f"`codecfake {shlex.join(argv)}` ({why}) failed with exit status {rc}; run it alone to see why"
        )


__all__ = ["CommandFailed", "parse", "run", "run_checked", "run_parsed"]
