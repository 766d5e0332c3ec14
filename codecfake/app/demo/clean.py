"""`make clean-demo` / `codecfake demo --clean`: remove what the demo made, and nothing else.

Removed: the demo corpus (``<demo-dir>/codec``, ``vocoder`` and its completion marker, only when the marker is
there), the store's feature sets of the demo corpora (``mini-codecfake``, ``mini-19la``) and the run folders
named like the demo matrix's (``demo-<task>-<backend>-<opt>-s<seed>``), and the runner's logs and run states of the
demo's matrices (``experiments/demo-default``, ``experiments/demo-full``). Kept: the package cache, other feature
sets, runs and matrices, ``docs/demo-results.md``.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

DEMO_CORPORA = ("mini-codecfake", "mini-19la")
_RUN_NAME = re.compile(r"demo-(vocoder|codec|cotrain)-(lcnn|aasist)-[a-z-]+-s\d+")


DEMO_MATRICES = ("demo-default", "demo-full")


def clean_demo(demo_dir: Path, store: Path | str, runs: Path, experiments: Path | None = None) -> list[str]:
    """Delete the demo's corpus, feature sets and runs; returns what was removed (paths and set keys)."""
    from codecfake.corpus.build.mini_codecfake import MARKER
    from codecfake.store import FeatureStore

    removed: list[str] = []
    if (Path(demo_dir) / MARKER).is_file():
        for sub in ("codec", "vocoder", MARKER):
            p = Path(demo_dir) / sub
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
            removed.append(str(p))
    if Path(str(store)).is_dir():
        fstore = FeatureStore(store)
        for info in fstore.list():
            if info.corpus in DEMO_CORPORA:
                fstore.remove(info.key)
                removed.append(info.key)
    if Path(runs).is_dir():
        for run in sorted(Path(runs).iterdir()):
            if run.is_dir() and _RUN_NAME.fullmatch(run.name):
                shutil.rmtree(run)
                removed.append(str(run))
    for name in DEMO_MATRICES if experiments is not None else ():
        folder = Path(experiments or ".") / name
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(str(folder))
    for item in removed:
        log.info("removed %s", item)
    return removed
