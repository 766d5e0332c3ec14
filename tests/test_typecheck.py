"""The type check of `make lint`: mypy, with the library's own config (pyproject.toml), on the tree that
scripts/typecheck_tree.py lays out, refuses a call across stages with the wrong argument type; the stage packages'
lazy export tables are what the checker sees, so a name imported from ``codecfake.store`` is typed, not Any."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# evaluate's ASV-score lookup takes a store feature set; handing it the store instead is the kind of slip a
# cross-stage refactor makes
PROBE = """from codecfake.evaluate.tdcf import asv_file_for
from codecfake.store import FeatureStore

store = FeatureStore("features")
asv_file_for({argument})
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("typecheck") / "tree"
    subprocess.run([sys.executable, str(REPO / "scripts" / "typecheck_tree.py"), str(out)], check=True)
    return out


def _mypy(tree: Path, folder: Path, sources: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for name, text in sources.items():
        (folder / name).write_text(text)
    command = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml")]
    command += ["--cache-dir", str(folder / "cache"), "--no-color-output", *sources]
    env = {**os.environ, "MYPYPATH": str(tree)}
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)


def test_mypy_refuses_a_store_where_evaluate_takes_a_feature_set(tree: Path, tmp_path: Path) -> None:
    out = _mypy(
        tree,
        tmp_path,
        {"wrong.py": PROBE.format(argument="store"), "right.py": PROBE.format(argument='store.open("key")')},
    )
    errors = [line for line in out.stdout.splitlines() if ": error:" in line]
    assert out.returncode == 1, out.stdout + out.stderr
    assert len(errors) == 1, out.stdout  # the right call passes: the failure is the argument's type alone
    assert errors[0].startswith('wrong.py:5: error: Argument 1 to "asv_file_for"')
    assert '"FeatureStore"' in errors[0] and '"FeatureSet"' in errors[0] and errors[0].endswith("[arg-type]")


def test_tree_places_every_mapped_package_where_it_imports(tree: Path) -> None:
    table = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for package, folder in table.items():
        placed = tree / package.replace(".", "/") / "__init__.py"
        assert placed.resolve() == (REPO / folder / "__init__.py").resolve(), package
    for module in (REPO / "codecfake").glob("*.py"):  # the leaf modules too
        assert (tree / "codecfake" / module.name).resolve() == module.resolve()


def _lazy_tables(init: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(the ``_EXPORTS`` table, what the ``if TYPE_CHECKING`` block imports): name -> submodule, both."""
    module = ast.parse(init.read_text())
    exports: dict[str, str] = {}
    typed: dict[str, str] = {}
    for node in module.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            if any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets):
                exports = {
                    ast.literal_eval(k): ast.literal_eval(v)
                    for k, v in zip(node.value.keys, node.value.values, strict=True)
                    if k
                }
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                if isinstance(imp, ast.ImportFrom) and imp.module:
                    typed |= {a.name: imp.module.rsplit(".", 1)[1] for a in imp.names if a.asname == a.name}
    return exports, typed


@pytest.mark.parametrize("package", ["store", "extract", "train"])
def test_lazy_exports_are_typed(package: str) -> None:
    # lazy_exports' __getattr__ returns Any, so a name only in _EXPORTS would reach every other stage untyped;
    # `X as X` under TYPE_CHECKING is how mypy sees it re-exported
    exports, typed = _lazy_tables(REPO / package / "__init__.py")
    assert exports and typed == exports
