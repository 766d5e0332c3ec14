"""Shared reads in a matrix: runs that draw the same batches (the Adam, SAM and ASAM cells of one setting and seed,
or two back-ends on one set of features) train as one group, in one process, from one read of each batch
(``codecfake.train.shared_reads``), each still its own run: the command listed for it (``codecfake train …``) gives
the same weights alone. Then each member is evaluated as usual.

``share_reads``: ``on`` groups every such set of runs; ``off`` never; ``auto`` (the default) groups them unless that
would leave workers idle (fewer units of work than workers: on 8 GPUs, 8 single runs finish sooner than 2 groups
of 4 when the data is in memory). A group that cannot share after all (the runs' resolved configurations or data
differ) trains its members one after another instead, as separate runs.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecfake.app.experiments.execute import Job, RunResult, run_one, with_device, write_status
from codecfake.app.experiments.plan import PlannedRun, run_state

log = logging.getLogger(__name__)

SHARE_READS = ("auto", "on", "off")


@dataclass(frozen=True)
class GroupJob:
    """Runs that share reads: trained together, then evaluated one by one."""

    members: tuple[Job, ...]

    @property
    def name(self) -> str:
        return "+".join(j.name for j in self.members)


Unit = Job | GroupJob


def _key(run: PlannedRun) -> tuple:
    from codecfake.app.dispatch import parse
    from codecfake.train.cli_config import flags_given
    from codecfake.train.config import resolve_config
    from codecfake.train.shared_reads import sharing_key

    return sharing_key(resolve_config(flags_given(parse(run.train_argv))))


def make_units(runs: Sequence[PlannedRun], jobs: Sequence[Job], share: str, workers: int) -> list[Unit]:
    """The work to hand out: single runs, and groups of runs that draw the same batches (module docstring)."""
    if share == "off":
        return list(jobs)
    groups: dict[tuple, list[Job]] = {}
    for run, job in zip(runs, jobs, strict=True):
        trained = run_state(run.run_dir) in ("trained", "evaluated")
        groups.setdefault(("done", run.name) if trained else _key(run), []).append(job)
    units: list[Unit] = [GroupJob(tuple(js)) if len(js) > 1 else js[0] for js in groups.values()]
    if share == "auto" and len(units) < workers:
        return list(jobs)
    return units


def run_unit(unit: Unit) -> list[RunResult]:
    """A single run, or a group: on a dask worker as here."""
    return [run_one(unit)] if isinstance(unit, Job) else run_group(unit)


def _configs(jobs: Sequence[Job]) -> tuple[list[Any], Path | str, Path]:
    from codecfake.app.dispatch import parse
    from codecfake.app.experiments.cluster import worker_device
    from codecfake.train.cli_config import config_from_args

    args = []
    for job in jobs:
        device = (
            job.train_argv[job.train_argv.index("--device") + 1] if "--device" in job.train_argv else "auto"
        )
        args.append(parse(with_device(job.train_argv, worker_device(device))))
    return [config_from_args(a) for a in args], args[0].store, args[0].runs


def run_group(group: GroupJob) -> list[RunResult]:
    """Train the group's unfinished members together, then evaluate each (``run_one`` finds it trained); never
    raises for a member's own failure."""
    from codecfake.app.experiments.cluster import worker_name
    from codecfake.errors import CodecfakeError
    from codecfake.progress import TqdmProgress
    from codecfake.train.shared_reads import train_together

    todo = [j for j in group.members if run_state(Path(j.run_dir)) not in ("trained", "evaluated")]
    handlers = _attach_logs(todo)
    worker, t0, errors = worker_name() or "here", time.perf_counter(), {}
    for job in todo:
        write_status(job.status_file, state="running", worker=worker, group=group.name)
    try:
        if todo:
            _set_threads(todo[0].threads)
            configs, store, runs = _configs(todo)
            log.info("shared reads: %s train together", ", ".join(j.name for j in todo))
            with TqdmProgress() as bar:
                result = train_together(configs, store, runs, progress=bar)
            errors = {j.name: e for j, e in zip(todo, result.errors, strict=True) if e is not None}
    except CodecfakeError as err:  # could not train together: each member as its own run
        log.warning("shared reads: %s; training %s one after another", err, ", ".join(j.name for j in todo))
        _detach_logs(handlers)
        return [run_one(j) for j in group.members]
    finally:
        _detach_logs(handlers)
    share = (time.perf_counter() - t0) / max(len(todo), 1)
    out = []
    for job in group.members:
        if job.name in errors:
            r = RunResult(
                job.name, "failed", str(errors[job.name]), job.log_file, worker, seconds=share, train_s=share
            )
            write_status(job.status_file, state="failed", error=r.error, log_file=job.log_file, worker=worker)
            out.append(r)
            continue
        r = run_one(job)  # trained now: only evaluated
        if job in todo:
            r = dataclasses.replace(r, trained=True, train_s=share, seconds=r.seconds + share)
        out.append(r)
    return out


def _set_threads(threads: int) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


_LEVELS: list[int] = []  # the "codecfake" logger's level before a group raised it to INFO (restored after)


def _attach_logs(jobs: Sequence[Job]) -> list[logging.Handler]:
    """The group's training log goes to every member's log file (INFO and up; the console keeps its own level)."""
    ours = logging.getLogger("codecfake")
    _LEVELS.append(ours.level)
    ours.setLevel(logging.INFO)
    handlers: list[logging.Handler] = []
    for job in jobs:
        Path(job.log_file).parent.mkdir(parents=True, exist_ok=True)
        h = logging.FileHandler(job.log_file, encoding="utf-8")
        h.setLevel(logging.INFO)
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
        ours.addHandler(h)
        handlers.append(h)
    return handlers


def _detach_logs(handlers: list[logging.Handler]) -> None:
    ours = logging.getLogger("codecfake")
    if not handlers or handlers[0] not in ours.handlers:
        return  # detached already
    for h in handlers:
        ours.removeHandler(h)
        h.close()
    ours.setLevel(_LEVELS.pop())


__all__ = ["GroupJob", "SHARE_READS", "Unit", "make_units", "run_group", "run_unit"]
