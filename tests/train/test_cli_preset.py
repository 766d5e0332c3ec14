"""`codecfake train` resolves a preset at the command line: `--preset NAME`, or the one its training sets record;
explicit options win; a run already in its folder keeps its values; config.json records every value's source.

The presets here are written by the test (configs/ pointed at a temporary folder), so the tests check how values
are resolved, not what the shipped presets hold; corpus names are arbitrary: no corpus is special.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from codecfake.app.cli import build_parser, main
from codecfake.train.cli_config import config_from_args
from codecfake.train.config import TrainConfig

FAST = """
[train]
epochs = 1
batch = 6
lr = 1e-3
lr_step_epochs = 3
[train.sam_rho]
lcnn = 0.02
"""
PAPER = {"epochs": 10, "batch": 128, "lr": 5e-4, "lr_step_epochs": 2, "rho": 0.05}


@pytest.fixture(autouse=True)
def presets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """configs/fast.toml (above) and configs/slow.toml (the same with 3 epochs) in a folder of the test's own."""
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "fast.toml").write_text(FAST)
    (folder / "slow.toml").write_text(FAST.replace("epochs = 1", "epochs = 3"))
    monkeypatch.setattr("codecfake.presets.CONFIG_DIR", folder)
    return folder


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
        *extra,
    ]


def _resolved(store: Path, runs: Path, *extra: str) -> TrainConfig:
    """The config `codecfake train ARGV` would train with (resolved as the command does, nothing trained)."""
    return config_from_args(build_parser().parse_args(_argv(store, runs, *extra)))


def _values(config: TrainConfig | dict) -> dict:
    get = config.get if isinstance(config, dict) else lambda k: getattr(config, k)
    return {k: get(k) for k in PAPER}


def test_the_preset_the_sets_record_fills_the_options_not_given(tmp_path: Path, write_set, caplog) -> None:
    store, runs = tmp_path / "features", tmp_path / "runs"
    write_set(store, "some-corpus", "codec", extra={"preset": "fast"})
    caplog.set_level(logging.INFO)
    config = _resolved(store, runs, "--epochs", "2")
    assert _values(config) == {"epochs": 2, "batch": 6, "lr": 1e-3, "lr_step_epochs": 3, "rho": 0.05}
    assert "preset fast: recorded by every training set" in caplog.text
    assert "--batch 128" in caplog.text  # the log names the paper's values to pass instead
    src = config.sources
    assert (src["epochs"], src["batch"], src["lr"], src["lr_step_epochs"]) == (
        "command line",
        "preset fast",
        "preset fast",
        "preset fast",
    )
    assert (src["rho"], src["seed"], src["backend"], src["task"]) == (
        "default",  # adam: the preset's radius is for SAM-family runs only
        "default",
        "command line",
        "command line",
    )


@pytest.mark.parametrize(
    ("backend", "opt", "rho", "source"),
    [
        ("lcnn", "sam", 0.02, "preset fast"),
        ("lcnn", "csam", 0.02, "preset fast"),
        ("aasist", "sam", 0.05, "default"),  # a back-end the preset lists no radius for
        ("lcnn", "adam", 0.05, "default"),
    ],
)
def test_the_presets_radius_goes_to_sam_family_runs_of_its_back_ends(
    tmp_path: Path, write_set, backend: str, opt: str, rho: float, source: str
) -> None:
    store = tmp_path / "features"
    write_set(store, "some-corpus", "codec", extra={"preset": "fast"})
    write_set(store, "other-corpus", "vocoder", extra={"preset": "fast"}, seed=2)
    config = _resolved(store, tmp_path / "runs", "--backend", backend, "--opt", opt, "--task", "cotrain")
    assert (config.rho, config.sources["rho"]) == (rho, source)
    assert (config.epochs, config.batch) == (1, 6)


def test_sets_without_a_preset_get_the_papers_values_unless_one_is_named(tmp_path: Path, write_set) -> None:
    store, runs = tmp_path / "features", tmp_path / "runs"
    write_set(store, "some-corpus", "codec")
    assert _values(_resolved(store, runs)) == PAPER
    assert set(_resolved(store, runs).sources.values()) <= {"default", "command line"}
    assert _values(_resolved(store, runs, "--preset", "fast"))["batch"] == 6
    with_preset = tmp_path / "other"
    write_set(with_preset, "some-corpus", "codec", extra={"preset": "fast"})
    for none in ("none", "paper"):  # the sets' preset turned off
        assert _values(_resolved(with_preset, runs, "--preset", none)) == PAPER


def test_sets_recording_different_presets_need_preset(tmp_path: Path, write_set, caplog) -> None:
    store, runs = tmp_path / "features", tmp_path / "runs"
    codec = write_set(store, "some-corpus", "codec", extra={"preset": "fast"})
    vocoder = write_set(store, "other-corpus", "vocoder", extra={"preset": "slow"}, seed=2)
    assert main(_argv(store, runs, "--task", "cotrain")) == 2
    assert (
        f"{codec}: fast" in caplog.text
        and f"{vocoder}: slow" in caplog.text
        and "--preset NAME" in caplog.text
    )
    assert not runs.exists()
    assert _resolved(store, runs, "--task", "cotrain", "--preset", "slow").epochs == 3
    assert main(_argv(store, runs, "--preset", "nope")) == 2
    assert "preset 'nope' not found; known presets: fast, slow" in caplog.text


def test_config_json_records_the_values_and_a_run_in_its_folder_keeps_its_own(
    tmp_path: Path, write_set, caplog
) -> None:
    store, runs = tmp_path / "features", tmp_path / "runs"
    write_set(
        store,
        "some-corpus",
        "codec",
        n_train=40,
        n_dev=8,
        frame_shape=(32, 16),
        seed=1,
        extra={"preset": "fast"},
    )
    # a run started with explicit values (as one made before the sets recorded a preset)
    assert main(_argv(store, runs, "--batch", "4", "--lr", "2e-3")) == 0
    run = runs / "codec-lcnn-adam-s688-mel"
    saved = json.loads((run / "config.json").read_text())
    assert _values(saved) == {"epochs": 1, "batch": 4, "lr": 2e-3, "lr_step_epochs": 3, "rho": 0.05}
    assert saved["sources"]["batch"] == "command line" and saved["sources"]["epochs"] == "preset fast"
    stamp = (run / "DONE").stat().st_mtime_ns
    caplog.set_level(logging.INFO)
    assert (
        main(_argv(store, runs)) == 0
    )  # the same command without those flags reuses the run, not refuses it
    assert (run / "DONE").stat().st_mtime_ns == stamp and "already finished" in caplog.text
    assert "keeping epochs 1, batch 4, lr 0.002, lr_step_epochs 3 of the run already in" in caplog.text
    assert json.loads((run / "config.json").read_text()) == saved
    assert (_resolved(store, runs, "--force").batch, _resolved(store, runs).batch) == (6, 4)
