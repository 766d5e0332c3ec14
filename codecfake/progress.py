"""One progress protocol for every stage, and its one tqdm adapter.

Library code (extraction, training, scoring) reports progress through a ``Progress``: ``start`` a task with its
total, ``advance`` it, and never prints; whoever created the object ``close``s it. The CLI passes a ``TqdmProgress``;
library callers pass nothing (``NoProgress``) or a ``LogProgress`` (a log line every ~10 s). A leaf module: imports
nothing of ours; tqdm is imported only when a bar is drawn.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Protocol, runtime_checkable

__all__ = ["Progress", "NoProgress", "LogProgress", "TqdmProgress"]

log = logging.getLogger(__name__)


@runtime_checkable
class Progress(Protocol):
    def start(self, desc: str, total: int | None, unit: str, done: int = 0) -> None:
        """Begin a task of ``total`` units (None: unknown), ``done`` of them already finished; ends any previous."""

    def advance(self, n: int = 1, **status: Any) -> None:
        """``n`` more units finished; ``status`` (e.g. ``loss=0.41``) describes the latest state."""

    def close(self) -> None:
        """End the current task (idempotent)."""


class NoProgress:
    """Reports nothing."""

    def start(self, desc: str, total: int | None, unit: str, done: int = 0) -> None:
        pass

    def advance(self, n: int = 1, **status: Any) -> None:
        pass

    def close(self) -> None:
        pass


class LogProgress:
    """A log line at most every ``every_s`` seconds (and when a task completes): done/total, rate, ETA."""

    def __init__(self, every_s: float = 10.0, logger: logging.Logger | None = None) -> None:
        self.every_s, self.log = every_s, logger or log
        self.start("", None, "")

    def start(self, desc: str, total: int | None, unit: str, done: int = 0) -> None:
        self.desc, self.total, self.unit, self.done, self.first = desc, total, unit, done, done
        self.t0 = self.last = time.perf_counter()

    def advance(self, n: int = 1, **status: Any) -> None:
        self.done += n
        now = time.perf_counter()
        finished = self.total is not None and self.done >= self.total
        if now - self.last < self.every_s and not finished:
            return
        self.last = now
        rate = (self.done - self.first) / max(now - self.t0, 1e-9)
        total = "?" if self.total is None else self.total
        eta = "" if self.total is None else f", ETA {(self.total - self.done) / max(rate, 1e-9):.0f} s"
        extra = "".join(f", {k} {_fmt(v)}" for k, v in status.items())
        self.log.info(
            "%s: %d/%s %ss, %.1f %ss/s%s%s",
            self.desc,
            self.done,
            total,
            self.unit,
            rate,
            self.unit,
            eta,
            extra,
        )

    def close(self) -> None:
        pass


class TqdmProgress:
    """One tqdm bar per task on stderr. Without a terminal (logs, CI) it falls back to ``LogProgress`` lines."""

    def __init__(self, *, leave: bool = True) -> None:
        self.leave = leave
        self.bar: Any = None
        self.fallback = None if sys.stderr.isatty() else LogProgress()

    def start(self, desc: str, total: int | None, unit: str, done: int = 0) -> None:
        self.close()
        if self.fallback is not None:
            self.fallback.start(desc, total, unit, done)
            return
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            initial=done,
            leave=self.leave,
            dynamic_ncols=True,
            file=sys.stderr,
        )

    def advance(self, n: int = 1, **status: Any) -> None:
        if self.fallback is not None:
            self.fallback.advance(n, **status)
        elif self.bar is not None:
            if status:
                self.bar.set_postfix({k: _fmt(v) for k, v in status.items()}, refresh=False)
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
