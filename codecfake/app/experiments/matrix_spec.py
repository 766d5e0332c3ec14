"""The matrix schema: ``configs/<name>.toml``'s ``[matrix]`` table as frozen, checked values.

```toml
[matrix]
title = "Table VIII: co-trained on ASVspoof 2019 LA + Codecfake, EER %"
table = "VIII"           # the paper's table (its layout in the results); "" for none
data = "paper"           # paper: Codecfake + ASVspoof 2019 LA + In-the-Wild parts | demo: the mini corpora
columns = ["19LA", "ITW", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "CAVG", "AVG"]
eer = "paper"            # paper: min(EER(s), EER(-s)) as the paper's tables | plain: EER(s)
seeds = 1                # runs per cell, seeds 688, 689, ... (`--seeds` / SEEDS= overrides)
seed = 688               # the first seed
name = "{task}-{backend}-{opt}-s{seed}-{extractor}{tag}"   # run folder names
preset = "none"          # option preset whose [train] values every run takes ("": the sets' own, as train)
protocol = ""            # "loo": one run per training generator left out (the hold-out option); "full+loo": both
loo_seeds = 0            # protocol loo: held-out runs for the first N seeds only (0: every seed)
loo_generators = []      # protocol loo: only these generators are left out, where a cell trains on them ([]: all)
robustness = ""          # DEGRADE text: every full run is also laundered (`codecfake robustness`), e.g. "mp3:32k,amr"
groups = {}              # named means over columns for findings, e.g. { seen = ["C1", "C2", "C3"] }
findings = []            # paired comparisons of two rows with a computed verdict (matrix_findings.py)
page = ""                # also write the results to this page (and its .json beside), e.g. "docs/x-results.md"
include = []             # other matrices whose tables (cells, columns, paper numbers) this one runs too
train = { save_every_steps = 1000 }   # training options of every run (a cell's own win)

[[matrix.cells]]
row = "W2V2-AASIST (CSAM)"   # the paper's row name
task = "cotrain"
backend = "aasist"
opt = "csam"
extractor = "xlsr"
array = "L05"
train = {}                   # any `codecfake train` option, e.g. { rho = 0.1 }
loo = true                   # protocol loo: false = this cell's full runs only
paper = { "19LA" = 0.313, ITW = 4.689 }   # the paper's EER % per column, for comparison
```

Every key but ``title`` and the cells' ``task``, ``backend``, ``opt``, ``extractor`` is optional. An unknown key, a
value of the wrong type, an unknown task / optimiser / back-end / extractor / training option, or two cells alike
raise :class:`MatrixError` naming the file and the key, before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from codecfake.app.experiments.errors import MatrixError
from codecfake.app.experiments.study_spec import study_keys
from codecfake.presets import CONFIG_DIR, PresetError, read_preset

DATA_KINDS = ("paper", "demo")
EER_MODES = ("paper", "plain")
PROTOCOLS = ("", "loo", "full+loo")
PAPER_COLUMNS = ("19LA", "ITW", *(f"C{k}" for k in range(1, 8)), "CAVG", "AVG")
DEFAULT_NAME = "{task}-{backend}-{opt}-s{seed}-{extractor}{tag}"
NAME_FIELDS = ("task", "backend", "opt", "seed", "extractor", "tag", "matrix")
# Options a cell cannot set: the runner sets them per run (name, seed) or they are the cell's own keys.
RUNNER_OPTIONS = ("name", "seed", "task", "backend", "opt", "extractor", "array", "sources")

_TOP = {
    "title": str,
    "table": str,
    "data": str,
    "columns": list,
    "eer": str,
    "seeds": int,
    "seed": int,
    "name": str,
    "preset": str,
    "protocol": str,
    "include": list,
    "train": dict,
    "cells": list,
    "note": str,
    "loo_seeds": int,
    "loo_generators": list,
    "robustness": str,
    "groups": dict,
    "findings": list,
    "page": str,
}
_CELL = {
    "row": str,
    "task": str,
    "backend": str,
    "opt": str,
    "extractor": str,
    "array": str,
    "train": dict,
    "tag": str,
    "paper": dict,
    "note": str,
    "loo": bool,
}


@dataclass(frozen=True)
class Cell:
    """One cell of a table: a training configuration, trained once per seed, and the paper's numbers for it."""

    row: str  # the table's row name, e.g. "W2V2-AASIST (CSAM)"
    task: str
    backend: str
    opt: str
    extractor: str  # mel | xlsr | wavlm
    array: str = ""  # "L05", "mel"; "" -> the sets' only array
    options: Mapping[str, Any] = field(default_factory=dict)  # further training options (typed)
    tag: str = ""  # run-name suffix for the options ("" -> derived from them)
    paper: Mapping[str, float] = field(default_factory=dict)  # column -> the paper's EER %
    note: str = ""
    loo: bool = True  # protocol loo: also this cell's held-out runs


@dataclass(frozen=True)
class Table:
    """One of the paper's tables (or the demo's): its layout and cells."""

    source: str  # the matrix file that defined it
    title: str
    table: str  # "III", "IV", "VIII" or ""
    columns: tuple[str, ...]
    eer: str  # paper | plain
    cells: tuple[Cell, ...]
    options: Mapping[str, Any] = field(default_factory=dict)  # the file's [matrix] train: every cell's
    note: str = ""


@dataclass(frozen=True)
class Matrix:
    """A matrix: its tables (one, or several through ``include``) and how its runs are made."""

    name: str
    path: Path
    title: str
    data: str
    seeds: int
    first_seed: int
    name_template: str
    preset: str  # "" (train's own rule), "none", or a preset name
    protocol: str
    tables: tuple[Table, ...]
    options: Mapping[str, Any] = field(default_factory=dict)  # [matrix] train of this file: every run's
    loo_seeds: int = 0  # held-out runs for the first N seeds (0: all)
    loo_generators: tuple[str, ...] = ()  # () = every training generator
    robustness: str = ""  # DEGRADE text for every full run ("" = no sweep)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    findings: tuple[Any, ...] = ()  # matrix_findings.FindingSpec
    page: str = ""
    note: str = ""

    @property
    def cells(self) -> tuple[Cell, ...]:
        return tuple(c for t in self.tables for c in t.cells)


def _typed(values: Mapping[str, Any], keys: Mapping[str, type], where: str, path: Path) -> dict[str, Any]:
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise MatrixError(f"{path}: {where} has unknown keys {unknown}; expected some of {sorted(keys)}")
    for key, value in values.items():
        kind = keys[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise MatrixError(f"{path}: {where} {key} = {value!r} must be {kind.__name__}")
    return dict(values)


def _choice(value: str, choices: tuple[str, ...], where: str, path: Path) -> str:
    if value not in choices:
        raise MatrixError(f"{path}: {where} = {value!r}: expected one of {', '.join(map(repr, choices))}")
    return value


def train_options(values: Mapping[str, Any], where: str, path: Path) -> dict[str, Any]:
    """``values`` checked as ``codecfake train`` options (TrainConfig fields, typed as its TOML presets are)."""
    from codecfake.train.config import ConfigError, coerce_values

    fixed = sorted(set(values) & set(RUNNER_OPTIONS))
    if fixed:
        raise MatrixError(
            f"{path}: {where} sets {fixed}: a cell's own keys (task, backend, opt, extractor, array) or the "
            "runner's (name, seed) are not training options here"
        )
    try:
        return coerce_values(values, source=f"{path}: {where}")
    except ConfigError as err:
        raise MatrixError(str(err)) from None


def _paper(values: Mapping[str, Any], columns: tuple[str, ...], where: str, path: Path) -> dict[str, float]:
    out = {}
    for col, v in values.items():
        if col not in columns:
            raise MatrixError(f"{path}: {where}.paper names column {col!r}, not one of {list(columns)}")
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 100:
            raise MatrixError(f"{path}: {where}.paper {col} = {v!r} must be an EER % between 0 and 100")
        out[col] = float(v)
    return out


def _cell(raw: Any, k: int, columns: tuple[str, ...], path: Path) -> Cell:
    from codecfake.cliargs import EXTRACTORS
    from codecfake.train.backends import BACKENDS
    from codecfake.train.config import OPTIMISERS, TASKS

    where = f"[[matrix.cells]] #{k + 1}"
    if not isinstance(raw, Mapping):
        raise MatrixError(f"{path}: {where} must be a table, found {raw!r}")
    c = _typed(raw, _CELL, where, path)
    missing = [key for key in ("task", "backend", "opt", "extractor") if key not in c]
    if missing:
        raise MatrixError(f"{path}: {where} lacks {missing}; every cell names task, backend, opt, extractor")
    _choice(c["task"], TASKS, f"{where} task", path)
    _choice(c["opt"], OPTIMISERS, f"{where} opt", path)
    _choice(c["backend"], tuple(BACKENDS), f"{where} backend", path)
    _choice(c["extractor"], EXTRACTORS, f"{where} extractor", path)
    options = train_options(c.get("train", {}), f"{where} train", path)
    return Cell(
        row=c.get("row") or f"{c['backend']} {c['opt']} ({c['task']}, {c['extractor']})",
        task=c["task"],
        backend=c["backend"],
        opt=c["opt"],
        extractor=c["extractor"],
        array=c.get("array", ""),
        options=MappingProxyType(options),
        tag=c.get("tag", ""),
        paper=MappingProxyType(_paper(c.get("paper", {}), columns, where, path)),
        note=c.get("note", ""),
        loo=c.get("loo", True),
    )


def _table(top: Mapping[str, Any], name: str, path: Path) -> Table | None:
    columns = tuple(top.get("columns", PAPER_COLUMNS))
    if not columns or not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise MatrixError(f"{path}: [matrix] columns must be distinct condition names, found {list(columns)}")
    shared = train_options(top.get("train", {}), "[matrix] train", path)
    cells = tuple(_cell(raw, k, columns, path) for k, raw in enumerate(top.get("cells", [])))
    keys = [(c.task, c.backend, c.opt, c.extractor, c.array, sorted(c.options.items())) for c in cells]
    for k, key in enumerate(keys):
        if key in keys[:k]:
            raise MatrixError(f"{path}: [[matrix.cells]] #{k + 1} repeats cell #{keys.index(key) + 1}")
    if not cells:
        return None
    return Table(
        source=name,
        title=top["title"],
        table=top.get("table", ""),
        columns=columns,
        eer=_choice(top.get("eer", "paper"), EER_MODES, "[matrix] eer", path),
        cells=cells,
        options=MappingProxyType(shared),
        note=top.get("note", ""),
    )


def matrix_path(name: str) -> Path:
    """``configs/<name>.toml`` for a name, or the file ``name`` when it is a path to a .toml file."""
    return Path(name) if name.endswith(".toml") else CONFIG_DIR / f"{name}.toml"


def known_matrices() -> list[str]:
    """The presets in configs/ that hold a [matrix] table."""
    out = []
    for path in sorted(CONFIG_DIR.glob("*.toml")):
        try:
            if read_preset(path.stem, path=path).matrix:  # type: ignore[union-attr]
                out.append(path.stem)
        except PresetError:
            continue
    return out


def load_matrix(name: str, *, _seen: tuple[str, ...] = ()) -> Matrix:
    """The matrix ``name`` (``configs/<name>.toml``, or a path to a .toml file), checked (module docstring)."""
    path = matrix_path(name)
    stem = path.stem
    if not path.is_file():
        raise MatrixError(
            f"{path}: matrix {name!r} not found; known matrices: {', '.join(known_matrices()) or 'none'} "
            "(or a path to a .toml file)"
        )
    preset = read_preset(stem, path=path)
    assert preset is not None  # a file, not "none"
    if not preset.matrix:
        raise MatrixError(f"{path}: no [matrix] table; it is an option preset, not a matrix")
    top = _typed(preset.matrix, _TOP, "[matrix]", path)
    if "title" not in top:
        raise MatrixError(f"{path}: [matrix] lacks title")
    tables: list[Table] = []
    own = _table(top, stem, path)
    for inc in top.get("include", []):
        if not isinstance(inc, str) or inc in (*_seen, stem):
            raise MatrixError(f"{path}: [matrix] include {inc!r}: expected other matrices' names, no cycle")
        sub = load_matrix(inc, _seen=(*_seen, stem))
        if sub.data != top.get("data", "paper"):
            raise MatrixError(
                f"{path}: include {inc!r} is of data {sub.data!r}, this matrix of {top.get('data')!r}"
            )
        tables.extend(sub.tables)
    if own is not None:
        tables.append(own)
    if not tables:
        raise MatrixError(f"{path}: [matrix] has no cells and includes no matrix")
    template = top.get("name", DEFAULT_NAME)
    try:
        template.format(**dict.fromkeys(NAME_FIELDS, "x"))
    except (KeyError, IndexError, ValueError) as err:
        raise MatrixError(
            f"{path}: [matrix] name = {template!r}: fields are {list(NAME_FIELDS)} ({err})"
        ) from None
    for key in ("seeds",):
        if top.get(key, 1) < 1:
            raise MatrixError(f"{path}: [matrix] {key} = {top[key]} must be at least 1")
    preset_name = top.get("preset", "")
    if preset_name not in ("", "none", "paper"):
        read_preset(preset_name)  # exists and is valid, or PresetError naming it
    return Matrix(
        name=stem,
        path=path,
        title=top["title"],
        data=_choice(top.get("data", "paper"), DATA_KINDS, "[matrix] data", path),
        seeds=top.get("seeds", 1),
        first_seed=top.get("seed", 688),
        name_template=template,
        preset="none" if preset_name == "paper" else preset_name,
        protocol=_choice(top.get("protocol", ""), PROTOCOLS, "[matrix] protocol", path),
        tables=tuple(tables),
        options=MappingProxyType(train_options(top.get("train", {}), "[matrix] train", path)),
        **study_keys(top, tables, path),
    )


__all__ = [
    "Cell",
    "DATA_KINDS",
    "DEFAULT_NAME",
    "Matrix",
    "MatrixError",
    "PAPER_COLUMNS",
    "PROTOCOLS",
    "Table",
    "known_matrices",
    "load_matrix",
    "matrix_path",
    "train_options",
]
