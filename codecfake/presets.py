"""Presets: named sets of option values (``configs/<name>.toml``, package data ``codecfake.configs``) that the command
line applies for the options not given. A leaf: it imports nothing of ours but ``codecfake.errors``.

The stages never read a preset; ``codecfake features --preset NAME`` and ``codecfake train --preset NAME`` resolve it
into plain option values, and the demo reads its own (``configs/demo.toml``: every way in which the demo departs from
the paper). A preset file may hold these tables, each key optional:

- ``[features]`` ``mel_hop``, ``mel_n_fft`` (ints >= 1), ``mel_values`` ("log" | "power"): `codecfake features`;
- ``[train]`` ``epochs``, ``batch``, ``lr_step_epochs`` (ints >= 1), ``lr`` (0 < lr < 1): `codecfake train`;
  ``[train.sam_rho]`` back-end = SAM radius (>= 0) of that back-end's SAM-family runs;
- ``[matrix]`` an experiment matrix (cells × seeds, the paper's numbers beside them): read here as a table, its
  schema checked by the application layer that runs it (``codecfake.app.experiments.matrix_spec``).

Strict: an unknown table or key, or a value of the wrong type or range, raises :class:`PresetError` naming the file
and the key, before any work starts.
"""

from __future__ import annotations

import importlib.util
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from codecfake.errors import CodecfakeError

# Where the presets live: the repository's configs/ folder, installed as the package data `codecfake.configs`.
# (the ignore: find_spec's None and origin's None are for modules absent or built in; codecfake.configs is ours)
CONFIG_DIR = Path(importlib.util.find_spec("codecfake.configs").origin).parent  # type: ignore[union-attr,arg-type]
NO_PRESET = ("none", "paper")  # `--preset none` (or paper): no preset, the paper's values
PROVENANCE_KEY = (
    "preset"  # the entry of a feature set's provenance "extra" that names the preset it was made with
)

_FEATURES = {"mel_hop": int, "mel_n_fft": int, "mel_values": str}
_TRAIN = {"epochs": int, "batch": int, "lr": float, "lr_step_epochs": int}
_TRAIN_TABLE: dict[str, type] = {**_TRAIN, "sam_rho": dict}
_TABLES = ("features", "train", "matrix")  # [matrix]: a table whose schema the application layer checks


class PresetError(CodecfakeError):
    """A preset is missing, not TOML, or has an unknown key or a value of the wrong type or range."""


@dataclass(frozen=True)
class Preset:
    name: str
    path: Path
    features: Mapping[str, Any]  # [features]: mel_hop, mel_n_fft, mel_values (those the file sets)
    train: Mapping[str, Any]  # [train]: epochs, batch, lr, lr_step_epochs (those the file sets)
    sam_rho: Mapping[str, float]  # [train.sam_rho]: back-end -> radius of its SAM-family runs
    matrix: Mapping[str, Any]  # [matrix] as written (an experiment matrix; its schema: the runner's)

    def rho_for(self, backend: str, *, sam_family: bool) -> float | None:
        """The SAM radius a run of `backend` takes from the preset; None for Adam or a back-end not listed."""
        return self.sam_rho.get(backend) if sam_family else None


def preset_path(name: str) -> Path:
    return CONFIG_DIR / f"{name}.toml"


def _typed(values: Mapping[str, Any], keys: Mapping[str, type], where: str, path: Path) -> dict[str, Any]:
    """`values` checked to hold only `keys`, each of its type (int is not bool; a float may be written as an int)."""
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise PresetError(f"{path}: [{where}] has unknown keys {unknown}; expected some of {sorted(keys)}")
    out = {}
    for key, value in values.items():
        kind = keys[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            raise PresetError(f"{path}: [{where}] {key} = {value!r} must be {kind.__name__}")
        if kind is int and isinstance(value, int) and value < 1:  # isinstance: narrows for the checker
            raise PresetError(f"{path}: [{where}] {key} = {value} must be at least 1")
        out[key] = value
    return out


def _parse(raw: Mapping[str, Any], name: str, path: Path) -> Preset:
    top = _typed(raw, dict.fromkeys(_TABLES, dict), "top level", path)
    features = _typed(top.get("features", {}), _FEATURES, "features", path)
    if features.get("mel_values", "log") not in ("log", "power"):
        raise PresetError(
            f"{path}: [features] mel_values = {features['mel_values']!r} must be 'log' or 'power'"
        )
    train = _typed(top.get("train", {}), _TRAIN_TABLE, "train", path)
    radii = train.pop("sam_rho", {})
    rho = _typed(radii, dict.fromkeys(radii, float), "train.sam_rho", path)
    if not 0 < train.get("lr", 0.5) < 1:
        raise PresetError(f"{path}: [train] lr = {train['lr']!r} must lie between 0 and 1")
    if any(r < 0 for r in rho.values()):
        raise PresetError(f"{path}: [train.sam_rho] radii must be >= 0, found {rho}")
    matrix = dict(top.get("matrix", {}))
    return Preset(
        name=name,
        path=path,
        features=MappingProxyType(features),
        train=MappingProxyType(train),
        sam_rho=MappingProxyType(rho),
        matrix=MappingProxyType(matrix),
    )


def read_preset(name: str, *, path: Path | None = None) -> Preset | None:
    """The preset ``name`` (``configs/<name>.toml``, or the file ``path``), checked; None for ``none`` / ``paper``."""
    if path is None and name in NO_PRESET:
        return None
    if path is None and (not name or "/" in name or name.startswith(".")):
        raise PresetError(f"preset {name!r}: expected the name of a file configs/<name>.toml, or none")
    path = Path(path) if path is not None else preset_path(name)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        known = sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))
        raise PresetError(
            f"{path}: preset {name!r} not found; known presets: {', '.join(known) or 'none'} (or none, the paper's)"
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise PresetError(f"{path}: not valid TOML ({err}); fix the file") from None
    return _parse(raw, name, path)


def recorded_preset(provenance: Mapping[str, Any]) -> str | None:
    """The preset a feature set was made with, from its provenance attributes (None: made without one)."""
    extra = provenance.get("extra") or {}
    return extra.get(PROVENANCE_KEY) or None


__all__ = [
    "CONFIG_DIR",
    "NO_PRESET",
    "PROVENANCE_KEY",
    "Preset",
    "PresetError",
    "preset_path",
    "read_preset",
    "recorded_preset",
]
