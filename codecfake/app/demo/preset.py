"""The demo preset: ``configs/demo.toml`` (package data ``codecfake.configs``) read into one typed, frozen value.

The file holds every choice in which the demo departs from the paper's protocol: the mel hop, FFT size and values it extracts,
its epochs, batch, learning rate and seeds, the SAM radius per back-end, and the matrix of runs. The stages never read it; the demo
passes its values to them as command-line options. Strict: a missing or unknown key, or a value of the wrong type,
raises :class:`DemoPresetError` naming the file and the key.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from codecfake.errors import CodecfakeError

Cell = tuple[str, str, str]  # (task, back-end, optimiser) of one training run


class DemoPresetError(CodecfakeError):
    """The demo preset file is missing, not TOML, or has a missing/unknown key or a value of the wrong type."""


@dataclass(frozen=True)
class DemoPreset:
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


def preset_path() -> Path:
    from codecfake.train.config import CONFIG_DIR

    return CONFIG_DIR / "demo.toml"


def _table(values: Mapping[str, Any], keys: Mapping[str, type], where: str, path: Path) -> dict[str, Any]:
    """`values` with exactly `keys`, each of its type (int is not bool; a float may be written as an int)."""
    unknown, missing = sorted(set(values) - set(keys)), sorted(set(keys) - set(values))
    if unknown or missing:
        raise DemoPresetError(
            f"{path}: [{where}] has unknown keys {unknown} / lacks {missing}; expected exactly {sorted(keys)}"
        )
    out = {}
    for key, kind in keys.items():
        value = values[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            raise DemoPresetError(f"{path}: [{where}] {key} = {value!r} must be {kind.__name__}")
        out[key] = value
    return out


def _cells(rows: list, where: str, path: Path) -> tuple[Cell, ...]:
    from codecfake.train.config import OPTIMISERS, TASKS

    cells = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3 and all(isinstance(v, str) for v in row)):
            raise DemoPresetError(
                f"{path}: [matrix] {where}: each run is [task, back-end, optimiser], found {row!r}"
            )
        task, backend, opt = row
        if task not in TASKS or opt not in OPTIMISERS:
            raise DemoPresetError(
                f"{path}: [matrix] {where}: {row!r} needs a task of {TASKS} and an optimiser of {OPTIMISERS}"
            )
        cells.append((task, backend, opt))
    if not cells or len(set(cells)) != len(cells):
        raise DemoPresetError(f"{path}: [matrix] {where} must list at least one run, none twice")
    return tuple(cells)


@functools.cache
def load_demo_preset(path: Path | None = None) -> DemoPreset:
    """Read and check the preset (default: the packaged ``configs/demo.toml``)."""
    path = Path(path) if path is not None else preset_path()
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise DemoPresetError(f"{path}: demo preset not found; reinstall codecfake (`make venv`)") from None
    except tomllib.TOMLDecodeError as err:
        raise DemoPresetError(f"{path}: not valid TOML ({err}); fix the file") from None
    top = _table(raw, {"features": dict, "train": dict, "matrix": dict}, "top level", path)
    features = _table(
        top["features"], {"mel_hop": int, "mel_n_fft": int, "mel_values": str}, "features", path
    )
    if features["mel_values"] not in ("log", "power"):
        raise DemoPresetError(
            f"{path}: [features] mel_values = {features['mel_values']!r} must be 'log' or 'power'"
        )
    train = _table(
        top["train"],
        {"epochs": int, "batch": int, "lr": float, "lr_step_epochs": int, "seeds": int, "sam_rho": dict},
        "train",
        path,
    )
    rho = _table(train["sam_rho"], dict.fromkeys(train["sam_rho"], float), "train.sam_rho", path)
    matrix = _table(top["matrix"], {"default": list, "full": list}, "matrix", path)
    for key, value in (
        ("features", features["mel_hop"]),
        ("features", features["mel_n_fft"]),
        *(("train", train[k]) for k in ("epochs", "batch", "lr_step_epochs", "seeds")),
    ):
        if value < 1:
            raise DemoPresetError(f"{path}: [{key}] values must be positive, found {value}")
    if not 0 < train["lr"] < 1:
        raise DemoPresetError(f"{path}: [train] lr = {train['lr']!r} must lie between 0 and 1")
    if any(r < 0 for r in rho.values()):
        raise DemoPresetError(f"{path}: [train.sam_rho] radii must be >= 0, found {rho}")
    return DemoPreset(
        mel_hop=features["mel_hop"],
        mel_n_fft=features["mel_n_fft"],
        mel_values=features["mel_values"],
        epochs=train["epochs"],
        batch=train["batch"],
        lr=train["lr"],
        lr_step_epochs=train["lr_step_epochs"],
        seeds=train["seeds"],
        sam_rho=MappingProxyType(rho),
        default_cells=_cells(matrix["default"], "default", path),
        full_cells=_cells(matrix["full"], "full", path),
    )


__all__ = ["Cell", "DemoPreset", "DemoPresetError", "load_demo_preset", "preset_path"]
