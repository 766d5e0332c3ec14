"""`codecfake train` as the Makefile calls it, with the real back-ends on tiny synthetic feature sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecfake.app.cli import main


def test_make_train_command_line_runs_and_reuses(tmp_path: Path, write_set, caplog) -> None:
    store, runs = tmp_path / "features", tmp_path / "runs"
    write_set(store, "mini-codecfake", "codec", n_train=24, n_dev=8, frame_shape=(32, 16), seed=1)
    write_set(store, "mini-19la", "vocoder", n_train=12, n_dev=8, frame_shape=(32, 16), seed=2)
    argv = [
        "train",
        "--backend",
        "lcnn",
        "--opt",
        "csam",
        "--task",
        "cotrain",
        "--store",
        str(store),
        "--runs",
        str(runs),
        "--device",
        "cpu",
        "--epochs",
        "1",
        "--batch",
        "12",
        "--lr",
        "1e-3",
        "--seed",
        "5",
    ]
    assert main(argv) == 0
    run = runs / "cotrain-lcnn-csam-s5-mel"
    cfg = json.loads((run / "config.json").read_text())
    assert (cfg["backend"], cfg["opt"], cfg["epochs"], cfg["batch"], cfg["lr"], cfg["seed"]) == (
        "lcnn",
        "csam",
        1,
        12,
        1e-3,
        5,
    )
    assert len(cfg["features"]) == 2 and cfg["array"] == "mel"
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1
    stamp = (run / "DONE").stat().st_mtime_ns
    assert main(argv) == 0  # finished run reused
    assert (run / "DONE").stat().st_mtime_ns == stamp
    assert main([*argv, "--force", "--name", "again", "--backend", "aasist", "--opt", "asam"]) == 0
    assert json.loads((runs / "again" / "config.json").read_text())["adaptive"] is True


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--opt", "sgd"], "unknown opt 'sgd'"),
        (["--backend", "resnet"], "resnet"),
        (["--features", "nope.mel.0"], "no feature set 'nope.mel.0'"),
        (["--task", "codec", "--opt", "csam"], "needs two training domains"),
        (
            ["--task", "cotrain", "--opt", "csam", "--domain-ratio", "0.2,0.3,0.5"],
            "give 2 shares in that order",
        ),
    ],
)
def test_errors_exit_2_before_work(tmp_path: Path, write_set, caplog, extra, message) -> None:
    store = tmp_path / "features"
    write_set(store, "mini-codecfake", "codec", n_train=24, n_dev=8, frame_shape=(32, 16), seed=1)
    argv = [
        "train",
        "--store",
        str(store),
        "--runs",
        str(tmp_path / "runs"),
        "--task",
        "codec",
        "--opt",
        "adam",
    ]
    assert main([*argv, *extra]) == 2
    assert message in caplog.text
    assert not (tmp_path / "runs").exists()
