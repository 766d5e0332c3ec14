"""codecfake.train: back-ends trained from the feature store with Adam, SAM, ASAM, CSAM and csam-pd.

Public API (docs/INTERFACES.md): ``TrainConfig``/``resolve_config`` (config.py), every error (errors.py),
``load_run``/``write_run``/``LoadedRun``/``make_provenance`` (rundir.py), ``train`` (loop.py), ``build_backend``
(backends.py).
Submodules are imported on demand so that ``import codecfake.train`` stays light.
"""

from __future__ import annotations

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

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
