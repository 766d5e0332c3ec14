"""Shared reads: runs that draw the same batches train in one process from one read of each batch.

Runs of one matrix that differ only in what they do with a batch — the Adam, SAM and ASAM cells of one setting, or
two back-ends on the same features — draw the same batches when they share task, training sets, seed, batch size,
sampler and epochs. ``train_together`` reads (or streams) each batch once and steps every model on it, each model
with its own run folder, optimiser, SAM state, sampler position and **random-number stream**: before a model's step,
checkpoint or end of epoch its own torch / numpy / python generator states are installed and afterwards saved back,
so dropout masks (and anything else drawn) are those it would draw alone. Each run's weights, checkpoints, metrics
losses and scores are therefore bit-identical to training it alone with ``train()`` (tested on CPU).

Every member is started exactly as ``train()`` starts a run (``prepare_run``: seeded, its model built; its folder
claimed by a ``RunWriter``, held for the whole group; ``open_trainer``: resumed or new), so a group killed mid-way
resumes every member from its own last checkpoint, wherever each stopped: the group reads from the earliest member's
position, and a member already past a batch skips it. The training data is selected (and its shards checked) once. A member whose step fails (a non-finite loss) leaves
the group with its error; the others go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from codecfake.device import resolve_device
from codecfake.progress import NoProgress, Progress
from codecfake.store import FeatureStore
from codecfake.train import checkpoint as ck
from codecfake.train.config import TrainConfig
from codecfake.train.data import Prefetcher, TrainingData, load_training_data
from codecfake.train.data_mode import load_for_mode
from codecfake.train.errors import TrainError
from codecfake.train.loop import check_domain_ratio, deterministic_cudnn, open_trainer, prepare_run
from codecfake.train.rundir import Builder, RunWriter
from codecfake.train.trainer import Trainer

log = logging.getLogger(__name__)


class SharedReadsError(TrainError):
    """Runs asked to share reads do not draw the same batches from the same clips."""


@dataclass
class Member:
    """One run of the group: its trainer and its own random-number generator states."""

    trainer: Trainer
    writer: RunWriter  # holds the run folder's lease for the whole group
    rng: tuple[dict[str, torch.Tensor], dict] = field(default_factory=ck.rng_parts)
    error: BaseException | None = None

    @contextmanager
    def own_rng(self) -> Iterator[None]:
        """Install this run's generator states for the duration, and keep what it drew."""
        ck.restore_rng(*self.rng)
        try:
            yield
        finally:
            self.rng = ck.rng_parts()


@dataclass(frozen=True)
class GroupResult:
    run_dirs: tuple[Path, ...]  # per config, in order
    errors: tuple[BaseException | None, ...]  # per config: None, or why that run stopped
    batches_read: int  # batches fetched for the whole group (each once)
    steps: int  # model steps taken (each batch counts once per model that stepped on it)


# TrainConfig fields that decide which clips a run reads and in which batches (with ``opt`` only through whether it
# stratifies by domain and csam-pd's two-per-domain minimum): runs equal in all of them can share reads.
SHARING_FIELDS = (
    "task",
    "features",
    "extractor",
    "array",
    "layers",
    "seed",
    "batch",
    "epochs",
    "domain_ratio",
    "csam_epoch",
    "csam_draw",
    "shuffle",
    "shuffle_window_shards",
    "augment",
    "augment_seed",
    "clean_prob",
    "data_mode",
    "memory_limit_mb",
    "device",
    "threads",
    "hold_out",
)


def sharing_key(config: TrainConfig) -> tuple:
    """Runs with equal keys draw the same batches from the same clips (a guess from the configuration alone: the
    group checks it again on the data, ``SharedReadsError``)."""
    values = tuple(getattr(config, f, None) for f in SHARING_FIELDS)
    return (*values, config.needs_domains, config.opt == "csam-pd")


def _check_same_batches(members: Sequence[Member]) -> None:
    first = members[0].trainer
    for m in members[1:]:
        t = m.trainer
        if t.sampler.describe() != first.sampler.describe() or t.config.epochs != first.config.epochs:
            raise SharedReadsError(
                f"{t.run_dir} draws other batches than {first.run_dir} (sampler {t.sampler.describe()} vs "
                f"{first.sampler.describe()}, epochs {t.config.epochs} vs {first.config.epochs}); share reads only "
                "between runs of the same task, sets, seed, batch, sampler and epochs"
            )


def _check_configs(configs: Sequence[TrainConfig]) -> None:
    """Refuse, before any data is read, runs whose options would read other clips or draw other batches."""
    keys = [sharing_key(c) for c in configs]
    for c, k in zip(configs[1:], keys[1:], strict=True):
        if k != keys[0]:
            diff = [f for f, a, b in zip(SHARING_FIELDS, k, keys[0], strict=False) if a != b] or ["opt"]
            raise SharedReadsError(
                f"run {c.name or c.opt!r} reads other clips or draws other batches than "
                f"{configs[0].name or configs[0].opt!r} (differs in {diff}); train them separately"
            )
    for config in configs:
        check_domain_ratio(config)


def train_together(
    configs: Sequence[TrainConfig],
    store: str | Path | FeatureStore,
    runs: str | Path,
    *,
    builder: Builder | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> GroupResult:
    """Train (or resume, or reuse) every run of ``configs`` from one read of each batch (module docstring)."""
    _check_configs(configs)
    if configs[0].threads:
        torch.set_num_threads(configs[0].threads)
    device = resolve_device(configs[0].device)
    deterministic_cudnn(device)  # as train() does
    fstore = store if isinstance(store, FeatureStore) else FeatureStore(store)
    data = load_training_data(fstore, configs[0])  # the same clips for every member (equal sharing keys)
    dirs: list[Path] = []
    members: list[Member | None] = []
    reads = steps = 0
    with ExitStack() as held:
        for config in configs:  # each run started exactly as train() starts it
            config, model = prepare_run(config, data, builder)
            writer = held.enter_context(RunWriter.claim(Path(runs) / config.name))
            trainer = open_trainer(config, data, model, device, writer, force=force)
            dirs.append(writer.run_dir)
            members.append(None if trainer is None else Member(trainer, writer))  # its generators as now
        active = [m for m in members if m is not None]
        if active:
            _check_same_batches(active)
            for m in active:
                m.trainer.lease = m.writer.lease  # checked before each of its checkpoints
            load_for_mode(active[0].trainer.config, data)  # into memory once for every member (or streamed)
            log.info(
                "%d runs share reads: %s", len(active), ", ".join(m.trainer.run_dir.name for m in active)
            )
            reads, steps = _train(active, data, progress or NoProgress())
        for m in active:
            if m.error is None:
                m.writer.write_done(m.trainer.config.epochs, m.trainer.state.best)
    errors = tuple(None if m is None else m.error for m in members)
    return GroupResult(tuple(dirs), errors, reads, steps)


def _train(members: list[Member], data: TrainingData, progress: Progress) -> tuple[int, int]:
    epochs = members[0].trainer.config.epochs
    reads = steps = 0
    while True:
        live = [m for m in members if m.error is None and m.trainer.state.epoch < epochs]
        if not live:
            return reads, steps
        epoch = min(m.trainer.state.epoch for m in live)
        here = [m for m in live if m.trainer.state.epoch == epoch]
        lrs, batches = {}, None
        for m in here:
            with m.own_rng():
                lrs[id(m)], batches = m.trainer.begin_epoch()
        assert batches is not None
        first = min(m.trainer.state.step for m in here)
        progress.start(
            f"epoch {epoch + 1}/{epochs} ({len(here)} runs, shared reads)", len(batches), "step", first
        )
        r, n = _epoch(here, data, batches, first, progress)
        reads, steps = reads + r, steps + n
        for m in here:
            if m.error is None:
                _guarded(m, m.trainer.end_epoch, lrs[id(m)])


def _guarded(m: Member, action: Callable[..., Any], *args: Any) -> Any:
    """``action(*args)`` in the member's own generator states; a TrainError takes the member out of the group."""
    try:
        with m.own_rng():
            return action(*args)
    except TrainError as err:
        log.error("%s: %s; the other runs of the group go on", m.trainer.run_dir, err)
        m.error = err
        return None


def _epoch(
    here: list[Member], data: TrainingData, batches: list, first: int, progress: Progress
) -> tuple[int, int]:
    feeder = Prefetcher(data, data.epoch_split(here[0].trainer.state.epoch), batches[first:])
    reads = steps = 0
    try:
        device = here[0].trainer.device
        for k, (x, y, dom) in enumerate(feeder, start=first):
            reads += 1
            # onto the device and to float32 once for every model (each model's step would make the same copy)
            x, y = x.to(device, non_blocking=True).float(), y.to(device, non_blocking=True)
            due = [m for m in here if m.error is None and m.trainer.state.step == k]
            wait = feeder.wait_s / max(len(due), 1)  # the read this batch waited for, shared by its models
            feeder.wait_s = 0.0
            for m in due:
                t, t0 = m.trainer, time.perf_counter()
                loss = _guarded(m, t.step, x, y, dom)
                if m.error is not None:
                    continue
                took = time.perf_counter() - t0 + wait
                t.state.acc["wait_s"] += wait
                if _guarded(m, t.after_step, loss, len(y), took, len(batches)):
                    _guarded(m, t.save_last)
                steps += 1
            progress.advance(1, runs=len(due))
    finally:
        feeder.close()
    return reads, steps


__all__ = [
    "SHARING_FIELDS",
    "GroupResult",
    "SharedReadsError",
    "sharing_key",
    "train_together",
]
