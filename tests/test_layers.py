"""The dependency rules of the package, enforced: every module's imports follow LAYERS, and no modules import each
other in a cycle.

Imports are read from the source (ast), not by importing it: module-level and function-local ``import`` /
``from … import`` statements (those under ``if TYPE_CHECKING`` too: they count for the layers, not for cycles, as
they never run), ``importlib.import_module("…")`` with a literal name, the submodules a package names in
``lazy_exports(__name__, {...})``, and module names in a module-level table (the parser's command modules). The
table below is the one home of the rules; ``docs/INTERFACES.md`` shows it (a test checks that the two agree).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Which layer a module belongs to: the longest prefix of its dotted name listed here decides.
LAYER_OF = {
    "codecfake": "leaf",  # codecfake/*.py: errors, common, eer, atomic, progress, presets, …
    "codecfake.configs": "leaf",  # the TOML presets' package (data)
    "codecfake.corpus": "corpus",
    "codecfake.corpus.build": "corpus.build",
    "codecfake.corpus.cli": "corpus.build",  # the corpus commands build corpora too (`corpus demo`, `corpus synth`)
    "codecfake.store": "store",
    "codecfake.augment": "augment",  # augmentations as store variants (RawBoost, codecs, noise …)
    "codecfake.extract": "extract",
    "codecfake.train": "train",
    "codecfake.evaluate": "evaluate",
    "codecfake.app": "app",
    "codecfake.__main__": "app",  # `python -m codecfake`: runs the application's CLI
}
# Layer -> the other layers its modules may import (a layer may always import itself).
LAYERS: dict[str, tuple[str, ...]] = {
    "leaf": (),
    "corpus": ("leaf",),
    "corpus.build": ("corpus", "leaf"),
    "store": ("leaf",),
    "augment": ("corpus.build", "corpus", "leaf"),
    "extract": ("augment", "corpus", "store", "leaf"),
    "train": ("augment", "store", "corpus", "leaf"),
    "evaluate": ("augment", "store", "train", "corpus", "extract", "leaf"),
    "app": ("evaluate", "train", "extract", "augment", "store", "corpus.build", "corpus", "leaf"),
}


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``where`` (path:line); ``type_only``: under ``if TYPE_CHECKING``."""

    source: str
    target: str
    where: str
    type_only: bool = False


def layer_of(module: str, table: Mapping[str, str] = LAYER_OF) -> str:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in table:
            return table[".".join(parts[:n])]
    raise KeyError(
        f"{module}: no layer in LAYER_OF; add its package to the table (and to docs/INTERFACES.md)"
    )


def package_modules(repo: Path = REPO) -> dict[str, Path]:
    """Every module of the installed package -> its file, from pyproject.toml's package-dir mapping."""
    setup = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {pkg: repo / folder for pkg, folder in setup["package-dir"].items()}
    assert sorted(folders) == sorted(setup["packages"]), "package-dir and packages list different packages"
    modules = {}
    for pkg, folder in folders.items():
        for path in sorted(folder.glob("*.py")):
            modules[pkg if path.stem == "__init__" else f"{pkg}.{path.stem}"] = path
    return modules


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of ``from <level dots><name> import …`` written in ``module``."""
    if level == 0:
        return name or ""
    base = module.split(".")
    base = base[: len(base) - level + (1 if is_package else 0)]
    return ".".join(base + ([name] if name else []))


def _module_dicts(tree: ast.Module) -> dict[str, ast.Dict]:
    """Module-level ``NAME = {...}`` literals (a package's lazy export table)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out.update({t.id: node.value for t in targets if isinstance(t, ast.Name)})
    return out


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks (imports for annotations only, never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        test = node.test if isinstance(node, ast.If) else None
        name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
        if name == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(module: str, source: str, where: str, *, is_package: bool, known: Iterable[str]) -> list[Edge]:
    """The imports of one module's source as edges to modules of ours (names starting with ``codecfake``)."""
    known = set(known)
    tree = ast.parse(source)
    tables = _module_dicts(tree)
    typing_only = _type_checking_lines(tree)
    found: list[
        tuple[str, int]
    ] = [  # a module-level table of modules imported by name (codecfake.app.parser's)
        (v.value, v.lineno)
        for table in tables.values()
        for v in table.values
        if isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value in known
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in known else base, node.lineno))
        elif isinstance(node, ast.Call) and node.args and _call_name(node) == "import_module":
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((arg.value, node.lineno))
        elif isinstance(node, ast.Call) and _call_name(node) == "lazy_exports" and len(node.args) == 2:
            table = node.args[1]
            table = tables.get(table.id) if isinstance(table, ast.Name) else table
            if isinstance(table, ast.Dict):
                pkg = module if is_package else module.rpartition(".")[0]
                found += [
                    (f"{pkg}.{v.value}", v.lineno)
                    for v in table.values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)
                ]
    edges = [
        Edge(module, target, f"{where}:{line}", line in typing_only)
        for target, line in sorted(found, key=lambda t: t[1])
        if (target == "codecfake" or target.startswith("codecfake.")) and target != module
    ]
    return list(dict.fromkeys(edges))  # one edge per (target, line)


def import_graph(repo: Path = REPO) -> list[Edge]:
    modules = package_modules(repo)
    edges = []
    for module, path in modules.items():
        where = str(path.relative_to(repo))
        edges += imports_of(
            module, path.read_text(), where, is_package=path.stem == "__init__", known=modules
        )
    return edges


def forbidden(
    edges: Iterable[Edge],
    known: Iterable[str],
    layers: Mapping[str, Iterable[str]] = LAYERS,
    layer_table: Mapping[str, str] = LAYER_OF,
) -> list[str]:
    """One line per import the layer table forbids, or whose target is no module of the package."""
    known = set(known)
    problems = []
    for e in edges:
        if e.target not in known:
            problems.append(f"{e.where}: {e.source} imports {e.target}, which is no module of the package")
            continue
        src, dst = layer_of(e.source, layer_table), layer_of(e.target, layer_table)
        if src != dst and dst not in layers[src]:
            allowed = ", ".join(layers[src]) or "nothing of ours"
            problems.append(
                f"{e.where}: {e.source} ({src}) imports {e.target} ({dst}); {src} may import {allowed}"
            )
    return problems


def cycles(edges: Iterable[Edge]) -> list[list[Edge]]:
    """One import cycle (as its edges, in order) per group of modules that import each other (Tarjan's strongly
    connected components). Imports for annotations only (``type_only``) never run, so they make no cycle."""
    graph: dict[str, dict[str, Edge]] = {}
    for e in edges:
        if e.type_only:
            continue
        graph.setdefault(e.source, {}).setdefault(e.target, e)
        graph.setdefault(e.target, {})
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:  # recursion depth <= number of modules (a few hundred)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found = []
    for group in groups:
        members = set(group)
        if len(group) > 1:
            found.append(_cycle_through(min(group), graph, members))
    return found


def _cycle_through(start: str, graph: Mapping[str, Mapping[str, Edge]], members: set[str]) -> list[Edge]:
    """The shortest cycle from ``start`` back to itself inside one strongly connected group (breadth first)."""
    paths: dict[str, list[Edge]] = {start: []}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w, e in sorted(graph[v].items()):
                if w == start:
                    return [*paths[v], e]
                if w in members and w not in paths:
                    paths[w] = [*paths[v], e]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start}: no cycle in its strongly connected group")  # pragma: no cover


def describe(cycle: list[Edge]) -> str:
    return (
        " -> ".join(e.source for e in cycle)
        + f" -> {cycle[0].source} ("
        + "; ".join(f"{e.where} imports {e.target}" for e in cycle)
        + ")"
    )


# ---- the package itself ---------------------------------------------------------------------------------------


def test_every_module_has_a_layer_and_every_layer_a_rule() -> None:
    modules = package_modules()
    assert "codecfake.train.config" in modules and "codecfake.app.cli" in modules  # the scan sees the package
    assert {layer_of(m) for m in modules} <= set(LAYERS)
    assert set(LAYER_OF.values()) == set(LAYERS)
    on_disk = {p for folder in ("codecfake", "corpus", "store", "extract", "train", "evaluate", "configs")
               for p in (REPO / folder).rglob("*.py")}  # fmt: skip
    assert on_disk <= set(modules.values()), sorted(map(str, on_disk - set(modules.values())))


def test_no_import_crosses_the_layers() -> None:
    problems = forbidden(import_graph(), package_modules())
    assert not problems, "imports the layer table forbids:\n" + "\n".join(problems)


def test_no_modules_import_each_other_in_a_cycle() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(describe(c) for c in found)


def test_leaf_modules_hold_no_application_code() -> None:
    """``codecfake/*.py`` are leaves (imported by every layer); the CLI and the demo live in ``codecfake/app``."""
    leaves = [m for m in package_modules() if m.count(".") <= 1 and layer_of(m) == "leaf"]
    assert "codecfake.errors" in leaves and "codecfake.cli" not in package_modules()
    assert not [m for m in package_modules() if m.startswith("codecfake.demo")]


def test_interfaces_md_shows_the_layer_table() -> None:
    """docs/INTERFACES.md lists each layer with the layers it may import, in the same words as LAYERS."""
    text = (REPO / "docs" / "INTERFACES.md").read_text()
    for layer, allowed in LAYERS.items():
        row = f"| `{layer}` | {', '.join(f'`{a}`' for a in allowed) or 'nothing of ours'} |"
        assert row in text, f"docs/INTERFACES.md lacks the row {row!r}"


# ---- the checks themselves can fail -----------------------------------------------------------------------------


def test_a_forbidden_edge_is_reported_with_its_file_and_line() -> None:
    source = "def f():\n    from codecfake.app.cli import main\n    return main\n"
    edges = imports_of(
        "codecfake.extract.cli", source, "extract/cli.py", is_package=False, known=["codecfake.app.cli"]
    )
    assert edges == [Edge("codecfake.extract.cli", "codecfake.app.cli", "extract/cli.py:2")]
    known = ["codecfake.extract.cli", "codecfake.app.cli"]
    assert forbidden(edges, known) == [
        "extract/cli.py:2: codecfake.extract.cli (extract) imports codecfake.app.cli (app); "
        "extract may import augment, corpus, store, leaf"
    ]
    stale = [Edge("codecfake.app.cli", "codecfake.cli", "codecfake/app/cli.py:9")]
    assert forbidden(stale, known) == [
        "codecfake/app/cli.py:9: codecfake.app.cli imports codecfake.cli, which is no module of the package"
    ]


def test_every_kind_of_import_is_read() -> None:
    source = (
        "import importlib\nimport codecfake.store.x\nfrom . import errors\nfrom .config import A\n"
        "from codecfake.train import rundir, TrainConfig\n"
        "def f():\n    importlib.import_module('codecfake.extract.mel')\n"
        "_EXPORTS = {'load_run': 'rundir'}\n__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)\n"
    )
    known = {"codecfake.train.rundir", "codecfake.train.errors", "codecfake.train.config", "codecfake.train"}
    edges = imports_of("codecfake.train", source, "train/__init__.py", is_package=True, known=known)
    assert [(e.target, e.where) for e in edges] == [
        ("codecfake.store.x", "train/__init__.py:2"),
        ("codecfake.train.errors", "train/__init__.py:3"),
        ("codecfake.train.config", "train/__init__.py:4"),
        ("codecfake.train.rundir", "train/__init__.py:5"),
        ("codecfake.extract.mel", "train/__init__.py:7"),
        ("codecfake.train.rundir", "train/__init__.py:8"),
    ]


def test_imports_for_annotations_only_are_marked() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from codecfake.store.x import A\nimport codecfake.store.y\n"
    edges = imports_of("codecfake.store.z", source, "store/z.py", is_package=False, known=())
    assert [(e.target, e.type_only) for e in edges] == [
        ("codecfake.store.x", True),
        ("codecfake.store.y", False),
    ]


def test_a_cycle_is_reported_with_every_edge() -> None:
    edges = [
        Edge("codecfake.a", "codecfake.b", "a.py:3"),
        Edge("codecfake.b", "codecfake.c", "b.py:5"),
        Edge("codecfake.c", "codecfake.a", "c.py:7"),
        Edge("codecfake.c", "codecfake.d", "c.py:8"),  # not part of the cycle
    ]
    found = cycles(edges)
    assert found == [edges[:3]]
    assert describe(found[0]) == (
        "codecfake.a -> codecfake.b -> codecfake.c -> codecfake.a "
        "(a.py:3 imports codecfake.b; b.py:5 imports codecfake.c; c.py:7 imports codecfake.a)"
    )
    assert cycles(edges[1:]) == []
    annotation = Edge("codecfake.c", "codecfake.a", "c.py:2", type_only=True)  # under `if TYPE_CHECKING:`
    assert cycles([*edges[:2], annotation]) == []


@pytest.mark.parametrize(("module", "layer"), [("codecfake.corpus.build.tiny", "corpus.build"),
                                               ("codecfake.corpus.kinds", "corpus"), ("codecfake.eer", "leaf"),
                                               ("codecfake.app.demo.pipeline", "app")])  # fmt: skip
def test_the_longest_listed_prefix_decides_the_layer(module: str, layer: str) -> None:
    assert layer_of(module) == layer
