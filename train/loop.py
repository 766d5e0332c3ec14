"""The training loop: feature sets -> back-end -> run directory, resumable after a crash.

``train(config, store, runs)`` checks everything before work starts (back-end, data, input shape), then trains for
``config.epochs`` epochs with the chosen optimiser, evaluates dev loss and dev EER after each epoch, keeps the weights
with the lowest dev loss as ``best`` and the full state as ``last``. Rerunning the same command resumes from ``last``
(mid-epoch too with ``save_every_steps``); on CPU with a fixed seed the result equals an uninterrupted run's.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codecfake.atomic import write_atomic
from codecfake.common import RUNTIME_KEYS
from codecfake.device import resolve_device
from codecfake.progress import NoProgress, Progress
from codecfake.store import FeatureStore
from codecfake.train import checkpoint as ck
from codecfake.train.config import ConfigError, TrainConfig, default_run_name
from codecfake.train.csam import PerDomainSAM
from codecfake.train.data import TASK_DOMAINS, Prefetcher, TrainingData, load_into_memory, load_training_data
from codecfake.train.errors import TrainError
from codecfake.train.fusion import fusion_weights, wrap_for_input
from codecfake.train.layers import array_names, input_shape
from codecfake.train.losses import class_weight_tensor, weighted_ce
from codecfake.train.plan import make_sampler
from codecfake.train.rundir import Builder, default_builder, make_provenance, read_json
from codecfake.train.sam import SAM, build_base_optimizer, plain_step
from codecfake.train.validate import evaluate_dev

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_at(config: TrainConfig, epoch: int) -> float:
    """The paper's step schedule: lr * decay ** (epoch // step)."""
    return config.lr * config.lr_decay ** (epoch // config.lr_step_epochs)


def build_model(
    config: TrainConfig, frame_shape: tuple[int, int], builder: Builder | None, n_classes: int = 0
) -> torch.nn.Module:
    """Build the back-end and run two zero clips through it, so a shape it cannot take fails now.

    ``n_classes``: the trace task's K (the builder gets ``n_classes=K``); 0 = the binary head.
    A fused input (``config.array`` "L00+L05") wraps the back-end in ``FusedBackend`` (train/fusion.py); its weights
    start at 0 and draw no random numbers, so the back-end's initial weights equal a plain run's."""
    kw = {"n_classes": n_classes} if n_classes else {}
    model = wrap_for_input((builder or default_builder)(config.backend, frame_shape, **kw), config.array)
    model.eval()
    try:
        with torch.no_grad():
            _, logits = model(torch.zeros(2, *input_shape(config.array, frame_shape)))
    except (RuntimeError, ValueError) as err:
        raise TrainError(
            f"back-end {config.backend!r} cannot take input (B, {frame_shape[0]}, {frame_shape[1]}): "
            f"{err}; use a feature set whose frames fit (mel (505, 80), XLS-R (201, 1024))"
        ) from None
    if tuple(logits.shape) != (2, n_classes or 2):
        raise TrainError(
            f"back-end {config.backend!r} returned logits {tuple(logits.shape)}, expected "
            f"(B, {n_classes or 2})"
        )
    return model


@dataclass
class RunState:
    """The bookkeeping saved beside the tensors in last.json."""

    epoch: int = 0  # epoch in progress (== epochs when finished)
    step: int = 0  # next batch index within `epoch`
    global_step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=dict)
    acc: dict[str, float] = field(
        default_factory=lambda: {"loss_sum": 0.0, "steps": 0, "clips": 0, "wait_s": 0.0, "time_s": 0.0}
    )


class Trainer:
    """One run: model, optimiser, sampler and run directory."""

    def __init__(
        self,
        config: TrainConfig,
        data: TrainingData,
        model: torch.nn.Module,
        run_dir: Path,
        device: torch.device,
    ):
        self.config, self.data, self.run_dir, self.device = config, data, run_dir, device
        self.model = model.to(device)
        c = config
        self.base = build_base_optimizer(
            self.model, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.adam_eps, weight_decay=c.weight_decay
        )
        sam_cls = PerDomainSAM if c.opt == "csam-pd" else SAM
        self.sam = (
            sam_cls(self.model, self.base, rho=c.rho, adaptive=c.adaptive, same_dropout=c.same_dropout)
            if c.sam_family
            else None
        )
        try:
            self.sampler = make_sampler(c, data)
        except ValueError as err:  # shares or batch that cannot fit these training sets
            raise TrainError(
                f"{run_dir}: --opt {c.opt} cannot draw batches from {data.domains}: {err}; change "
                "--domain-ratio or --batch"
            ) from None
        self.class_weights = class_weight_tensor(data.class_weights or c.class_weights, device)  # trace: K
        self.state = RunState()

    # ---- one optimiser step ----
    def _loss(self, model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return weighted_ce(model(x)[1], y, self.class_weights)

    def step(self, x: torch.Tensor, y: torch.Tensor, dom: torch.Tensor) -> float:
        x = x.to(self.device, non_blocking=True).float()  # (B, T, D) float16 -> float32 on the device
        y = y.to(self.device, non_blocking=True)
        if self.config.opt == "csam-pd":
            present = sorted(set(dom.tolist()))
            subs = [(x[dom == d], y[dom == d]) for d in present]
            weights = [len(s[1]) / len(y) for s in subs]
            return self.sam.step(self._loss, subs, weights)
        if self.sam is not None:
            return self.sam.step(self._loss, (x, y))
        return plain_step(self.model, self.base, self._loss, (x, y))

    # ---- checkpoints ----
    def save_last(self) -> None:
        opt_t, opt_doc = ck.optimizer_parts(self.base)
        rng_t, rng_doc = ck.rng_parts()
        s = self.state
        doc = {
            "kind": "last",
            "epoch": s.epoch,
            "step": s.step,
            "global_step": s.global_step,
            "history": s.history,
            "best": s.best,
            "acc": s.acc,
            "optimizer": opt_doc,
            "sam": self.sam.state_dict() if self.sam else None,
            "scheduler": {
                "kind": "step",
                "lr0": self.config.lr,
                "decay": self.config.lr_decay,
                "step_epochs": self.config.lr_step_epochs,
                "epoch": s.epoch,
            },
            "sampler": {**self.sampler.describe(), "epoch": s.epoch, "step": s.step},
            "rng": rng_doc,
            "config": self.config.to_dict(),
            "frame_shape": list(self.data.frame_shape),
        }
        ck.save_checkpoint(
            self.run_dir / "checkpoints" / "last", {**ck.model_tensors(self.model), **opt_t, **rng_t}, doc
        )
        self._write_metrics()

    def load_last(self) -> bool:
        stem = self.run_dir / "checkpoints" / "last"
        if not stem.with_suffix(".json").is_file():
            return False
        tensors, doc = ck.load_checkpoint(stem)
        check_same_batches(doc.get("sampler") or {}, self.sampler, stem.with_suffix(".json"))
        ck.load_model_tensors(self.model, tensors, str(stem))
        ck.load_optimizer_parts(
            self.base, {k: v.to(self.device) for k, v in tensors.items()}, doc["optimizer"]
        )
        ck.restore_rng(tensors, doc["rng"])
        self.state = RunState(
            doc["epoch"], doc["step"], doc["global_step"], doc["history"], doc["best"], doc["acc"]
        )
        log.info("%s: resuming at epoch %d step %d", self.run_dir, self.state.epoch + 1, self.state.step)
        return True

    def _write_metrics(self) -> None:
        lines = "".join(json.dumps(row, sort_keys=True) + "\n" for row in self.state.history)
        write_atomic(self.run_dir / "metrics.jsonl", lines)

    # ---- the loop ----
    def run(self, progress: Progress | None = None) -> None:
        """Train until ``config.epochs``; ``progress`` gets one task per epoch, one unit per step."""
        c, s, progress = self.config, self.state, progress or NoProgress()
        while s.epoch < c.epochs:
            lr = lr_at(c, s.epoch)
            for g in self.base.param_groups:
                g["lr"] = lr
            batches = self.sampler.epoch(s.epoch)
            self.model.train()
            feeder = Prefetcher(self.data, self.data.train, batches[s.step :])
            progress.start(f"epoch {s.epoch + 1}/{c.epochs}", len(batches), "step", done=s.step)
            t_last = time.perf_counter()
            try:
                for x, y, dom in feeder:
                    loss = self.step(x, y, dom)
                    if not math.isfinite(loss):
                        raise TrainError(
                            f"{self.run_dir}: training loss became {loss} at epoch {s.epoch + 1} step "
                            f"{s.step + 1}; lower --lr or check the features for NaN"
                        )
                    now = time.perf_counter()
                    s.acc["time_s"] += now - t_last
                    t_last = now
                    s.acc["loss_sum"] += loss
                    s.acc["steps"] += 1
                    s.acc["clips"] += len(y)
                    s.step += 1
                    s.global_step += 1
                    progress.advance(1, loss=loss, clips_s=s.acc["clips"] / max(s.acc["time_s"], 1e-9))
                    if c.save_every_steps and s.step % c.save_every_steps == 0 and s.step < len(batches):
                        s.acc["wait_s"] += feeder.wait_s
                        feeder.wait_s = 0.0
                        self.save_last()
            finally:
                feeder.close()
            s.acc["wait_s"] += feeder.wait_s
            self._end_epoch(lr)

    def _end_epoch(self, lr: float) -> None:
        c, s = self.config, self.state
        order = None
        if (
            c.dev_loss == "batch-mean"
        ):  # the release: shuffled dev batches of `batch` clips, the last one short
            perm = np.random.default_rng([c.seed, s.epoch, 0xDE7]).permutation(len(self.data.dev))
            order = [perm[i : i + c.batch] for i in range(0, len(perm), c.batch)]
        exact, batch_mean, dev_eer = evaluate_dev(
            self.model, self.data, self.class_weights, self.device, c.eval_batch, order
        )
        dev_loss = batch_mean if c.dev_loss == "batch-mean" else exact
        acc = s.acc
        row = {
            "epoch": s.epoch + 1,
            "train_loss": acc["loss_sum"] / max(acc["steps"], 1),
            "dev_loss": dev_loss,
            "dev_loss_exact": exact,
            "dev_eer": dev_eer,
            "lr": lr,
            "clips_per_s": acc["clips"] / max(acc["time_s"], 1e-9),
            "data_wait_share": acc["wait_s"] / max(acc["time_s"], 1e-9),
            "steps": int(acc["steps"]),
            "global_step": s.global_step,
        }
        log.info(
            "epoch %d/%d: train loss %.4f, dev loss %.4f, dev EER %.2f %%, %.0f clips/s",
            row["epoch"],
            c.epochs,
            row["train_loss"],
            dev_loss,
            dev_eer,
            row["clips_per_s"],
        )
        weights = fusion_weights(self.model, c.array)
        if weights is not None:  # fused layers: the learned softmax weights after this epoch
            row["fusion_weights"] = weights
            log.info(
                "epoch %d/%d: layer weights %s",
                row["epoch"],
                c.epochs,
                ", ".join(f"{k} {v:.3f}" for k, v in weights.items()),
            )
        s.history.append(row)
        if not s.best or dev_loss < s.best["dev_loss"]:
            s.best = {"epoch": row["epoch"], "dev_loss": dev_loss, "dev_eer": dev_eer}
            ck.save_checkpoint(
                self.run_dir / "checkpoints" / "best",
                ck.model_tensors(self.model),
                {
                    "kind": "best",
                    "epoch": row["epoch"],
                    "metrics": row,
                    "backend": c.backend,
                    "frame_shape": list(self.data.frame_shape),
                },
            )
        s.epoch += 1
        s.step = 0
        s.acc = RunState().acc
        self.save_last()


def _same_config(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Keys whose values differ; a key absent on one side (a run saved before the field existed) is its default."""
    d = TrainConfig().to_dict()
    return sorted(
        k for k in set(a) | set(b) if k not in RUNTIME_KEYS and a.get(k, d.get(k)) != b.get(k, d.get(k))
    )


def prepare_run_dir(run_dir: Path, config: TrainConfig, force: bool) -> str:
    """'new', 'resume' or 'done'; refuses a run folder that holds a different configuration."""
    if force and run_dir.exists():
        log.warning("--force: removing %s", run_dir)
        shutil.rmtree(run_dir)
    if not (run_dir / "config.json").is_file():
        return "new"
    diff = _same_config(read_json(run_dir / "config.json"), config.to_dict())
    if diff:
        raise TrainError(
            f"{run_dir} holds a run with a different configuration (differs in {diff}); pick another "
            "--name, or add --force to overwrite it"
        )
    return "done" if (run_dir / "DONE").is_file() else "resume"


def check_domain_ratio(config: TrainConfig) -> None:
    """Refuse, before any data is read, a ``domain_ratio`` whose length cannot fit the task's domains (sets found
    by task; explicit ``features`` are checked against their own domains once opened, by the Trainer)."""
    if not config.domain_ratio or config.features:
        return
    domains = TASK_DOMAINS[config.task]  # sorted names: the order the shares are given in
    n, ratio = len(domains), list(config.domain_ratio)
    if len(ratio) == n or (len(ratio) == 1 and n == 2 and 0.0 < ratio[0] < 1.0):
        return
    raise ConfigError(
        f"--domain-ratio {','.join(map(str, ratio))}: task {config.task} trains on {n} domain(s) "
        f"{', '.join(domains)}; give {n} shares in that order"
        + (" or one share in (0, 1) for the first" if n == 2 else "")
    )


def train(
    config: TrainConfig,
    store: str | Path | FeatureStore,
    runs: str | Path,
    *,
    builder: Builder | None = None,
    force: bool = False,
    progress: Progress | None = None,
    given: Collection[str] | None = None,
) -> Path:
    """Train (or resume, or reuse a finished) run; returns ``runs/<name>``. All checks happen before training.

    ``given``: the config keys set explicitly (``codecfake train`` passes its flags); on demo feature sets the
    other epochs/batch/lr/lr_step_epochs/rho then come from configs/demo.toml (train/demo_defaults.py). None: the
    config is used as it is."""
    check_domain_ratio(config)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    fstore = store if isinstance(store, FeatureStore) else FeatureStore(store)
    data = load_training_data(fstore, config)
    seed_everything(config.seed)
    config = config.replace(array=data.array)  # the array found (fused: as asked) decides the model's input
    model = build_model(config, data.frame_shape, builder, len(data.classes))  # seeded: same weights on rerun
    config = config.replace(
        features=tuple(fs.key for fs in data.sets),
        name=config.name or default_run_name(config, data.extractor.get("extractor", "")),
    )
    run_dir = Path(runs) / config.name
    if given is not None:
        from codecfake.train.demo_defaults import with_demo_defaults

        saved = run_dir / "config.json"
        saved_config = read_json(saved) if saved.is_file() and not force else None
        config = with_demo_defaults(config, [fs.spec.corpus for fs in data.sets], given, saved_config)
    status = prepare_run_dir(run_dir, config, force)
    if status == "done":
        log.info("%s already finished; reusing it (add --force to train again)", run_dir)
        return run_dir
    trainer = Trainer(config, data, model, run_dir, device)
    if status == "resume" and trainer.load_last():
        pass
    else:
        ck.write_json(run_dir / "config.json", config.to_dict())
        ck.write_json(
            run_dir / "provenance.json",
            make_provenance(
                config.features,
                data.array,
                data.frame_shape,
                data.extractor,
                backend=config.backend,
                domains=data.domains,
                n_train=len(data.train),
                n_dev=len(data.dev),
                corpora=[fs.spec.corpus for fs in data.sets],
                **(
                    {"classes": list(data.classes), "class_weights": list(data.class_weights)}
                    if data.classes
                    else {}
                ),
                **({"arrays": list(array_names(data.array))} if len(array_names(data.array)) > 1 else {}),
            ),
        )
    _load_data(config, data)
    trainer.run(progress)
    ck.write_json(run_dir / "DONE", {"epochs": config.epochs, "best": trainer.state.best})
    return run_dir


def data_megabytes(data: TrainingData) -> float:
    """Size of the train + dev clips in the sets' dtype (2 bytes a value for float16, 4 for float32 power mels);
    N fused layers count N times."""
    itemsize = np.dtype(data.sets[0].dtype).itemsize
    return (len(data.train) + len(data.dev)) * itemsize * math.prod(data.input_shape) / 2**20


def uses_memory(config: TrainConfig, data: TrainingData) -> bool:
    """True when the run loads its clips into RAM (``data_mode`` memory, or auto below ``memory_limit_mb``)."""
    return config.data_mode == "memory" or (
        config.data_mode == "auto" and data_megabytes(data) <= config.memory_limit_mb
    )


def check_same_batches(saved: dict[str, Any], sampler: Any, source: Path) -> None:
    """Refuse a resume whose sampler would draw other batches than the run drew so far."""
    now = sampler.describe()
    diff = {k: (saved.get(k), v) for k, v in now.items() if saved.get(k) != v}
    if diff:
        shown = "; ".join(f"{k}: run {a!r}, now {b!r}" for k, (a, b) in sorted(diff.items()))
        raise TrainError(
            f"{source}: this run drew its batches differently ({shown}); resuming would change them "
            "mid-run. Rerun with the options it was started with (config.json: shuffle, csam_epoch, "
            "domain_ratio, batch, seed) on the same feature sets, or add --force to start it again"
        )


def _load_data(config: TrainConfig, data: TrainingData) -> None:
    total_mb = data_megabytes(data)
    if uses_memory(config, data):
        t0 = time.perf_counter()
        load_into_memory(data, data.train)
        load_into_memory(data, data.dev)
        log.info(
            "loaded %d + %d clips (%.0f MB) into memory in %.1f s",
            len(data.train),
            len(data.dev),
            total_mb,
            time.perf_counter() - t0,
        )
