"""One training run in progress: model, optimiser (Adam or a SAM family), sampler, epochs, checkpoints, metrics.

``Trainer.run`` trains until ``config.epochs``, evaluates dev loss and dev EER after each epoch, keeps the weights
with the lowest dev loss as ``checkpoints/best`` and the full state as ``checkpoints/last`` (every epoch, and every
``save_every_steps`` steps), and rewrites ``metrics.jsonl``. ``load_last`` resumes from ``last`` — mid-epoch too —
with the batches the run would have drawn; on CPU with a fixed seed the result equals an uninterrupted run's. The run
folder itself (lock, config, provenance, DONE) is ``train/rundir.py``'s.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codecfake.atomic import write_atomic
from codecfake.lease import Lease
from codecfake.progress import NoProgress, Progress
from codecfake.train import checkpoint as ck
from codecfake.train.config import TrainConfig
from codecfake.train.csam import PerDomainSAM
from codecfake.train.data import Prefetcher, TrainingData
from codecfake.train.errors import TrainError
from codecfake.train.feataug import MixedTargets, parse_feataug
from codecfake.train.feataug import apply as apply_feataug
from codecfake.train.feataug import loss as feataug_loss
from codecfake.train.fusion import fusion_weights
from codecfake.train.losses import class_weight_tensor
from codecfake.train.plan import make_sampler
from codecfake.train.sam import SAM, build_base_optimizer, plain_step
from codecfake.train.validate import evaluate_dev

log = logging.getLogger(__name__)


def lr_at(config: TrainConfig, epoch: int) -> float:
    """The paper's step schedule: lr * decay ** (epoch // step)."""
    return config.lr * config.lr_decay ** (epoch // config.lr_step_epochs)


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
        self.feataug = parse_feataug(c.feataug)
        self.state = RunState()
        self.lease: Lease | None = None

    # ---- one optimiser step ----
    def _loss(
        self, model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor | MixedTargets]
    ) -> torch.Tensor:
        x, y = batch
        return feataug_loss(model(x)[1], y, self.class_weights)  # y: labels, or mixup's soft targets

    def step(self, x: torch.Tensor, y: torch.Tensor, dom: torch.Tensor) -> float:
        x = x.to(self.device, non_blocking=True).float()  # (B, T, D) float16 -> float32 on the device
        y = y.to(self.device, non_blocking=True)
        x, targets = apply_feataug(self.feataug, x, y, dom, self.config.seed, self.state.global_step)
        if isinstance(self.sam, PerDomainSAM):  # --opt csam-pd
            present = sorted(set(dom.tolist()))
            subs = [(x[dom == d], targets[dom == d]) for d in present]
            weights = [len(s[1]) / len(targets) for s in subs]
            return self.sam.step(self._loss, subs, weights)
        if self.sam is not None:
            return self.sam.step(self._loss, (x, targets))
        return plain_step(self.model, self.base, self._loss, (x, targets))

    # ---- checkpoints ----
    def _check_lease(self) -> None:
        if self.lease is not None:
            self.lease.check()

    def save_last(self) -> None:
        self._check_lease()
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
    def begin_epoch(self) -> tuple[float, list[np.ndarray]]:
        """Set the epoch's learning rate and training mode; (lr, the epoch's batches of train positions)."""
        lr = lr_at(self.config, self.state.epoch)
        for g in self.base.param_groups:
            g["lr"] = lr
        self.model.train()
        return lr, self.sampler.epoch(self.state.epoch)

    def after_step(self, loss: float, n_clips: int, seconds: float, n_batches: int) -> bool:
        """Account one step (``seconds`` since the previous one); True when a mid-epoch checkpoint is due."""
        c, s = self.config, self.state
        if not math.isfinite(loss):
            raise TrainError(
                f"{self.run_dir}: training loss became {loss} at epoch {s.epoch + 1} step "
                f"{s.step + 1}; lower --lr or check the features for NaN"
            )
        s.acc["time_s"] += seconds
        s.acc["loss_sum"] += loss
        s.acc["steps"] += 1
        s.acc["clips"] += n_clips
        s.step += 1
        s.global_step += 1
        return bool(c.save_every_steps and s.step % c.save_every_steps == 0 and s.step < n_batches)

    def run(self, progress: Progress | None = None, lease: Lease | None = None) -> None:
        """Train until ``config.epochs``; ``progress`` gets one task per epoch, one unit per step. ``lease``: the
        run folder's (train/rundir.py), checked before every checkpoint so that a holder that lost it stops."""
        c, s, progress = self.config, self.state, progress or NoProgress()
        self.lease = lease
        while s.epoch < c.epochs:
            lr, batches = self.begin_epoch()
            feeder = Prefetcher(self.data, self.data.epoch_split(s.epoch), batches[s.step :])
            progress.start(f"epoch {s.epoch + 1}/{c.epochs}", len(batches), "step", done=s.step)
            t_last = time.perf_counter()
            try:
                for x, y, dom in feeder:
                    loss = self.step(x, y, dom)
                    now = time.perf_counter()
                    save = self.after_step(loss, len(y), now - t_last, len(batches))
                    t_last = now
                    progress.advance(1, loss=loss, clips_s=s.acc["clips"] / max(s.acc["time_s"], 1e-9))
                    if save:
                        s.acc["wait_s"] += feeder.wait_s
                        feeder.wait_s = 0.0
                        self.save_last()
            finally:
                feeder.close()
            s.acc["wait_s"] += feeder.wait_s
            self.end_epoch(lr)

    def end_epoch(self, lr: float) -> None:
        """Dev loss and EER, the best checkpoint when it improved, the metrics row, and the last checkpoint."""
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
        row: dict[str, Any] = {  # one line of the run's metrics log
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
            self._check_lease()
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
