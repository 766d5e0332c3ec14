"""Every Make target is the CLI command line the docs promise (`make -n`), and that command line parses."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from codecfake.app.cli import build_parser

REPO = Path(__file__).resolve().parents[1]

# target + variables -> the `codecfake` argv the docs (README, docs/*.md) promise for it
CASES = {
    "demo-data": ("SIZE=small", ["corpus", "demo", "--out", "data/mini-codecfake", "--size", "small"]),
    "features": (
        "DATA=itw ROOT=/d MODEL=xlsr MODEL_DIR=/m LAYERS=5,12 CLUSTER=local:2",
        [
            "features",
            "--data",
            "itw",
            "--root",
            "/d",
            "--extractor",
            "xlsr",
            "--model-dir",
            "/m",
            "--layers",
            "5,12",
            "--store",
            "features",
            "--device",
            "auto",
            "--cluster",
            "local:2",
            "--demo-dir",
            "data/mini-codecfake",
            "--size",
            "default",
        ],
    ),
    "train": (
        "BACKEND=aasist OPT=csam EPOCHS=3",
        [
            "train",
            "--backend",
            "aasist",
            "--opt",
            "csam",
            "--task",
            "cotrain",
            "--store",
            "features",
            "--runs",
            "runs",
            "--device",
            "auto",
            "--extractor",
            "mel",
            "--epochs",
            "3",
        ],
    ),
    "robustness": (
        "RUN=runs/x DEGRADE=mp3:32k,noise:20db",
        [
            "robustness",
            "--run",
            "runs/x",
            "--store",
            "features",
            "--device",
            "auto",
            "--degrade",
            "mp3:32k,noise:20db",
        ],
    ),
    "evaluate": (
        "RUN=runs/x PAPER=1",
        ["evaluate", "--run", "runs/x", "--store", "features", "--device", "auto", "--paper"],
    ),
    "demo": (
        "DEVICE=cpu",
        [
            "demo",
            "--store",
            "features",
            "--runs",
            "runs",
            "--demo-dir",
            "data/mini-codecfake",
            "--size",
            "default",
            "--device",
            "cpu",
        ],
    ),
    "experiments": (
        "SEEDS=2 DEVICE=cuda",
        [
            "demo",
            "--store",
            "features",
            "--runs",
            "runs",
            "--demo-dir",
            "data/mini-codecfake",
            "--size",
            "default",
            "--full",
            "--seeds",
            "2",
            "--device",
            "cuda",
        ],
    ),
    "experiments MATRIX": (
        "MATRIX=paper-table8 STORE=/s SEEDS=3 CLUSTER=local:8 PROTOCOL=loo",
        [
            "experiments",
            "paper-table8",
            "--store",
            "/s",
            "--runs",
            "runs",
            "--device",
            "auto",
            "--seeds",
            "3",
            "--cluster",
            "local:8",
            "--protocol",
            "loo",
        ],
    ),
    "experiments REPORT": (
        "MATRIX=paper-all REPORT=1",
        ["experiments", "paper-all", "--store", "features", "--runs", "runs", "--device", "auto", "--report"],
    ),
    "openset-loo": (
        "GENERATORS=C1,A01 THREADS=1 DEVICE=cpu",
        ["openset-loo", "--store", "features", "--runs", "runs", "--device", "cpu", "--extractor", "mel"]
        + ["--generators", "C1,A01", "--threads", "1"],
    ),
    "calibrate": ("RUN=runs/x", ["calibrate", "runs/x"]),
    "fuse": (
        'FUSE="runs/a runs/b" NAME=f',
        ["fuse", "runs/a", "runs/b", "--name", "f", "--runs-dir", "runs"],
    ),
    "export": ("RUN=runs/x OUT=exp", ["export", "runs/x", "--out", "exp"]),
    "corpus-check": (
        "DATA=asvspoof5 ROOT=/d PARTS=eval",
        ["corpus", "check", "asvspoof5", "/d", "--parts", "eval"],
    ),
    "clean-demo": (
        "",
        ["demo", "--clean", "--store", "features", "--runs", "runs", "--demo-dir", "data/mini-codecfake"],
    ),
}


def _make_cli_argv(target: str, variables: str) -> list[str]:
    """The `codecfake` argv of `make -n TARGET VARS` (the venv recipe, if due, is skipped)."""
    out = subprocess.run(
        ["make", "-n", "-s", "-C", str(REPO), target, *shlex.split(variables)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = out.replace("\\\n", " ").splitlines()
    cli = [shlex.split(line) for line in lines if line.strip().startswith(".venv/bin/codecfake ")]
    assert len(cli) == 1, f"make -n {target}: expected one codecfake command, found {lines}"
    return cli[0][1:]


@pytest.mark.parametrize("target", sorted(CASES))
def test_make_target_is_the_documented_cli_command(target: str) -> None:
    variables, expected = CASES[target]
    argv = _make_cli_argv(target.split()[0], variables)
    assert argv == expected
    args = build_parser().parse_args(argv)  # the CLI accepts every option the Makefile passes
    assert callable(args.func)


def test_make_augment_variables_reach_the_cli() -> None:
    argv = _make_cli_argv("features", "AUGMENT=rawboost:3,codec:2 FORCE=1")
    assert argv[:3] == ["augment", "--augment", "rawboost:3,codec:2"] and argv[-1] == "--force"
    assert callable(build_parser().parse_args(argv).func)
    argv = _make_cli_argv("train", "AUGMENT=rawboost:3 CLEAN_PROB=0.5 FEATAUG=tmask:8 HOLD_OUT=C3,A01")
    tail = ["--augment", "rawboost:3", "--clean-prob", "0.5", "--feataug", "tmask:8", "--hold-out", "C3,A01"]
    assert argv[-len(tail) :] == tail
    args = build_parser().parse_args(argv)
    assert (args.cfg_augment, args.cfg_clean_prob, args.cfg_hold_out) == ("rawboost:3", 0.5, ("C3", "A01"))


def test_make_train_and_codecfake_train_share_the_optimiser_default() -> None:
    argv = _make_cli_argv("train", "")
    from codecfake.train.config import resolve_config

    make_opt = argv[argv.index("--opt") + 1]
    assert make_opt == resolve_config({}).opt == "adam"


def test_every_phony_target_has_a_rule() -> None:
    text = (REPO / "Makefile").read_text()
    phony = next(line for line in text.splitlines() if line.startswith(".PHONY:")).split(":", 1)[1].split()
    rules = {
        line.split(":", 1)[0] for line in text.splitlines() if line and not line[0].isspace() and ":" in line
    }
    assert [t for t in phony if t not in rules] == []


@pytest.mark.parametrize(
    ("target", "variables", "preset"),
    [
        ("features", "", "demo"),  # DATA=demo: the demo's own mel settings, recorded in the sets
        ("features", "DATA=itw ROOT=/d", None),  # another corpus: the paper's
        ("features", "PRESET=none", "none"),
        ("train", "", None),  # train takes the preset its feature sets record
        ("train", "PRESET=none", "none"),
    ],
)
def test_make_passes_a_preset_where_the_docs_say(target: str, variables: str, preset: str | None) -> None:
    argv = _make_cli_argv(target, variables)
    assert (argv[argv.index("--preset") + 1] if "--preset" in argv else None) == preset
    assert build_parser().parse_args(argv).preset == preset


@pytest.mark.parametrize(
    ("target", "variables", "options"),
    [
        (
            "train",
            "DEV_LOSS=batch-mean CSAM_DRAW=release",
            ["--dev-loss", "batch-mean", "--csam-draw", "release"],
        ),
        (
            "features",
            "RESAMPLER=soxr_hq STORE_DTYPE=float32",
            ["--resampler", "soxr_hq", "--store-dtype", "float32"],
        ),
    ],
)
def test_release_fidelity_variables_map_to_one_option_each(
    target: str, variables: str, options: list[str]
) -> None:
    argv = _make_cli_argv(target, variables)
    assert all(argv[argv.index(options[i]) + 1] == options[i + 1] for i in range(0, len(options), 2))
    args = build_parser().parse_args(argv)
    if target == "train":
        assert (args.cfg_dev_loss, args.cfg_csam_draw) == ("batch-mean", "release")
    else:
        assert (args.resampler, args.store_dtype) == ("soxr_hq", "float32")


@pytest.mark.parametrize(("variables", "expected"), [([], ""), (["PORTABLE=1"], "avx2 AVX2 COMPATIBLE")])
def test_portable_pins_the_cpu_code_paths_of_every_target(variables: list[str], expected: str) -> None:
    probe = "probe-env: ; @echo $$ATEN_CPU_CAPABILITY $$ONEDNN_MAX_CPU_ISA $$MKL_CBWR"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")
    }
    out = subprocess.run(
        ["make", "-s", "-C", str(REPO), "--eval", probe, "probe-env", *variables],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert out.strip() == expected


def test_make_train_threads_reaches_the_cli() -> None:
    argv = _make_cli_argv("train", "THREADS=1")
    assert argv[-2:] == ["--threads", "1"]
    assert build_parser().parse_args(argv).cfg_threads == 1
