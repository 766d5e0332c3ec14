"""One matrix, start to finish: plan it, check the store has every feature set it needs, run what is not finished
(here or on a dask cluster), print its progress, and write its tables. ``codecfake experiments`` and the demo both
run their matrices through :func:`run_plan`.
"""

from __future__ import annotations

import logging
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codecfake.app.experiments.board import Board, Monitor, duration
from codecfake.app.experiments.execute import RunResult, make_jobs, run_on_cluster, run_serial, write_status
from codecfake.app.experiments.plan import Plan, run_finished

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatrixOutcome:
    """What a matrix run did: every run's result (runs already finished before it started: ``reused``)."""

    results: tuple[RunResult, ...]
    reused: tuple[str, ...]
    seconds: float
    workers: int

    @property
    def failed(self) -> tuple[RunResult, ...]:
        return tuple(r for r in self.results if r.status != "done")

    def summary(self) -> str:
        done = sum(r.status == "done" for r in self.results)
        lines = [
            f"{done + len(self.reused)} of {len(self.results) + len(self.reused)} runs finished "
            f"({len(self.reused)} already were), {len(self.failed)} failed, in {duration(self.seconds)} on "
            f"{self.workers} worker(s)"
        ]
        for r in self.failed:
            lines.append(f"  FAILED {r.name}: {r.error}\n    log: {r.log_file}")
        return "\n".join(lines)


def run_plan(
    plan: Plan,
    out_dir: Path,
    *,
    cluster: str | None = None,
    emit: Callable[[str], None] = print,
    threads: int = 0,
    every_s: float = 10.0,
    share_reads: str = "auto",
) -> MatrixOutcome:
    """Run ``plan``'s unfinished runs and return their results; never raises for a run's
    own failure. ``cluster``: None (here, one after another), ``local:N`` or ``tcp://…`` (``cluster.py``);
    ``share_reads``: auto | on | off (``groups.py``)."""
    from codecfake.app.experiments.groups import make_units, run_unit

    t0 = time.perf_counter()
    runs = list(plan.runs)
    reused = tuple(r.name for r in runs if run_finished(r))
    todo = [r for r in runs if r.name not in reused]
    if any(r.robustness_argv for r in todo):
        from codecfake.app.experiments.sweeps import prepare_sweeps

        prepare_sweeps(plan, todo)
    client = local = None
    workers = 1
    if cluster and todo:
        from codecfake.app.experiments.cluster import open_cluster, parse_cluster

        client, local, workers = open_cluster(parse_cluster(cluster))
        # each run's torch CPU threads: a share of the cores (a worker's OMP_NUM_THREADS), unless given. The same
        # count in serial runs (--threads) gives bit-identical results; a different count moves the last float bits.
        threads = threads or max(1, (os.cpu_count() or 1) // workers) if local is not None else threads
    jobs = make_jobs(todo, out_dir, threads)
    units = make_units(todo, jobs, share_reads, workers)
    for job in jobs:
        write_status(job.status_file, state="queued")
    board = Board(jobs, workers, emit, plan.matrix.name)
    results: list[RunResult] = []

    def on_result(result: RunResult) -> None:
        results.append(result)
        board.finished(result)

    board.queued(len(reused))
    try:
        with Monitor(board, every_s):
            if client is None:
                run_serial(units, run_unit, on_result)
            else:
                run_on_cluster(client, units, run_unit, on_result)
    finally:
        if client is not None:
            client.close()
        if local is not None:
            local.close()
    order = {r.name: k for k, r in enumerate(todo)}
    results.sort(key=lambda r: order[r.name])
    return MatrixOutcome(tuple(results), reused, time.perf_counter() - t0, workers)


def experiments_command(plan: Plan, cluster: str | None) -> str:
    """The ``codecfake experiments`` command that (re)makes this plan's tables."""
    from codecfake.presets import CONFIG_DIR

    shipped = plan.matrix.path.parent == CONFIG_DIR
    argv = ["experiments", plan.matrix.name if shipped else str(plan.matrix.path)]
    argv += ["--store", plan.store, "--runs", str(plan.runs_root)]
    first = plan.runs[0].evaluate_argv if plan.runs else ()
    device = first[first.index("--device") + 1] if "--device" in first else "auto"
    if device != "auto":
        argv += ["--device", device]
    if plan.seeds != plan.matrix.seeds:
        argv += ["--seeds", str(plan.seeds)]
    if plan.protocol != plan.matrix.protocol:
        argv += ["--protocol", plan.protocol or "none"]
    if cluster:
        argv += ["--cluster", cluster]
    if "--no-figures" in first:
        argv.append("--no-figures")
    return "codecfake " + shlex.join(argv)


__all__ = ["MatrixOutcome", "experiments_command", "run_plan"]
