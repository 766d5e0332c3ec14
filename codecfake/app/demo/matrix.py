"""Which runs the demo trains: the matrix ``configs/demo-default.toml`` (or ``demo-full.toml`` with ``--full``),
planned by the experiment runner with the demo preset's values as explicit options.

The default matrix fits `make demo`'s 20-minute budget on 2 CPU cores; `--full` (``make experiments``) runs both
back-ends with every optimiser. Run names are stable so a rerun finds and reuses finished runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecfake.app.demo.preset import DemoPreset, load_demo_preset
from codecfake.app.experiments.matrix_spec import Cell, load_matrix
from codecfake.app.experiments.plan import Plan, plan_matrix

MATRICES = {False: "demo-default", True: "demo-full"}  # --full -> the matrix file


@dataclass(frozen=True)
class RunSpec:
    """One training run of the matrix."""

    task: str  # vocoder | codec | cotrain | trace
    backend: str  # lcnn | aasist
    opt: str
    seed: int
    rho: float | None = (
        None  # the SAM radius this run passes as --rho (None: TrainConfig's, the paper's 0.05)
    )

    @property
    def name(self) -> str:
        return f"demo-{self.task}-{self.backend}-{self.opt}-s{self.seed}"

    @property
    def setting(self) -> str:
        """The paper's name for the training setting."""
        return {
            "vocoder": "vocoder-trained",
            "codec": "codec-trained",
            "cotrain": "co-trained",
            "trace": "source tracing",
        }[self.task]


def preset_options(preset: DemoPreset, epochs: int, batch: int) -> Any:
    """A cell -> the options the demo passes its runs: epochs, batch, lr and its halving, the back-end's radius."""

    def options(cell: Cell) -> dict[str, Any]:
        rho = preset.rho_for(cell.backend, cell.opt)
        values = {"epochs": epochs, "batch": batch, "lr": preset.lr, "lr_step_epochs": preset.lr_step_epochs}
        return values | ({"rho": rho} if rho is not None else {})

    return options


def demo_plan(
    *,
    full: bool,
    store: str | Path,
    runs: str | Path,
    device: str = "auto",
    seeds: int | None = None,
    epochs: int | None = None,
    batch: int | None = None,
    preset: DemoPreset | None = None,
) -> Plan:
    """The demo's runs: the default (or full) matrix's cells once per seed (default: the matrix's seeds)."""
    preset = preset or load_demo_preset()
    return plan_matrix(
        load_matrix(MATRICES[full]),
        store=store,
        runs=runs,
        device=device,
        seeds=seeds,
        option_preset=preset_options(preset, epochs or preset.epochs, batch or preset.batch),
    )


def run_specs(plan: Plan) -> list[RunSpec]:
    """The plan's runs as the results page reads them, in the plan's order."""
    out = []
    for r in plan.runs:
        spec = RunSpec(r.cell.task, r.cell.backend, r.cell.opt, r.seed, r.options.get("rho"))
        assert spec.name == r.name, f"demo matrix run {r.name} is not named as the results page expects"
        out.append(spec)
    return out


def demo_matrix(*, full: bool, seeds: int | None = None, preset: DemoPreset | None = None) -> list[RunSpec]:
    """The demo's runs (default or full matrix, ``seeds`` seeds from 688) as RunSpecs."""
    if seeds is not None and seeds < 1:
        raise ValueError(f"--seeds {seeds}: expected at least 1")
    return run_specs(demo_plan(full=full, store="features", runs="runs", seeds=seeds, preset=preset))


def matrix_seeds(full: bool) -> int:
    """The seeds per cell of the demo's default (or full) matrix."""
    return load_matrix(MATRICES[full]).seeds
