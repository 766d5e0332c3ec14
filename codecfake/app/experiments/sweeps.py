"""The robustness sweeps of a matrix (``robustness = "mp3:32k,…"``): the degraded test sets are extracted once, here,
before any run starts; each run's sweep then only scores them (``codecfake robustness`` finds them in the store).
Two workers sweeping at once would otherwise extract the same sets side by side, each waiting on the other's shards.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from codecfake.app.experiments.plan import Plan, PlannedRun, degrade_of, run_finished

log = logging.getLogger(__name__)

__all__ = ["prepare_sweeps"]


def _option(argv: Sequence[str], flag: str, default: str) -> str:
    return argv[argv.index(flag) + 1] if flag in argv else default


def prepare_sweeps(plan: Plan, runs: Sequence[PlannedRun]) -> int:
    """Extract the degraded copies of the test sets that ``runs``' unfinished sweeps score; returns how many
    (extraction, degradations) pairs were prepared. A set already there is not touched (extraction resumes)."""
    from codecfake.device import resolve_device
    from codecfake.evaluate.robustness_run import extract_degraded
    from codecfake.store import FeatureStore
    from codecfake.train.config import TrainConfig
    from codecfake.train.data import common_array, find_sets

    store = FeatureStore(plan.store)
    done: set[tuple] = set()
    for run in runs:
        if not run.robustness_argv or run_finished(run):
            continue
        c = run.cell
        degrade = degrade_of(run.robustness_argv)
        key = (c.task, c.extractor, c.array, degrade)
        if key in done:
            continue
        sets = find_sets(store, TrainConfig(task=c.task, extractor=c.extractor, array=c.array))
        array, _ = common_array(sets, c.array)
        device = str(resolve_device(_option(run.robustness_argv, "--device", "auto")))
        log.info("robustness: degraded test sets of %s (%s) for %s", c.extractor, degrade, run.name)
        extract_degraded(store, sets[0].spec, array, degrade, device=device)
        done.add(key)
    return len(done)
