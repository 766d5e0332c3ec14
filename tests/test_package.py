"""The foundation: one import package with the stage folders mapped in, and a CLI that mirrors the Makefile."""

import importlib
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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]"


def test_cli_lists_every_stage_command() -> None:
    out = subprocess.run([sys.executable, "-m", "codecfake", "--help"], capture_output=True, text=True, check=True)
    for command in ("corpus", "store", "features", "train", "evaluate", "report", "score", "import-official", "demo"):
        assert command in out.stdout, f"`codecfake {command}` missing from --help"


def test_cli_without_command_exits_2_with_usage() -> None:
    out = subprocess.run([sys.executable, "-m", "codecfake"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "usage: codecfake" in out.stdout


def test_make_help_documents_the_variables() -> None:
    out = subprocess.run(["make", "-s", "-C", str(REPO), "help"], capture_output=True, text=True, check=True)
    for var in ("DATA=", "MODEL_DIR=", "LAYERS=", "STORE=", "BACKEND=", "OPT=", "TASK=", "EPOCHS=", "RUN="):
        assert var in out.stdout
