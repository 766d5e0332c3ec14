"""The demo preset: ``configs/demo.toml`` (read by ``codecfake.presets``) as the one typed, frozen value the demo
runs on.

The file holds every choice in which the demo departs from the paper's protocol: the mel hop, FFT size and values it
extracts, its epochs, batch, learning rate and seeds, the SAM radius per back-end, and the matrix of runs. The stages
never read it: the demo passes its values to them as command-line options, and ``codecfake features|train --preset
demo`` resolve them at the command line. The demo needs every key (a generic preset may leave keys out); a missing
one, an unknown one, a value of the wrong type, or a run of an unknown task / optimiser raises
:class:`DemoPresetError` naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codecfake.presets import Cell, PresetError, read_preset

NAME = "demo"  # configs/demo.toml


class DemoPresetError(PresetError):
    """The demo preset lacks a key the demo needs, or names a task or optimiser that does not exist."""


@dataclass(frozen=True)
class DemoPreset:
    name: str  # the preset's name, passed as `--preset NAME` so feature sets record it
    mel_hop: int  # samples between mel frames (the paper's: 128)
    mel_n_fft: int  # FFT size = window length in samples (the paper's: 512)
    mel_values: str  # "log" or "power" (the paper's)
    epochs: int  # per run
    batch: int  # clips per optimiser step
    lr: float  # initial Adam learning rate (the paper's 5e-4)
    lr_step_epochs: int  # epochs per halving of the learning rate (the paper's 2)
    seeds: int  # training seeds per setting of `codecfake demo` (688, 689, ...)
    sam_rho: Mapping[
        str, float
    ]  # back-end -> rho of its SAM-family runs; back-ends not listed keep the paper's
    default_cells: tuple[Cell, ...]  # `codecfake demo`
    full_cells: tuple[Cell, ...]  # `codecfake demo --full`

    def cells(self, *, full: bool) -> tuple[Cell, ...]:
        return self.full_cells if full else self.default_cells

    def rho_for(self, backend: str, opt: str) -> float | None:
        """The radius a run of (back-end, optimiser) overrides; None for Adam or a back-end without an entry."""
        return None if opt == "adam" else self.sam_rho.get(backend)


def _need(table: Mapping, keys: tuple[str, ...], where: str, path: Path) -> None:
    missing = [k for k in keys if k not in table]
    if missing:
        raise DemoPresetError(f"{path}: [{where}] lacks {missing}; the demo needs every one of {list(keys)}")


def _check_cells(cells: tuple[Cell, ...], where: str, path: Path) -> None:
    from codecfake.train.config import OPTIMISERS, TASKS

    for cell in cells:
        if cell[0] not in TASKS or cell[2] not in OPTIMISERS:
            raise DemoPresetError(
                f"{path}: [matrix] {where}: {list(cell)!r} needs a task of {TASKS} and an optimiser of {OPTIMISERS}"
            )


def load_demo_preset(path: Path | None = None) -> DemoPreset:
    """Read and check the preset (default: the packaged ``configs/demo.toml``; ``path``: another file)."""
    preset = read_preset(NAME, path=path)
    assert preset is not None  # a name, not "none"
    _need(preset.features, ("mel_hop", "mel_n_fft", "mel_values"), "features", preset.path)
    _need(preset.train, ("epochs", "batch", "lr", "lr_step_epochs"), "train", preset.path)
    _need(preset.matrix, ("default", "full", "seeds"), "matrix", preset.path)
    for where in ("default", "full"):
        _check_cells(preset.matrix[where], where, preset.path)
    return DemoPreset(
        name=preset.name,
        mel_hop=preset.features["mel_hop"],
        mel_n_fft=preset.features["mel_n_fft"],
        mel_values=preset.features["mel_values"],
        epochs=preset.train["epochs"],
        batch=preset.train["batch"],
        lr=preset.train["lr"],
        lr_step_epochs=preset.train["lr_step_epochs"],
        seeds=preset.matrix["seeds"],
        sam_rho=preset.sam_rho,
        default_cells=preset.matrix["default"],
        full_cells=preset.matrix["full"],
    )


__all__ = ["Cell", "DemoPreset", "DemoPresetError", "NAME", "load_demo_preset"]
