"""The configuration ``codecfake train`` trains with, resolved at the command line, and where each value came from.

Later wins: TrainConfig's defaults (the paper's) < a preset's ``[train]`` values < ``configs/backend|opt/<name>.toml``
< the flags given. The preset is ``--preset NAME``, or else the one every training set records in its provenance
(``codecfake features --preset NAME`` wrote it; sets recording different presets are refused with the fix);
``--preset none`` (or ``paper``) takes none. A run already in its folder keeps its own values of the keys the
preset would set (a resume or a reuse never changes its batch or epochs; ``--force`` starts it again). The result
records ``sources`` (key -> "default" | "preset NAME" | "configs/…toml" | "command line" | "run folder"), which
config.json keeps and no comparison reads. The training library never sees the preset or which flags were typed.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from codecfake.errors import CodecfakeError
from codecfake.presets import Preset, read_preset, recorded_preset
from codecfake.train.config import (
    ConfigError,
    TrainConfig,
    coerce_values,
    default_run_name,
    field_types,
    resolve_config,
)
from codecfake.train.config import load_preset as load_config_file

log = logging.getLogger(__name__)


def flags_given(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig options typed on the command line (``--key value``, parsed to their types)."""
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_") and v is not None}


def preset_values(preset: Preset, config: TrainConfig) -> dict[str, Any]:
    """What ``preset`` gives a run of ``config``: its [train] values, and its radius for the back-end's SAM-family
    runs (none for Adam, nor for a back-end it does not list)."""
    values = dict(preset.train)
    rho = preset.rho_for(config.backend, sam_family=config.sam_family)
    return values | ({"rho": rho} if rho is not None else {})


def _training_sets(store: Path, config: TrainConfig) -> list:
    """The sets ``train`` will find for ``config``; none when they cannot be found: ``train`` then says why, after
    the checks it makes before reading any data (so the first error a user sees does not change)."""
    from codecfake.store import FeatureStore
    from codecfake.train.data import find_sets

    try:
        return find_sets(FeatureStore(store), config)
    except CodecfakeError:
        return []


def choose_preset(name: str | None, sets: list) -> Preset | None:
    """``name`` (``--preset``), or the preset every one of ``sets`` records; None for no preset."""
    if name is not None:
        return read_preset(name)
    recorded = {fs.key: recorded_preset(fs.provenance) for fs in sets}
    names = set(recorded.values())
    if len(names) > 1:
        listing = "; ".join(f"{key}: {p or 'none'}" for key, p in sorted(recorded.items()))
        raise ConfigError(
            f"the training sets were made with different presets ({listing}); say which training values to use "
            f"with --preset NAME or --preset none for the paper's (make: PRESET=)"
        )
    found = names.pop() if names else None
    if found is None:
        return None
    log.info("preset %s: recorded by every training set (%s)", found, ", ".join(sorted(recorded)))
    return read_preset(found)


def _saved_run(runs: Path, config: TrainConfig, sets: list) -> tuple[Path, dict[str, Any] | None]:
    """The run folder ``train`` will use and its config.json (None when it holds no run yet)."""
    extractor = sets[0].spec.extractor if sets else ""
    run_dir = Path(runs) / (config.name or default_run_name(config, extractor))
    saved = run_dir / "config.json"
    return run_dir, (json.loads(saved.read_text()) if saved.is_file() else None)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of a ``codecfake train`` command line, with ``sources`` (see the module's docstring)."""
    flags = flags_given(args)
    config = resolve_config(flags)
    sources = {k: "default" for k in field_types() if k != "sources"}
    for kind, name in (("backend", config.backend), ("opt", config.opt)):
        sources.update(dict.fromkeys(load_config_file(kind, name), f"configs/{kind}/{name}.toml"))
    sources.update(dict.fromkeys(flags, "command line"))
    preset_name = getattr(args, "preset", None)
    sets = _training_sets(args.store, config) if preset_name is None or not config.name else []
    preset = choose_preset(preset_name, sets)
    if preset is None:
        return config.replace(sources=sources)
    taken = {k: v for k, v in preset_values(preset, config).items() if sources[k] == "default"}
    run_dir, saved = _saved_run(args.runs, config, sets)
    if taken and saved is not None and not args.force:
        kept = coerce_values({k: saved[k] for k in taken if k in saved}, source=str(run_dir / "config.json"))
        if kept:
            log.info(
                "keeping %s of the run already in %s (its config.json); add --force to start it again with "
                "preset %s's values",
                _listing(kept),
                run_dir,
                preset.name,
            )
        sources.update(dict.fromkeys(kept, "run folder"))
        taken |= kept
    from_preset = {k: v for k, v in taken.items() if sources[k] == "default"}
    sources.update(dict.fromkeys(from_preset, f"preset {preset.name}"))
    if from_preset:
        paper = " ".join(f"--{k.replace('_', '-')} {getattr(config, k):g}" for k in from_preset)
        log.info(
            "preset %s: %s instead of the paper's defaults; for the paper's pass --preset none, or the values "
            "explicitly: %s (make: PRESET=none, or EPOCHS= BATCH= LR=)",
            preset.name,
            _listing(from_preset),
            paper,
        )
    return config.replace(**taken, sources=sources)


def _listing(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in values.items())


__all__ = ["choose_preset", "config_from_args", "flags_given", "preset_values"]
