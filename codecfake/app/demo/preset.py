"""The demo preset: ``configs/demo.toml`` (read by ``codecfake.presets``) as the one typed, frozen value the demo
runs on.

The file holds every choice in which the demo departs from the paper's protocol: the mel hop, FFT size and values it
extracts, its epochs, batch and learning rate, and the SAM radius per back-end; the runs it trains are the matrices
``configs/demo-default.toml`` and ``configs/demo-full.toml`` (``codecfake.app.demo.matrix``). The stages never read
it: the demo passes its values to them as command-line options, and ``codecfake features|train --preset demo``
resolve them at the command line. The demo needs every key (a generic preset may leave keys out); a missing one, an
unknown one or a value of the wrong type raises :class:`DemoPresetError` naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codecfake.presets import PresetError, read_preset

NAME = "demo"  # configs/demo.toml


class DemoPresetError(PresetError):
    """The demo preset lacks a key the demo needs."""


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
    sam_rho: Mapping[
        str, float
    ]  # back-end -> rho of its SAM-family runs; back-ends not listed keep the paper's

    def rho_for(self, backend: str, opt: str) -> float | None:
        """The radius a run of (back-end, optimiser) overrides; None for Adam or a back-end without an entry."""
        return None if opt == "adam" else self.sam_rho.get(backend)


def _need(table: Mapping, keys: tuple[str, ...], where: str, path: Path) -> None:
    missing = [k for k in keys if k not in table]
    if missing:
        raise DemoPresetError(f"{path}: [{where}] lacks {missing}; the demo needs every one of {list(keys)}")


def load_demo_preset(path: Path | None = None) -> DemoPreset:
    """Read and check the preset (default: the packaged ``configs/demo.toml``; ``path``: another file)."""
    preset = read_preset(NAME, path=path)
    assert preset is not None  # a name, not "none"
    _need(preset.features, ("mel_hop", "mel_n_fft", "mel_values"), "features", preset.path)
    _need(preset.train, ("epochs", "batch", "lr", "lr_step_epochs"), "train", preset.path)
    if preset.matrix:
        raise DemoPresetError(
            f"{preset.path}: [matrix] belongs in the demo's matrix files (configs/demo-default.toml, "
            "configs/demo-full.toml), not in its option preset"
        )
    return DemoPreset(
        name=preset.name,
        mel_hop=preset.features["mel_hop"],
        mel_n_fft=preset.features["mel_n_fft"],
        mel_values=preset.features["mel_values"],
        epochs=preset.train["epochs"],
        batch=preset.train["batch"],
        lr=preset.train["lr"],
        lr_step_epochs=preset.train["lr_step_epochs"],
        sam_rho=preset.sam_rho,
    )


__all__ = ["DemoPreset", "DemoPresetError", "NAME", "load_demo_preset"]
