"""Which runs the demo trains: the cells of ``configs/demo.toml`` [matrix] times the seeds.

The default matrix fits `make demo`'s 20-minute budget on 2 CPU cores; `--full` (``make experiments``) runs both
back-ends with every optimiser. Run names are stable so a rerun finds and reuses finished runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from codecfake.app.demo.preset import DemoPreset, DemoPresetError, load_demo_preset


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


def demo_matrix(
    *, full: bool, seeds: int, base_seed: int | None = None, preset: DemoPreset | None = None
) -> list[RunSpec]:
    """The preset's default (or full) cells, once per seed ``base_seed``, ``base_seed + 1``, … (default: the
    paper's seed), each with the SAM radius the preset gives its back-end."""
    from codecfake.train.backends import BACKENDS
    from codecfake.train.config import TrainConfig

    if seeds < 1:
        raise ValueError(f"--seeds {seeds}: expected at least 1")
    preset = preset or load_demo_preset()
    cells = preset.cells(full=full)
    unknown = sorted(({b for _, b, _ in cells} | set(preset.sam_rho)) - set(BACKENDS))
    if unknown:
        raise DemoPresetError(f"demo preset: unknown back-ends {unknown}; expected {', '.join(BACKENDS)}")
    first = TrainConfig.seed if base_seed is None else base_seed
    return [
        RunSpec(task, backend, opt, first + k, preset.rho_for(backend, opt))
        for k in range(seeds)
        for task, backend, opt in cells
    ]
