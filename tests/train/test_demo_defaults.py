"""`codecfake train` on the demo's feature sets takes configs/demo.toml's epochs/batch/lr/rho for the flags not given."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from codecfake.cli import main
from codecfake.demo.preset import load_demo_preset
from codecfake.train.config import TrainConfig
from codecfake.train.demo_defaults import with_demo_defaults

DEMO = ("mini-codecfake", "mini-19la")


def _argv(store: Path, runs: Path, *extra: str) -> list[str]:
    return [
        "train",
        "--backend",
        "lcnn",
        "--task",
        "codec",
        "--store",
        str(store),
        "--runs",
        str(runs),
        "--device",
        "cpu",
        *extra,
    ]


def _config(runs: Path, name: str = "codec-lcnn-adam-s688-mel") -> dict:
    return json.loads((runs / name / "config.json").read_text())


def test_demo_sets_take_the_preset_and_a_flag_given_wins(tmp_path: Path, write_set, caplog) -> None:
    store, runs = tmp_path / "features", tmp_path / "runs"
    write_set(store, "mini-codecfake", "codec", n_train=40, n_dev=8, frame_shape=(32, 16), seed=1)
    caplog.set_level(logging.INFO)
    assert main(_argv(store, runs, "--epochs", "1")) == 0
    preset, cfg = load_demo_preset(), _config(runs)
    assert cfg["epochs"] == 1  # given explicitly
    want = (preset.batch, preset.lr, preset.lr_step_epochs)
    assert (cfg["batch"], cfg["lr"], cfg["lr_step_epochs"]) == want
    assert cfg["rho"] == TrainConfig.rho  # adam: the demo matrix overrides no radius either
    assert cfg["from_demo_preset"] == ["batch", "lr", "lr_step_epochs"]
    assert "from configs/demo.toml" in caplog.text and "--batch 128" in caplog.text


def test_other_corpora_keep_the_papers_defaults(tmp_path: Path, write_set) -> None:
    store, runs = tmp_path / "features", tmp_path / "runs"
    write_set(store, "codecfake", "codec", n_train=40, n_dev=8, frame_shape=(16, 16), seed=1)
    assert main(_argv(store, runs, "--opt", "sam")) == 0
    cfg = _config(runs, "codec-lcnn-sam-s688-mel")
    paper = {"epochs": 10, "batch": 128, "lr": 5e-4, "lr_step_epochs": 2, "rho": 0.05}
    assert {k: cfg[k] for k in paper} == paper
    assert cfg["from_demo_preset"] == []


def test_a_run_already_in_the_folder_keeps_its_values(tmp_path: Path, write_set, caplog) -> None:
    """A run started before (here with explicit values, like one made before the preset applied) is reused as it
    is by the same command without those flags, not refused as a different configuration."""
    store, runs = tmp_path / "features", tmp_path / "runs"
    write_set(store, "mini-codecfake", "codec", n_train=40, n_dev=8, frame_shape=(32, 16), seed=1)
    assert main(_argv(store, runs, "--epochs", "1", "--batch", "12", "--lr", "1e-3")) == 0
    done = runs / "codec-lcnn-adam-s688-mel" / "DONE"
    stamp = done.stat().st_mtime_ns
    caplog.set_level(logging.INFO)
    assert main(_argv(store, runs, "--epochs", "1")) == 0
    assert done.stat().st_mtime_ns == stamp and "already finished" in caplog.text
    assert "keeping batch 12, lr 0.001" in caplog.text
    assert (_config(runs)["batch"], _config(runs)["lr"]) == (12, 1e-3)


@pytest.mark.parametrize(
    ("backend", "opt", "corpora", "changed"),
    [
        ("lcnn", "csam", DEMO, ("epochs", "batch", "lr", "lr_step_epochs", "rho")),
        ("aasist", "csam", DEMO, ("epochs", "batch", "lr", "lr_step_epochs")),  # no aasist radius listed
        ("lcnn", "csam", ("mini-codecfake", "codecfake"), ()),  # not every set is a demo corpus
        ("lcnn", "csam", ("asvspoof2019la",), ()),
    ],
)
def test_which_values_the_preset_gives(backend, opt, corpora, changed) -> None:
    preset = load_demo_preset()
    assert "lcnn" in preset.sam_rho and "aasist" not in preset.sam_rho  # the cases above assume this preset
    config = TrainConfig(backend=backend, opt=opt)
    out = with_demo_defaults(config, corpora, given={"backend", "opt"})
    assert out.from_demo_preset == changed
    want = {"epochs": preset.epochs, "batch": preset.batch, "lr": preset.lr}
    want |= {"lr_step_epochs": preset.lr_step_epochs, "rho": preset.sam_rho.get(backend)}
    for key in ("epochs", "batch", "lr", "lr_step_epochs", "rho"):
        assert getattr(out, key) == (want[key] if key in changed else getattr(config, key)), key


def test_given_keys_and_a_saved_run_win_over_the_preset() -> None:
    config = TrainConfig(backend="lcnn", opt="sam", epochs=3, batch=16, lr=1e-3, lr_step_epochs=1, rho=0.2)
    every = {"epochs", "batch", "lr", "lr_step_epochs", "rho"}
    assert with_demo_defaults(config, DEMO, given=every) == config
    saved = TrainConfig(epochs=7, batch=64, from_demo_preset=("epochs",)).to_dict()
    out = with_demo_defaults(config, DEMO, given={"rho"}, saved=saved)
    assert (out.epochs, out.batch, out.lr, out.lr_step_epochs, out.rho) == (7, 64, 5e-4, 2, 0.2)
    assert out.from_demo_preset == ("epochs",)
