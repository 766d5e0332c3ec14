"""Whether a run folder's training has finished, is going on in a live process, or stopped part-way.

``evaluate`` asks before it scores: a run still training (its lock held by a live process, train/rundir.py) or one
that stopped without ``DONE`` is refused with what is going on and how far it got, unless the caller asks for the best
checkpoint so far (``codecfake evaluate --unfinished``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from codecfake.lease import Holder, holder_of
from codecfake.train.errors import RunBusy, RunError
from codecfake.train.rundir import LOCK_NAME, read_metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunStatus:
    """``finished``: DONE written; ``holder``: the live process training it (None: none); epochs so far / planned;
    ``best_epoch``: the epoch of checkpoints/best (0: none yet)."""

    finished: bool
    holder: Holder | None
    epochs_done: int
    epochs: int
    best_epoch: int

    def describe(self) -> str:
        best = (
            f"best checkpoint so far: epoch {self.best_epoch}"
            if self.best_epoch
            else "no best checkpoint yet"
        )
        return f"{self.epochs_done} of {self.epochs or '?'} epochs done, {best}"


def run_status(run_dir: str | Path) -> RunStatus:
    run_dir = Path(run_dir)

    def doc(path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):  # absent, or replaced while read
            return {}

    return RunStatus(
        finished=(run_dir / "DONE").is_file(),
        holder=holder_of(run_dir / LOCK_NAME),
        epochs_done=len(read_metrics(run_dir)),
        epochs=int(doc(run_dir / "config.json").get("epochs") or 0),
        best_epoch=int(doc(run_dir / "checkpoints" / "best.json").get("epoch") or 0),
    )


def require_finished(run_dir: str | Path, *, unfinished: bool = False) -> RunStatus:
    """Refuse a run whose training has not finished (``RunBusy`` while a live process trains it, else
    ``RunError``) unless ``unfinished``: then warn and go on with its best checkpoint so far."""
    status = run_status(run_dir)
    if status.finished:
        return status
    if status.holder is None and not (Path(run_dir) / "config.json").is_file():
        return status  # no training run (e.g. scores fused from runs): nothing to finish; evaluate decides
    if status.holder is not None:
        what = f"{run_dir} is still training in {status.holder.describe()} ({status.describe()})"
        fix = "wait for it to finish"
    else:
        what = f"{run_dir} stopped before training finished ({status.describe()})"
        fix = (
            f"finish it by rerunning its `codecfake train … --name {Path(run_dir).name}` command (it resumes)"
        )
    if not unfinished:
        message = f"{what}; {fix}, or add --unfinished to evaluate the best checkpoint so far"
        if status.holder is not None:
            raise RunBusy(message, status.holder.to_json())
        raise RunError(message)
    if not status.best_epoch:
        raise RunError(f"{what}; there is nothing to evaluate yet: {fix}")
    log.warning("%s: evaluating the best checkpoint so far (epoch %d)", what, status.best_epoch)
    return status
