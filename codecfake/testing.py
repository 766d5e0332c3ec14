"""Test helpers of the leaf layer, for tests of any stage: the child processes a test starts, killed if it fails.

Tests that start workers blocked on a GO file (concurrent extraction, concurrent training) must not leave one
running when an assertion fails before the file is touched: :class:`StartedProcesses` starts them and
:meth:`StartedProcesses.kill_left` kills and reaps whichever still run (an autouse fixture calls it after each test).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any

__all__ = ["StartedProcesses"]


class StartedProcesses:
    """The processes a test module started and has not yet seen end."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[Any]] = []

    def start(self, args: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
        """``subprocess.Popen(args, **popen)``, remembered until :meth:`kill_left`."""
        proc = subprocess.Popen(args, **popen)
        self._procs.append(proc)
        return proc

    def kill_left(self, timeout: float = 10) -> None:
        """Kill every remembered process still running and wait for it (``timeout`` seconds each); forget them all."""
        while self._procs:
            proc = self._procs.pop()
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=timeout)
