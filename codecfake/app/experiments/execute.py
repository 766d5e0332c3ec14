"""Run a planned matrix: each run the ordinary ``codecfake train`` then ``codecfake evaluate`` (through the in-process
dispatcher), one after another here or as dask tasks on a cluster's workers.

Resumable by construction: a run whose report is newer than its weights is not started again; a trained but not
evaluated run is only evaluated; a started run resumes where ``codecfake train`` left it (its last checkpoint). A run
that fails (a typed error, a non-zero exit, an exception, a lost worker) is recorded with its error and log file and
the others go on. Each run writes its log to ``<out>/logs/<run>.log`` and its state to ``<out>/status/<run>.json``
(queued, running on which worker, done with its headline EER, failed), which the progress board reads.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codecfake.app.experiments.plan import PlannedRun, run_state
from codecfake.atomic import write_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """What a worker needs to make one run (picklable: plain values only)."""

    name: str
    train_argv: tuple[str, ...]
    evaluate_argv: tuple[str, ...]
    run_dir: str
    status_file: str
    log_file: str
    threads: int = 0  # torch CPU threads for this run (0: the process's default)
    robustness_argv: tuple[str, ...] = ()  # the laundering sweep after evaluation ((): none)


@dataclass(frozen=True)
class RunResult:
    name: str
    status: str  # done | failed
    error: str = ""
    log_file: str = ""
    worker: str = ""
    seconds: float = 0.0
    train_s: float = 0.0
    evaluate_s: float = 0.0
    robustness_s: float = 0.0
    trained: bool = False  # False: an earlier attempt had finished training (reused)
    evaluated: bool = False  # False: the report was already up to date
    headline: dict[str, float] = field(default_factory=dict)  # AVG, CAVG (EER %, both conventions)


def make_jobs(runs: Sequence[PlannedRun], out_dir: Path, threads: int = 0) -> list[Job]:
    return [
        Job(
            name=r.name,
            train_argv=r.train_argv,
            evaluate_argv=r.evaluate_argv,
            run_dir=str(r.run_dir),
            status_file=str(out_dir / "status" / f"{r.name}.json"),
            log_file=str(out_dir / "logs" / f"{r.name}.log"),
            threads=threads,
            robustness_argv=r.robustness_argv,
        )
        for r in runs
    ]


def write_status(path: str | Path, **doc: Any) -> None:
    write_atomic(Path(path), json.dumps({**doc, "time": time.time()}, sort_keys=True) + "\n")


def read_status(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def headline(run_dir: str | Path) -> dict[str, float]:
    """The run's averages from its report (``AVG``/``CAVG`` EER(s), ``AVG_paper``/``CAVG_paper`` min over both)."""
    from codecfake.evaluate.conditions import averages

    try:
        report = json.loads((Path(run_dir) / "report" / "report.json").read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for suffix, key in (("", "eer"), ("_paper", "eer_paper")):
        vals = {c["name"]: float(c[key]) for c in report.get("conditions", []) if key in c}
        for name, a in averages(vals).items():
            if a["over"]:
                out[name + suffix] = a["value"]
    return out


def with_device(argv: Sequence[str], device: str) -> list[str]:
    out = list(argv)
    if "--device" in out:
        out[out.index("--device") + 1] = device
    return out


def run_one(job: Job) -> RunResult:
    """Train (or resume) then evaluate one run in this process; never raises for the run's own failure."""
    from codecfake.app.dispatch import run
    from codecfake.app.experiments.cluster import worker_device, worker_name

    worker = worker_name() or "here"
    t0 = time.perf_counter()
    Path(job.log_file).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(job.log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    ours = logging.getLogger("codecfake")
    level, threads = ours.level, None
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    write_status(job.status_file, state="running", worker=worker, host=socket.gethostname(), pid=os.getpid())
    result: dict[str, Any] = {"name": job.name, "log_file": job.log_file, "worker": worker}
    try:
        if job.threads:
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(job.threads)
        log.info("run %s on worker %s (pid %d)", job.name, worker, os.getpid())
        state = run_state(Path(job.run_dir))
        device = next((a for a, b in zip(job.train_argv[1:], job.train_argv) if b == "--device"), "auto")
        device = worker_device(device)
        steps = (
            ("train", job.train_argv, state in ("trained", "evaluated")),
            ("evaluate", job.evaluate_argv, state == "evaluated"),
            ("robustness", job.robustness_argv, not job.robustness_argv or _swept(job)),
        )
        for step, argv, done in steps:
            if done:
                continue
            t = time.perf_counter()
            rc = run(with_device(argv, device))
            result[f"{step}_s"] = time.perf_counter() - t
            if step != "robustness":
                result["trained" if step == "train" else "evaluated"] = True
            if rc != 0:
                raise RuntimeError(f"`codecfake {step}` exited with status {rc}")
        result |= {"status": "done", "headline": headline(job.run_dir)}
    except KeyboardInterrupt:
        write_status(job.status_file, state="interrupted", worker=worker)
        raise
    except Exception as err:  # the run's own failure: recorded, the matrix goes on
        from codecfake.errors import CodecfakeError

        text = str(err) if isinstance(err, CodecfakeError) else f"{type(err).__name__}: {err}"
        log.error("run %s failed: %s", job.name, text)
        if not isinstance(err, CodecfakeError):
            log.error("%s", traceback.format_exc())
        result |= {"status": "failed", "error": text}
    finally:
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        ours.removeHandler(handler)
        ours.setLevel(level)
        handler.close()
    out = RunResult(**result, seconds=time.perf_counter() - t0)
    write_status(job.status_file, state=out.status, **{k: v for k, v in asdict(out).items() if k != "status"})
    return out


def _swept(job: Job) -> bool:
    from codecfake.app.experiments.plan import degrade_of, sweep_done

    return sweep_done(Path(job.run_dir), degrade_of(job.robustness_argv))


def run_serial(
    units: Sequence[Any], run_unit: Callable[[Any], list[RunResult]], on_result: Callable[[RunResult], None]
) -> None:
    """One unit of work (a run, or a group of runs sharing reads) after another in this process."""
    for unit in units:
        for result in run_unit(unit):
            on_result(result)


def run_on_cluster(
    client: Any,
    units: Sequence[Any],
    run_unit: Callable[[Any], list[RunResult]],
    on_result: Callable[[RunResult], None],
) -> None:
    """One dask task per unit (GPU runs take the workers' GPU resource, so one unit per GPU); results as they come.
    A task lost with its worker (dask retries it elsewhere first) is reported as failed runs."""
    from distributed import as_completed

    workers = client.scheduler_info()["workers"].values()
    gpu = {"GPU": 1} if any((w.get("resources") or {}).get("GPU") for w in workers) else None
    futures = {
        client.submit(run_unit, unit, key=f"matrix-{unit.name}", pure=False, resources=gpu, priority=-k): unit
        for k, unit in enumerate(units)
    }
    for fut in as_completed(futures):
        unit = futures[fut]
        try:
            results = fut.result()
        except Exception as err:  # the task itself died (a killed worker): not the runs' own report
            results = []
            for job in getattr(unit, "members", (unit,)):
                results.append(RunResult(job.name, "failed", f"{type(err).__name__}: {err}", job.log_file))
                write_status(job.status_file, state="failed", error=results[-1].error, log_file=job.log_file)
        for result in results:
            on_result(result)


__all__ = [
    "Job",
    "RunResult",
    "headline",
    "make_jobs",
    "read_status",
    "run_on_cluster",
    "run_one",
    "run_serial",
    "write_status",
]
