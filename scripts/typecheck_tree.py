"""Lay out the package as Python imports it, for mypy: ``build/typecheck/codecfake`` made of symlinks.

The stage folders (``store/``, ``train/``, ...) become ``codecfake.store``, ``codecfake.train``, ... through
pyproject's ``package-dir``, which the editable install serves with an import hook; mypy maps files to modules by
their place on disk and runs no import hooks, so it needs a tree where ``codecfake/store`` exists. This script
rebuilds that tree from ``package-dir`` on every run (a few milliseconds), so a package or module added later is
checked without anyone editing a list. Run by ``make lint``: ``.venv/bin/python scripts/typecheck_tree.py [FOLDER]``
(default: ``build/typecheck``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TREE = REPO / "build" / "typecheck"
SKIP = {"__pycache__"}


def package_dirs(pyproject: Path) -> dict[str, Path]:
    """Each import package and the folder pyproject maps it to."""
    table = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    mapping: dict[str, str] = table["tool"]["setuptools"]["package-dir"]
    return {name: pyproject.parent / folder for name, folder in mapping.items()}


def _link(link: Path, target: Path) -> None:
    link.symlink_to(os.path.relpath(target, link.parent), target_is_directory=target.is_dir())


def _place(name: str, dirs: dict[str, Path], at: Path) -> None:
    """Put package `name` at `at`: one link to its folder, or a folder of links where a subpackage lives elsewhere."""
    folder = dirs[name]
    moved = {
        child.rsplit(".", 1)[1]: child
        for child in dirs
        if child.rsplit(".", 1)[0] == name and child.count(".") == name.count(".") + 1
        if dirs[child] != folder / child.rsplit(".", 1)[1]
    }
    if not moved:
        _link(at, folder)
        return
    at.mkdir(parents=True)
    for entry in sorted(folder.iterdir()):
        if entry.name not in SKIP and entry.name not in moved:
            _link(at / entry.name, entry)
    for short, child in sorted(moved.items()):
        _place(child, dirs, at / short)


def build_tree(pyproject: Path = REPO / "pyproject.toml", tree: Path = TREE) -> Path:
    """Rebuild `tree` from scratch; returns the folder to give mypy as its search path."""
    dirs = package_dirs(pyproject)
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    for name in sorted(n for n in dirs if "." not in n):
        _place(name, dirs, tree / name)
    return tree


if __name__ == "__main__":
    build_tree(tree=Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else TREE)
