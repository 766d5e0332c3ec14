"""A matrix as runs: each cell once per seed (and, with ``protocol = "loo"``, once per training generator left out),
with a stable name and the exact ``codecfake train`` and ``codecfake evaluate`` commands that make it.

A run's training options resolve in this order (later wins): the matrix's option preset (its ``[train]`` values, and
its SAM radius for the back-end's SAM-family runs) < the matrix file's ``train`` < the including table's ``train`` <
the cell's ``train`` < the command line's overrides (the demo's ``--epochs`` / ``--batch``). Each is passed to
``codecfake train`` as an explicit option, so the command listed beside a result reproduces it alone.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecfake.app.experiments.matrix_spec import Cell, Matrix, MatrixError, Table
from codecfake.presets import read_preset

HOLD_OUT_OPTION = (
    "hold_out"  # `codecfake train --hold-out GEN` (issue 20): the leave-one-generator-out option
)
Generators = Callable[[Cell], Sequence[str]]  # a cell -> the generators of its training sets' fakes


@dataclass(frozen=True)
class PlannedRun:
    """One training run of the matrix and the commands that make and evaluate it."""

    name: str
    table: str  # the matrix file whose table holds the cell
    cell: Cell
    seed: int
    options: Mapping[str, Any]  # resolved training options (module docstring), hold-out included
    train_argv: tuple[str, ...]
    evaluate_argv: tuple[str, ...]
    run_dir: Path
    held_out: tuple[str, ...] = ()  # protocol loo: the generator this run never sees
    robustness_argv: tuple[
        str, ...
    ] = ()  # the matrix's laundering sweep of a full run (``codecfake robustness``)

    @property
    def command(self) -> str:
        return "codecfake " + shlex.join(self.train_argv)

    @property
    def evaluate_command(self) -> str:
        return "codecfake " + shlex.join(self.evaluate_argv)

    @property
    def robustness_command(self) -> str:
        return "codecfake " + shlex.join(self.robustness_argv) if self.robustness_argv else ""


@dataclass(frozen=True)
class Plan:
    matrix: Matrix
    runs: tuple[PlannedRun, ...]
    store: str
    runs_root: Path
    seeds: int
    protocol: str
    notes: tuple[str, ...] = field(default=())

    def by_name(self) -> dict[str, PlannedRun]:
        return {r.name: r for r in self.runs}


def option_text(value: Any) -> str:
    """A typed option value as ``codecfake train`` parses it back (tuples comma separated, booleans true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(option_text(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def preset_options(preset_name: str, cell: Cell) -> dict[str, Any]:
    """What the matrix's option preset gives ``cell``'s runs: its [train] values and the back-end's SAM radius."""
    if preset_name in ("", "none"):
        return {}
    preset = read_preset(preset_name)
    assert preset is not None
    rho = preset.rho_for(cell.backend, sam_family=cell.opt != "adam")
    return dict(preset.train) | ({"rho": rho} if rho is not None else {})


def cell_tag(cell: Cell, held_out: Sequence[str] = ()) -> str:
    """The run-name suffix of a cell: its ``tag``, else a short digest of its own non-runtime options; plus the
    held-out generators (``-ho-C3``)."""
    from codecfake.train.config import RUNTIME_KEYS

    tag = cell.tag
    own = {k: v for k, v in cell.options.items() if k not in RUNTIME_KEYS}
    if not tag and own:
        blob = json.dumps({k: option_text(v) for k, v in sorted(own.items())}).encode()
        tag = "o" + hashlib.sha256(blob).hexdigest()[:6]
    parts = [p for p in (tag, "ho-" + "+".join(held_out) if held_out else "") if p]
    return "".join(f"-{p}" for p in parts)


def _train_argv(
    cell: Cell, seed: int, name: str, options: Mapping[str, Any], ctx: Mapping[str, Any]
) -> list[str]:
    argv = ["train", "--task", cell.task, "--backend", cell.backend, "--opt", cell.opt, "--seed", str(seed)]
    argv += ["--extractor", cell.extractor, *(["--array", cell.array] if cell.array else [])]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", option_text(value)]
    if ctx["preset"]:
        argv += ["--preset", ctx["preset"]]
    return [
        *argv,
        "--store",
        ctx["store"],
        "--runs",
        str(ctx["runs"]),
        "--device",
        ctx["device"],
        "--name",
        name,
    ]


def _check_config(run: PlannedRun) -> None:
    """The run's options make a valid TrainConfig (a bad value fails here, naming the cell, not mid-matrix)."""
    from codecfake.train.config import ConfigError, TrainConfig, field_types

    c = run.cell
    unknown = sorted(set(run.options) - set(field_types()))
    if unknown:
        raise MatrixError(
            f"matrix cell {c.row!r} ({run.table}): training options {unknown} do not exist in this version of "
            "`codecfake train`"
        )
    try:
        TrainConfig(
            task=c.task, backend=c.backend, opt=c.opt, seed=run.seed, extractor=c.extractor, array=c.array
        ).replace(**run.options)
    except ConfigError as err:
        raise MatrixError(f"matrix cell {c.row!r} ({run.table}): {err}") from None


def _variants(
    matrix: Matrix, cell: Cell, protocol: str, generators: Generators | None
) -> list[tuple[str, ...]]:
    """The held-out generator sets of ``cell``'s runs: () (the full run) unless the protocol is ``loo``, and one per
    training generator (those of ``loo_generators`` only, when the matrix names some) with ``loo`` or ``full+loo``."""
    full: list[tuple[str, ...]] = [] if protocol == "loo" else [()]
    if protocol == "" or not cell.loo:
        return full or [()]
    if generators is None:
        raise MatrixError("protocol loo lists each cell's training generators from the store; none was given")
    found = list(dict.fromkeys(generators(cell)))
    if len(found) < 2:
        raise MatrixError(
            f"protocol loo: cell {cell.row!r} trains on {len(found)} generator(s) {found}; leaving one out needs "
            "at least two"
        )
    chosen = [g for g in found if not matrix.loo_generators or g in matrix.loo_generators]
    return full + [(g,) for g in chosen]


def _check_generators(matrix: Matrix, protocol: str, variants: Mapping[int, list[tuple[str, ...]]]) -> None:
    """A generator ``loo_generators`` names that no cell trains on is a typo, not an empty column."""
    if protocol in ("", None) or not matrix.loo_generators:
        return
    used = {g for v in variants.values() for held in v for g in held}
    unknown = [g for g in matrix.loo_generators if g not in used]
    if unknown:
        raise MatrixError(
            f"{matrix.path}: [matrix] loo_generators names {unknown}, which no cell's training sets hold"
        )


def plan_matrix(
    matrix: Matrix,
    *,
    store: str | Path,
    runs: str | Path,
    device: str = "auto",
    seeds: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    protocol: str | None = None,
    generators: Generators | None = None,
    option_preset: Callable[[Cell], Mapping[str, Any]] | None = None,
    evaluate_options: Sequence[str] = (),
    robustness_options: Sequence[str] = (),
) -> Plan:
    """Every run of ``matrix`` (cells × seeds [× held-out generators]) in seed, table, cell order; runs that several
    tables share (same name, same commands) once. ``overrides``: training options for every run (win over all).
    ``option_preset``: a cell -> the preset's options for it (default: the matrix's ``preset``, read by name).
    ``evaluate_options``: added to every ``codecfake evaluate`` command (e.g. ``--no-figures``), and
    ``robustness_options`` to every ``codecfake robustness`` (the matrix's sweep)."""
    n_seeds = seeds or matrix.seeds
    protocol = matrix.protocol if protocol is None else protocol
    ctx = {
        "store": str(store),
        "runs": Path(runs),
        "device": device,
        "preset": matrix.preset,
        "option_preset": option_preset or (lambda cell: preset_options(matrix.preset, cell)),
        "evaluate_options": list(evaluate_options),
        "robustness_options": list(robustness_options),
    }
    planned: dict[str, PlannedRun] = {}
    variants = {id(c): _variants(matrix, c, protocol, generators) for t in matrix.tables for c in t.cells}
    _check_generators(matrix, protocol, variants)
    loo_seeds = matrix.loo_seeds or n_seeds
    for k in range(n_seeds):  # seed-major: every cell's first seed before any cell's second
        for table in matrix.tables:
            for cell in table.cells:
                for held in variants[id(cell)]:
                    if held and k >= loo_seeds:
                        continue
                    run = _plan_run(matrix, table, cell, matrix.first_seed + k, held, overrides or {}, ctx)
                    other = planned.get(run.name)
                    if other is not None and other.train_argv != run.train_argv:
                        raise MatrixError(
                            f"{matrix.path}: run name {run.name!r} is given to two different cells "
                            f"({other.cell.row!r} of {other.table}, {cell.row!r} of {table.source}); give one a "
                            'tag = "…"'
                        )
                    planned.setdefault(run.name, run)
    return Plan(matrix, tuple(planned.values()), str(store), Path(runs), n_seeds, protocol)


def _plan_run(
    matrix: Matrix,
    table: Table,
    cell: Cell,
    seed: int,
    held: tuple[str, ...],
    overrides: Mapping[str, Any],
    ctx: Mapping[str, Any],
) -> PlannedRun:
    options = {
        **ctx["option_preset"](cell),
        **matrix.options,
        **table.options,
        **cell.options,
        **overrides,
        **({HOLD_OUT_OPTION: held} if held else {}),
    }
    name = matrix.name_template.format(
        task=cell.task,
        backend=cell.backend,
        opt=cell.opt,
        seed=seed,
        extractor=cell.extractor,
        tag=cell_tag(cell, held),
        matrix=matrix.name,
    )
    run_dir = ctx["runs"] / name
    evaluate = ["evaluate", "--run", str(run_dir), "--store", ctx["store"], "--device", ctx["device"]]
    evaluate += ctx["evaluate_options"]
    sweep: list[str] = []
    if matrix.robustness and not held:
        sweep = ["robustness", "--run", str(run_dir), "--store", ctx["store"], "--device", ctx["device"]]
        sweep += ["--degrade", matrix.robustness, *ctx["robustness_options"]]
    run = PlannedRun(
        name=name,
        table=table.source,
        cell=cell,
        seed=seed,
        options=options,
        train_argv=tuple(_train_argv(cell, seed, name, options, ctx)),
        evaluate_argv=tuple(evaluate),
        run_dir=run_dir,
        held_out=held,
        robustness_argv=tuple(sweep),
    )
    _check_config(run)
    return run


def run_state(run_dir: Path) -> str:
    """Where a run stands on disk: ``evaluated`` (trained, and its report is newer than its best weights),
    ``trained`` (DONE, not evaluated since), ``partial`` (started, not finished: train resumes it) or ``new``."""
    report, best = run_dir / "report" / "report.json", run_dir / "checkpoints" / "best.safetensors"
    if (run_dir / "DONE").is_file():
        fresh = report.is_file() and best.is_file() and report.stat().st_mtime >= best.stat().st_mtime
        return "evaluated" if fresh else "trained"
    return "partial" if (run_dir / "config.json").is_file() else "new"


def degrade_of(robustness_argv: Sequence[str]) -> str:
    """The DEGRADE text of a planned ``codecfake robustness`` command."""
    return robustness_argv[robustness_argv.index("--degrade") + 1]


def sweep_done(run_dir: Path, degrade: str) -> bool:
    """The run's robustness sweep over ``degrade`` is on disk and newer than its best weights."""
    path, best = run_dir / "robustness" / "robustness.json", run_dir / "checkpoints" / "best.safetensors"
    if not (path.is_file() and best.is_file() and path.stat().st_mtime >= best.stat().st_mtime):
        return False
    try:
        return bool(json.loads(path.read_text()).get("degrade") == degrade)
    except ValueError:
        return False


def run_finished(run: PlannedRun) -> bool:
    """Nothing left to do for ``run``: trained, evaluated and (when the matrix sweeps) laundered."""
    if run_state(run.run_dir) != "evaluated":
        return False
    if not run.robustness_argv:
        return True
    return sweep_done(run.run_dir, degrade_of(run.robustness_argv))


__all__ = [
    "HOLD_OUT_OPTION",
    "Plan",
    "PlannedRun",
    "cell_tag",
    "degrade_of",
    "option_text",
    "plan_matrix",
    "run_finished",
    "run_state",
    "sweep_done",
]
