"""One trainer per run folder: while a live process trains a run, a second and a third `train` of it are refused
with the holder's host and pid (exit 2, no traceback), the holder finishes with the weights of an undisturbed run,
and `evaluate` of the run says it is still training unless asked for the best checkpoint so far."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from codecfake.testing import StartedProcesses
from codecfake.train.config import TrainConfig
from codecfake.train.loop import train
from codecfake.train.testing import ToyBackend

# A toy co-trained run (the tests' toy back-end without batch norm). With a GO file path it stops after 3 steps,
# prints TRAINING and waits for GO (the run's lock held). Errors end it as the CLI does: one line on stderr, exit 2.
SCRIPT = textwrap.dedent(
    r"""
    import sys, time
    from pathlib import Path
    from codecfake.errors import CodecfakeError
    from codecfake.progress import NoProgress
    from codecfake.train.config import TrainConfig
    from codecfake.train.loop import train
    from codecfake.train.testing import ToyBackend

    class Hold(NoProgress):
        steps = 0
        def advance(self, n=1, **status):
            Hold.steps += n
            if Hold.steps == 3 and len(sys.argv) > 3:
                print("TRAINING", flush=True)
                while not Path(sys.argv[3]).exists():
                    time.sleep(0.05)

    cfg = TrainConfig(backend="toy", task="cotrain", opt="adam", epochs=2, batch=8, lr=0.05, seed=3, threads=1, name="r")
    try:
        train(cfg, sys.argv[1], sys.argv[2], builder=lambda name, shape: ToyBackend(shape, batch_norm=False),
              progress=Hold())
    except CodecfakeError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    print("DONE", flush=True)
    """
)


def _toy_reference(store: Path, runs: Path) -> dict[str, torch.Tensor]:
    """The same run trained in this process, undisturbed."""
    cfg = TrainConfig(
        backend="toy", task="cotrain", opt="adam", epochs=2, batch=8, lr=0.05, seed=3, threads=1, name="r"
    )
    run = train(cfg, store, runs, builder=lambda name, shape: ToyBackend(shape, batch_norm=False))
    return load_file(str(run / "checkpoints" / "best.safetensors"))


def _setup(tmp_path: Path, write_set) -> tuple[Path, Path, Path, Path]:
    store, runs, go = tmp_path / "features", tmp_path / "runs", tmp_path / "GO"
    write_set(store, "mini-codecfake", "codec", n_train=24, n_dev=8, n_test=4, frame_shape=(32, 16), seed=1)
    write_set(store, "mini-19la", "vocoder", n_train=12, n_dev=8, frame_shape=(32, 16), seed=2)
    script = tmp_path / "toy.py"
    script.write_text(SCRIPT)
    return store, runs, go, script


_STARTED = StartedProcesses()


@pytest.fixture(autouse=True)
def _no_process_left():
    """A failed assertion must not leave a trainer blocked on its GO file."""
    yield
    _STARTED.kill_left()


def _hold(script: Path, store: Path, runs: Path, go: Path) -> subprocess.Popen:
    """The first trainer, stopped mid-epoch 1 with the run's lock held until ``go`` exists."""
    holder = _STARTED.start(
        [sys.executable, str(script), str(store), str(runs), str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "TRAINING"
    return holder


def _finishes_undisturbed(holder: subprocess.Popen, store: Path, runs: Path, tmp_path: Path) -> None:
    out, err = holder.communicate(timeout=120)
    assert holder.returncode == 0 and out.splitlines()[-1] == "DONE", err
    got = load_file(str(runs / "r" / "checkpoints" / "best.safetensors"))
    want = _toy_reference(store, tmp_path / "ref")
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in got)
    assert not (runs / "r" / ".lock").exists()


def test_a_second_trainer_and_evaluate_are_refused_while_a_run_trains(
    tmp_path: Path, write_set, caplog
) -> None:
    from codecfake.app.cli import main

    store, runs, go, script = _setup(tmp_path, write_set)
    holder = _hold(script, store, runs, go)
    who = f"host {socket.gethostname()} pid {holder.pid}"
    try:
        second = subprocess.run(
            [sys.executable, str(script), str(store), str(runs)], capture_output=True, text=True, timeout=120
        )
        caplog.clear()
        cli = [
            "train",
            "--store",
            str(store),
            "--runs",
            str(runs),
            "--name",
            "r",
            "--backend",
            "lcnn",
            "--epochs",
            "1",
        ]
        assert (
            main([*cli, "--device", "cpu"]) == 2
        )  # the real command, another back-end: refused all the same
        assert f"{runs / 'r'} is in use by {who}" in caplog.text
        caplog.clear()
        assert main(["evaluate", "--run", str(runs / "r"), "--store", str(store)]) == 2
        assert f"is still training in {who}" in caplog.text and "--unfinished" in caplog.text
    finally:
        go.touch()
    assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr
    assert f"{runs / 'r'} is in use by {who}" in second.stderr
    _finishes_undisturbed(holder, store, runs, tmp_path)


@pytest.mark.slow  # four interpreters starting at once: ~30 s on 2 loaded cores; the test above stays fast
def test_three_processes_started_on_a_training_run(tmp_path: Path, write_set) -> None:
    store, runs, go, script = _setup(tmp_path, write_set)
    holder = _hold(script, store, runs, go)
    try:
        started = {  # at once, each on the same run
            "same": [sys.executable, str(script), str(store), str(runs)],
            "cli": [sys.executable, "-m", "codecfake", "train", "--store", str(store), "--runs", str(runs),
                    "--name", "r", "--backend", "lcnn", "--task", "cotrain", "--epochs", "1", "--device", "cpu"],
            "evaluate": [sys.executable, "-m", "codecfake", "evaluate", "--run", str(runs / "r"), "--store",
                         str(store)],
        }  # fmt: skip
        procs = {
            k: subprocess.Popen(v, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for k, v in started.items()
        }
        done = {k: (p.communicate(timeout=120), p.returncode) for k, p in procs.items()}
    finally:
        go.touch()
    who = f"host {socket.gethostname()} pid {holder.pid}"
    for name, ((_, err), code) in done.items():
        assert code == 2 and "Traceback" not in err, (name, err)
    for name in ("same", "cli"):
        assert f"{runs / 'r'} is in use by {who}" in done[name][0][1]
    assert f"is still training in {who}" in done["evaluate"][0][1]
    _finishes_undisturbed(holder, store, runs, tmp_path)


def _flip_a_byte(store: Path, corpus: str, shard_index: int = 0) -> None:
    """Change one value in a shard of ``corpus``'s set (a disk or copy fault after it was written)."""
    (shard,) = list(store.glob(f"{corpus}.*/mel/c/{shard_index}/0/0"))
    data = bytearray(shard.read_bytes())
    data[100] ^= 0x01
    shard.write_bytes(bytes(data))


def test_training_refuses_a_shard_that_changed_after_it_was_written(
    tmp_path: Path, write_set, monkeypatch
) -> None:
    from codecfake.app.cli import main
    from codecfake.store import CorruptShard
    from codecfake.store.verify import ENV_SKIP

    store, runs, _, _ = _setup(tmp_path, write_set)
    _flip_a_byte(store, "mini-19la")
    cfg = TrainConfig(backend="lcnn", task="cotrain", epochs=1, batch=12, device="cpu", name="r")
    with pytest.raises(CorruptShard, match=r"mini-19la.*shard 0 data does not match.*codecfake store verify"):
        train(cfg, store, runs)
    assert not (runs / "r").exists()
    monkeypatch.setenv(ENV_SKIP, "1")  # restored after the test: --no-shard-check below turns it off
    argv = [
        "train",
        "--store",
        str(store),
        "--runs",
        str(runs),
        "--backend",
        "lcnn",
        "--epochs",
        "1",
        "--batch",
        "12",
    ]
    assert main([*argv, "--device", "cpu", "--name", "r", "--no-shard-check"]) == 0
    assert (runs / "r" / "DONE").is_file()


def test_evaluate_of_a_run_that_stopped_part_way_needs_unfinished(
    tmp_path: Path, write_set, caplog, monkeypatch
) -> None:
    from codecfake.app.cli import main
    from codecfake.progress import NoProgress
    from codecfake.store.verify import ENV_SKIP

    class StopInEpoch2(NoProgress):
        steps = 0

        def advance(self, n: int = 1, **status) -> None:
            StopInEpoch2.steps += n
            if StopInEpoch2.steps == 4:  # 3 steps an epoch (36 clips, batch 12)
                raise KeyboardInterrupt

    store, runs, _, _ = _setup(tmp_path, write_set)
    cfg = TrainConfig(
        backend="lcnn", task="cotrain", epochs=2, batch=12, lr=1e-3, seed=5, device="cpu", name="r"
    )
    try:
        train(cfg, store, runs, progress=StopInEpoch2())
    except KeyboardInterrupt:
        pass
    caplog.clear()
    assert main(["evaluate", "--run", str(runs / "r"), "--store", str(store), "--no-figures"]) == 2
    assert (
        "stopped before training finished (1 of 2 epochs done, best checkpoint so far: epoch 1)"
        in caplog.text
    )
    assert "--unfinished" in caplog.text and not (runs / "r" / "report").exists()
    caplog.clear()
    argv = ["evaluate", "--run", str(runs / "r"), "--store", str(store), "--no-figures", "--unfinished"]
    assert main([*argv, "--resamples", "0"]) == 0
    assert "evaluating the best checkpoint so far (epoch 1)" in caplog.text
    assert (runs / "r" / "report" / "report.json").is_file()
    _flip_a_byte(
        store, "mini-codecfake", 2
    )  # the shard of its test clips (32..35, shards of 16): what evaluate reads
    caplog.clear()
    assert main([*argv, "--resamples", "0"]) == 2
    assert (
        "mel: shard 2 data does not match its commit record" in caplog.text
        and "codecfake store verify" in caplog.text
    )
    monkeypatch.setenv(ENV_SKIP, "1")  # restored after the test: --no-shard-check below turns it off
    assert main([*argv, "--resamples", "0", "--no-shard-check"]) == 0
