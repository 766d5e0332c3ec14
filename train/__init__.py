"""codecfake.train: back-ends trained from the feature store with Adam, SAM, ASAM, CSAM and csam-pd.

Public API (docs/INTERFACES.md): ``TrainConfig``/``resolve_config`` (config.py), every error (errors.py),
``load_run``/``write_run``/``LoadedRun``/``make_provenance`` (rundir.py), ``train`` (loop.py), ``build_backend``
(backends.py).
Submodules are imported on demand so that ``import codecfake.train`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codecfake.lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "config",
    "resolve_config": "config",
    "ConfigError": "errors",
    "load_run": "rundir",
    "write_run": "rundir",
    "LoadedRun": "rundir",
    "make_provenance": "rundir",
    "RunError": "errors",
    "train": "loop",
}

if TYPE_CHECKING:  # the table's names as the type checker sees them (at run time each loads on first use)
    from codecfake.train.config import TrainConfig as TrainConfig
    from codecfake.train.config import resolve_config as resolve_config
    from codecfake.train.errors import ConfigError as ConfigError
    from codecfake.train.errors import RunError as RunError
    from codecfake.train.loop import train as train
    from codecfake.train.rundir import LoadedRun as LoadedRun
    from codecfake.train.rundir import load_run as load_run
    from codecfake.train.rundir import make_provenance as make_provenance
    from codecfake.train.rundir import write_run as write_run

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
