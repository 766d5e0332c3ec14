"""Progress a person can follow: one line per run when its state changes (queued, running on worker k with its
epoch and ETA, done with its headline EER, failed with its error and log), and the matrix's overall ETA.

The board reads what the runs write anyway: each run's status file (written by ``execute.run_one`` wherever the run
executes, so a remote worker's runs show too when the folders are shared) and its ``metrics.jsonl`` (one row per
finished epoch). A run's ETA is its remaining epochs at the pace of the epochs it finished since it started here;
the matrix's is the running runs' ETAs plus the queued runs at the mean run time, over the workers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codecfake.app.experiments.execute import Job, RunResult, read_status


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _epochs(run_dir: Path) -> tuple[int, int | None]:
    """(epochs finished, epochs configured or None) from the run folder."""
    try:
        done = len((run_dir / "metrics.jsonl").read_text().splitlines())
    except OSError:
        done = 0
    try:
        total = int(json.loads((run_dir / "config.json").read_text())["epochs"])
    except (OSError, ValueError, KeyError):
        total = None
    return done, total


@dataclass
class RunView:
    index: int
    job: Job
    state: str = "queued"
    worker: str = ""
    started: float = 0.0
    epochs_at_start: int = 0
    epochs: tuple[int, int | None] = (0, None)
    result: RunResult | None = None
    last_line: str = field(default="", repr=False)

    def eta_s(self, now: float) -> float | None:
        done, total = self.epochs
        if self.state != "running" or total is None or done <= self.epochs_at_start:
            return None
        per_epoch = (now - self.started) / (done - self.epochs_at_start)
        return per_epoch * max(total - done, 0)


class Board:
    """The matrix's progress, printed through ``emit`` (the CLI's ``print``)."""

    def __init__(
        self, jobs: Sequence[Job], workers: int, emit: Callable[[str], None], matrix: str = ""
    ) -> None:
        self.views = {j.name: RunView(k + 1, j) for k, j in enumerate(jobs)}
        self.workers, self.emit, self.matrix = max(workers, 1), emit, matrix
        self.reused = 0
        self._lock = threading.Lock()
        self._last_counts: tuple[int, ...] = ()
        self._last_time = 0.0
        self.summary_every_s = 60.0  # the matrix line: when a run changes state, else at most this often

    def _line(self, v: RunView, now: float) -> str:
        head = f"[run {v.index}/{len(self.views)}] {v.job.name}"
        if v.state == "running":
            done, total = v.epochs
            eta = v.eta_s(now)
            epoch = f", epoch {min(done + 1, total or done + 1)}/{total}" if total else ""
            where = "here" if v.worker in ("", "here") else f"on worker {v.worker}"
            return f"{head}: running {where}{epoch}" + (f", ETA {duration(eta)}" if eta else "")
        if v.state == "done" and v.result is not None:
            h = v.result.headline
            avg = (
                " ".join(f"{k} {h[k]:.3f} %" for k in ("AVG", "CAVG") if k in h) or "no EER (see its report)"
            )
            return f"{head}: done, {avg}, {duration(v.result.seconds)}"
        if v.state == "failed" and v.result is not None:
            return f"{head}: FAILED: {v.result.error} (log: {v.result.log_file})"
        return f"{head}: {v.state}"

    def poll(self) -> None:
        """Read the status files and run folders of unfinished runs; print what changed and the matrix line."""
        now = time.time()
        with self._lock:
            changed = False
            for v in self.views.values():
                if v.state in ("done", "failed"):
                    continue
                doc = read_status(v.job.status_file)
                if doc.get("state") == "running" and v.state != "running":
                    v.state, v.worker, v.started = "running", str(doc.get("worker", "")), now
                    v.epochs_at_start = _epochs(Path(v.job.run_dir))[0]
                if v.state == "running":
                    v.epochs = _epochs(Path(v.job.run_dir))
                changed |= self._print(v, now)
            if changed:
                self._summary(now)

    def _print(self, v: RunView, now: float) -> bool:
        line = self._line(v, now)
        key = line.split(", ETA")[0]
        if key == v.last_line:
            return False
        v.last_line = key
        self.emit(line)
        return True

    def finished(self, result: RunResult) -> None:
        with self._lock:
            v = self.views[result.name]
            v.state, v.result = result.status, result
            v.worker = v.worker or result.worker
            self._print(v, time.time())
            self._summary(time.time())

    def queued(self, reused: int) -> None:
        """Say what will run (the runs already finished are not queued)."""
        self.reused = reused
        with self._lock:
            for v in self.views.values():
                self._print(v, time.time())
            self._summary(time.time(), force=True)

    def _summary(self, now: float, force: bool = False) -> None:
        vs = list(self.views.values())
        n = {s: sum(v.state == s for v in vs) for s in ("queued", "running", "done", "failed")}
        counts = tuple(n.values())
        if not force and counts == self._last_counts and now - self._last_time < self.summary_every_s:
            return
        self._last_counts, self._last_time = counts, now
        took = [v.result.seconds for v in vs if v.result and v.result.status == "done" and v.result.trained]
        etas = [e for v in vs if (e := v.eta_s(now)) is not None]
        # a run's time: the finished runs' mean, else the running runs' projected totals (elapsed + ETA)
        projected = [now - v.started + e for v in vs if (e := v.eta_s(now)) is not None]
        per_run = sum(took) / len(took) if took else (sum(projected) / len(projected) if projected else None)
        eta = ""
        if per_run is not None or (etas and not n["queued"]):
            left = sum(etas) + n["queued"] * (per_run or 0.0)
            eta = f"; ETA {duration(left / self.workers)}" if left else ""
        total = len(vs) + self.reused
        line = (
            f"matrix {self.matrix}: {n['done'] + self.reused}/{total} done"
            + (f" ({self.reused} already)" if self.reused else "")
            + f", {n['running']} running, {n['queued']} queued, {n['failed']} failed{eta}"
        )
        self.emit(line)


class Monitor:
    """Polls a board every ``every_s`` seconds from a daemon thread (the runs run in the main thread or on workers)."""

    def __init__(self, board: Board, every_s: float = 10.0) -> None:
        self.board, self.every_s = board, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="matrix-progress")

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.board.poll()

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every_s + 1)


__all__ = ["Board", "Monitor", "duration"]
