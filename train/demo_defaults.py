"""The demo's feature sets come with the demo's training settings.

``codecfake features --data demo`` extracts with configs/demo.toml's mel hop; in the same way ``codecfake train`` on
sets that are all demo corpora (mini-codecfake, mini-19la) takes configs/demo.toml's epochs, batch, learning rate,
epochs per lr halving and (SAM family) per-back-end radius for each of those options the user did not give: the
paper's 10 epochs of batch 128 cost about an hour on 2 CPU cores there. An option given always wins; any other
corpus keeps the paper's defaults. A run folder that already holds a run keeps that run's values (a resume or a
reuse never changes its batch or epochs); ``--force`` starts it again with the preset's.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from codecfake.corpus.kinds import is_demo_corpus
from codecfake.train.config import DEMO_PRESET_KEYS, TrainConfig, coerce_values

log = logging.getLogger(__name__)


def demo_values(backend: str, opt: str) -> dict[str, Any]:
    """configs/demo.toml's value of each DEMO_PRESET_KEYS key for (back-end, optimiser); rho only where the demo
    matrix overrides it (a SAM-family run of a back-end listed in [train.sam_rho]), else the paper's stays."""
    from codecfake.demo.preset import load_demo_preset

    preset = load_demo_preset()
    values: dict[str, Any] = {
        "epochs": preset.epochs,
        "batch": preset.batch,
        "lr": preset.lr,
        "lr_step_epochs": preset.lr_step_epochs,
    }
    rho = preset.rho_for(backend, opt)
    if rho is not None:
        values["rho"] = rho
    return values


def with_demo_defaults(
    config: TrainConfig,
    corpora: Sequence[str],
    given: Collection[str],
    saved: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """`config` with configs/demo.toml's values for the DEMO_PRESET_KEYS not in `given` when every one of
    `corpora` (the training sets' corpus names) is a demo corpus; unchanged otherwise.

    ``saved``: the config.json of a run already in the run folder: its values of those keys are kept instead, so a
    resumed or reused run trains on as it started."""
    if not corpora or not all(is_demo_corpus(c) for c in corpora):
        return config
    open_keys = [k for k in DEMO_PRESET_KEYS if k not in given]
    if saved is not None:
        kept = coerce_values({k: saved[k] for k in open_keys if k in saved}, source="config.json")
        noted = coerce_values({"from_demo_preset": saved.get("from_demo_preset", [])}, source="config.json")
        if kept:
            log.info(
                "demo features: keeping %s of the run already in this folder (its config.json); "
                "add --force to start it again with configs/demo.toml's values",
                _listing(kept),
            )
        return config.replace(**kept, **noted)
    taken = {k: v for k, v in demo_values(config.backend, config.opt).items() if k in open_keys}
    if not taken:
        return config
    paper = {k: getattr(TrainConfig, k) for k in taken}
    flags = " ".join(f"--{k.replace('_', '-')} {v:g}" for k, v in paper.items())
    log.info(
        "demo features (%s): %s from configs/demo.toml instead of the paper's defaults; for the paper's, "
        "pass them explicitly: %s (make: EPOCHS= BATCH= LR=)",
        ", ".join(sorted(set(corpora))),
        _listing(taken),
        flags,
    )
    return config.replace(**taken, from_demo_preset=tuple(taken))


def _listing(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in values.items())


__all__ = ["demo_values", "with_demo_defaults"]
