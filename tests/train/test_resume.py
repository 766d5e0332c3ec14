"""Resume: kill -9 a training process mid-epoch, rerun the same command, get the uninterrupted run's weights (the
killed holder's stale run lock is taken over)."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

from safetensors.torch import load_file

from codecfake.lease import holder_of, read_holder
from codecfake.train.testing import start_training_script, wait_for_step

SCRIPT = r"""
import sys
from codecfake.train.config import TrainConfig
from codecfake.train.loop import train
from codecfake.train.testing import killable_toy_builder as builder

cfg = TrainConfig(backend="toy", task="cotrain", opt=sys.argv[3], epochs=3, batch=8, lr=0.05, seed=3,
                  save_every_steps=1, threads=1, name="r")
train(cfg, sys.argv[1], sys.argv[2], builder=builder)
"""


def _model_tensors(run: Path) -> dict:
    return {
        k: v
        for k, v in load_file(str(run / "checkpoints" / "last.safetensors")).items()
        if k.startswith("model.")
    }


def test_kill_9_then_rerun_equals_an_uninterrupted_run(demo_store, tmp_path: Path) -> None:
    store, _ = demo_store
    script = tmp_path / "train_toy.py"
    script.write_text(SCRIPT)
    opt = "csam-pd"
    ref = start_training_script(script, store, tmp_path / "ref", opt)
    assert ref.wait(timeout=120) == 0, ref.stdout.read().decode()

    victim = start_training_script(script, store, tmp_path / "runs", opt, slow=True)
    last = tmp_path / "runs" / "r" / "checkpoints" / "last.json"
    # epoch 2, mid-way: 10 steps per epoch = 2 domains x ceil(40 codec clips / batch 8), the release's
    wait_for_step(victim, last, 13)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    state = json.loads(last.read_text())
    assert not (tmp_path / "runs" / "r" / "DONE").exists()
    assert state["epoch"] == 1 and 0 < state["step"] < 10  # really killed mid-epoch
    lock = tmp_path / "runs" / "r" / ".lock"
    assert read_holder(lock).pid == victim.pid and holder_of(lock) is None  # left behind, stale

    again = start_training_script(script, store, tmp_path / "runs", opt)
    assert again.wait(timeout=120) == 0
    log = again.stdout.read().decode()
    assert f"taking over from host {socket.gethostname()} pid {victim.pid}" in log  # the stale lock, said so
    assert not lock.exists()  # released when the run finished
    a, b = _model_tensors(tmp_path / "ref" / "r"), _model_tensors(tmp_path / "runs" / "r")
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] == b[k]).all(), k
    rows_a = [json.loads(x) for x in (tmp_path / "ref" / "r" / "metrics.jsonl").read_text().splitlines()]
    rows_b = [json.loads(x) for x in (tmp_path / "runs" / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows_b] == [1, 2, 3]
    assert [(r["train_loss"], r["dev_loss"]) for r in rows_a] == [
        (r["train_loss"], r["dev_loss"]) for r in rows_b
    ]


class _Stop(Exception):
    pass


def _stop_after(n: int):
    """A codecfake.progress.Progress that interrupts training after ``n`` optimiser steps."""
    from codecfake.progress import NoProgress

    class StopAfter(NoProgress):
        calls = 0

        def advance(self, k: int = 1, **status) -> None:
            self.calls += k
            if self.calls == n:
                raise _Stop

    return StopAfter()


def _two_epoch_cotrain(opt: str, data_mode: str):
    """Co-trained toy run of 2 epochs (10 steps each), checkpointed every step."""
    from codecfake.train.config import TrainConfig

    return TrainConfig(
        backend="toy",
        task="cotrain",
        opt=opt,
        epochs=2,
        batch=8,
        lr=0.05,
        seed=3,
        save_every_steps=1,
        name="r",
        data_mode=data_mode,
    )


def test_resume_in_another_data_mode_draws_the_same_batches(
    demo_store, tmp_path: Path, builder, caplog
) -> None:
    import torch

    from codecfake.train.loop import train

    store, _ = demo_store
    cfg = _two_epoch_cotrain("csam", "memory")
    ref = train(cfg, store, tmp_path / "ref", builder=builder)
    try:  # stop in epoch 2 (10 steps per epoch): the carried streams must pick up at epoch 2, step 3
        train(cfg, store, tmp_path / "runs", builder=builder, progress=_stop_after(13))
    except _Stop:
        pass
    assert (
        json.loads((tmp_path / "runs" / "r" / "checkpoints" / "last.json").read_text())["global_step"] == 12
    )
    with caplog.at_level("INFO"):
        done = train(
            cfg.replace(data_mode="stream", memory_limit_mb=1), store, tmp_path / "runs", builder=builder
        )
    assert "resuming at epoch 2 step 2" in caplog.text  # resumed, not restarted
    a, b = _model_tensors(ref), _model_tensors(done)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_that_would_draw_other_batches_is_refused(demo_store, tmp_path: Path, builder) -> None:
    import pytest

    from codecfake.train.loop import TrainError, train

    store, _ = demo_store
    cfg = _two_epoch_cotrain("adam", "stream")
    try:
        train(cfg, store, tmp_path / "runs", builder=builder, progress=_stop_after(3))
    except _Stop:
        pass
    last = tmp_path / "runs" / "r" / "checkpoints" / "last.json"
    doc = json.loads(last.read_text())
    # a run started before batches became uniform drew block-shuffled batches when streamed
    doc["sampler"] = {**doc["sampler"], "kind": "BlockBatches", "window": 16}
    last.write_text(json.dumps(doc))
    with pytest.raises(TrainError, match=r"kind: run 'BlockBatches', now 'RandomBatches'.*--force"):
        train(cfg, store, tmp_path / "runs", builder=builder)
