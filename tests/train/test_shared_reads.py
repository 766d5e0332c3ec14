"""Shared reads: runs drawing the same batches, trained in one process from one read of each batch, end bit-identical
to the same runs trained alone (Adam, SAM, ASAM; dropout masks from each run's own generator; in memory and
streamed), resume every member after an interruption wherever each stopped (and after a kill -9), leave a diverging
member out without stopping the others, and refuse runs that would draw other batches. The real back-ends (LCNN,
AASIST) and the kill -9 run with `make test-slow` (minutes on 2 loaded cores)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from safetensors.torch import load_file

from codecfake.train.config import TrainConfig
from codecfake.train.loop import train
from codecfake.train.shared_reads import SharedReadsError, train_together
from codecfake.train.testing import start_training_script, wait_for_step


def _store(tmp_path: Path, write_set, frame=(32, 16)) -> Path:
    root = tmp_path / "features"
    write_set(root, "mini-codecfake", "codec", n_train=32, n_dev=8, frame_shape=frame, seed=1)
    write_set(root, "mini-19la", "vocoder", n_train=16, n_dev=8, frame_shape=frame, seed=2)
    return root


def _configs(real: bool = True, **common) -> list[TrainConfig]:
    """Three runs that draw the same batches: Adam, SAM and ASAM (real back-ends: LCNN and AASIST, both with
    dropout; else the tests' toy back-end, with batch norm and dropout 0.3)."""
    base = dict(task="cotrain", epochs=2, batch=8, seed=7, device="cpu", threads=1, save_every_steps=2)
    base |= common
    one, two = ("lcnn", "aasist") if real else ("toy", "toy")
    return [
        TrainConfig(backend=one, opt="adam", name="a-adam", **base),
        TrainConfig(backend=one, opt="sam", rho=0.01, name="a-sam", **base),
        TrainConfig(backend=two, opt="asam", name="b-asam", **base),
    ]


def _toy_with_dropout(builder):
    def build(name: str, frame_shape):
        model = builder("toy", frame_shape)
        model.drop.p = 0.3  # masks drawn from the run's own generator: a shared stream would change them
        return model

    return build


def _tensors(run: Path, which: str) -> dict:
    return {
        k: v
        for k, v in load_file(str(run / "checkpoints" / f"{which}.safetensors")).items()
        if "rng" not in k
    }


def _same(a: Path, b: Path) -> None:
    for which in ("best", "last"):
        ta, tb = _tensors(a, which), _tensors(b, which)
        assert ta.keys() == tb.keys()
        for k in ta:
            assert (ta[k] == tb[k]).all(), (a.name, which, k)
    rows = [[json.loads(x) for x in (r / "metrics.jsonl").read_text().splitlines()] for r in (a, b)]
    keys = ("train_loss", "dev_loss", "dev_eer", "steps", "global_step")
    assert [[r[k] for k in keys] for r in rows[0]] == [[r[k] for k in keys] for r in rows[1]]


def _alone_and_together(tmp_path: Path, store: Path, configs: list[TrainConfig], builder=None):
    for c in configs:
        train(c, store, tmp_path / "alone", builder=builder)
    return train_together(configs, store, tmp_path / "group", builder=builder)


@pytest.mark.parametrize("data_mode", ["memory", "stream"])
def test_shared_reads_train_each_model_bit_identical_to_training_it_alone(
    tmp_path: Path, write_set, builder, data_mode: str
) -> None:
    store = _store(tmp_path, write_set, frame=(6, 4))
    configs = _configs(real=False, data_mode=data_mode)
    result = _alone_and_together(tmp_path, store, configs, _toy_with_dropout(builder))
    assert result.errors == (None, None, None)
    # cotrain, 48 clips at batch 8: 6 batches an epoch, each read once for the three models
    assert (result.batches_read, result.steps) == (12, 36)
    for c in configs:
        _same(tmp_path / "alone" / c.name, tmp_path / "group" / c.name)
        assert (tmp_path / "group" / c.name / "DONE").is_file()
    again = train_together(configs, store, tmp_path / "group", builder=_toy_with_dropout(builder))
    assert (again.batches_read, again.steps) == (0, 0)  # finished runs are reused, nothing is read


@pytest.mark.slow
def test_shared_reads_with_the_real_back_ends_equal_training_each_alone(tmp_path: Path, write_set) -> None:
    store = _store(tmp_path, write_set)
    configs = _configs(real=True)
    assert _alone_and_together(tmp_path, store, configs).errors == (None, None, None)
    for c in configs:
        _same(tmp_path / "alone" / c.name, tmp_path / "group" / c.name)


class _StopAfter:
    """A progress that interrupts the group after ``n`` batches (as a Ctrl-C would)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def start(self, *a, **k) -> None:
        pass

    def close(self) -> None:
        pass

    def advance(self, n: int = 1, **status) -> None:
        self.n -= n
        if self.n <= 0:
            raise KeyboardInterrupt


def test_an_interrupted_group_resumes_members_that_stopped_at_other_steps(
    tmp_path: Path, write_set, builder
) -> None:
    store = _store(tmp_path, write_set, frame=(6, 4))
    build = _toy_with_dropout(builder)
    adam, sam, _ = _configs(real=False, save_every_steps=1)
    configs = [adam, sam.replace(save_every_steps=3)]
    for c in configs:
        train(c, store, tmp_path / "alone", builder=build)
    with pytest.raises(KeyboardInterrupt):
        train_together(configs, store, tmp_path / "group", builder=build, progress=_StopAfter(10))
    saved = [
        json.loads((tmp_path / "group" / c.name / "checkpoints" / "last.json").read_text()) for c in configs
    ]
    assert [s["global_step"] for s in saved] == [10, 9]  # Adam saved after its 10th step, SAM after its 9th
    result = train_together(configs, store, tmp_path / "group", builder=build)
    assert result.errors == (None, None)
    assert result.steps == 2 + 3  # of 12 steps: Adam resumes after its 10th, SAM after its 9th
    for c in configs:
        _same(tmp_path / "alone" / c.name, tmp_path / "group" / c.name)


def test_runs_that_draw_other_batches_are_refused(tmp_path: Path, write_set) -> None:
    store = _store(tmp_path, write_set)
    a, b, _ = _configs()
    with pytest.raises(SharedReadsError, match="draws other batches"):
        train_together([a, b.replace(seed=8)], store, tmp_path / "r1")
    with pytest.raises(SharedReadsError, match="draws other batches"):
        train_together([a, b.replace(opt="csam")], store, tmp_path / "r2")
    with pytest.raises(SharedReadsError, match="other clips"):
        train_together([a, b.replace(task="codec")], store, tmp_path / "r3")


def test_a_member_whose_loss_diverges_leaves_the_group_and_the_others_finish(
    tmp_path: Path, write_set, builder
) -> None:
    import torch

    def nan_or_toy(name: str, frame_shape):
        model = builder("toy", frame_shape)
        if name == "nan":
            head = model.head
            model.head = torch.nn.Sequential(head, torch.nn.Hardtanh(float("nan"), float("nan")))
        return model

    store = _store(tmp_path, write_set, frame=(6, 4))
    base = dict(task="cotrain", epochs=2, batch=8, seed=3, device="cpu", threads=1)
    good = TrainConfig(backend="toy", opt="adam", name="good", **base)
    bad = TrainConfig(backend="nan", opt="adam", name="bad", **base)
    result = train_together([bad, good], store, tmp_path / "group", builder=nan_or_toy)
    assert result.errors[0] is not None and "training loss became nan" in str(result.errors[0])
    assert result.errors[1] is None and (tmp_path / "group" / "good" / "DONE").is_file()
    assert not (tmp_path / "group" / "bad" / "DONE").exists()
    train(good, store, tmp_path / "alone", builder=nan_or_toy)
    _same(tmp_path / "alone" / "good", tmp_path / "group" / "good")


SCRIPT = r"""
import sys
from codecfake.train.config import TrainConfig
from codecfake.train.loop import train
from codecfake.train.shared_reads import train_together
from codecfake.train.testing import killable_toy_builder as builder

base = dict(backend="toy", task="cotrain", epochs=3, batch=8, lr=0.05, seed=3, threads=1, device="cpu")
configs = [TrainConfig(opt="adam", name="adam", save_every_steps=1, **base),
           TrainConfig(opt="sam", name="sam", save_every_steps=3, **base)]
if sys.argv[3] == "alone":
    for c in configs:
        train(c, sys.argv[1], sys.argv[2], builder=builder)
else:
    train_together(configs, sys.argv[1], sys.argv[2], builder=builder)
"""


@pytest.mark.slow
def test_kill_9_mid_group_then_rerun_resumes_every_member_to_the_alone_result(
    tmp_path: Path, write_set
) -> None:
    store = _store(tmp_path, write_set, frame=(6, 4))
    script = tmp_path / "group.py"
    script.write_text(SCRIPT)
    ref = start_training_script(script, store, tmp_path / "alone", "alone")
    assert ref.wait(timeout=300) == 0, ref.stdout.read().decode()

    victim = start_training_script(script, store, tmp_path / "group", "group", slow=True)
    last = tmp_path / "group" / "adam" / "checkpoints" / "last.json"
    wait_for_step(victim, last, 8)  # epoch 2 (6 steps an epoch), mid-way
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    adam = json.loads(last.read_text())
    sam = json.loads((tmp_path / "group" / "sam" / "checkpoints" / "last.json").read_text())
    assert not (tmp_path / "group" / "adam" / "DONE").exists()
    assert adam["epoch"] == 1 and 0 < adam["step"] < 6  # killed mid-epoch
    assert not (tmp_path / "group" / "sam" / "DONE").exists() and sam["global_step"] < 18

    again = start_training_script(script, store, tmp_path / "group", "group")
    assert again.wait(timeout=300) == 0, again.stdout.read().decode()
    for name in ("adam", "sam"):
        _same(tmp_path / "alone" / name, tmp_path / "group" / name)
