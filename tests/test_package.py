"""The foundation: one import package with the stage folders mapped in, and a CLI that mirrors the Makefile."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("stage", ["store", "extract", "train", "evaluate", "corpus"])
def test_stage_folders_are_codecfake_subpackages(stage: str) -> None:
    module = importlib.import_module(f"codecfake.{stage}")
    assert Path(module.__file__).resolve().parent == REPO / stage


def test_no_top_level_stage_modules_are_installed(tmp_path: Path) -> None:
    # Outside the checkout, only `codecfake` is importable: `evaluate` would shadow Hugging Face's package.
    code = "import importlib.util as u; print([m for m in ('store','extract','train','evaluate','corpus') if u.find_spec(m)])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "[]"


COMMANDS = {
    "corpus",
    "store",
    "features",
    "augment",
    "train",
    "import-official",
    "evaluate",
    "eer",
    "metrics",
    "calibrate",
    "fuse",
    "export",
    "report",
    "score",
    "baselines",
    "compare",
    "robustness",
    "demo",
    "openset-loo",
    "experiments",
}


def _help_commands(help_text: str) -> set[str]:
    """The command names of argparse's subcommand list: the lines indented by exactly four spaces."""
    return {m.group(1) for m in re.finditer(r"^ {4}(\S+)", help_text, re.M)}


def test_cli_lists_every_stage_command() -> None:
    env = {**os.environ, "COLUMNS": "100"}
    out = subprocess.run(
        [sys.executable, "-m", "codecfake", "--help"], capture_output=True, text=True, check=True, env=env
    )
    assert _help_commands(out.stdout) == COMMANDS
    for command in sorted(COMMANDS):  # each listed command parses and has its own help
        sub = subprocess.run(
            [sys.executable, "-m", "codecfake", command, "--help"], capture_output=True, text=True, env=env
        )
        assert sub.returncode == 0 and sub.stdout.startswith(f"usage: codecfake {command}"), sub.stderr


def test_help_imports_neither_torch_nor_zarr() -> None:
    code = (
        "import sys, contextlib, io\nfrom codecfake.app.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('torch', 'zarr', 'transformers', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_without_command_exits_2_with_usage() -> None:
    out = subprocess.run([sys.executable, "-m", "codecfake"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "usage: codecfake" in out.stdout


def test_make_help_documents_the_variables() -> None:
    out = subprocess.run(["make", "-s", "-C", str(REPO), "help"], capture_output=True, text=True, check=True)
    for var in ("DATA=", "MODEL_DIR=", "LAYERS=", "STORE=", "BACKEND=", "OPT=", "TASK=", "EPOCHS=", "RUN="):
        assert var in out.stdout
